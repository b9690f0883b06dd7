"""TPE's decision for one suggestion, as a pure function of the observations and a generator.

The core keeps no state beyond the observation table (a mirror of the searcher's
append-only trial record) and a note of its last decision; the caller owns the
generator. One suggestion:

1. pick the data: the highest resource level with enough observations (BOHB's rule);
2. split it: the best ``n_good`` are good (several objectives: the first ``n_good`` in
   :func:`searchers.common.pareto.pareto_order`, i.e. feasible before infeasible, then by
   non-dominated rank with the greedy hypervolume tie-break, as multi-objective TPE, Ozaki
   et al. 2020/2022, and Optuna do); everything else is bad, including trials in
   flight that have not reached that level (the constant liar: they are where other
   workers already are), trials stopped below it and failed ones;
3. fit one joint Parzen estimator to each side (l and g);
4. draw ``n_candidates`` from l and keep the one maximising log l - log g, which is
   proportional to expected improvement; in a conditional space one group of columns at
   a time (the root, then each branch it activates), see :meth:`TPECore._choose`.

Until the data holds ``n_startup_trials`` observations it samples the prior instead.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.record import TrialObs
from searchers.space import SearchSpace
from searchers.tpe.parzen import ParzenEstimator, logsumexp
from searchers.tpe.split import choose_level, good_mask, n_good, pareto_good_mask, recency_weights
from searchers.tpe.table import ObservationTable
from searchers.tpe.unit_space import UnitSpace


@dataclass(frozen=True)
class TPESettings:
    """TPE's knobs; each is validated here, so a bad value fails at construction.

    The defaults are those of Optuna 5.0's ``TPESampler`` (which follow the recommended
    setting of Watanabe, arXiv:2304.11127), so that a difference in results comes from
    the parts that differ, not from the knobs.

    Attributes:
        n_startup_trials: observations (at the fitted level) before the model is used.
        n_candidates: draws from l ranked by l/g per suggestion.
        gamma, max_good: the good set is ``min(ceil(gamma * n), max_good)`` observations.
        prior_weight: weight of the prior component relative to one observation.
        min_bandwidth: smallest kernel width, in unit coordinates (1 = the whole range).
        full_weight_window: the newest this many observations of l and of g weigh 1;
            older ones fade linearly. ``0`` fades all but keeps the ordering.
        min_points_in_level: observations a resource level needs before the model fits on
            it; ``None``: number of parameters + 2 (BOHB's rule).
        constant_liar: count trials in flight as bad observations.
        multivariate: joint kernels over a group's parameters (True) or each parameter on
            its own marginal (False); None (default): joint with one objective, independent
            with several, Optuna's rule (its multi-objective TPE defaults to independent
            sampling; on the separable ZDT and DTLZ problems joint kernels measured worse,
            docs/benchmarks.md).
        max_observations: the bad estimator g is fitted on at most the newest this many
            bad observations (the good ones are always chosen among all), so a suggestion
            costs the same at 50,000 trials as at 2,000; ``None``: no cap. The oldest
            observations weigh least anyway (``full_weight_window``).
    """

    n_startup_trials: int = 10
    n_candidates: int = 24
    gamma: float = 0.1
    max_good: int = 25
    prior_weight: float = 1.0
    min_bandwidth: float = 0.01
    full_weight_window: int = 25
    min_points_in_level: int | None = None
    constant_liar: bool = True
    max_observations: int | None = 2000
    multivariate: bool | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        # states saved before the rename (n_ei_candidates -> n_candidates) restore as they were
        state = dict(state)
        if "n_ei_candidates" in state:
            state["n_candidates"] = state.pop("n_ei_candidates")
        for key, value in state.items():
            object.__setattr__(self, key, value)
        for f in dataclasses.fields(self):  # fields added since the state was saved
            if f.name not in state:
                object.__setattr__(self, f.name, f.default)

    def __post_init__(self) -> None:
        _int_at_least("n_startup_trials", self.n_startup_trials, 0)
        _int_at_least("n_candidates", self.n_candidates, 1)
        _int_at_least("max_good", self.max_good, 1)
        _int_at_least("full_weight_window", self.full_weight_window, 0)
        if self.min_points_in_level is not None:
            _int_at_least("min_points_in_level", self.min_points_in_level, 1)
        if self.max_observations is not None:
            _int_at_least("max_observations", self.max_observations, 2)
        _real_in("gamma", self.gamma, 0.0, 1.0, "a number in (0, 1]")
        _real_in("min_bandwidth", self.min_bandwidth, 0.0, 1.0, "a number in (0, 1]")
        _real_in("prior_weight", self.prior_weight, 0.0, math.inf, "a positive finite number")
        if self.multivariate is not None and not isinstance(self.multivariate, bool):
            raise ValueError(f"multivariate must be True, False or None, got {self.multivariate!r}")
        if not isinstance(self.constant_liar, bool):
            raise ValueError(f"constant_liar must be True or False, got {self.constant_liar!r}")


def _int_at_least(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _real_in(name: str, value: Any, low: float, high: float, allowed: str) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and math.isfinite(value)
        and low < value <= high
    )
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def _newest(mask: np.ndarray, keep: int) -> np.ndarray:
    """``mask`` with only its last ``keep`` (at least 1) True entries left True."""
    idx = np.flatnonzero(mask)
    if len(idx) <= max(keep, 1):
        return mask
    out = np.zeros_like(mask)
    out[idx[-max(keep, 1) :]] = True
    return out


@dataclass(frozen=True)
class Decision:
    """What the model was fitted on for one suggestion (``level`` None: final losses)."""

    level: float | None
    n_observed: int
    n_good: int
    n_bad: int


class TPECore:
    """Tree-structured Parzen estimator over one search space."""

    def __init__(self, space: SearchSpace, settings: TPESettings):
        self.space = space
        self.settings = settings
        self.unit = UnitSpace(space)
        self.table = ObservationTable(self.unit)
        self.last_decision: Decision | None = None

    def observe(self, obs: TrialObs) -> None:
        """Add a trial, or refresh one whose state, loss or intermediate results changed."""
        self.table.observe(obs)

    @property
    def min_points_in_level(self) -> int:
        s = self.settings
        return s.min_points_in_level if s.min_points_in_level is not None else len(self.unit) + 2

    def fit_data(self) -> tuple[float | None, np.ndarray]:
        """The resource level the model uses and each row's loss there (NaN: none)."""
        levels, counts = self.table.levels()
        i = choose_level(levels, counts, self.min_points_in_level)
        level = None if i < 0 else float(levels[i])
        return level, self.table.values_at(level)

    def propose(self, rng: np.random.Generator) -> dict[str, Any]:
        """Flat values of the next configuration to evaluate."""
        s, t = self.settings, self.table
        level, values = self.fit_data()
        n_obs = int(np.count_nonzero(~np.isnan(values)))
        if n_obs < max(s.n_startup_trials, 1):
            self.last_decision = None
            return self.space.sample_flat(rng)
        k = n_good(n_obs, s.gamma, s.max_good)
        good = good_mask(values, k) if t.vector_width == 0 else pareto_good_mask(t.vectors_at(level), values, k)
        bad = ~good
        if not s.constant_liar:
            bad &= ~(t.pending & np.isnan(values))
        if s.max_observations is not None:
            bad = _newest(bad, s.max_observations - int(good.sum()))
        self.last_decision = Decision(level, n_obs, int(good.sum()), int(bad.sum()))
        # None: joint kernels unless there are several objectives (vector: objectives + violation)
        joint = s.multivariate if s.multivariate is not None else t.vector_width <= 2
        row, active = self._choose(self._fit(good), self._fit(bad), rng, joint)
        return self.unit.decode(row, active)

    def _choose(
        self, l_est: ParzenEstimator, g_est: ParzenEstimator, rng: np.random.Generator, joint: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decide one group of columns at a time (the root, then each active branch): draw
        candidates for the group from l conditioned on the columns decided so far, keep the
        one with the largest conditional log l - log g, and condition both on it.

        Why not rank whole configurations at once: the ratio over a branch's own columns
        is large wherever l has concentrated, so a joint ranking always prefers the branch
        that was exploited most and never revisits the others. Choosing the branch on the
        evidence at its own level (as hyperopt and Optuna do), and its parameters on theirs,
        keeps the branch decision fair; conditioning keeps the correlations between levels.

        ``joint=False`` (independent TPE): every column is drawn and scored on its own
        marginal, unconditioned, in the same order.
        """
        unit = self.unit
        row = np.zeros(len(unit))
        active = np.zeros(len(unit), dtype=bool)
        resp_l, resp_g = l_est.log_weights.copy(), g_est.log_weights.copy()
        for gi, group in enumerate(unit.groups):
            if not unit.group_active(gi, row, active):
                continue
            if not joint:
                for col in group:
                    cols = np.asarray([col])
                    cand = l_est.sample_columns(rng, l_est.log_weights, self.settings.n_candidates, cols)
                    k_l, k_g = l_est.log_kernels(cand, cols), g_est.log_kernels(cand, cols)
                    score = logsumexp(l_est.log_weights + k_l, axis=1) - logsumexp(g_est.log_weights + k_g, axis=1)
                    row[cols], active[cols] = cand[int(np.argmax(score))], True
                continue
            cols = group
            cand = l_est.sample_columns(rng, resp_l, self.settings.n_candidates, cols)
            k_l, k_g = l_est.log_kernels(cand, cols), g_est.log_kernels(cand, cols)
            score = logsumexp(resp_l + k_l, axis=1) - logsumexp(resp_g + k_g, axis=1)
            best = int(np.argmax(score))
            row[cols], active[cols] = cand[best], True
            resp_l += k_l[best]
            resp_g += k_g[best]
        return row, active

    def _fit(self, mask: np.ndarray) -> ParzenEstimator:
        s = self.settings
        idx = np.flatnonzero(mask)
        return ParzenEstimator.fit(
            self.unit,
            self.table.rows[idx],
            self.table.active[idx],
            recency_weights(len(idx), s.full_weight_window),
            s.prior_weight,
            s.min_bandwidth,
        )
