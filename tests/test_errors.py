"""otgan.errors: the public exceptions are shared by every module and derive as documented."""

import numpy as np
import pytest

from otgan import _utils, errors, semidiscrete


@pytest.mark.hostile
def test_errors_are_public_and_shared():
    assert _utils.GeometryError is errors.GeometryError
    assert _utils.OtganError is errors.OtganError
    assert semidiscrete.NotConvergedWarning is errors.NotConvergedWarning
    err = errors.GeometryError("cells overlap", indices=np.array([3, 7]))
    assert err.indices == (3, 7) and isinstance(err, errors.OtganError)
    assert issubclass(errors.CheckpointError, ValueError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert issubclass(errors.ArgumentTypeError, ValueError)
