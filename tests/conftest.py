import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# "ci" (the default in scripts/test.sh): derandomized, so a CI run is reproducible.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
