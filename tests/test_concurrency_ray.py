"""max_concurrent_trials with a pausing scheduler in a real Tuner, counted from Ray's trial states.

Resources would allow 4 trials at once, ``max_concurrent_trials=2``: never more than 2
RUNNING, new trials start while others are PAUSED (Ray's ConcurrencyLimiter alone counts
paused trials and would hold it back), and every trial finishes: none starved.
"""

import json
import os
import tempfile
import time

import pytest
from ray import tune

from schedulers import HyperbandScheduler
from searchers.tpe import TPESearcher

pytestmark = pytest.mark.ray


def _sleepy(config):
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d, open(os.path.join(d, "s.json")) as f:
            start = json.load(f)["epoch"]
    for epoch in range(start + 1, 10):
        time.sleep(0.2)  # long enough that two trials overlap even on a loaded 2-core machine
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "s.json"), "w") as f:
                json.dump({"epoch": epoch}, f)
            loss = (config["x"] - 0.3) ** 2 + (1 + config["x"]) / (1 + epoch)
            tune.report({"loss": loss}, checkpoint=tune.Checkpoint.from_directory(d))


class States(tune.Callback):
    def __init__(self):
        self.steps = []

    def on_step_end(self, iteration, trials, **info):
        self.steps.append([t.status for t in trials])


def test_paused_trials_do_not_hold_places_and_none_starves(ray_local, tmp_path):
    states = States()
    tuner = tune.Tuner(
        tune.with_resources(_sleepy, {"cpu": 0.5}),
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            scheduler=HyperbandScheduler(max_resource=9, reduction_factor=3, synchronous=False, seed=0),
            search_alg=TPESearcher(seed=0, n_startup_trials=3),
            num_samples=12,
            max_concurrent_trials=2,
        ),
        run_config=tune.RunConfig(name="limited", storage_path=str(tmp_path), verbose=0, callbacks=[states]),
    )
    grid = tuner.fit()
    assert len(grid) == 12 and grid.num_errors == 0
    assert all(r.metrics.get("training_iteration", 0) >= 1 for r in grid)
    running = [s.count("RUNNING") for s in states.steps]
    assert max(running) == 2  # the limit holds
    # Paused trials hold no place: two trials run or start (an actor starts slowly) while
    # others are paused. Ray's ConcurrencyLimiter would have counted the paused ones.
    assert any(s.count("RUNNING") + s.count("PENDING") == 2 and s.count("PAUSED") >= 1 for s in states.steps)
