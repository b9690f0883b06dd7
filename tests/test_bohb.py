"""BOHB = HyperbandScheduler + TPESearcher: the pairing's checks, and a real Tuner run in
which the searcher fits on rungs above the first while trials pause and resume."""

import json
import os
import tempfile

import pytest
from ray import tune

from schedulers import BOHB, AsyncHyperband, HyperbandScheduler, SyncHyperband, make_bohb
from searchers import RandomSearcher, TPESearcher
from searchers.space import Float

SPACE = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}


def test_bohb_builds_a_tpe_and_a_hyperband_over_one_resource():
    pair = make_bohb(SPACE, metric="loss", mode="min", resource_attr="epoch", max_resource=27, seed=4)
    assert isinstance(pair, BOHB)
    assert isinstance(pair.searcher, TPESearcher) and isinstance(pair.scheduler, HyperbandScheduler)
    assert pair.searcher.resource_attr == pair.scheduler.resource_attr == "epoch"
    assert pair.scheduler.resource_levels == [1, 3, 9, 27]
    assert isinstance(pair.scheduler.core, AsyncHyperband) and pair.scheduler.core.rule == "promotion"
    assert isinstance(make_bohb(SPACE, synchronous=True).scheduler.core, SyncHyperband)


def test_bohb_takes_a_configured_tpe_but_only_one_that_sees_the_rungs():
    mine = TPESearcher(SPACE, seed=1, n_startup_trials=3, resource_attr="epoch")
    assert make_bohb(searcher=mine, resource_attr="epoch").searcher is mine
    with pytest.raises(ValueError, match="resource_attr"):
        make_bohb(searcher=mine)  # the scheduler would count training_iteration
    with pytest.raises(ValueError, match="TPESearcher"):
        make_bohb(searcher=RandomSearcher(SPACE))
    with pytest.raises(ValueError, match="space"):
        make_bohb(SPACE, searcher=mine, resource_attr="epoch")


def test_the_same_seed_gives_the_same_suggestions():
    def first(seed):
        searcher = make_bohb(SPACE, metric="loss", mode="min", seed=seed).searcher
        return [searcher.suggest(f"t{i}") for i in range(3)]

    assert first(7) == first(7) != first(8)


class LevelRecordingTPE(TPESearcher):
    """Notes the resource level each model-based suggestion was fitted on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.levels = []

    def _propose(self, trial_id):
        flat = super()._propose(trial_id)
        decision = self.core.last_decision
        if decision is not None:
            self.levels.append(decision.level)
        return flat


def _bowl():
    """A learning curve: the loss falls with epochs towards (x-0.3)^2 + (y-0.6)^2; resumable.

    Built in a function so cloudpickle ships it by value (workers cannot import tests/)."""

    def bowl(config):
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d, open(os.path.join(d, "epoch.json")) as f:
                start = json.load(f)["epoch"]
        for epoch in range(start + 1, 10):
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "epoch.json"), "w") as f:
                    json.dump({"epoch": epoch}, f)
                loss = (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2 + 0.5 / epoch
                tune.report({"loss": loss, "epoch": epoch}, checkpoint=tune.Checkpoint.from_directory(d))

    return tune.with_resources(bowl, {"cpu": 1})


@pytest.mark.ray
def test_a_real_bohb_run_fits_tpe_on_higher_rungs_and_resumes_paused_trials(ray_local, tmp_path):
    searcher = LevelRecordingTPE(SPACE, seed=0, n_startup_trials=4, resource_attr="epoch")
    pair = make_bohb(
        metric="loss", mode="min", searcher=searcher, resource_attr="epoch", max_resource=9, reduction_factor=3, seed=0
    )
    assert searcher.metric == "loss"
    tuner = tune.Tuner(
        _bowl(),
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            num_samples=24,
            search_alg=pair.searcher,
            scheduler=pair.scheduler,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="bohb", verbose=0),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0 and len(grid) == 24

    epochs = [r.metrics["epoch"] for r in grid]
    assert set(epochs) <= {1, 3, 9} and max(epochs) == 9  # trials end only at milestones
    # Promoted trials continued from their checkpoints rather than from epoch 1.
    assert any(r.metrics["iterations_since_restore"] < r.metrics["epoch"] for r in grid)
    # The searcher saw the rungs: later suggestions came from a model fitted above rung 1.
    assert searcher.levels and max(searcher.levels) >= 3
    best = grid.get_best_result()
    assert best.metrics["epoch"] == 9
