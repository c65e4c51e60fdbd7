import os

import matplotlib
import pytest
import torch
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# "ci" (the default in scripts/test.sh): derandomized, so a CI run is reproducible; 200 examples
# per property (tests that set their own max_examples keep theirs).
settings.register_profile(
    "ci", max_examples=200, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def one_torch_thread():
    """Tiny nets: one torch thread avoids oversubscribing the shared CI cores (used by the gan
    tests through ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
