"""GPSearcher through Ray's Searcher contract: determinism, pending trials, state, Tuner."""

import math

import numpy as np
import pytest
from ray import tune

from benchmarks.functions import PROBLEMS
from searchers import GPSearcher, SearchSpace
from searchers.gp.core import GPCore
from searchers.gp.encoding import Encoding
from searchers.record import COMPLETE, FAILED, TrialRecord

SPACE = {"x": tune.uniform(-5, 10), "y": tune.uniform(0, 15)}


def loss(config):
    return PROBLEMS["branin"].fn({"x1": config["x"], "x2": config["y"]})


def make(**kw):
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    kw.setdefault("n_startup_trials", 4)
    kw.setdefault("n_candidates", 256)
    return GPSearcher(SPACE, **kw)


def run(searcher, ids, objective=loss):
    out = []
    for tid in ids:
        cfg = searcher.suggest(tid)
        searcher.on_trial_complete(tid, {"loss": objective(cfg), "training_iteration": 1})
        out.append(cfg)
    return out


def test_same_seed_same_suggestions_and_the_gp_improves_on_random():
    ids = [f"t{i}" for i in range(14)]
    a, b, c = run(make(seed=1), ids), run(make(seed=1), ids), run(make(seed=2), ids)
    assert a == b and a != c
    losses = [loss(cfg) for cfg in a]
    assert min(losses[4:]) < min(losses[:4])  # the GP phase finds better points than the random start
    assert min(losses) < 2.0  # branin's minimum is 0.398; random search needs ~100 draws for this


def test_pending_trials_change_the_next_suggestion():
    space = SearchSpace(SPACE)
    rec = TrialRecord()
    rng = np.random.default_rng(0)
    for i in range(8):
        flat = space.sample_flat(rng)
        rec.add(f"t{i}", flat)
        rec.complete(f"t{i}", loss(space.from_flat(flat)))
    core = GPCore(n_startup_trials=4)
    first = core.propose(space, rec, np.random.default_rng(5))
    core_again = GPCore(n_startup_trials=4)
    assert core_again.propose(space, rec, np.random.default_rng(5)) == first  # deterministic
    rec.add("pending", first)  # now in flight
    second = GPCore(n_startup_trials=4).propose(space, rec, np.random.default_rng(5))
    enc = Encoding(space)
    assert np.linalg.norm(enc.encode(second) - enc.encode(first)) > 0.02


def test_parallel_suggestions_differ():
    s = make(seed=3)
    run(s, [f"t{i}" for i in range(6)])
    batch = [s.suggest(f"p{i}") for i in range(3)]  # three in flight at once
    pts = np.array([[c["x"] / 15, c["y"] / 15] for c in batch])
    assert min(np.linalg.norm(pts[i] - pts[j]) for i in range(3) for j in range(i)) > 0.01


def test_save_restore_continues_exactly(tmp_path):
    """A searcher restored halfway (with a trial in flight) suggests what the uninterrupted one does."""
    full, half = make(seed=7), make(seed=7)
    for s in (full, half):
        run(s, [f"t{i}" for i in range(7)])
        s.suggest("inflight")
    path = tmp_path / "gp.pkl"
    half.save(str(path))
    restored = GPSearcher(seed=123, acquisition="ucb")  # constructor settings are overwritten...
    restored.restore(str(path))
    assert restored.core.acquisition == "log-ei" and restored.core.n_candidates == 256
    assert restored.core.theta is not None
    np.testing.assert_array_equal(restored.core.theta, full.core.theta)
    for s in (full, restored):
        s.on_trial_complete("inflight", {"loss": 3.0})
    assert run(full, [f"u{i}" for i in range(5)]) == run(restored, [f"u{i}" for i in range(5)])


def test_ray_contract_points_failures_nan_unknown_ids():
    s = make(points_to_evaluate=[{"x": 1.0, "y": 2.0}], seed=0)
    assert s.suggest("p") == {"x": 1.0, "y": 2.0}
    s.on_trial_complete("p", {"loss": 5.0})
    for i in range(6):
        s.suggest(f"t{i}")
    s.on_trial_complete("t0", None, error=True)
    s.on_trial_complete("t1", {"loss": float("nan")})
    s.on_trial_result("t2", {"loss": 1.5, "training_iteration": 1})
    s.on_trial_complete("t2", None)  # stopped while paused: its last result counts
    s.on_trial_complete("never-suggested", {"loss": 0.0})
    for tid in ("t3", "t4", "t5"):
        s.on_trial_complete(tid, {"loss": 10.0})
    s.add_evaluated_point({"x": 3.0, "y": 3.0}, 0.5)
    states = {t.trial_id: t.state for t in s.record}
    assert states["t0"] == FAILED and states["t1"] == FAILED and states["t2"] == COMPLETE
    assert "never-suggested" not in states
    cfg = s.suggest("gp")  # 6 observations >= n_startup_trials: a GP suggestion over failures
    assert -5 <= cfg["x"] <= 10 and 0 <= cfg["y"] <= 15
    assert s.core.theta is not None


def test_space_and_metric_from_the_tuner_and_conditional_configs():
    s = GPSearcher(n_startup_trials=3, n_candidates=128, seed=0)
    assert s.set_search_properties("acc", "max", PROBLEMS["conditional"].space)
    space = SearchSpace(PROBLEMS["conditional"].space)
    for i in range(10):
        cfg = s.suggest(f"t{i}")
        flat = space.to_flat(cfg)  # a complete, valid config of the right branch
        assert set(flat) == {p.name for p in space.params if space.is_active(p, flat)}
        s.on_trial_complete(f"t{i}", {"acc": -PROBLEMS["conditional"].fn(cfg)})


def test_multi_fidelity_uses_the_highest_level_with_enough_trials():
    s = make(seed=0, n_startup_trials=3)
    for i in range(5):
        cfg = s.suggest(f"t{i}")
        for level in (1, 2, 3):
            if level == 3 and i >= 3:
                break  # two trials stopped early, as a scheduler would
            s.on_trial_result(f"t{i}", {"loss": loss(cfg) / level, "training_iteration": level})
        s.on_trial_complete(f"t{i}", None)
    from searchers.gp import data

    chosen = data.select(s.record, "highest", 3)
    assert chosen.level == 3.0 and len(chosen.flats) == 3
    s.suggest("next")


def test_bad_arguments_name_themselves():
    for kw, msg in [
        ({"acquisition": "pi"}, "acquisition must be one of ucb, ei, log-ei"),
        ({"kappa": -1.0}, "kappa must be a finite number >= 0"),
        ({"kappa_schedule": "fast"}, "kappa_schedule must be one of constant, srinivas"),
        ({"n_startup_trials": 0}, "n_startup_trials must be an integer >= 1"),
        ({"fidelity": "low"}, "fidelity must be one of highest, final"),
        ({"max_points": 1.5}, "max_points must be an integer >= 2"),
        ({"n_starts": 0}, "n_starts must be an integer >= 1"),
        ({"lengthscale_prior": "flat"}, "lengthscale_prior must be one of optuna, gamma, dim-scaled"),
        ({"loss_warping": "log"}, "loss_warping must be one of none, yeo-johnson"),
    ]:
        with pytest.raises(ValueError, match=msg):
            make(**kw)


def test_kappa_schedule_grows_with_observations():
    core = GPCore(acquisition="ucb", kappa_schedule="srinivas")
    k10, k100 = core.kappa_at(10, 2), core.kappa_at(100, 2)
    assert k10 == pytest.approx(math.sqrt(0.4 * math.log(2 * 100 * math.pi**2 / 0.6)))
    assert k100 > k10
    assert GPCore(kappa=1.5).kappa_at(100, 2) == 1.5


@pytest.mark.ray
def test_real_tuner_run_with_concurrency_limiter(ray_local, tmp_path):
    from ray.tune.search import ConcurrencyLimiter

    def objective(config):  # self-contained: Ray workers cannot import this test module
        import math

        x, y = config["x"], config["y"]
        value = (
            (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)
            + 10
        )
        for i in range(2):
            tune.report({"loss": value + 1.0 - i})

    searcher = GPSearcher(seed=0, n_startup_trials=4, n_candidates=256)
    tuner = tune.Tuner(
        objective,
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss",
            mode="min",
            num_samples=10,
            reuse_actors=True,
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=2),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="gp", verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 10 and grid.num_errors == 0
    df = grid.get_dataframe()
    np.testing.assert_allclose(df["loss"], [loss({"x": x, "y": y}) for x, y in zip(df["config/x"], df["config/y"])])
    saved = list((tmp_path / "gp").glob("searcher-state-*.pkl"))
    assert saved
    restored = GPSearcher()
    restored.restore(str(saved[0]))
    assert len(restored.record) == 10 and len(restored.record.with_state(COMPLETE)) == 10
    assert restored.core.theta is not None  # the GP took over after the first 4
    assert {t.levels.get(2.0) is not None for t in restored.record} == {True}
