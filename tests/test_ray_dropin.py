"""Drop-in use: one Ray Tune script, written with Ray's class and argument names, runs with
Ray's built-ins and again with mftune's in their place (only the imports differ).

Ray's HyperOptSearch, OptunaSearch, BasicVariantGenerator, ASHAScheduler and
HyperBandScheduler run here; Ray's BOHB (hpbandster) and BayesOptSearch (bayes_opt) are not
installed, so for those the script runs with mftune's make_bohb and GPSearcher only, still
under Ray's argument names.
"""

import types

import pytest
from ray import tune

MAX_T = 4
SPACE = {"x": tune.uniform(0.0, 1.0), "width": tune.randint(1, 5)}
WARM = [{"x": 0.3, "width": 2}]


def make_trainable():
    # Defined in a function so that Ray pickles it by value (workers cannot import tests).
    import json
    import os
    import tempfile

    def train(config):
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint:
            with checkpoint.as_directory() as d, open(os.path.join(d, "s.json")) as f:
                start = json.load(f)["it"]
        for it in range(start + 1, MAX_T + 1):
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "s.json"), "w") as f:
                    json.dump({"it": it}, f)
                loss = (config["x"] - 0.3) ** 2 + 0.1 * config["width"] + 1.0 / it
                tune.report({"loss": loss}, checkpoint=tune.Checkpoint.from_directory(d))

    return train


def script(ns, storage):
    """What a Ray user writes, with every class taken from ``ns`` (Ray's or mftune's)."""
    runs = {
        "hyperopt+asha": (
            ns.HyperOptSearch(points_to_evaluate=WARM, n_initial_points=2, random_state_seed=0),
            ns.ASHAScheduler(time_attr="training_iteration", max_t=MAX_T, grace_period=1, reduction_factor=2),
        ),
        "optuna+hyperband": (
            ns.OptunaSearch(points_to_evaluate=WARM, evaluated_rewards=[0.5], seed=0),
            ns.HyperBandScheduler(
                time_attr="training_iteration", max_t=MAX_T, reduction_factor=2, stop_last_trials=True
            ),
        ),
        "basic+asha": (
            ns.BasicVariantGenerator(random_state=0),
            ns.AsyncHyperBandScheduler(time_attr="training_iteration", max_t=MAX_T, brackets=1),
        ),
    }
    if ns.BayesOptSearch is not None:
        runs["bayesopt+fifo"] = (ns.BayesOptSearch(random_state=0, random_search_steps=2), None)
    if ns.make_bohb is not None:
        pair = ns.make_bohb(time_attr="training_iteration", max_t=MAX_T, reduction_factor=2, random_state_seed=0)
        runs["bohb"] = (pair.searcher, pair.scheduler)
    results = {}
    for name, (search_alg, scheduler) in runs.items():
        tuner = tune.Tuner(
            make_trainable(),
            param_space=SPACE,
            tune_config=tune.TuneConfig(
                metric="loss",
                mode="min",
                num_samples=5,
                search_alg=search_alg,
                scheduler=scheduler,
                max_concurrent_trials=2,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(storage_path=str(storage), name=name, verbose=0),
        )
        results[name] = tuner.fit()
    return results


def ray_builtins():
    from ray.tune.schedulers import AsyncHyperBandScheduler, HyperBandScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator
    from ray.tune.search.hyperopt import HyperOptSearch
    from ray.tune.search.optuna import OptunaSearch

    return types.SimpleNamespace(
        HyperOptSearch=HyperOptSearch,
        OptunaSearch=OptunaSearch,
        BasicVariantGenerator=BasicVariantGenerator,
        BayesOptSearch=None,  # needs bayes_opt
        ASHAScheduler=AsyncHyperBandScheduler,
        AsyncHyperBandScheduler=AsyncHyperBandScheduler,
        HyperBandScheduler=HyperBandScheduler,
        make_bohb=None,  # TuneBOHB needs hpbandster
    )


def mftune_builtins():
    from schedulers import ASHAScheduler, AsyncHyperBandScheduler, HyperBandScheduler, make_bohb
    from searchers import GPSearcher, RandomSearcher, TPESearcher

    return types.SimpleNamespace(
        HyperOptSearch=TPESearcher,
        OptunaSearch=TPESearcher,
        BasicVariantGenerator=RandomSearcher,
        BayesOptSearch=GPSearcher,
        ASHAScheduler=ASHAScheduler,
        AsyncHyperBandScheduler=AsyncHyperBandScheduler,
        HyperBandScheduler=HyperBandScheduler,
        make_bohb=make_bohb,
    )


def check(results):
    for name, grid in results.items():
        assert grid.num_errors == 0, name
        frame = grid.get_dataframe()
        assert len(frame) == 5, name
        assert frame["training_iteration"].max() <= MAX_T, name
        best = grid.get_best_result()  # metric and mode come from the TuneConfig
        assert best.metrics["loss"] == pytest.approx(frame["loss"].min()), name


@pytest.mark.ray
def test_the_same_script_runs_with_rays_builtins_and_with_ours(ray_local, tmp_path):
    check(script(ray_builtins(), tmp_path / "ray"))
    ours = script(mftune_builtins(), tmp_path / "mftune")
    check(ours)
    assert set(ours) == {"hyperopt+asha", "optuna+hyperband", "basic+asha", "bayesopt+fifo", "bohb"}
    # ASHA with grace_period=1, eta=2 stopped someone below max_t; Hyperband's brackets did too.
    for name in ("hyperopt+asha", "optuna+hyperband", "bohb"):
        assert ours[name].get_dataframe()["training_iteration"].min() < MAX_T, name
    # The warm-started point was recorded with its reward, not run: OptunaSearch's evaluated_rewards.
    from searchers import TPESearcher

    state = TPESearcher()
    state.restore(str(sorted((tmp_path / "mftune" / "optuna+hyperband").glob("searcher-state-*.pkl"))[-1]))
    warm = [o for o in state.record if o.trial_id.startswith("__evaluated")]
    assert [(o.flat, o.loss) for o in warm] == [({"x": 0.3, "width": 2}, 0.5)]
    assert len(state.record) == 6  # the warm point and five trials
