"""AutoSearcher: which model served which suggestion, one record for both, restore across the switch."""

import numpy as np
import pytest
from ray import tune

from benchmarks.functions import PROBLEMS
from searchers import AutoSearcher, SearchSpace
from searchers.ask_tell import AskTell
from searchers.auto.core import AutoCore
from searchers.auto.rule import GP_MAX_TRIALS, choose_model, gp_trials
from searchers.record import COMPLETE
from searchers.tpe.core import TPECore

SPACE = {"x": tune.uniform(-5, 10), "y": tune.uniform(0, 15)}
FAST_GP = {"n_candidates": 128, "fit_restarts": 1}


def loss(config):
    return PROBLEMS["branin"].fn({"x1": config["x"], "x2": config["y"]})


def make(**kw):
    kw.setdefault("metric", "loss")
    kw.setdefault("mode", "min")
    kw.setdefault("n_startup_trials", 4)
    kw.setdefault("switch_after", 10)
    kw.setdefault("gp", FAST_GP)
    return AutoSearcher(SPACE, **kw)


def run(searcher, ids):
    out = []
    for tid in ids:
        cfg = searcher.suggest(tid)
        searcher.on_trial_complete(tid, {"loss": loss(cfg), "training_iteration": 1})
        out.append(cfg)
    return out


def test_rule_is_monotone_and_uses_the_documented_thresholds():
    for dim in (1, 2, 6, 20, 50):
        assert gp_trials(dim) == GP_MAX_TRIALS == 1000  # the documented switch point (searchers/auto/rule.py)
        models = [choose_model(n, dim) for n in range(GP_MAX_TRIALS + 50)]
        assert models == ["gp"] * GP_MAX_TRIALS + ["tpe"] * 50  # the GP first, TPE from 1,000 on, never back
    assert choose_model(5, 2, switch_after=0) == "tpe" and choose_model(5, 2, switch_after=6) == "gp"


def test_served_by_records_the_switch_and_is_deterministic():
    ids = [f"t{i}" for i in range(14)]
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    ca, cb, cc = run(a, ids), run(b, ids), run(c, ids)
    assert ca == cb and ca != cc
    assert [a.served_by[t] for t in ids] == ["gp"] * 10 + ["tpe"] * 4  # the hand-over at switch_after
    assert a.served_by == b.served_by and a.core.served == ["gp"] * 10 + ["tpe"] * 4


def test_each_phase_is_exactly_the_searcher_it_names():
    """Before the switch auto suggests what GPSearcher does, from 0 on what TPESearcher does."""
    from searchers import GPSearcher, TPESearcher

    ids = [f"t{i}" for i in range(8)]
    gp = GPSearcher(SPACE, metric="loss", mode="min", seed=2, n_startup_trials=4, **FAST_GP)
    assert run(make(seed=2, switch_after=100), ids) == run(gp, ids)
    tpe = TPESearcher(SPACE, metric="loss", mode="min", seed=2, n_startup_trials=4)
    assert run(make(seed=2, switch_after=0), ids + ["t8", "t9", "t10"]) == run(tpe, ids + ["t8", "t9", "t10"])


def test_default_rule_hands_over_where_documented():
    """Warm-start the record to one trial short of the threshold: GP next, then TPE."""
    limit = gp_trials(2)
    rng = np.random.default_rng(0)
    pts = [{"x": float(rng.uniform(-5, 10)), "y": float(rng.uniform(0, 15))} for _ in range(limit - 1)]
    s = AutoSearcher(SPACE, metric="loss", mode="min", seed=0, gp=FAST_GP, points_to_evaluate=pts,
                     evaluated_rewards=[loss(p) for p in pts])  # fmt: skip
    assert len(s.record) == limit - 1 and s.model_for_next() == "gp"
    s.suggest("last-gp")
    assert s.served_by["last-gp"] == "gp" and s.model_for_next() == "tpe"
    s.suggest("first-tpe")  # the previous one still in flight: counted as a trial
    assert s.served_by["first-tpe"] == "tpe"


def test_points_to_evaluate_are_logged_as_points_and_count_as_trials():
    s = make(points_to_evaluate=[{"x": 1.0, "y": 2.0}], switch_after=3)
    run(s, ["p", "a", "b", "c"])
    assert [s.served_by[t] for t in ("p", "a", "b", "c")] == ["point", "gp", "gp", "tpe"]


def test_tpe_takes_over_with_every_observation_including_those_in_flight():
    s = make(seed=4)
    run(s, [f"t{i}" for i in range(9)])
    s.suggest("inflight")  # the 10th trial, by the GP; still running when TPE takes over
    state = s.rng.bit_generator.state
    s.suggest("tpe0")
    assert s.served_by["tpe0"] == "tpe"
    table = s.core.tpe(s.space, s.record).table
    assert len(table.pending) == len(s.record) == 11 and table.pending.sum() == 2  # "inflight" and "tpe0"
    # the same proposal as a TPE core built afresh from the whole record (minus the new trial)
    fresh = TPECore(s.space, s.core.tpe_settings)
    for obs in s.record:
        if obs.trial_id != "tpe0":
            fresh.observe(obs)
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    assert s.space.from_flat(fresh.propose(rng)) == s.space.from_flat(s.record.get("tpe0").flat)


@pytest.mark.parametrize("save_at", [7, 12])  # before the switch (GP state) and after it (TPE table)
def test_restore_across_the_switch_continues_exactly(tmp_path, save_at):
    full, half = make(seed=7), make(seed=7)
    for s in (full, half):
        run(s, [f"t{i}" for i in range(save_at)])
        s.suggest("inflight")
    path = tmp_path / "auto.pkl"
    half.save(str(path))
    restored = AutoSearcher(seed=123, switch_after=99)  # constructor settings are overwritten
    restored.restore(str(path))
    assert restored.served_by == full.served_by and restored.core.switch_after == 10
    for s in (full, restored):
        s.on_trial_complete("inflight", {"loss": 3.0})
    ids = [f"u{i}" for i in range(6)]
    assert run(full, ids) == run(restored, ids)
    assert full.served_by == restored.served_by
    # saved at 8 trials, the continuation crosses the switch (2 by the GP, then TPE); at 13, TPE only
    assert [full.served_by[t] for t in ids] == ["gp" if save_at + 1 + i < 10 else "tpe" for i in range(6)]


def test_a_run_restored_under_a_later_threshold_does_not_hand_back_to_the_gp(tmp_path):
    """A run saved after TPE took over (an older, lower threshold) and restored where the
    rule would still pick the GP keeps TPE: the hand-over happens once per run."""
    old = make(seed=3, switch_after=6)
    run(old, [f"t{i}" for i in range(8)])
    assert [old.served_by[f"t{i}"] for i in range(8)] == ["gp"] * 6 + ["tpe"] * 2
    path = tmp_path / "old.pkl"
    old.save(str(path))
    restored = AutoSearcher()
    restored.restore(str(path))
    restored.core.switch_after = None  # the default rule: the GP for far more than 8 trials
    assert choose_model(len(restored.record), 2) == "gp"
    run(restored, ["u0", "u1"])
    assert restored.served_by["u0"] == restored.served_by["u1"] == "tpe"


def test_ask_tell_auto_matches_the_searcher():
    opt = AskTell(SPACE, mode="min", seed=3, n_startup_trials=4, switch_after=8, gp=FAST_GP)
    s = make(seed=3, switch_after=8)
    for i in range(11):
        tid, cfg = opt.ask()
        assert s.suggest(f"t{i}") == cfg
        opt.tell(tid, loss(cfg))
        s.on_trial_complete(f"t{i}", {"loss": loss(cfg)})
    assert opt.algorithm == "auto" and opt._auto is not None
    assert opt._auto.served == ["gp"] * 8 + ["tpe"] * 3


def test_define_by_run_space_and_ray_names():
    def space(trial):
        trial.suggest_float("x", -5, 10)
        trial.suggest_float("y", 0, 15)

    s = AutoSearcher(space, metric="loss", mode="min", random_state_seed=5, n_initial_points=3, switch_after=5,
                     gp=FAST_GP)  # fmt: skip
    assert s.seed == 5 and s.core.gp.n_startup_trials == 3 and s.core.tpe_settings.n_startup_trials == 3
    run(s, [f"t{i}" for i in range(7)])
    assert list(s.served_by.values()) == ["gp"] * 5 + ["tpe"] * 2


def test_bad_arguments_name_themselves():
    for kw, msg in [
        ({"switch_after": -1}, "switch_after must be None or an integer >= 0"),
        ({"switch_after": 2.5}, "switch_after must be None or an integer >= 0"),
        ({"gp": {"acquisition": "pi"}}, "acquisition must be one of"),
        ({"tpe": {"gamma": 2.0}}, "gamma"),
    ]:
        with pytest.raises(ValueError, match=msg):
            make(**kw)
    with pytest.raises(TypeError):
        AutoCore(gp={"no_such_knob": 1})


def test_registry_default_is_auto_and_bohb_keeps_tpe():
    from pipeline.registry import SEARCHERS, SearchContext, stage_searcher

    assert stage_searcher(None, "asha") == "auto" and stage_searcher(None, "fifo") == "auto"
    assert stage_searcher(None, "bohb") == "tpe"
    ctx = SearchContext(SearchSpace(SPACE), "loss", "min", seed=3, max_resource=9)
    assert isinstance(SEARCHERS["auto"](ctx), AutoSearcher)


@pytest.mark.ray
def test_real_tuner_run(ray_local, tmp_path):
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

    searcher = AutoSearcher(seed=0, n_startup_trials=3, switch_after=6, gp=FAST_GP)
    tuner = tune.Tuner(
        objective,
        param_space=SPACE,
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=10, max_concurrent_trials=2, search_alg=searcher
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="auto", verbose=0),
    )
    grid = tuner.fit()
    assert len(grid) == 10 and grid.num_errors == 0
    df = grid.get_dataframe()
    np.testing.assert_allclose(df["loss"], [loss({"x": x, "y": y}) for x, y in zip(df["config/x"], df["config/y"])])
    saved = list((tmp_path / "auto").glob("searcher-state-*.pkl"))
    assert saved
    restored = AutoSearcher()
    restored.restore(str(saved[0]))
    assert len(restored.record.with_state(COMPLETE)) == 10
    assert sorted(restored.served_by.values()) == ["gp"] * 6 + ["tpe"] * 4
    assert restored.core.gp.theta is not None  # the GP modelled trials 4-6 before TPE took over
