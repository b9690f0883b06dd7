"""Real Tuner runs: promotion resumes trials from checkpoints, a restore mid-bracket
continues like an uninterrupted run, and a data-size resource continues at its next size."""

import json
import os
import signal
import tempfile

import pytest
from ray import tune

from pipeline.tasks import Fidelity, TaskOptions, TrialSetup, get_task
from pipeline.trainable import make_trainable
from schedulers import ASHAScheduler, AsyncHyperband, HyperbandScheduler, data_size_trainable
from schedulers.state_file import FILE_NAME, load_state
from searchers.random_search import RandomSearcher
from searchers.space import Float

pytestmark = pytest.mark.ray


class RecordingASHA(ASHAScheduler):
    """Keeps every result it decided on, in order: (trial, resource, metric, decision,
    iterations since the trial's process last (re)started from a checkpoint).

    These are the results as Ray delivered them; Ray's own ``metrics_dataframe`` is read
    back from ``result.json``, which can lose the rows before a resume (seen on 2.60)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.log = []

    def on_trial_result(self, tune_controller, trial, result):
        decision = super().on_trial_result(tune_controller, trial, result)
        self.log.append(
            (
                trial.trial_id,
                result[self.resource_attr],
                result[self.metric],
                decision,
                result["iterations_since_restore"],
            )
        )
        return decision

    def history(self, trial_id):
        """(resource, iterations since restore) of every result of one trial."""
        return [(r, since) for tid, r, _, _, since in self.log if tid == trial_id]


def _resumed(history):
    """Whether the trial was restarted from a checkpoint mid-way (its counter restarted)."""
    return any(b[1] <= a[1] for a, b in zip(history, history[1:]))


def _adam(lr, hidden):
    return {
        "optimizer": {"name": "adam", "lr": lr, "beta1": 0.9, "weight_decay": 1e-5},
        "batch_size": 16,
        "channels": 8,
        "hidden": hidden,
        "dropout": 0.0,
    }


def test_promotion_pauses_at_rungs_and_resumes_trials_at_their_epoch(ray_local, tmp_path):
    setup = TrialSetup("digits", TaskOptions(), Fidelity(0.2, 4, 4), seed=0)
    # The first trial learns, the others barely move: it waits at rung 1 until a later
    # arrival makes it promotable, then resumes from its checkpoint.
    points = [_adam(1e-2, 64)] + [_adam(lr, h) for lr, h in [(1e-4, 32), (2e-4, 40), (1e-4, 48), (3e-4, 56)]]
    scheduler = RecordingASHA(
        resource_attr="epoch", min_resource=1, max_resource=4, reduction_factor=2, rule="promotion"
    )
    searcher = RandomSearcher(
        get_task("digits").default_space(), metric="val_accuracy", mode="max", seed=0, points_to_evaluate=points
    )
    tuner = tune.Tuner(
        tune.with_resources(make_trainable(setup), {"cpu": 2}),  # one trial at a time: a fixed order
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=len(points),
            search_alg=searcher,
            scheduler=scheduler,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="promotion", verbose=0),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0 and len(grid) == len(points)

    resumed = 0
    for result in grid:
        history = scheduler.history(result.metrics["trial_id"])
        epochs = [epoch for epoch, _ in history]
        assert epochs == list(range(1, len(epochs) + 1))  # never restarted at epoch 1
        resumed += _resumed(history)  # paused, then restored from its checkpoint
    assert resumed >= 1
    decisions = [entry[3] for entry in scheduler.log]
    assert {"PAUSE", "CONTINUE", "STOP"} <= set(decisions)
    best = grid.get_best_result()
    assert best.metrics["epoch"] == 4 and best.config == points[0]

    # The adapter passed Ray's results through faithfully: a fresh core fed the same
    # results in the same order (accuracy negated: a loss) takes the same decisions.
    core = AsyncHyperband(1, 4, 2, rule="promotion")
    for trial_id, epoch, accuracy, decision, _ in scheduler.log:
        if trial_id not in core:
            core.add(trial_id)
        assert core.on_result(trial_id, epoch, -accuracy) == decision


def _curve_trainable():
    """Loss x + 1/it, resumable from a checkpoint; x > 0.75 raises at its first epoch.

    Built in a function so cloudpickle ships it by value (workers cannot import tests/)."""

    def curve(config):
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d, open(os.path.join(d, "it.json")) as f:
                start = json.load(f)["it"]
        for it in range(start + 1, 5):
            if config["x"] > 0.75:
                raise RuntimeError("this configuration fails")
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "it.json"), "w") as f:
                    json.dump({"it": it}, f)
                tune.report({"loss": config["x"] + 1.0 / it, "it": it}, checkpoint=tune.Checkpoint.from_directory(d))

    return tune.with_resources(curve, {"cpu": 2})  # one trial at a time: a fixed order


class InterruptOnce(tune.Callback):
    """Sends SIGINT (Tune snapshots and stops) at the n-th result; a marker file keeps the
    copy that Tuner.restore unpickles from firing again."""

    def __init__(self, after: int, marker: str):
        self.after, self.marker, self.seen = after, marker, 0

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.seen += 1
        if self.seen == self.after and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGINT)


def _hyperband_tuner(path, name, callbacks):
    scheduler = HyperbandScheduler(resource_attr="it", max_resource=4, reduction_factor=2)  # sizes 4, 3, 3
    searcher = RandomSearcher({"x": Float(0.0, 1.0)}, metric="loss", mode="min", seed=3)
    return tune.Tuner(
        _curve_trainable(),
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=7, search_alg=searcher, scheduler=scheduler, reuse_actors=True
        ),
        run_config=tune.RunConfig(storage_path=str(path), name=name, verbose=0, callbacks=callbacks),
    ), scheduler


def _records(core_state):
    """(milestone, loss) of every rung record, and every trial's fate."""
    records = sorted(
        (rung["level"], round(loss, 9))
        for bracket in core_state["instances"]
        for rung in bracket["rungs"]
        for loss, _, _ in rung["records"]
    )
    return records, sorted(t["reason"] for t in core_state["trials"])


def test_a_restore_mid_bracket_continues_with_the_decisions_of_an_uninterrupted_run(ray_local, tmp_path):
    tuner, straight = _hyperband_tuner(tmp_path, "straight", [])
    grid = tuner.fit()
    # Seed 3 draws x = .086 .237 .801 .582 (bracket b=0) and .094 .433 .479 (b=1); .801 fails.
    assert grid.num_errors == 1 and len(grid) == 7  # the bracket with the failed trial finished
    expected = _records(straight.core.to_dict())
    assert expected[1] == ["completed", "completed", "error", "stopped", "stopped", "stopped", "stopped"]
    final = sorted((round(r.config["x"], 3), r.metrics.get("it")) for r in grid if r.error is None)

    tuner, interrupted = _hyperband_tuner(tmp_path, "cut", [InterruptOnce(2, str(tmp_path / "fired"))])
    tuner.fit()  # two results in: two trials paused, bracket 0 waiting at rung 1
    assert interrupted.core.instances[0].rung == 0 and interrupted.core.status_counts()["paused"] == 2
    restored = tune.Tuner.restore(str(tmp_path / "cut"), trainable=_curve_trainable())
    grid = restored.fit()

    assert len(grid) == 7 and grid.num_errors == 1
    assert sorted((round(r.config["x"], 3), r.metrics.get("it")) for r in grid if r.error is None) == final
    state = load_state(str(tmp_path / "cut" / FILE_NAME))  # uploaded by Ray with its last snapshot
    assert _records(state["core"]) == expected


def _rows_fit():
    """A model without epochs: logistic regression on the first ``rows`` training rows."""

    def fit(config, rows):
        from sklearn.datasets import load_digits
        from sklearn.linear_model import LogisticRegression

        x, y = load_digits(return_X_y=True)
        model = LogisticRegression(C=config["C"], max_iter=300).fit(x[: int(rows)] / 16.0, y[: int(rows)])
        return {"val_accuracy": float(model.score(x[1300:] / 16.0, y[1300:]))}

    return fit


def test_a_data_size_resource_retrains_per_rung_and_resumes_at_the_next_size(ray_local, tmp_path):
    scheduler = RecordingASHA(
        resource_attr="rows", min_resource=100, max_resource=400, reduction_factor=2, rule="promotion"
    )
    assert scheduler.resource_levels == [100, 200, 400]
    trainable = data_size_trainable(_rows_fit(), scheduler.resource_levels, resource_attr="rows")
    points = [{"C": c} for c in (1.0, 1e-4, 2e-4, 1e-3, 3e-4, 5e-4)]
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=len(points),
            scheduler=scheduler,
            reuse_actors=True,
            search_alg=RandomSearcher(
                {"C": Float(1e-4, 10.0, log=True)}, metric="val_accuracy", mode="max", seed=0, points_to_evaluate=points
            ),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="rows", verbose=0),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0
    resumed = 0
    for result in grid:
        history = scheduler.history(result.metrics["trial_id"])
        sizes = [size for size, _ in history]
        assert sizes == [100, 200, 400][: len(sizes)]  # each size once, smallest first
        resumed += _resumed(history)
    assert resumed >= 1  # C=1 paused at 100 rows and went on at 200, not at 100 again
    best = grid.get_best_result()
    assert best.config == {"C": 1.0} and best.metrics["rows"] == 400
