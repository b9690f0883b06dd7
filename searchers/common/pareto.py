"""Pareto utilities for multi-objective tuning: dominance ranks, hypervolume, constraints, order.

Everything here works on a *minimised* matrix: ``values`` of shape ``(n, m)``, one row per trial,
one column per objective, smaller is better in every column. :func:`to_minimised` builds that
matrix from result dicts and ``(metric, mode)`` pairs (a "max" column is negated; a missing,
NaN or infinite value becomes ``+inf``, i.e. the worst possible, so a failed trial is dominated
by every trial that reported all its metrics).

One total order of trials serves the searchers (the good/bad split of multi-objective TPE), the
schedulers (MO-ASHA keeps the first ``1/eta`` of a rung) and the pipeline (top-k of a stage).
:func:`pareto_order` defines it, deterministically:

1. feasible trials (total constraint violation 0) before infeasible ones; infeasible ones by
   increasing total violation, then by trial order (index);
2. feasible trials by non-dominated rank (rank 0 = the Pareto front first);
3. inside a rank, by greedy hypervolume subset selection: repeatedly the trial that adds the
   most hypervolume to those of its rank already taken (Guerreiro et al. 2016; the same
   tie-break as Optuna's multi-objective TPE), with :func:`default_reference` of that rank as
   the reference point; equal gains go to the earlier trial (lower index).

Pure numpy; nothing here imports Ray or any package of ours.
"""

from __future__ import annotations

import heapq
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from searchers.common.checks import check_mode, finite_or_none

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Comparison operators a constraint may use, with the sign of "how far over the bound".
CONSTRAINT_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
}


def _as_matrix(values: Any, name: str = "values") -> FloatArray:
    """``values`` as a float (n, m) matrix; NaN becomes +inf (the worst value)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1) if arr.size else arr.reshape(0, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, m) array, got shape {arr.shape}")
    return np.where(np.isnan(arr), np.inf, arr)


def to_minimised(results: Sequence[Mapping[str, Any]], objectives: Sequence[tuple[str, str]]) -> FloatArray:
    """The (n, m) minimised matrix of ``results`` for ``objectives`` = [(metric, mode), ...].

    A "max" metric is negated. A missing, NaN, infinite or non-numeric value is ``+inf``.
    """
    if not objectives:
        raise ValueError("objectives must name at least one (metric, mode) pair")
    signs = []
    for _metric, mode in objectives:
        check_mode(mode, allow_none=False)
        signs.append(-1.0 if mode == "max" else 1.0)
    out = np.full((len(results), len(objectives)), np.inf)
    for i, result in enumerate(results):
        for j, (metric, _mode) in enumerate(objectives):
            v = finite_or_none(result.get(metric))
            if v is not None:
                out[i, j] = signs[j] * v
    return out


def dominates(a: FloatArray, b: FloatArray) -> bool:
    """True when ``a`` is no worse than ``b`` everywhere and better somewhere (minimised)."""
    return bool(np.all(a <= b) and np.any(a < b))


def _dominance_matrix(values: FloatArray) -> BoolArray:
    """D[i, j] is True when row i dominates row j. O(m n^2) time, O(n^2) memory."""
    le = np.all(values[:, None, :] <= values[None, :, :], axis=2)
    lt = np.any(values[:, None, :] < values[None, :, :], axis=2)
    out: BoolArray = le & lt
    return out


def nondominated_ranks(values: Any) -> IntArray:
    """Non-dominated rank of each row of the minimised (n, m) matrix: 0 = Pareto front.

    Fast non-dominated sort (Deb et al. 2002): rank k is the front of what is left once ranks
    0..k-1 are removed. Equal rows share a rank (neither dominates the other).
    """
    v = _as_matrix(values)
    n = v.shape[0]
    ranks = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ranks
    if v.shape[1] == 1:  # one objective: dense rank of the value
        out: IntArray = np.unique(v[:, 0], return_inverse=True)[1].astype(np.int64).reshape(-1)
        return out
    if v.shape[1] == 2:
        return _ranks_2d(v)
    return _ranks_general(v)


def _ranks_general(v: FloatArray) -> IntArray:
    """Deb's fast non-dominated sort over the dominance matrix, any number of objectives."""
    ranks = np.full(v.shape[0], -1, dtype=np.int64)
    dom = _dominance_matrix(v)
    dominated_by = dom.sum(axis=0).astype(np.int64)  # how many rows dominate each row
    current = np.flatnonzero(dominated_by == 0)
    rank = 0
    while current.size:
        ranks[current] = rank
        dominated_by -= dom[current].sum(axis=0).astype(np.int64)
        dominated_by[current] = -1  # done; never picked again
        current = np.flatnonzero(dominated_by == 0)
        rank += 1
    return ranks


def _ranks_2d(v: FloatArray) -> IntArray:
    """Non-dominated ranks of an (n, 2) matrix in O(n log n) and O(n) memory (Jensen 2003's
    sweep, as patience sorting), where the general sort needs O(n^2) of both (its dominance
    matrix): 1.27 s for 5,000 random rows there, against 0.02 s here.

    Rows are visited by increasing (x, y), so every row visited earlier has x no larger. Each
    front keeps the lexicographically least (y, x) of its members, and those keys increase
    from front to front. A front dominates the visited row (y, x) exactly when its key is
    smaller: a smaller y with x no larger, or the same y with a smaller x; an equal key is an
    equal row, which does not dominate. So the row's rank is the number of keys smaller than
    its own (a binary search), and it becomes the key of that front.
    """
    import bisect

    order = np.lexsort((v[:, 1], v[:, 0]))
    keys: list[tuple[float, float]] = []
    ranks = np.empty(v.shape[0], dtype=np.int64)
    for i in order.tolist():
        key = (float(v[i, 1]), float(v[i, 0]))
        r = bisect.bisect_left(keys, key)
        if r == len(keys):
            keys.append(key)
        else:
            keys[r] = key
        ranks[i] = r
    return ranks


def pareto_front_mask(values: Any) -> BoolArray:
    """True for the rows of the minimised matrix that no other row dominates."""
    out: BoolArray = nondominated_ranks(values) == 0
    return out


def _hv_sorted_2d(x: FloatArray, y: FloatArray, rx: float, ry: float) -> float:
    """Area dominated by points (x, y) with every x < rx and y < ry (any order, any dominance)."""
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    best_y = np.minimum.accumulate(ys)
    widths = np.diff(np.append(xs, rx))
    return float(np.sum(widths * (ry - best_y)))


def _hv(points: FloatArray, ref: FloatArray) -> float:
    """Hypervolume of points that all lie strictly below ``ref`` (slicing over the last axis)."""
    n, m = points.shape
    if n == 0:
        return 0.0
    if m == 1:
        return float(ref[0] - points[:, 0].min())
    if m == 2:
        return _hv_sorted_2d(points[:, 0], points[:, 1], float(ref[0]), float(ref[1]))
    # Slice along the last objective: between consecutive values z_k and z_{k+1} the
    # dominated region's cross-section is the (m-1)-D hypervolume of the points with z <= z_k.
    order = np.argsort(points[:, -1], kind="stable")
    pts = points[order]
    z = np.append(pts[:, -1], ref[-1])
    total = 0.0
    for k in range(n):
        depth = z[k + 1] - z[k]
        if depth <= 0.0:
            continue
        head = pts[: k + 1, :-1]
        if m - 1 > 2 and k > 0:
            head = head[pareto_front_mask(head)]
        total += depth * _hv(head, ref[:-1])
    return total


def hypervolume(points: Any, reference: Any) -> float:
    """Volume of the region dominated by ``points`` and bounded by ``reference`` (minimised).

    Exact for any number of objectives: a sweep for m=2 (O(n log n)); for m >= 3 slicing
    along the last objective down to the 2-D sweep (O(n^2 log n) for m=3). Points that do
    not lie strictly below ``reference`` in every objective add nothing.
    """
    pts = _as_matrix(points, "points")
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    if pts.shape[0] and pts.shape[1] != ref.size:
        raise ValueError(f"reference has {ref.size} objectives, points have {pts.shape[1]}")
    if not np.all(np.isfinite(ref)):
        raise ValueError("reference must be finite in every objective")
    inside = pts[np.all(pts < ref, axis=1)] if pts.shape[0] else pts
    if inside.shape[0] == 0:
        return 0.0
    if inside.shape[1] > 2:
        inside = inside[pareto_front_mask(inside)]
    return float(_hv(inside, ref))


def default_reference(values: Any) -> FloatArray:
    """A reference point just worse than every finite value: worst + 10% of the range.

    An objective whose finite values are all equal gets worst + 1 (any positive margin
    only scales every volume by the same factor). Objectives with no finite value get 1.
    """
    v = _as_matrix(values)
    m = v.shape[1]
    ref = np.ones(m)
    for j in range(m):
        col = v[:, j][np.isfinite(v[:, j])]
        if col.size:
            worst, best = float(col.max()), float(col.min())
            span = worst - best
            ref[j] = worst + (0.1 * span if span > 0.0 else 1.0)
    return ref


def hypervolume_contributions(points: Any, reference: Any) -> FloatArray:
    """Exclusive hypervolume of each point: HV(all) - HV(all but this one)."""
    pts = _as_matrix(points, "points")
    total = hypervolume(pts, reference)
    out = np.empty(pts.shape[0])
    for i in range(pts.shape[0]):
        out[i] = total - hypervolume(np.delete(pts, i, axis=0), reference)
    return np.maximum(out, 0.0)


def greedy_hypervolume_order(points: Any, reference: Any, k: int | None = None) -> IntArray:
    """Indices of ``points`` in greedy hypervolume-subset-selection order (the first ``k``).

    Each step takes the point whose addition to those already taken adds the most
    hypervolume; equal gains (including the zero gains of points outside the reference box
    and of duplicates) go to the lower index. The first ``k`` are the greedy solution of
    the hypervolume subset selection problem, a (1 - 1/e) approximation of the best subset.
    Gains only shrink as points are taken (hypervolume is submodular), so a stale gain is an
    upper bound and the lazy heap below recomputes only the candidates that could win; the
    result is the same as recomputing every gain at every step.
    """
    pts = _as_matrix(points, "points")
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    n = pts.shape[0]
    k = n if k is None else max(0, min(int(k), n))
    if n == 0 or k == 0:
        return np.zeros(0, dtype=np.int64)
    box = np.prod(np.clip(ref[None, :] - pts, 0.0, None), axis=1)
    heap: list[tuple[float, int, int]] = [(-float(box[i]), i, 0) for i in range(n)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while len(chosen) < k:
        neg_gain, i, fresh_at = heapq.heappop(heap)
        if fresh_at == len(chosen):  # gain computed against the current set: the true best
            chosen.append(i)
            continue
        gain = float(box[i])
        if gain > 0.0 and chosen:
            # what i adds = its own box minus the part the taken points already cover
            # (their hypervolume once clipped into i's box [pts[i], ref]).
            gain -= hypervolume(np.maximum(pts[chosen], pts[i]), ref)
        heapq.heappush(heap, (-max(gain, 0.0), i, len(chosen)))
    return np.asarray(chosen, dtype=np.int64)


def _greedy_front_2d(points: FloatArray, reference: FloatArray, k: int) -> IntArray:
    """:func:`greedy_hypervolume_order` for two objectives and mutually non-dominated points
    (one non-dominated rank, duplicates allowed), without a hypervolume call per gain.

    Sorted by x (then index), such points have y decreasing, and what point i adds to the
    taken set is the rectangle from (x_i, y_i) to (x of the nearest taken point to its
    right, y of the nearest taken point to its left), the reference standing in for a
    missing neighbour, clipped at the reference. Taking a point only changes the
    neighbours of the points between it and the taken points on either side. O(n k) with
    numpy steps, where the general greedy spent ~40 us per hypervolume call (4-5 per point);
    the same gains in exact arithmetic, equal gains to the lower index as there.
    """
    n = points.shape[0]
    order = np.lexsort((np.arange(n), points[:, 0]))
    xs, ys = points[order, 0], points[order, 1]
    rx, ry = float(reference[0]), float(reference[1])
    right_x = np.full(n, rx)  # x of the nearest taken point to the right
    left_y = np.full(n, ry)  # y of the nearest taken point to the left
    taken = np.zeros(n, dtype=bool)
    chosen: list[int] = []
    for _ in range(k):
        gains = np.clip(np.minimum(right_x, rx) - xs, 0.0, None) * np.clip(np.minimum(left_y, ry) - ys, 0.0, None)
        gains[taken] = -1.0
        best = gains.max()
        p = int(np.flatnonzero(gains == best)[np.argmin(order[gains == best])])  # lowest index of the best
        taken[p] = True
        chosen.append(int(order[p]))
        prev = np.flatnonzero(taken[:p])
        nxt = np.flatnonzero(taken[p + 1 :])
        lo = int(prev[-1]) + 1 if prev.size else 0
        hi = p + 1 + int(nxt[0]) if nxt.size else n
        right_x[lo:p] = xs[p]
        left_y[p + 1 : hi] = ys[p]
    return np.asarray(chosen, dtype=np.int64)


def parse_constraint(text: str) -> tuple[str, str, float]:
    """``"params <= 50000"`` as ("params", "<=", 50000.0); ValueError naming what is wrong."""
    for op in ("<=", ">="):
        if op in text:
            metric, _, bound = text.partition(op)
            metric = metric.strip()
            try:
                value = float(bound)
            except ValueError:
                value = math.nan
            if metric and math.isfinite(value):
                return metric, op, value
    raise ValueError(f"constraint {text!r} must read '<metric> <= <number>' or '<metric> >= <number>'")


def constraint_violation(
    results: Sequence[Mapping[str, Any]], constraints: Sequence[tuple[str, str, float]]
) -> FloatArray:
    """Total violation of each result: the sum of how far each constraint is over its bound.

    ``constraints`` are (metric, "<=" or ">=", bound) triples. 0 means feasible; a missing or
    non-finite metric violates its constraint by ``+inf``.
    """
    out = np.zeros(len(results))
    for metric, op, bound in constraints:
        if op not in CONSTRAINT_OPS:
            raise ValueError(f"constraint operator must be '<=' or '>=', got {op!r}")
        for i, result in enumerate(results):
            v = finite_or_none(result.get(metric))
            if v is None:
                out[i] = math.inf
            elif op == "<=":
                out[i] += max(0.0, v - bound)
            else:
                out[i] += max(0.0, bound - v)
    return out


def pareto_order(values: Any, violation: Any = None, k: int | None = None) -> IntArray:
    """Row indices best first (the first ``k``), by the order in this module's docstring.

    ``violation`` (optional, shape (n,)) is each row's total constraint violation. Only the
    rank that straddles position ``k`` pays for the hypervolume tie-break.
    """
    v = _as_matrix(values)
    n = v.shape[0]
    k = n if k is None else max(0, min(int(k), n))
    viol = np.zeros(n) if violation is None else np.asarray(violation, dtype=np.float64)
    if viol.shape != (n,):
        raise ValueError(f"violation must have shape ({n},), got {viol.shape}")
    viol = np.where(np.isnan(viol), np.inf, viol)
    feasible = np.flatnonzero(viol <= 0.0)
    infeasible = np.flatnonzero(viol > 0.0)
    out: list[int] = []
    if feasible.size and k:
        ranks = nondominated_ranks(v[feasible])
        for r in range(int(ranks.max()) + 1):
            need = k - len(out)
            if need <= 0:
                break
            members = feasible[ranks == r]
            sub = v[members]
            greedy = _greedy_front_2d if sub.shape[1] == 2 else greedy_hypervolume_order
            order = greedy(sub, default_reference(sub), min(need, members.size))
            out.extend(int(i) for i in members[order])
    if len(out) < k and infeasible.size:
        order_inf = infeasible[np.lexsort((infeasible, viol[infeasible]))]
        out.extend(int(i) for i in order_inf[: k - len(out)])
    return np.asarray(out, dtype=np.int64)
