"""Which observations are good (l) and bad (g), and how much each one weighs.

Pure functions of arrays in suggestion order, so the decisions are testable by hand.
"""

from __future__ import annotations

import math

import numpy as np

from searchers.common.pareto import pareto_order


def n_good(n: int, gamma: float, max_good: int) -> int:
    """Size of the good set among ``n`` observations: ``min(ceil(gamma * n), max_good)``.

    Optuna's current default (gamma 0.1, cap 25): the good set grows with the data, so l
    sharpens as evidence accumulates, but never beyond 25 points, which keeps l about the
    best region rather than the better half.
    """
    return min(math.ceil(gamma * n), max_good)


def good_mask(values: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` rows with the smallest finite ``values`` (NaN: no observation, never good).

    Ties go to the earlier row (a stable sort), so the split does not depend on the order
    in which equal losses happened to arrive within one suggestion.
    """
    observed = np.flatnonzero(~np.isnan(values))
    mask = np.zeros(len(values), dtype=bool)
    if k <= 0:
        return mask
    if k >= len(observed):
        mask[observed] = True
        return mask
    # The same rows as a stable argsort's first k, in O(n) (a suggestion at 50,000 trials
    # spent most of its time sorting): everything below the k-th smallest value, then the
    # earliest rows equal to it.
    vals = values[observed]
    kth = np.partition(vals, k - 1)[k - 1]
    below = observed[vals < kth]
    ties = observed[vals == kth][: k - len(below)]
    mask[below] = True
    mask[ties] = True
    return mask


def pareto_good_mask(vectors: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Multi-objective split: the first ``k`` observed rows in the Pareto order.

    ``vectors`` holds each row's (minimised objectives..., total violation); ``values`` says
    which rows are observed (not NaN), as for :func:`good_mask`. Feasible rows come first,
    by non-dominated rank, the rank that straddles ``k`` cut by greedy hypervolume subset
    selection (MOTPE's rule); then infeasible rows by violation; ties to the earlier row.
    """
    observed = np.flatnonzero(~np.isnan(values) & ~np.isnan(vectors[:, -1]))
    mask = np.zeros(len(values), dtype=bool)
    if k <= 0 or len(observed) == 0:
        return mask
    v = vectors[observed]
    mask[observed[pareto_order(v[:, :-1], v[:, -1], k)]] = True
    return mask


def recency_weights(n: int, window: int) -> np.ndarray:
    """Weights of ``n`` observations, oldest first: the newest ``window`` weigh 1, older
    ones ramp linearly down towards 1/n (hyperopt's "linear forgetting").

    In a long run the early, mostly random observations would otherwise dominate g and
    flatten the ratio l/g exactly where the search has moved on.
    """
    if n <= window:
        return np.ones(n)
    return np.concatenate((np.linspace(1.0 / n, 1.0, num=n - window), np.ones(window)))


def choose_level(levels: np.ndarray, counts: np.ndarray, min_points: int) -> int:
    """Index of the level to fit on: the highest one observed at least ``min_points`` times
    (BOHB's rule: trust the highest fidelity that has enough data), else the level with
    the most observations (the highest of those on ties). ``levels`` ascending; -1 if empty.
    """
    if len(levels) == 0:
        return -1
    enough = np.flatnonzero(counts >= min_points)
    if len(enough):
        return int(enough[-1])
    return int(len(counts) - 1 - np.argmax(counts[::-1]))
