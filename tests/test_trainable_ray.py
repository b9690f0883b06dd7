"""The real trainable under Ray: a paused trial resumes from its checkpoint at its epoch."""

import pytest
from ray import tune
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from pipeline.tasks import Fidelity, TaskOptions, TrialSetup
from pipeline.trainable import make_trainable
from searchers import RandomSearcher

pytestmark = pytest.mark.ray


class PauseOnceAtEpoch2(FIFOScheduler):
    """PAUSE makes Ray save the trial and later restart it from that checkpoint."""

    def __init__(self):
        super().__init__()
        self.paused = set()
        self.seen = {}  # trial id -> [(epoch, iterations since the process (re)started)]

    def on_trial_result(self, tune_controller, trial, result):
        # Results as Ray delivered them: Ray's metrics_dataframe is read back from
        # result.json, which can lose the rows before a resume (seen on 2.60 under load).
        self.seen.setdefault(trial.trial_id, []).append((result["epoch"], result["iterations_since_restore"]))
        if result["epoch"] == 2 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return TrialScheduler.PAUSE
        return TrialScheduler.CONTINUE


def test_paused_trial_resumes_at_its_epoch(ray_local, tmp_path):
    from pipeline.tasks import get_task

    setup = TrialSetup("digits", TaskOptions(), Fidelity(0.2, 4, 4), seed=0)
    space = get_task("digits").default_space()
    scheduler = PauseOnceAtEpoch2()
    tuner = tune.Tuner(
        make_trainable(setup),
        tune_config=tune.TuneConfig(
            metric="val_accuracy",
            mode="max",
            num_samples=2,
            max_concurrent_trials=1,
            search_alg=RandomSearcher(space, metric="val_accuracy", mode="max", seed=0),
            scheduler=scheduler,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="pause", verbose=0),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0 and len(grid) == 2
    assert len(scheduler.paused) == 2
    for result in grid:
        seen = scheduler.seen[result.metrics["trial_id"]]
        assert [epoch for epoch, _ in seen] == [1, 2, 3, 4]  # not restarted at epoch 1 after the pause
        assert [since for _, since in seen] == [1, 2, 1, 2]  # a new process took over at epoch 3
        assert result.metrics["training_iteration"] == 4 and result.metrics["input_shape"] == "1x4x4"
        assert result.checkpoint is not None
