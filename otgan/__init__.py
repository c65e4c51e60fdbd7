"""otgan: optimal transport for learning generative models.

Modules (data flows left to right; a module imports only modules to its left):
``costs`` -> ``ctransform`` -> ``measures`` / ``laguerre`` -> ``semidiscrete`` -> ``gan`` -> ``plot``,
with ``closed_forms`` and ``datasets`` beside them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
