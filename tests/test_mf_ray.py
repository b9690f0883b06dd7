"""MFGPSearcher in real Tuner runs: with Ray's ASHA and with mftune's ASHA (promotion), from a
plain Tune script; its state read back from the files Tune writes; and the registry names."""

import math

import pytest
from ray import tune
from ray.tune.schedulers import ASHAScheduler as RayASHA

from pipeline.registry import SEARCHERS, SearchContext
from schedulers import ASHAScheduler, HyperbandScheduler
from schedulers.state_file import FILE_NAME, load_state
from searchers.mf import MFGPSearcher
from searchers.record import COMPLETE, FAILED
from searchers.space import SearchSpace

SPACE = {"x": tune.uniform(0.0, 1.0), "y": tune.uniform(0.0, 1.0)}


def make_objective():
    # Defined in a function so that Ray pickles it by value (workers cannot import tests).
    def objective(config):
        final = (config["x"] - 0.3) ** 2 + (config["y"] - 0.7) ** 2
        for it in range(1, 10):
            tune.report({"loss": final + (0.5 + config["y"]) / it})

    return objective


def saved_searcher(exp_dir):
    paths = sorted(exp_dir.glob("searcher-state-*.pkl"))
    assert paths, "Tune saved the searcher with the experiment"
    restored = MFGPSearcher()
    restored.restore(str(paths[-1]))
    return restored


@pytest.mark.ray
@pytest.mark.parametrize("which", ["ray-asha", "mftune-asha-promotion", "mftune-hyperband-learnt"])
def test_tuner_with_asha_feeds_every_rung_to_the_model(ray_local, tmp_path, which):
    model = "joint" if which == "mftune-asha-promotion" else "hypertune"
    searcher = MFGPSearcher(seed=0, model=model, max_resource=9, n_startup_trials=5, n_candidates=64, n_bootstrap=20)
    if which == "ray-asha":
        scheduler = RayASHA(time_attr="training_iteration", max_t=9, grace_period=1, reduction_factor=3)
    elif which == "mftune-hyperband-learnt":  # brackets drawn by the searcher's level weights
        scheduler = HyperbandScheduler(
            min_resource=1, max_resource=9, reduction_factor=3, synchronous=False, learn_brackets=True
        )
    else:
        scheduler = ASHAScheduler(min_resource=1, max_resource=9, reduction_factor=3, rule="promotion")
    tuner = tune.Tuner(
        make_objective(),
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=12, max_concurrent_trials=2, search_alg=searcher, scheduler=scheduler
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name=which, verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 12 and grid.num_errors == 0
    state = saved_searcher(tmp_path / which)
    assert len(state.record) == 12
    assert all(o.state != FAILED for o in state.record)
    reached = [max(o.levels) for o in state.record]
    assert min(reached) < 9 and max(reached) == 9  # the scheduler stopped some trials early
    for obs in state.record:
        config = state.space.from_flat(obs.flat)
        final = (config["x"] - 0.3) ** 2 + (config["y"] - 0.7) ** 2
        for level, loss in obs.levels.items():
            assert loss == pytest.approx(final + (0.5 + config["y"]) / level)
    # the model ran: its warm starts were kept (hypertune: per rung, with weights summing to 1)
    if model == "joint":
        assert list(state.core.thetas) == ["joint"]
    else:
        assert state.core.thetas and set(state.core.weights) <= {1.0, 3.0, 9.0}
        assert math.isclose(sum(state.core.weights.values()), 1.0)
    assert sum(o.state == COMPLETE for o in state.record) == 12
    if which == "mftune-hyperband-learnt":
        # the weights the searcher measured reached the scheduler's core, journaled with its state
        saved = load_state(str(tmp_path / which / FILE_NAME))
        assert saved is not None
        weights = dict((level, w) for level, w in saved["core"]["level_weights"])
        assert set(weights) <= {1.0, 3.0, 9.0} and math.isclose(sum(weights.values()), 1.0)


def test_registry_names_build_the_searcher_on_the_schedulers_rungs():
    ctx = SearchContext(space=SearchSpace(SPACE), metric="loss", mode="min", seed=3, max_resource=27)
    for name, model in (("hypertune", "hypertune"), ("mobster", "joint")):
        s = SEARCHERS[name](ctx)
        assert isinstance(s, MFGPSearcher)
        assert s.core.model == model and s.core.levels == [1.0, 3.0, 9.0, 27.0] and s.seed == 3
