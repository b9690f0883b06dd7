"""Which chain of fidelity stages to run, from a short calibration: the pure model.

The calibration (``pipeline.advise``) trains a handful of random configurations at each
candidate fidelity and measures, per fidelity, the mean seconds a configuration costs
(``cost``) and the Spearman correlation of its ranking with the most expensive fidelity's
(``rho``). This module turns those into a proposal:

* **Model.** A configuration's quality at the reference fidelity is ``z ~ N(0, 1)``; its
  score at a cheaper fidelity is ``r z + sqrt(1 - r^2) e`` with independent noise ``e``,
  where ``r = 2 sin(pi rho / 6)`` is the Pearson correlation that gives Spearman ``rho``
  for Gaussian scores (Kruskal 1958); rho is clipped to [0, 0.99]. Configurations are drawn
  at random (the searchers do better than that; the model compares chains, and a
  better searcher helps every chain alike).
* **Chains.** ``[ref]`` (random search at the reference fidelity), ``[f, ref]`` and
  ``[f1, f2, ref]`` (f1 cheaper than f2, both cheaper than ref): each stage ranks what it
  got by its noisy score and hands its best ``k`` on; the reference stage picks the best
  by ``z``. Every chain is sized to the same budget of seconds (stage trials x cost).
* **Quality.** The expected percentile ``Phi(z)`` of the configuration the chain ends
  with, by Monte Carlo with a fixed seed (common random numbers across chains). At an
  equal budget the best expected quality is the best quality per second; the proposal
  is that chain, and the table says how far the others are behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

#: Monte Carlo repetitions per allocation, and the most trials a proposed stage may have
REPS = 400
MAX_TRIALS = 120
#: hand-off sizes tried for the stage before the reference, and before that one
LAST_K = (2, 3, 4, 6)
FIRST_K = (4, 6, 8, 12, 16)


@dataclass(frozen=True)
class Level:
    """One candidate fidelity as calibrated."""

    name: str
    fidelity: dict[str, Any]  # data_fraction, resolution, max_epochs
    cost: float  # mean seconds per configuration (measured)
    rho: float | None  # Spearman with the reference fidelity over the calibrated configurations
    rho_ci: tuple[float, float] | None = None


@dataclass
class Chain:
    levels: list[Level]
    trials: list[int]  # per stage
    top_k: list[int]  # per stage but the last: how many it hands on
    quality: float  # expected percentile of the chosen configuration
    seconds: float = 0.0  # the budget it spends
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> str:
        return " -> ".join(f"{lv.name} x{n}" for lv, n in zip(self.levels, self.trials))


def pearson_from_spearman(rho: float) -> float:
    return 2.0 * math.sin(math.pi * rho / 6.0)


def _r(level: Level) -> float:
    rho = 0.0 if level.rho is None or not math.isfinite(level.rho) else min(0.99, max(0.0, level.rho))
    return pearson_from_spearman(rho)


def simulate(rs: list[float], trials: list[int], ks: list[int], reps: int = REPS, seed: int = 0) -> float:
    """Expected percentile of the winner of one chain: stage i draws/gets ``trials[i]``
    configurations (stage 0 draws them; later stages get the previous ``ks`` plus new
    draws to fill their trials), ranks them by its score with correlation ``rs[i]`` to
    the truth, and hands its best ``ks[i]`` on; the last stage's ``rs`` is 1 (it is the
    reference) and its best by truth wins."""
    rng = np.random.default_rng(seed)
    n_total = trials[0] + sum(max(0, t - k) for t, k in zip(trials[1:], ks))
    z = rng.standard_normal((reps, n_total))
    pool = z[:, : trials[0]]
    used = trials[0]
    for i, r in enumerate(rs):
        noise = rng.standard_normal(pool.shape)
        score = r * pool + math.sqrt(max(0.0, 1.0 - r * r)) * noise if r < 1.0 else pool
        if i == len(rs) - 1:
            best = np.take_along_axis(pool, np.argmax(score, axis=1)[:, None], axis=1)[:, 0]
            return float(stats.norm.cdf(best).mean())
        order = np.argsort(-score, axis=1)[:, : ks[i]]
        kept = np.take_along_axis(pool, order, axis=1)
        new = max(0, trials[i + 1] - ks[i])
        pool = np.concatenate([kept, z[:, used : used + new]], axis=1)
        used += new
    raise AssertionError("unreachable")


def propose(levels: list[Level], reference: Level, budget_s: float, seed: int = 0) -> list[Chain]:
    """Every chain shape at the best allocation found, best expected quality first."""
    chains: list[Chain] = []
    n_ref = max(1, min(MAX_TRIALS, int(budget_s // reference.cost)))
    chains.append(Chain([reference], [n_ref], [], simulate([1.0], [n_ref], [], seed=seed), n_ref * reference.cost))
    cheaper = sorted((lv for lv in levels if lv.cost < reference.cost and lv is not reference), key=lambda lv: lv.cost)
    for f in cheaper:
        best = _best_two(f, reference, budget_s, seed)
        if best is not None:
            chains.append(best)
    two = sorted(chains[1:], key=lambda c: -c.quality)[:6]  # the three-stage search starts from the best pairs
    firsts = {id(c.levels[0]): c.levels[0] for c in two}
    for f1 in cheaper:
        for f2 in firsts.values():
            if f1.cost < f2.cost:
                best = _best_three(f1, f2, reference, budget_s, seed)
                if best is not None:
                    chains.append(best)
    return sorted(chains, key=lambda c: (-c.quality, c.seconds))


def _best_two(f: Level, ref: Level, budget_s: float, seed: int) -> Chain | None:
    best = None
    for k in LAST_K:
        left = budget_s - k * ref.cost
        n = min(MAX_TRIALS, int(left // f.cost)) if left > 0 else 0
        if n < k + 1:
            continue
        q = simulate([_r(f), 1.0], [n, k], [k], seed=seed)
        if best is None or q > best.quality:
            best = Chain([f, ref], [n, k], [k], q, n * f.cost + k * ref.cost)
    return best


def _best_three(f1: Level, f2: Level, ref: Level, budget_s: float, seed: int) -> Chain | None:
    best = None
    for k2 in LAST_K:
        for k1 in FIRST_K:
            if k1 <= k2:
                continue
            left = budget_s - k2 * ref.cost - k1 * f2.cost
            n = min(MAX_TRIALS, int(left // f1.cost)) if left > 0 else 0
            if n < k1 + 1:
                continue
            q = simulate([_r(f1), _r(f2), 1.0], [n, k1, k2], [k1, k2], seed=seed)
            if best is None or q > best.quality:
                best = Chain([f1, f2, ref], [n, k1, k2], [k1, k2], q, n * f1.cost + k1 * f2.cost + k2 * ref.cost)
    return best


def chain_yaml(chain: Chain, searcher: str = "auto", bridge: int = 2) -> list[dict[str, Any]]:
    """The chain as the ``stages`` of an experiment YAML (FIFO: the model evaluates every
    configuration of a stage at its fidelity)."""
    stages = []
    for i, (lv, n) in enumerate(zip(chain.levels, chain.trials)):
        stage: dict[str, Any] = {"name": lv.name, **lv.fidelity, "searcher": searcher, "scheduler": "fifo"}
        stage["budget"] = {"trials": n}
        if i < len(chain.levels) - 1:
            stage["top_k"] = chain.top_k[i]
            stage["bridge"] = bridge
        stages.append(stage)
    return stages
