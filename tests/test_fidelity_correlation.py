"""Stage fidelity correlation, the hand-off rules and measured cost (pure; no Ray)."""

import math

import numpy as np
import pytest
from scipy import stats

from pipeline.fidelity_correlation import (
    auto_top_k,
    bridge_positions,
    finalist_correlation,
    moved_trials,
    pair_correlation,
    predicts_poorly,
    rank_correlation,
    spearman_rows,
    stage_cost,
    top_k_overlap,
)


def test_one_swap_by_hand():
    # positions 1..5 against 1,2,3,5,4: sum d^2 = 2, rho = 1 - 6*2/(5*24) = 0.9;
    # of the 10 pairs one is discordant: tau = (9 - 1) / 10 = 0.8
    c = rank_correlation([1, 2, 3, 4, 5], [1, 2, 3, 5, 4])
    assert c.n == 5
    assert c.spearman == pytest.approx(0.9)
    assert c.kendall == pytest.approx(0.8)
    lo, hi = c.spearman_ci
    assert -1.0 <= lo <= hi <= 1.0


def test_reversed_and_perfect():
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]).spearman == pytest.approx(-1.0)
    perfect = rank_correlation([0.1, 0.5, 0.7, 0.9], [10, 20, 30, 40])
    assert perfect.spearman == pytest.approx(1.0) and perfect.kendall == pytest.approx(1.0)
    # every resample of a perfectly monotone set is monotone too: the interval is a point
    assert perfect.spearman_ci == pytest.approx((1.0, 1.0))
    assert perfect.kendall_ci == pytest.approx((1.0, 1.0))


def test_three_pairs_give_the_values_without_an_interval():
    # Resamples of 3 points are mostly ties of 2 distinct pairs: an interval would be an artefact.
    c = rank_correlation([0.9889, 0.9889, 0.9861], [0.9883, 0.9828, 0.9900])
    assert c.spearman == pytest.approx(stats.spearmanr([0.9889, 0.9889, 0.9861], [0.9883, 0.9828, 0.9900]).statistic)
    assert c.spearman_ci is None and c.kendall_ci is None
    assert rank_correlation([1, 2, 3, 4], [1, 3, 2, 4]).spearman_ci is not None


def test_too_few_or_constant_gives_nothing():
    assert rank_correlation([1, 2], [2, 1]).spearman is None
    assert rank_correlation([1, 1, 1], [1, 2, 3]).kendall is None


def test_matches_scipy_and_bootstrap_is_seeded():
    rng = np.random.default_rng(3)
    x = rng.normal(size=12)
    y = x + rng.normal(scale=1.0, size=12)
    c = rank_correlation(x, y, seed=7)
    assert c.spearman == pytest.approx(stats.spearmanr(x, y).statistic)
    assert c.kendall == pytest.approx(stats.kendalltau(x, y).statistic)
    assert c == rank_correlation(x, y, seed=7)
    assert c.spearman_ci != rank_correlation(x, y, seed=8).spearman_ci
    assert c.spearman_ci[0] < c.spearman < c.spearman_ci[1]


def test_vectorised_spearman_equals_scipy_with_ties():
    rng = np.random.default_rng(0)
    bx = rng.integers(0, 4, size=(20, 7)).astype(float)  # many ties
    by = rng.integers(0, 4, size=(20, 7)).astype(float)
    keep = (np.ptp(bx, axis=1) > 0) & (np.ptp(by, axis=1) > 0)
    got = spearman_rows(bx[keep], by[keep])
    want = [stats.spearmanr(a, b).statistic for a, b in zip(bx[keep], by[keep])]
    np.testing.assert_allclose(got, want)


def test_top_k_overlap_by_hand():
    here = [0, 1, 2, 10, 20]  # stage positions of five handed-on configurations
    there = [3, 0, 4, 1, 2]  # their positions at the next fidelity
    # top 3 here: {0, 1, 2}; top 3 there: {1, 3, 4}: they share configuration 1
    assert top_k_overlap(here, there, 3) == pytest.approx(1 / 3)
    assert top_k_overlap(here, here, 3) == 1.0


def test_pair_correlation_matches_by_key_and_drops_missing():
    handed = [("a", 0), ("b", 1), ("c", 2), ("d", 13), ("e", 26)]  # top 3 + two bridges
    next_ranking = ["b", "a", "x", "c", "y", "e"]  # d failed there; x, y are new configurations
    p = pair_correlation(handed, next_ranking, k=3)
    assert p["handed"] == 5 and p["matched"] == 4
    # here a,b,c,e = 0,1,2,26; there 1,0,3,5: one swapped pair of six -> rho 0.8, tau 4/6
    assert p["spearman"] == pytest.approx(0.8)
    assert p["kendall"] == pytest.approx(4 / 6)
    # the three best of the matched set there are b, a, c: the stage's whole top 3
    assert p["top_k_overlap"] == 1.0
    worse = pair_correlation(handed, ["e", "a", "b", "c"], k=3)
    assert worse["top_k_overlap"] == pytest.approx(2 / 3)  # there: e, a, b -> a and b of a, b, c


def test_finalists_against_cv_means():
    f = finalist_correlation([0.98, 0.97, 0.96, 0.95], [0.985, 0.99, 0.97, None])
    assert f["n"] == 3
    # stage order 1,2,3 vs CV order 2,1,3: rho = 1 - 6*2/(3*8) = 0.5
    assert f["spearman"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "n, k, b, want",
    [
        (40, 6, 2, [6 + 34 // 3, 6 + 68 // 3]),  # 17 and 28: a third and two thirds of the way down
        (40, 6, 0, []),
        (6, 6, 2, []),
        (10, 2, 3, [4, 6, 8]),
    ],
)
def test_bridge_positions(n, k, b, want):
    got = bridge_positions(n, k, b)
    assert got == want
    assert all(k <= p < n for p in got)


def test_bridge_positions_two_below_top():
    # m = 2 below the top 6, b = min(5, 2) = 2: 6 + 2//3 = 6, 6 + 4//3 = 7
    assert bridge_positions(8, 6, 5) == [6, 7]


@pytest.mark.parametrize(
    "rho, n, ranked, want",
    [
        (None, 10, 40, 5),  # nothing known: half of the next stage's trials
        (1.0, 10, 40, 3),  # round(2.5) -> 3: a quarter (rounded half up)
        (0.0, 10, 40, 8),  # round(7.5) -> 8: three quarters
        (-0.7, 10, 40, 8),  # negative is as useless as zero
        (0.9, 20, 40, 6),  # 20 * 0.3 = 6
        (0.2, 20, 4, 4),  # never more than the stage ranked
        (None, None, 40, 4),  # no trial budget next: sized on 8 trials
        (0.5, 1, 40, 1),
    ],
)
def test_auto_top_k_rule(rho, n, ranked, want):
    assert auto_top_k(rho, n, ranked) == want


def test_auto_top_k_is_monotone_in_correlation():
    ks = [auto_top_k(r, 24, 100) for r in np.linspace(-1, 1, 41)]
    assert all(a >= b for a, b in zip(ks, ks[1:]))
    assert ks[0] > ks[-1]


def test_predicts_poorly_uses_the_upper_end():
    assert predicts_poorly({"spearman_ci": [-0.4, 0.2]}, 0.3)
    assert not predicts_poorly({"spearman_ci": [-0.4, 0.35]}, 0.3)
    assert not predicts_poorly({"spearman_ci": None}, 0.3)


def test_moved_trials_by_measured_cost():
    # 10 unspent trials of 2 s each = 20 s; the next fidelity costs 6 s a trial -> 3 trials
    assert moved_trials(10, 2.0, 6.0) == 3
    assert moved_trials(0, 2.0, 6.0) == 0
    assert moved_trials(10, 0.0, 6.0) == 0


def test_stage_cost_sums_measured_time():
    results = [{"time_total_s": 2.0}, {"time_total_s": 3.5}, {"val_accuracy": 0.9}, {"time_total_s": math.nan}]
    c = stage_cost(results, cpus_per_trial=2, gpus_per_trial=0.5)
    assert c.trial_s == pytest.approx(5.5)
    assert c.cpu_s == pytest.approx(11.0)
    assert c.gpu_s == pytest.approx(2.75)
    assert (c.measured, c.unmeasured) == (2, 2)
    assert c.per_trial_s == pytest.approx(2.75)
