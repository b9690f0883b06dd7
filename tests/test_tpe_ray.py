"""TPESearcher in real Tuner runs: under Ray's ASHA with a ConcurrencyLimiter (multi-fidelity
record), and with max_concurrent_trials; state read back from the files Tune writes."""

import math

import pytest
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import ConcurrencyLimiter

from searchers import TPESearcher
from searchers.record import COMPLETE

SPACE = {
    "x": tune.uniform(-2.0, 2.0),
    "model": tune.choice([{"kind": "a", "w": tune.loguniform(1e-3, 1.0)}, {"kind": "b"}]),
}


def make_problem():
    # Defined in a function so that Ray pickles it by value (workers cannot import tests).
    def loss(config):
        m = config["model"]
        return (config["x"] - 0.5) ** 2 + (abs(math.log10(m["w"]) + 1) if m["kind"] == "a" else 0.7)

    def objective(config):
        for it in range(1, 10):
            tune.report({"loss": loss(config) + 1.0 / it})

    return loss, objective


def saved_searcher(exp_dir):
    paths = sorted(exp_dir.glob("searcher-state-*.pkl"))
    assert paths, "Tune saved the searcher with the experiment"
    restored = TPESearcher()
    restored.restore(str(paths[-1]))
    return restored


@pytest.mark.ray
def test_tuner_with_asha_records_every_level_and_fits_on_bohbs_level(ray_local, tmp_path):
    base_loss, objective = make_problem()
    searcher = TPESearcher(seed=0, n_startup_trials=6)
    tuner = tune.Tuner(
        objective,
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            num_samples=24,
            reuse_actors=True,
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=2),
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=9, grace_period=1, reduction_factor=3),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="asha", verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 24 and grid.num_errors == 0
    state = saved_searcher(tmp_path / "asha")
    assert len(state.record) == 24
    reached = []
    for obs in state.record:
        assert obs.state == COMPLETE
        top = max(obs.levels)
        assert sorted(obs.levels) == [float(i) for i in range(1, int(top) + 1)]  # every report, per level
        config = state.space.from_flat(obs.flat)
        for level, loss in obs.levels.items():
            assert loss == pytest.approx(base_loss(config) + 1.0 / level)
        assert obs.loss == obs.levels[top]
        reached.append(top)
    assert min(reached) < 9 and max(reached) == 9  # ASHA stopped some trials early
    # BOHB's rule, recomputed by hand: the highest level with at least (parameters + 2) results.
    need = len(state.space.params) + 2
    expected = max(lv for lv in range(1, 10) if sum(r >= lv for r in reached) >= need)
    level, values = state.core.fit_data()
    assert level == expected
    assert (values == values).sum() == sum(r >= expected for r in reached)


@pytest.mark.ray
def test_tuner_with_max_concurrent_trials(ray_local, tmp_path):
    tuner = tune.Tuner(
        make_problem()[1],
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            num_samples=14,
            reuse_actors=True,
            max_concurrent_trials=2,
            search_alg=TPESearcher(seed=1, n_startup_trials=5),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="fifo", verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 14 and grid.num_errors == 0
    state = saved_searcher(tmp_path / "fifo")
    assert [o.state for o in state.record] == [COMPLETE] * 14
    assert all(max(o.levels) == 9.0 for o in state.record)
    df = grid.get_dataframe()
    assert sorted(df["loss"]) == pytest.approx(sorted(o.loss for o in state.record))
