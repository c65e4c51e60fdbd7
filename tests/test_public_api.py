"""The public API: every module's ``__all__`` is honest (the one test of it), and the public names
of DESIGN.md resolve, with their documented signatures."""

import importlib
import inspect

import pytest

#: Every public module (a module whose name has no leading underscore).
MODULES = [
    "otgan.costs",
    "otgan.ctransform",
    "otgan.measures",
    "otgan.laguerre",
    "otgan.laguerre.apollonius",
    "otgan.laguerre.power",
    "otgan.semidiscrete",
    "otgan.closed_forms",
    "otgan.datasets",
    "otgan.gan",
    "otgan.gan.checkpoint",
    "otgan.gan.config",
    "otgan.gan.dirac",
    "otgan.gan.games",
    "otgan.gan.losses",
    "otgan.gan.models",
    "otgan.gan.penalties",
    "otgan.gan.records",
    "otgan.gan.sdwgan",
    "otgan.gan.trainer",
    "otgan.plot",
    "otgan.testing",
    "otgan.testing.assertions",
    "otgan.testing.problems",
    "otgan.testing.references",
    "otgan.testing.strategies",
    "otgan.distributed",
    "otgan.w1",
    "otgan.errors",
]

# DESIGN.md, "The public names users and acceptance checks rely on"
DESIGN_NAMES = {
    "otgan.costs": ["SquaredEuclidean", "Euclidean", "PowerEuclidean"],
    "otgan.ctransform": ["c_transform", "semi_dual"],
    "otgan.laguerre": ["diagram", "assign"],
    "otgan.measures": ["Uniform"],
    "otgan.semidiscrete": ["solve", "asgd"],
    "otgan.testing": [
        "discrete_problems", "semidiscrete_problems", "assert_weak_duality", "assert_duality_gap",
    ],
    "otgan.distributed": ["c_transform"],
    "otgan.closed_forms": [
        "exercise_1", "exercise_2", "exercise_2_argmin", "parallel_lines", "w1_histograms",
        "frechet_distance", "js_divergence", "kl_divergence",
    ],
}


@pytest.mark.parametrize("name", MODULES)
def test_all_is_a_list_of_resolvable_names(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert isinstance(exported, (list, tuple)) and all(isinstance(n, str) for n in exported)
    assert len(set(exported)) == len(exported), "duplicates in __all__"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"
    # and it lists every public function and class the module defines
    defined = [n for n, obj in vars(module).items() if not n.startswith("_")
               and (inspect.isfunction(obj) or inspect.isclass(obj))
               and getattr(obj, "__module__", None) == name]
    missing = sorted(set(defined) - set(exported))
    assert not missing, f"{name} defines {missing} but does not export them"


def test_every_public_module_is_listed():
    """A new public module joins MODULES (and so the checks above and tests/test_docstrings.py)."""
    import pkgutil

    import otgan

    found = {m.name for m in pkgutil.walk_packages(otgan.__path__, "otgan.")
             if not any(part.startswith("_") for part in m.name.split("."))}
    assert found <= set(MODULES), sorted(found - set(MODULES))


@pytest.mark.parametrize("name", sorted(DESIGN_NAMES))
def test_design_names_exist_and_are_documented(name):
    module = importlib.import_module(name)
    for attr in DESIGN_NAMES[name]:
        assert attr in module.__all__, f"{name}.{attr} is not exported"
        obj = getattr(module, attr)
        assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"


def test_design_signatures():
    from otgan import ctransform, laguerre, semidiscrete

    assert list(inspect.signature(ctransform.c_transform).parameters)[:4] == [
        "psi", "y", "x", "cost"]
    assert list(inspect.signature(ctransform.semi_dual).parameters)[:6] == [
        "psi", "y", "x", "nu", "a", "cost"]
    assert list(inspect.signature(laguerre.diagram).parameters)[:3] == ["y", "psi", "domain"]
    assert list(inspect.signature(laguerre.assign).parameters)[:3] == ["x", "y", "psi"]
    params = inspect.signature(semidiscrete.solve).parameters
    assert list(params)[:3] == ["mu", "y", "nu"] and "cost" in params and "method" in params


def test_from_otgan_import_modules():
    from otgan import closed_forms, costs, ctransform, laguerre, semidiscrete  # noqa: F401
