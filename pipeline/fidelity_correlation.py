"""How well one fidelity stage ranks configurations the way the next one does: pure numbers.

A cheap stage earns its keep only when its ranking predicts the ranking at the next,
more expensive fidelity. The configurations a stage hands on are evaluated at both
fidelities anyway; with a few *bridge* configurations taken from further down its
ranking (:func:`bridge_positions`) the next stage sees good and mediocre ones, and the
two rankings of that common set can be compared:

* Spearman's rho and Kendall's tau-b (scipy.stats) of the two rank orders, each with a
  seeded percentile bootstrap interval (pairs resampled with replacement; resamples in
  which either side is constant are dropped);
* the top-k overlap: the share of the stage's top k that are also among the k best of
  the common set at the next fidelity.

Ranks, not raw values, are compared: a stage's ranking is what the pipeline acts on
(Hyperband's incumbent rule in ``pipeline.ranking``: more epochs first, then the
metric), so a trial stopped early by ASHA sits where the hand-off put it.

The rules that act on a measured correlation live here too, so they are tested without
Ray: :func:`auto_top_k` (how many configurations ``top_k: auto`` hands on),
:func:`predicts_poorly` (when an ``adaptive`` stage stops early) and
:func:`moved_trials` (how its unspent budget becomes trials of the next stage).
Costs are measured, not estimated: :func:`stage_cost` sums each trial's own
``time_total_s`` (Ray's result) times the CPUs and GPUs a trial holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

#: bootstrap resamples and the interval's coverage
N_BOOT = 1000
LEVEL = 0.90
#: fewer common configurations than this: no correlation is reported (it would mean nothing)
MIN_PAIRS = 3
#: fewer than this: the correlation without an interval. Seven in nine resamples of 3 points
#: hold at most 2 distinct pairs (each then scores +-1), so the percentile interval is an
#: artefact (seen: Spearman -0.87 "in [-1.00, -0.87]" over 3 CV finalists). From 4 on the
#: interval is kept: an adaptive probe is at least 4 configurations (top-k and bridges),
#: and a perfect reversal there (every resample -1) is the evidence the stop rule reads.
MIN_INTERVAL_PAIRS = 4


@dataclass(frozen=True)
class RankCorrelation:
    n: int
    spearman: float | None
    spearman_ci: tuple[float, float] | None
    kendall: float | None
    kendall_ci: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("spearman_ci", "kendall_ci"):
            out[key] = list(out[key]) if out[key] is not None else None
        return out


def rank_correlation(
    x: Sequence[float], y: Sequence[float], n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
) -> RankCorrelation:
    """Spearman and Kendall tau-b between paired scores, with percentile bootstrap intervals.

    Fewer than :data:`MIN_PAIRS` pairs, or a side without variation: no value (None);
    fewer than :data:`MIN_INTERVAL_PAIRS`: the values without intervals.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xa)
    if n != len(ya):
        raise ValueError(f"x and y differ in length ({n} != {len(ya)})")
    if n < MIN_PAIRS or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return RankCorrelation(n, None, None, None, None)
    rho = float(stats.spearmanr(xa, ya).statistic)
    tau = float(stats.kendalltau(xa, ya).statistic)
    if n < MIN_INTERVAL_PAIRS:
        return RankCorrelation(n, rho, None, tau, None)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    bx, by = xa[idx], ya[idx]
    ok = (np.ptp(bx, axis=1) > 0) & (np.ptp(by, axis=1) > 0)
    bx, by = bx[ok], by[ok]
    if len(bx) == 0:
        return RankCorrelation(n, rho, None, tau, None)
    rhos = spearman_rows(bx, by)
    taus = np.array([stats.kendalltau(a, b).statistic for a, b in zip(bx, by)])
    return RankCorrelation(n, rho, _interval(rhos, level), tau, _interval(taus, level))


def spearman_rows(bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair at once: Pearson of average ranks (scipy's with ties)."""
    rx, ry = stats.rankdata(bx, axis=1), stats.rankdata(by, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    out: np.ndarray = (rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    return out


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return float(lo), float(hi)


def top_k_overlap(here: Sequence[int], there: Sequence[int], k: int) -> float | None:
    """Share of the k best by ``here`` that are among the k best by ``there``.

    ``here[i]`` and ``there[i]`` are configuration i's rank positions (0 = best) in the
    two stages; positions need not be contiguous (they are re-ranked within the set).
    """
    n = len(here)
    if n != len(there):
        raise ValueError("here and there differ in length")
    k = min(k, n)
    if k <= 0:
        return None
    best_here = set(np.argsort(np.asarray(here), kind="stable")[:k].tolist())
    best_there = set(np.argsort(np.asarray(there), kind="stable")[:k].tolist())
    return len(best_here & best_there) / k


def pair_correlation(
    handed: Sequence[tuple[str, int]], next_ranking: Sequence[str], k: int, seed: int = 0
) -> dict[str, Any]:
    """How a stage's ranking of the configurations it handed on predicted the next stage's.

    ``handed``: (configuration key, position in this stage's ranking) of the top-k and the
    bridges; ``next_ranking``: the next stage's configuration keys, best first. Keys the
    next stage has no finite result for are left out (``matched`` says how many remain).
    Rank positions are negated so that a positive correlation means "agrees".
    """
    where = {key: i for i, key in enumerate(next_ranking)}
    common = [(pos, where[key]) for key, pos in handed if key in where]
    here = [p for p, _ in common]
    there = [q for _, q in common]
    corr = rank_correlation([-p for p in here], [-q for q in there], seed=seed)
    top = sum(1 for p in here if p < k)
    return {
        **corr.to_dict(),
        "handed": len(handed),
        "matched": len(common),
        "k": k,
        "top_k_overlap": top_k_overlap(here, there, top) if top else None,
    }


def finalist_correlation(
    stage_values: Sequence[float], cv_means: Sequence[float | None], seed: int = 0
) -> dict[str, Any]:
    """Last-stage values against the finalists' CV means (finalists without a mean left out)."""
    pairs = [(s, c) for s, c in zip(stage_values, cv_means) if c is not None and math.isfinite(c)]
    return rank_correlation([s for s, _ in pairs], [c for _, c in pairs], seed=seed).to_dict()


# ------------------------------------------------------------------- hand-off


def bridge_positions(n_ranked: int, k: int, bridges: int) -> list[int]:
    """Rank positions of the bridge configurations: evenly spaced quantiles below the top k.

    Of the ``m = n_ranked - k`` configurations below the top k, bridge j (0-based, of b)
    is the one at position ``k + floor((j + 1) * m / (b + 1))``: with b = 2 the ones a
    third and two thirds of the way down. The very last is taken only when no more than
    b + 1 remain below the top k (the bottom of a ranking is mostly configurations that
    failed to learn, which say little about how the two fidelities order the rest).
    """
    m = n_ranked - k
    b = min(bridges, m)
    if b <= 0:
        return []
    return sorted({k + (j + 1) * m // (b + 1) for j in range(b)})


#: ``top_k: auto`` before any correlation is known: the middle of the rule's range
AUTO_DEFAULT_STRENGTH = 0.5
#: with no trial budget in the next stage, ``top_k: auto`` sizes itself on this many trials
AUTO_FALLBACK_TRIALS = 8


def auto_top_k(rho: float | None, next_trials: int | None, ranked: int) -> int:
    """How many configurations ``top_k: auto`` hands on.

    ``n`` is the next stage's trial budget (:data:`AUTO_FALLBACK_TRIALS` when it has
    none); ``s`` the strength of the most recent measured stage-pair Spearman rho,
    clipped to [0, 1] (:data:`AUTO_DEFAULT_STRENGTH` before any is known). The stage
    hands on ``round(n * (0.75 - 0.5 * s))`` configurations: a quarter of the next
    stage's trials when the cheap ranking agrees perfectly, three quarters when it
    predicts nothing, half before anything is known; at least 1, at most ``n`` and the
    number of configurations the stage ranked.
    """
    n = next_trials if next_trials is not None else AUTO_FALLBACK_TRIALS
    s = AUTO_DEFAULT_STRENGTH if rho is None or not math.isfinite(rho) else min(1.0, max(0.0, rho))
    k = int(math.floor(n * (0.75 - 0.5 * s) + 0.5))
    return max(1, min(k, n, ranked)) if ranked > 0 else 0


#: ``adaptive: true`` stops a stage when the upper end of its Spearman interval is below this
DEFAULT_THRESHOLD = 0.3
#: an adaptive stage runs this share of its trial budget before it is probed
PROBE_FRACTION = 0.5


def predicts_poorly(correlation: Mapping[str, Any], threshold: float) -> bool:
    """Whether a stage's ranking fails to predict the next: its Spearman interval lies below
    ``threshold`` (its upper end is smaller). No interval (too few matched configurations):
    no evidence either way, so the stage goes on."""
    ci = correlation.get("spearman_ci")
    return ci is not None and float(ci[1]) < threshold


def moved_trials(remaining_trials: int, seconds_per_trial_here: float, seconds_per_trial_next: float) -> int:
    """Trials of the next stage that a stopped stage's unspent trials pay for.

    The unspent trials are worth ``remaining * seconds_per_trial_here`` CPU/GPU-seconds
    (this stage's measured mean cost per trial); divided by the next stage's measured
    mean cost per trial (the probe's), rounded down. Unknown costs move nothing.
    """
    if remaining_trials <= 0 or seconds_per_trial_here <= 0 or seconds_per_trial_next <= 0:
        return 0
    return int(remaining_trials * seconds_per_trial_here // seconds_per_trial_next)


# ------------------------------------------------------------------------ cost


@dataclass(frozen=True)
class Cost:
    """Measured resource-seconds of a set of trials: wall seconds of each trial (Ray's
    ``time_total_s``) times the CPUs / GPUs a trial holds, summed."""

    trial_s: float
    cpu_s: float
    gpu_s: float
    measured: int  # trials with a time_total_s
    unmeasured: int  # trials without one (known only from the events log)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def per_trial_s(self) -> float:
        return self.trial_s / self.measured if self.measured else 0.0


def stage_cost(results: Iterable[Mapping[str, Any]], cpus_per_trial: float, gpus_per_trial: float) -> Cost:
    """``results``: each trial's last result (Ray's metrics dict)."""
    seconds, measured, unmeasured = 0.0, 0, 0
    for r in results:
        t = r.get("time_total_s")
        if isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t >= 0:
            seconds += float(t)
            measured += 1
        else:
            unmeasured += 1
    return Cost(seconds, seconds * cpus_per_trial, seconds * gpus_per_trial, measured, unmeasured)


def add_costs(a: Mapping[str, Any] | None, b: Cost) -> dict[str, Any]:
    """Two measured costs as one (an adaptive stage's parts)."""
    if not a:
        return b.to_dict()
    return {key: a[key] + value for key, value in b.to_dict().items()}
