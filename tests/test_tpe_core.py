"""TPE's decisions, driven through the pure core (no Ray): split, fidelity level, ranking,
conditional branches, the constant liar, and the observation table."""

import math

import numpy as np
import pytest

from searchers.record import TrialRecord
from searchers.space import Categorical, Float, Int, SearchSpace
from searchers.tpe import TPECore, TPESettings
from searchers.tpe.split import choose_level, good_mask, n_good, recency_weights
from searchers.tpe.table import ObservationTable


class Run:
    """A core and the record it mirrors, as the searcher adapter keeps them."""

    def __init__(self, tree, **settings):
        self.space = SearchSpace(tree)
        self.core = TPECore(self.space, TPESettings(**settings))
        self.record = TrialRecord()

    def add(self, flat, loss=None, levels=None, state="complete"):
        tid = f"t{len(self.record)}"
        self.record.add(tid, flat)
        for level, value in (levels or {}).items():
            self.record.report(tid, level, value)
        if state == "complete":
            self.record.complete(tid, loss)
        elif state == "failed":
            self.record.fail(tid)
        self.core.observe(self.record.get(tid))
        return tid

    def propose(self, seed):
        return self.core.propose(np.random.default_rng(seed))


# ------------------------------------------------------------------------ split


def test_good_set_size_is_optunas_rule():
    assert [n_good(n, 0.1, 25) for n in (0, 1, 10, 11, 100, 249, 251, 5000)] == [0, 1, 1, 2, 10, 25, 25, 25]
    assert n_good(10, 0.25, 1) == 1


def test_good_mask_skips_missing_values_and_breaks_ties_by_age():
    values = np.array([3.0, np.nan, 1.0, 2.0, 1.0, np.nan])
    assert good_mask(values, 2).tolist() == [False, False, True, False, True, False]
    assert good_mask(values, 3).tolist() == [False, False, True, True, True, False]
    assert good_mask(values, 10).sum() == 4  # never more than the observed rows


def test_recency_weights_fade_only_beyond_the_window():
    assert recency_weights(5, 25).tolist() == [1.0] * 5
    w = recency_weights(30, 25)
    np.testing.assert_allclose(w[:5], np.linspace(1 / 30, 1, 5))
    assert w[5:].tolist() == [1.0] * 25


def test_choose_level_is_bohbs_rule_with_fallback():
    levels = np.array([1.0, 3.0, 9.0])
    assert choose_level(levels, np.array([20, 6, 2]), 5) == 1  # highest with >= 5 points: level 3
    assert choose_level(levels, np.array([20, 6, 6]), 5) == 2
    assert choose_level(levels, np.array([4, 3, 1]), 5) == 0  # none has enough: the most populated
    assert choose_level(levels, np.array([2, 3, 3]), 5) == 2  # ... the highest of those on ties
    assert choose_level(np.empty(0), np.empty(0), 5) == -1


# ------------------------------------------------------------------- the table


def test_table_built_incrementally_equals_table_rebuilt_from_the_record():
    run = Run({"x": Float(0.0, 1.0), "m": Categorical([{"a": Int(1, 9)}, {"b": Float(1e-3, 1.0, log=True)}])})
    run.core.table = ObservationTable(run.core.unit, capacity=2)  # force several growths
    rng = np.random.default_rng(0)
    for i in range(23):
        tid = run.add(run.space.sample_flat(rng), state="pending")
        if i % 3 == 0:
            run.record.report(tid, 1, float(i))
            run.record.report(tid, 4, float(i) / 2)
        if i % 4 == 1:
            run.record.complete(tid, float(-i))
        if i % 5 == 2:
            run.record.fail(tid)
        run.core.observe(run.record.get(tid))
    fresh = ObservationTable(run.core.unit)
    for obs in run.record:
        fresh.observe(obs)
    t = run.core.table
    assert t.n == fresh.n == 23
    np.testing.assert_array_equal(t.rows, fresh.rows)
    np.testing.assert_array_equal(t.active, fresh.active)
    np.testing.assert_array_equal(t.pending, fresh.pending)
    for a, b in zip(t.levels(), fresh.levels()):
        np.testing.assert_array_equal(a, b)
    for level in (None, 1.0, 4.0):
        np.testing.assert_array_equal(t.values_at(level), fresh.values_at(level))


def test_levels_and_values_count_unlevelled_results_at_every_level():
    run = Run({"x": Float(0.0, 1.0)})
    run.add({"x": 0.1}, loss=5.0, levels={1: 5.0, 2: 4.0})
    run.add({"x": 0.2}, loss=3.0, levels={1: 3.0})  # stopped at level 1
    run.add({"x": 0.3}, loss=7.0)  # a warm start without fidelity
    run.add({"x": 0.4}, levels={1: 1.0}, state="pending")  # running, reported level 1
    levels, counts = run.core.table.levels()
    assert levels.tolist() == [1.0, 2.0] and counts.tolist() == [4, 2]
    np.testing.assert_array_equal(run.core.table.values_at(2.0), [4.0, np.nan, 7.0, np.nan])
    np.testing.assert_array_equal(run.core.table.values_at(1.0), [5.0, 3.0, 7.0, 1.0])


# --------------------------------------------------------------- core decisions


def test_random_startup_until_enough_observations():
    tree = {"x": Float(0.0, 1.0), "n": Int(1, 5)}
    run = Run(tree, n_startup_trials=3)
    for i in range(2):
        assert run.propose(i) == SearchSpace(tree).sample_flat(np.random.default_rng(i))
        run.add(run.propose(i), loss=float(i))
    assert run.core.last_decision is None
    run.add({"x": 0.5, "n": 2}, loss=0.0)
    run.propose(0)
    assert run.core.last_decision is not None and run.core.last_decision.n_observed == 3


def test_ratio_l_over_g_picks_the_obvious_region_on_a_1d_toy():
    # Good points at 0.2 and at 0.8 alike, but 0.2 sits in a crowd of bad points: l alone
    # is symmetric, only the ratio l/g prefers 0.8.
    run = Run({"x": Float(0.0, 1.0)})
    for x in (0.19, 0.21, 0.79, 0.81):
        run.add({"x": x}, loss=0.0)
    for x in np.linspace(0.1, 0.3, 30):
        run.add({"x": float(x)}, loss=1.0)
    for x in (0.0, 0.5, 0.95):
        run.add({"x": x}, loss=1.0)
    proposals = np.array([run.propose(seed)["x"] for seed in range(40)])
    assert run.core.last_decision.n_good == 4 and run.core.last_decision.n_bad == 33
    assert np.mean(np.abs(proposals - 0.8) < 0.1) >= 0.9


def test_conditional_parameters_are_modelled_where_active():
    tree = {"s": Float(-1.0, 1.0), "m": Categorical([{"x": Float(0.0, 1.0)}, {"y": Float(0.0, 1.0), "k": Int(1, 10)}])}
    run = Run(tree)
    rng = np.random.default_rng(0)
    for i in range(4):  # the four best trials: branch 1 near y=0.3, k=7
        run.add({"s": float(rng.uniform(-1, 1)), "m": 1, "m[1]/y": 0.3 + 0.01 * i, "m[1]/k": 7}, loss=0.01 * i)
    for _ in range(36):
        run.add(run.space.sample_flat(rng), loss=1.0 + rng.random())
    props = [run.propose(seed) for seed in range(60)]
    assert run.core.last_decision.n_good == 4
    in_branch = [p for p in props if p["m"] == 1]
    assert len(in_branch) >= 45
    ys = np.array([p["m[1]/y"] for p in in_branch])
    ks = np.array([p["m[1]/k"] for p in in_branch])
    assert np.mean(np.abs(ys - 0.3) < 0.1) >= 0.8  # uniform sampling would give 0.2
    assert np.mean(np.abs(ks - 7) <= 1) >= 0.8  # uniform sampling would give 0.3
    assert all(set(p) == ({"s", "m", "m[0]/x"} if p["m"] == 0 else {"s", "m", "m[1]/y", "m[1]/k"}) for p in props)


def test_branch_choice_rests_on_the_branch_level_evidence_not_on_how_concentrated_a_branch_is():
    # Half of the twenty good points lie in each branch, and branch 1 holds fewer bad points,
    # so the evidence for the branch choice favours branch 1. Branch 0's good points are
    # clustered, which makes l peaked there: ranking whole configurations by l/g picks
    # branch 0 (checked below); the per-level decision must pick branch 1.
    tree = {
        "m": Categorical([{"x": Float(0.0, 1.0), "z": Float(0.0, 1.0)}, {"y": Float(0.0, 1.0), "w": Float(0.0, 1.0)}])
    }
    run = Run(tree, gamma=0.25, full_weight_window=100)
    rng = np.random.default_rng(1)
    for i in range(10):
        run.add({"m": 0, "m[0]/x": 0.5 + 0.002 * i, "m[0]/z": 0.5 - 0.002 * i}, loss=0.0)
        run.add({"m": 1, "m[1]/y": rng.random(), "m[1]/w": rng.random()}, loss=0.0)
    for i in range(60):
        run.add(
            {"m": 0, "m[0]/x": rng.random(), "m[0]/z": rng.random()}
            if i < 34
            else {"m": 1, "m[1]/y": rng.random(), "m[1]/w": rng.random()},
            loss=1.0,
        )
    share = np.mean([run.propose(seed)["m"] == 1 for seed in range(100)])
    assert run.core.last_decision.n_good == 20
    assert share >= 0.95
    core = run.core
    good = np.arange(core.table.n) < 20
    l_est, g_est = core._fit(good), core._fit(~good)
    joint = []
    for seed in range(100):
        rows, active = l_est.sample(np.random.default_rng(seed), 24)
        best = np.argmax(l_est.log_pdf(rows, active) - g_est.log_pdf(rows, active))
        joint.append(rows[best, 0] == 1)
    assert np.mean(joint) <= 0.2


def _spread(constant_liar: bool, seed: int) -> float:
    run = Run({"x": Float(0.0, 1.0)}, constant_liar=constant_liar)
    rng = np.random.default_rng(100 + seed)
    for x in rng.random(20):
        run.add({"x": float(x)}, loss=abs(float(x) - 0.6))
    rng = np.random.default_rng(seed)
    batch = []
    for _ in range(4):  # four suggestions in flight, none finished
        flat = run.core.propose(rng)
        run.add(flat, state="pending")
        batch.append(flat["x"])
    return float(np.min(np.diff(np.sort(batch))))


def test_constant_liar_spreads_parallel_suggestions():
    with_liar = np.mean([_spread(True, s) for s in range(30)])
    without = np.mean([_spread(False, s) for s in range(30)])
    assert with_liar > 2 * without


def test_pending_stopped_and_failed_trials_are_bad_at_the_fitted_level():
    run = Run({"x": Float(0.0, 1.0)}, n_startup_trials=4, min_points_in_level=4)
    for i in range(5):
        run.add({"x": 0.1 * i}, loss=float(i), levels={1: float(i), 3: float(i)})
    run.add({"x": 0.7}, loss=0.5, levels={1: 0.5})  # stopped at level 1
    run.add({"x": 0.8}, levels={1: 0.2}, state="pending")  # running, below level 3
    run.add({"x": 0.9}, state="failed")
    run.propose(0)
    d = run.core.last_decision
    assert (d.level, d.n_observed, d.n_good, d.n_bad) == (3.0, 5, 1, 7)
    liar_off = Run({"x": Float(0.0, 1.0)}, n_startup_trials=4, min_points_in_level=4, constant_liar=False)
    for obs in run.record:
        liar_off.core.observe(obs)
    liar_off.propose(0)
    assert liar_off.core.last_decision.n_bad == 6  # the running trial no longer counts


@pytest.mark.parametrize(
    "name,value,allowed",
    [
        ("n_startup_trials", -1, "integer >= 0"),
        ("n_candidates", 0, "integer >= 1"),
        ("gamma", 0.0, r"in \(0, 1\]"),
        ("gamma", 1.5, r"in \(0, 1\]"),
        ("max_good", 2.5, "integer"),
        ("prior_weight", 0.0, "positive"),
        ("prior_weight", math.inf, "positive"),
        ("min_bandwidth", 0.0, r"\(0, 1\]"),
        ("full_weight_window", -2, "integer >= 0"),
        ("min_points_in_level", 0, "integer >= 1"),
        ("constant_liar", 1, "True or False"),
        ("n_candidates", True, "integer"),
    ],
)
def test_bad_settings_name_the_argument(name, value, allowed):
    with pytest.raises(ValueError, match=f"{name} must be .*{allowed}"):
        TPESettings(**{name: value})
