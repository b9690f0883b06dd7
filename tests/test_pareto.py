"""Pareto utilities: non-dominated ranks, hypervolume, greedy subset order, constraints, order."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from searchers.common.pareto import (
    constraint_violation,
    default_reference,
    dominates,
    greedy_hypervolume_order,
    hypervolume,
    hypervolume_contributions,
    nondominated_ranks,
    pareto_front_mask,
    pareto_order,
    parse_constraint,
    to_minimised,
)


def _brute_ranks(v: np.ndarray) -> np.ndarray:
    """Peel fronts by checking every pair (the definition, no bookkeeping)."""
    left = set(range(len(v)))
    ranks = np.full(len(v), -1)
    r = 0
    while left:
        front = [i for i in left if not any(dominates(v[j], v[i]) for j in left if j != i)]
        for i in front:
            ranks[i] = r
        left -= set(front)
        r += 1
    return ranks


def _brute_hv(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume by inclusion-exclusion over all subsets (tiny sets only)."""
    pts = [p for p in points if np.all(p < ref)]
    total = 0.0
    for size in range(1, len(pts) + 1):
        for subset in itertools.combinations(pts, size):
            corner = np.max(np.array(subset), axis=0)
            total += (-1) ** (size + 1) * float(np.prod(ref - corner))
    return total


def test_ranks_hand_made_case() -> None:
    v = np.array([[1, 4], [2, 2], [4, 1], [3, 3], [2, 2], [5, 5], [4, 4]], dtype=float)
    # front: (1,4) (2,2) (4,1) and the duplicate (2,2); then (3,3); then (4,4); then (5,5)
    assert nondominated_ranks(v).tolist() == [0, 0, 0, 1, 0, 3, 2]
    assert pareto_front_mask(v).tolist() == [True, True, True, False, True, False, False]


def test_ranks_match_brute_force_and_optuna() -> None:
    # Optuna is a benchmark dependency (extra `bench`): without it only the brute force checks
    try:
        from optuna.study._multi_objective import _fast_non_domination_rank
    except ImportError:
        _fast_non_domination_rank = _brute_ranks

    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 4):
        # integer grid so that ties and duplicates happen
        v = rng.integers(0, 5, size=(40, m)).astype(float)
        ours = nondominated_ranks(v)
        assert ours.tolist() == _brute_ranks(v).tolist()
        assert ours.tolist() == _fast_non_domination_rank(v).tolist()


def test_two_objective_sweep_matches_the_dominance_matrix_sort() -> None:
    """The O(n log n) path for two objectives against the general O(n^2) one, on grids
    coarse enough for many equal values and duplicate rows, with infinities mixed in."""
    from searchers.common.pareto import _ranks_2d, _ranks_general

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(1, 120))
        v = rng.integers(0, int(rng.integers(2, 12)), size=(n, 2)).astype(float)
        if trial % 3 == 0:
            v[rng.random((n, 2)) < 0.1] = np.inf
        assert _ranks_2d(v).tolist() == _ranks_general(v).tolist(), v
    v = rng.random((2000, 2))
    assert _ranks_2d(v).tolist() == _ranks_general(v).tolist()


def test_ranks_treat_nan_and_inf_as_worst() -> None:
    v = np.array([[1.0, 1.0], [np.nan, 0.0], [np.inf, 0.0], [2.0, 2.0]])
    ranks = nondominated_ranks(v)
    assert ranks[0] == 0 and ranks[3] == 1
    assert ranks[1] == ranks[2] == 0  # +inf in one objective, best in the other
    assert nondominated_ranks(np.zeros((0, 2))).size == 0


def test_hypervolume_2d_hand_computed() -> None:
    pts = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    # columns x in [1,2): height 1, [2,3): 2, [3,4): 3
    assert hypervolume(pts, [4.0, 4.0]) == pytest.approx(6.0, abs=1e-12)
    # a dominated point and a point outside the box change nothing
    more = np.vstack([pts, [[3.5, 3.5], [0.0, 5.0]]])
    assert hypervolume(more, [4.0, 4.0]) == pytest.approx(6.0, abs=1e-12)
    assert hypervolume(np.zeros((0, 2)), [1.0, 1.0]) == 0.0
    assert hypervolume([[2.0, 0.0]], [1.0, 1.0]) == 0.0  # on/over the reference: nothing


def test_hypervolume_3d_hand_computed() -> None:
    ref = np.array([2.0, 2.0, 2.0])
    assert hypervolume([[1.0, 1.0, 1.0]], ref) == pytest.approx(1.0)
    # boxes 2*2*1 = 4 and 1*1*2 = 2 overlapping in [1,2]^3 = 1
    pts = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    assert hypervolume(pts, ref) == pytest.approx(5.0, abs=1e-12)
    # three axis points of the unit cube: 3 * (1*2*2)... by inclusion-exclusion
    pts3 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # each box 4; pairwise overlaps 2 each; triple overlap 1 -> 12 - 6 + 1
    assert hypervolume(pts3, ref) == pytest.approx(7.0, abs=1e-12)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_inclusion_exclusion_and_optuna(m: int) -> None:
    try:  # Optuna is a benchmark dependency (extra `bench`): without it only inclusion-exclusion checks
        from optuna._hypervolume import compute_hypervolume
    except ImportError:

        def compute_hypervolume(pts: np.ndarray, ref: np.ndarray, assume_pareto: bool = False) -> float:
            return _brute_hv(pts, ref)

    rng = np.random.default_rng(m)
    for _ in range(5):
        pts = rng.random((9, m))
        ref = np.full(m, 1.1)
        exact = _brute_hv(pts, ref)
        assert hypervolume(pts, ref) == pytest.approx(exact, rel=1e-10, abs=1e-12)
        assert hypervolume(pts, ref) == pytest.approx(compute_hypervolume(pts, ref, assume_pareto=False), rel=1e-10)


def test_hypervolume_3d_against_monte_carlo() -> None:
    rng = np.random.default_rng(7)
    pts = rng.random((30, 3))
    ref = np.ones(3)
    n = 200_000
    samples = rng.random((n, 3))
    covered = np.zeros(n, dtype=bool)
    for p in pts:
        covered |= np.all(samples >= p, axis=1)
    p_hat = covered.mean()
    # the estimate's standard error is sqrt(p(1-p)/n) (box volume 1); 5 of them is a
    # false-alarm rate below 1e-6 for a correct hypervolume
    tol = 5.0 * math.sqrt(p_hat * (1.0 - p_hat) / n)
    assert abs(hypervolume(pts, ref) - p_hat) < tol


def test_hypervolume_of_zdt1_front_converges_to_two_thirds() -> None:
    # ZDT1's front f2 = 1 - sqrt(f1) with reference (1, 1) encloses 2/3. n points on the
    # front give a staircase under the curve, short by at most 1/n (monotone, range 1).
    for n in (10, 100, 1000):
        f1 = np.linspace(0.0, 1.0, n)
        front = np.column_stack([f1, 1.0 - np.sqrt(f1)])
        hv = hypervolume(front, [1.0, 1.0])
        assert 2.0 / 3.0 - 1.0 / n <= hv <= 2.0 / 3.0 + 1e-12


def test_hypervolume_rejects_bad_reference() -> None:
    with pytest.raises(ValueError, match="reference has 3 objectives"):
        hypervolume([[1.0, 1.0]], [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        hypervolume([[1.0, 1.0]], [2.0, np.inf])


def test_contributions_hand_computed() -> None:
    pts = np.array([[1.0, 3.0], [1.5, 1.5], [3.0, 1.0]])
    # alone: (1,3) covers [1,1.5)x[3,4), (1.5,1.5) covers [1.5,3)^2, (3,1) [3,4)x[1,1.5)
    contrib = hypervolume_contributions(pts, [4.0, 4.0])
    assert contrib.tolist() == pytest.approx([0.5, 2.25, 0.5], abs=1e-12)


def _eager_greedy(pts: np.ndarray, ref: np.ndarray) -> list[int]:
    chosen: list[int] = []
    left = list(range(len(pts)))
    while left:
        base = hypervolume(pts[chosen], ref) if chosen else 0.0
        gains = [hypervolume(pts[[*chosen, i]], ref) - base for i in left]
        best = left[int(np.argmax(gains))]  # argmax: first (lowest index) of equal gains
        chosen.append(best)
        left.remove(best)
    return chosen


def test_greedy_order_equals_eager_greedy() -> None:
    rng = np.random.default_rng(3)
    for m in (2, 3):
        # points on a front (all mutually non-dominated) in 2-D; random in 3-D
        if m == 2:
            x = np.sort(rng.random(12))
            pts = np.column_stack([x, 1.0 - x**0.5])
        else:
            pts = rng.random((10, 3))
        ref = default_reference(pts)
        assert greedy_hypervolume_order(pts, ref).tolist() == _eager_greedy(pts, ref)


def test_greedy_order_ties_go_to_the_lower_index() -> None:
    pts = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [2.0, 0.0]])
    ref = np.array([3.0, 3.0])
    order = greedy_hypervolume_order(pts, ref).tolist()
    # (1,1) covers 4, the ends 3 each; after it both ends add 1, the duplicate 0
    assert order == [0, 2, 3, 1]
    assert greedy_hypervolume_order(pts, ref, k=2).tolist() == [0, 2]


def test_to_minimised_negates_max_and_marks_missing_worst() -> None:
    results = [{"acc": 0.9, "params": 100}, {"acc": float("nan"), "params": 50}, {"params": 5}]
    v = to_minimised(results, [("acc", "max"), ("params", "min")])
    assert v[0].tolist() == [-0.9, 100.0]
    assert v[1].tolist() == [math.inf, 50.0]
    assert v[2].tolist() == [math.inf, 5.0]
    with pytest.raises(ValueError, match="mode"):
        to_minimised(results, [("acc", "maximise")])
    with pytest.raises(ValueError, match="at least one"):
        to_minimised(results, [])


def test_parse_constraint() -> None:
    assert parse_constraint("params <= 50000") == ("params", "<=", 50000.0)
    assert parse_constraint(" latency_ms>=2.5 ") == ("latency_ms", ">=", 2.5)
    for bad in ("params < 5", "<= 5", "params <= lots", "params <= inf"):
        with pytest.raises(ValueError, match="must read"):
            parse_constraint(bad)


def test_constraint_violation_sums_overshoots() -> None:
    results = [
        {"params": 40, "lat": 1.0},
        {"params": 60, "lat": 3.0},
        {"params": 50, "lat": 2.0},
        {"lat": 1.0},
    ]
    cons = [("params", "<=", 50.0), ("lat", "<=", 2.0)]
    assert constraint_violation(results, cons).tolist() == [0.0, 11.0, 0.0, math.inf]
    assert constraint_violation(results, [("lat", ">=", 2.0)]).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_pareto_order_feasible_by_rank_then_infeasible_by_violation() -> None:
    v = np.array(
        [
            [3.0, 3.0],  # 0: rank 1
            [1.0, 4.0],  # 1: front
            [0.0, 0.0],  # 2: best of all, but infeasible (violation 2)
            [2.0, 2.0],  # 3: front, covers most
            [4.0, 1.0],  # 4: front
            [9.0, 9.0],  # 5: infeasible (violation 1)
            [5.0, 5.0],  # 6: rank 2
        ]
    )
    viol = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0])
    order = pareto_order(v, viol).tolist()
    assert order[:3][0] == 3 and set(order[:3]) == {1, 3, 4}
    assert order[3:] == [0, 6, 5, 2]
    # prefixes agree with the full order
    for k in range(len(v) + 1):
        assert pareto_order(v, viol, k=k).tolist() == order[:k]
    # without constraints the infeasible best point leads
    assert pareto_order(v)[0] == 2


def test_pareto_order_single_objective_is_a_sort() -> None:
    v = np.array([[3.0], [1.0], [2.0], [1.0]])
    assert pareto_order(v).tolist() == [1, 3, 2, 0]


def test_pareto_order_rejects_bad_violation_shape() -> None:
    with pytest.raises(ValueError, match="violation must have shape"):
        pareto_order(np.zeros((3, 2)), np.zeros(2))


def test_two_objective_front_greedy_matches_the_general_greedy() -> None:
    """pareto_order's 2-D path (neighbour rectangles) against greedy_hypervolume_order on
    every rank. Integer grids with integer references, so equal gains and duplicates happen
    and both sides compute them exactly (with a fractional reference the two differ in the
    last bit, and an exact tie can then go either way: the 2-D path keeps the lower index,
    as the rule says); and random reals, where ties do not happen."""
    from searchers.common.pareto import _greedy_front_2d

    rng = np.random.default_rng(11)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        grid = trial % 2 == 0
        v = rng.integers(0, int(rng.integers(3, 15)), size=(n, 2)).astype(float) if grid else rng.random((n, 2))
        ranks = nondominated_ranks(v)
        for r in range(int(ranks.max()) + 1):
            front = v[ranks == r]
            if grid:  # just past the worst, or a reference that cuts some points off in x
                ref = front.max(axis=0) + 1.0 if trial % 4 == 0 else np.array([front[:, 0].max(), 20.0])
            else:
                ref = default_reference(front)
            k = int(rng.integers(1, front.shape[0] + 1))
            assert _greedy_front_2d(front, ref, k).tolist() == greedy_hypervolume_order(front, ref, k).tolist(), (
                front,
                ref,
                k,
            )
