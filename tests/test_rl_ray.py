"""RLSearcher in a real Ray Tune run, and the pipeline with ``--searcher rl``."""

import json
import math
import subprocess
import sys

import pytest
from ray import tune

from searchers import RLSearcher
from searchers.record import COMPLETE
from tests.pipeline_runs import ROOT

pytestmark = pytest.mark.ray

SPACE = {
    "x": tune.uniform(-5.0, 10.0),
    "opt": tune.choice([{"name": "a", "y": tune.uniform(0.0, 15.0)}, {"name": "b", "k": tune.randint(1, 5)}]),
}


def loss(config):
    x, opt = config["x"], config["opt"]
    if opt["name"] == "b":
        return 20.0 + (x - 1) ** 2 + opt["k"]
    y = opt["y"]
    return (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)


def test_a_tune_run_with_pending_trials_saves_a_restorable_searcher(ray_local, tmp_path):
    def objective(config):
        for i in range(2):
            tune.report({"loss": loss(config) + 1.0 - i})

    searcher = RLSearcher(seed=0, n_startup_trials=3, imagined_episodes=16, ppo_epochs=2)
    tuner = tune.Tuner(
        objective,
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=8, max_concurrent_trials=2, search_alg=searcher
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="rl", verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 8 and grid.num_errors == 0
    for result in grid:
        assert result.metrics["loss"] == pytest.approx(loss(result.config))
    saved = list((tmp_path / "rl").glob("searcher-state-*.pkl"))
    assert saved
    restored = RLSearcher()
    restored.restore(str(saved[0]))
    assert len(restored.record.with_state(COMPLETE)) == 8
    assert restored.core.n_trained >= 3  # the agent took over after the startup trials
    assert restored.suggest("next") is not None


def test_pipeline_runs_with_searcher_rl(tmp_path):
    out = tmp_path / "exp"
    proc = subprocess.run(
        [
            sys.executable, "-m", "pipeline.run", "--searcher", "rl", "--num-samples", "6", "--max-epochs", "2",
            "--resolution", "4", "--data-fraction", "0.3", "--max-concurrent", "2", "--output", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    best = json.loads((out / "best.json").read_text())
    assert best
    assert list(out.rglob("searcher-state-*.pkl"))
