import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.ray_runtime import QUIET_ENV  # noqa: E402

for _key, _value in QUIET_ENV.items():
    os.environ.setdefault(_key, _value)


@pytest.fixture
def ray_local():
    """An embedded Ray with 2 free CPUs for a test that drives real Tuners.

    Shared between tests while it is healthy; restarted when an earlier test left one with
    other resources (an in-process pipeline run starts Ray its own way) or with CPUs still
    held: a trial that asks for 2 CPUs would otherwise wait forever.
    """
    import ray

    if ray.is_initialized():
        deadline = time.monotonic() + 10.0
        while ray.available_resources().get("CPU", 0.0) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        if ray.cluster_resources().get("CPU") != 2 or ray.available_resources().get("CPU", 0.0) < 2:
            ray.shutdown()
    if not ray.is_initialized():
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False, logging_level="ERROR")
    return ray
