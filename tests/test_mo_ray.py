"""Multi-objective runs through Ray Tune: our searcher with metric=[...] mode=[...] under
MO-ASHA, and a restore mid-run that ends with the decisions of an uninterrupted run."""

from __future__ import annotations

import os
import signal

import pytest
from ray import tune

from schedulers import MOASHAScheduler, ParetoAsyncHyperband
from schedulers.state_file import FILE_NAME, load_state
from searchers import RandomSearcher, TPESearcher

pytestmark = pytest.mark.ray

METRICS, MODES = ["acc", "size"], ["max", "min"]


def _trainable(cpus: int = 1):
    """acc grows with epochs towards 1 - (x - 0.3)^2; size = 10 * y. Built in a function so
    Ray pickles it by value (workers cannot import tests/)."""

    def train(config):
        for epoch in range(1, 10):
            acc = (1.0 - (config["x"] - 0.3) ** 2) * (1.0 - 0.5 / epoch)
            tune.report({"acc": acc, "size": 10.0 * config["y"], "epoch": epoch})

    return tune.with_resources(train, {"cpu": cpus})


SPACE = {"x": tune.uniform(0.0, 1.0), "y": tune.uniform(0.0, 1.0)}


class RecordingMOASHA(MOASHAScheduler):
    """Keeps every (trial, epoch, vector, decision) it decided on, in Ray's order."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.log = []

    def on_trial_result(self, tune_controller, trial, result):
        decision = super().on_trial_result(tune_controller, trial, result)
        self.log.append((trial.trial_id, result["epoch"], self._result_value(result), decision))
        return decision


def test_tpe_and_mo_asha_with_metric_lists(ray_local, tmp_path):
    searcher = TPESearcher(metric=METRICS, mode=MODES, constraints=["size <= 8"], seed=0, n_startup_trials=6)
    scheduler = RecordingMOASHA(METRICS, MODES, constraints=["size <= 8"], resource_attr="epoch", max_resource=9)
    grid = tune.Tuner(
        _trainable(),
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="acc", mode="max", num_samples=14, search_alg=searcher, scheduler=scheduler, reuse_actors=True
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="mo", verbose=0),
    ).fit()
    assert len(grid) == 14 and grid.num_errors == 0
    epochs = [r.metrics["epoch"] for r in grid]
    assert min(epochs) < 9 and max(epochs) == 9  # MO-ASHA stopped some trials early
    assert grid.get_best_result().metrics["acc"] == max(r.metrics["acc"] for r in grid)
    # the same results fed to a fresh core in Ray's order take the same decisions
    core = ParetoAsyncHyperband(1, 9, 3, n_objectives=2)
    for trial_id, epoch, vector, decision in scheduler.log:
        if trial_id not in core:
            core.add(trial_id)
        assert core.on_result(trial_id, epoch, vector) == decision
    # the searcher recorded each result's vector (acc negated, violation of size <= 8)
    paths = sorted((tmp_path / "mo").glob("searcher-state-*.pkl"))
    restored = TPESearcher()
    restored.restore(str(paths[-1]))
    assert restored.objectives is not None and restored.objectives.metrics == METRICS
    for r in grid:
        obs = next(o for o in restored.record if restored.space.from_flat(o.flat) == r.config)
        assert obs.vector == pytest.approx((-r.metrics["acc"], r.metrics["size"], max(0.0, r.metrics["size"] - 8)))


class InterruptOnce(tune.Callback):
    """SIGINT (Tune snapshots and stops) at the n-th result; a marker file keeps the copy
    that Tuner.restore unpickles from firing again."""

    def __init__(self, after: int, marker: str):
        self.after, self.marker, self.seen = after, marker, 0

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.seen += 1
        if self.seen == self.after and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGINT)


def _tuner(path, name, callbacks):
    scheduler = MOASHAScheduler(METRICS, MODES, resource_attr="epoch", max_resource=9)
    searcher = RandomSearcher(metric=METRICS, mode=MODES, seed=4)
    return tune.Tuner(
        _trainable(cpus=2),  # one trial at a time: a fixed order of events
        param_space=SPACE,
        tune_config=tune.TuneConfig(num_samples=8, search_alg=searcher, scheduler=scheduler, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(path), name=name, verbose=0, callbacks=callbacks),
    ), scheduler


def _records(core_state):
    records = sorted(
        (rung["level"], tuple(round(v, 9) for v in vec))
        for bracket in core_state["brackets"]
        for rung in bracket
        for vec, _, _ in rung["records"]
    )
    return records, sorted(t["reason"] for t in core_state["trials"])


def test_restore_mid_run_continues_with_the_decisions_of_an_uninterrupted_run(ray_local, tmp_path):
    tuner, straight = _tuner(tmp_path, "straight", [])
    assert len(tuner.fit()) == 8
    expected = _records(straight.core.to_dict())
    assert "stopped" in expected[1] and "completed" in expected[1]

    tuner, _ = _tuner(tmp_path, "cut", [InterruptOnce(12, str(tmp_path / "fired"))])
    tuner.fit()
    grid = tune.Tuner.restore(str(tmp_path / "cut"), trainable=_trainable(cpus=2)).fit()
    assert len(grid) == 8 and grid.num_errors == 0
    state = load_state(str(tmp_path / "cut" / FILE_NAME))
    assert state is not None and state["objectives"] == [["acc", "max"], ["size", "min"]]
    assert _records(state["core"]) == expected
