"""otgan's own exceptions and warnings.

Bad input is reported with Python's built-in exceptions, as everywhere in the scientific Python
stack: ``ValueError`` for a value out of range or of the wrong shape, ``TypeError`` for an
argument of the wrong kind (a complex array, a string where a number was expected). Every message
names the argument the user passed, says what was expected and what was received.

The classes below are for what is *not* a plain bad argument:

- :class:`OtganError`, the base of otgan's own failures;
- :class:`GeometryError`, a geometric computation that failed (degenerate sites, a power cell
  that could not be built), with the offending site ``indices``;
- :class:`CheckpointError`, a file or a dict that is not a checkpoint of the trainer loading it
  (truncated, foreign, written for another loss or other data);
- :class:`ArgumentTypeError`, a scalar option of the wrong type (``n=2.5``, ``tol="1e-6"``). It
  derives from both ``TypeError`` and ``ValueError``: code written against either keeps working;
- :class:`NotConvergedWarning`, a solver that stopped before reaching its tolerance (the message
  says why).

Examples
--------
>>> from otgan import errors
>>> issubclass(errors.GeometryError, errors.OtganError)
True
>>> issubclass(errors.ArgumentTypeError, TypeError) and issubclass(errors.ArgumentTypeError,
...                                                                ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "ArgumentTypeError",
    "CheckpointError",
    "GeometryError",
    "NotConvergedWarning",
    "OtganError",
]


class OtganError(Exception):
    """Base class of otgan's own (non input-validation) failures."""


class GeometryError(OtganError):
    """A geometric computation failed (degenerate sites, qhull error, a cell that did not close).

    Parameters
    ----------
    message : str
    indices : iterable of int, optional
        The offending site indices, when known.

    Attributes
    ----------
    indices : tuple of int
        The offending site indices (empty when unknown).

    Examples
    --------
    >>> err = GeometryError("cells 3 and 7 overlap", indices=[3, 7])
    >>> err.indices
    (3, 7)
    """

    def __init__(self, message, indices=()):
        super().__init__(message)
        self.indices = tuple(int(i) for i in indices)


class CheckpointError(OtganError, ValueError):
    """A file or dict is not a checkpoint that this object can load.

    Raised for a truncated or foreign file, a dict that is not a checkpoint, a checkpoint of
    another format version, or one written by a trainer with another configuration (another
    loss, data of another shape). The message names the file and every mismatch. It is also a
    ``ValueError``.

    Parameters
    ----------
    message : str
        What went wrong, naming the file.
    path : str or os.PathLike, optional
        The file, when the checkpoint came from one.
    mismatches : iterable of str
        The configuration entries that differ, when that is the fault.

    Attributes
    ----------
    path : str or None
        The file, when the checkpoint came from one.
    mismatches : tuple of str
        The configuration entries that differ (e.g. ``("loss",)``), when that is the fault.
    """

    def __init__(self, message, *, path=None, mismatches=()):
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.mismatches = tuple(mismatches)


class ArgumentTypeError(TypeError, ValueError):
    """A scalar argument of the wrong type (e.g. a float where an integer is expected).

    Both a ``TypeError`` (what it is) and a ``ValueError`` (what otgan raised for these faults
    before its errors were unified), like numpy's ``AxisError``.
    """


class NotConvergedWarning(UserWarning):
    """A solver stopped before reaching its tolerance (the message says why)."""
