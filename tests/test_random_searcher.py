"""The shared Ray searcher adapter, through RandomSearcher: the Ray contract and state."""

import math
import pickle

import numpy as np
import pytest
from ray import tune

from searchers import RandomSearcher, SearchSpace
from searchers.record import COMPLETE, FAILED, PENDING

SPACE = {
    "x": tune.uniform(-5, 10),
    "opt": tune.choice([{"name": "sgd", "m": tune.uniform(0, 1)}, {"name": "adam"}]),
}


def make(**kw):
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    return RandomSearcher(SPACE, **kw)


def test_suggest_returns_full_valid_configs_and_same_seed_same_suggestions():
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    sa = [a.suggest(f"t{i}") for i in range(30)]
    assert sa == [b.suggest(f"t{i}") for i in range(30)]
    assert sa != [c.suggest(f"t{i}") for i in range(30)]
    space = SearchSpace(SPACE)
    for cfg in sa:
        space.to_flat(cfg)  # valid and complete: Ray fills nothing in
        assert not any(type(v).__module__.startswith("ray") for v in cfg.values())


def test_points_to_evaluate_come_first_and_are_validated():
    s = make(points_to_evaluate=[{"x": 1.0, "opt": {"name": "adam"}}])
    assert s.suggest("a") == {"x": 1.0, "opt": {"name": "adam"}}
    assert s.suggest("b") != {"x": 1.0, "opt": {"name": "adam"}}
    with pytest.raises(ValueError, match="points_to_evaluate\\[0\\].*'x'.*outside"):
        make(points_to_evaluate=[{"x": 99.0, "opt": {"name": "adam"}}])


def test_results_completion_errors_nan_and_unknown_ids():
    s = make(mode="max")
    for tid in "abcde":
        s.suggest(tid)
    s.on_trial_result("a", {"loss": 1.0, "training_iteration": 1})
    s.on_trial_result("a", {"loss": 3.0, "training_iteration": 2})
    s.on_trial_complete("a", {"loss": 3.0, "training_iteration": 2})
    s.on_trial_result("b", {"loss": 2.0, "training_iteration": 1})
    s.on_trial_complete("b", None)  # a paused trial stopped by HyperBand: last result counts
    s.on_trial_complete("c", None, error=True)
    s.on_trial_complete("d", {"loss": float("nan"), "training_iteration": 1})
    s.on_trial_complete("never-suggested", {"loss": 1.0})
    rec = {t.trial_id: t for t in s.record}
    assert (rec["a"].state, rec["a"].loss, rec["a"].levels) == (COMPLETE, -3.0, {1.0: -1.0, 2.0: -3.0})
    assert (rec["b"].state, rec["b"].loss) == (COMPLETE, -2.0)
    assert rec["c"].state == FAILED and rec["d"].state == FAILED
    assert rec["e"].state == PENDING
    assert "never-suggested" not in s.record


def test_set_search_properties_takes_space_metric_mode_once():
    s = RandomSearcher()
    assert s.set_search_properties("acc", "max", SPACE)
    assert s.metric == "acc" and s.mode == "max" and len(s.space) == 3
    assert not s.set_search_properties("acc", "max", SPACE)  # a second space is refused, as Ray's do
    assert s.set_search_properties(None, None, {"constant": 3})
    with pytest.raises(RuntimeError, match="metric and mode"):
        RandomSearcher(SPACE).suggest("x")
    with pytest.raises(RuntimeError, match="no search space"):
        RandomSearcher(metric="m", mode="min").suggest("x")
    with pytest.raises(ValueError, match="mode must be"):
        RandomSearcher(SPACE, metric="m", mode="maximize")


def test_add_evaluated_point():
    s = make()
    s.add_evaluated_point({"x": 2.0, "opt": {"name": "sgd", "m": 0.5}}, 0.25, intermediate_values=[1.0, 0.5])
    (obs,) = list(s.record)
    assert obs.state == COMPLETE and obs.loss == 0.25 and obs.levels == {1.0: 1.0, 2.0: 0.5}


def test_save_restore_continues_exactly(tmp_path):
    """A searcher restored halfway suggests exactly what the uninterrupted one does."""
    full = make(seed=5, points_to_evaluate=[{"x": 0.0, "opt": {"name": "adam"}}] * 3)
    half = make(seed=5, points_to_evaluate=[{"x": 0.0, "opt": {"name": "adam"}}] * 3)
    for i in range(2):
        for s in (full, half):
            s.suggest(f"t{i}")
            s.on_trial_complete(f"t{i}", {"loss": float(i), "training_iteration": 1})
    path = tmp_path / "state.pkl"
    half.save(str(path))
    fresh = RandomSearcher(seed=999)  # constructor arguments are overwritten by the state
    fresh.restore(str(path))
    assert [full.suggest(f"u{i}") for i in range(10)] == [fresh.suggest(f"u{i}") for i in range(10)]
    assert fresh.metric == "loss" and fresh.mode == "min" and len(fresh.record) == 12
    assert b"ray.tune.search.sample" not in path.read_bytes()
    assert not list(tmp_path.glob(".tmp-*"))  # atomic write leaves no temp file


def test_restore_refuses_another_searchers_state(tmp_path):
    path = tmp_path / "state.pkl"
    with open(path, "wb") as f:
        pickle.dump({"format": 1, "class": "TPESearcher"}, f)
    with pytest.raises(ValueError, match="TPESearcher"):
        make().restore(str(path))


@pytest.mark.ray
def test_real_tuner_run_with_concurrency_limit(ray_local, tmp_path):
    def objective(config):
        bonus = 0.0 if config["opt"]["name"] == "adam" else config["opt"]["m"]
        for i in range(3):
            tune.report({"loss": (config["x"] - 2) ** 2 + bonus - i})

    searcher = RandomSearcher(seed=0)
    tuner = tune.Tuner(
        objective,
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", search_alg=searcher, num_samples=8, max_concurrent_trials=2, reuse_actors=True
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="rs", verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 8 and grid.num_errors == 0
    df = grid.get_dataframe()
    expected = [
        (x - 2) ** 2 + (0.0 if n == "adam" else (m if not math.isnan(m) else 0.0)) - 2
        for x, n, m in zip(df["config/x"], df["config/opt/name"], df.get("config/opt/m", np.full(len(df), np.nan)))
    ]
    np.testing.assert_allclose(df["loss"], expected)
    saved = list((tmp_path / "rs").glob("searcher-state-*.pkl"))
    assert saved, "Tune saved the searcher with the experiment"
    restored = RandomSearcher()
    restored.restore(str(saved[0]))
    assert len(restored.record) == 8
