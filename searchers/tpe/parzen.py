"""A Parzen estimator over a whole (conditional) configuration: a weighted mixture of
product kernels, one component per observation plus one broad prior component.

Why one joint mixture rather than one estimator per parameter: a component keeps the
parameters of its observation together, so correlations (a learning rate that only
works with a large batch) survive, including those between a branch choice and the
branch's own parameters. Where an observation has a parameter inactive, its kernel in
that column is the prior kernel, so conditional parameters are modelled on exactly the
observations where they were active and never fall back to independent random
sampling. Columns can be sampled and scored a group at a time, with the component
weights conditioned on the columns already chosen (``sample_columns``/``log_kernels``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from searchers.tpe import truncnorm
from searchers.tpe.unit_space import CATEGORICAL, CONTINUOUS, DISCRETE, UnitSpace

#: The prior component: centred, one unit-range wide (nearly flat on [0, 1]).
PRIOR_MU, PRIOR_SIGMA = 0.5, 1.0


def neighbour_bandwidths(mus: np.ndarray, min_bandwidth: float) -> np.ndarray:
    """Per-kernel bandwidths on [0, 1]: the larger gap to a neighbour (the bounds count as
    neighbours), except that the two extreme kernels look inwards only.

    This is hyperopt's and Optuna's adaptive rule: kernels are wide where observations are
    sparse and narrow where they cluster. Clipped to ``[max(min_bandwidth, 1/(n+2)), 1]``,
    the 1/(n+2) term being the "magic clip" that keeps early estimates smooth.
    """
    n = len(mus)
    if n == 0:
        return np.empty(0)
    order = np.argsort(mus, kind="stable")
    s = mus[order]
    padded = np.concatenate(([0.0], s, [1.0]))
    bw = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
    if n >= 2:
        bw[0], bw[-1] = s[1] - s[0], s[-1] - s[-2]
    out = np.empty(n)
    out[order] = np.clip(bw, max(min_bandwidth, 1.0 / (n + 2)), 1.0)
    return out


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``; rows must hold a finite entry (the prior always is)."""
    m = np.max(x, axis=axis, keepdims=True)
    out: np.ndarray = np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))
    return out


@dataclass(frozen=True)
class ParzenEstimator:
    """Mixture with K = n + 1 components (observations first, the prior last).

    Per-column arrays are stored column-major, (D, K), so that scoring one column against
    all components reads contiguous memory.
    """

    space: UnitSpace
    log_weights: np.ndarray  # (K,)
    mu: np.ndarray  # (D, K): kernel centres of numeric columns (unused for categoricals)
    sigma: np.ndarray  # (D, K)
    log_norm: np.ndarray  # (D, K): log mass of each numeric kernel on [0, 1]
    cat_log_p: dict[int, np.ndarray]  # column -> (K, n_choices) log-probabilities

    @classmethod
    def fit(
        cls,
        space: UnitSpace,
        rows: np.ndarray,
        active: np.ndarray,
        weights: np.ndarray,
        prior_weight: float,
        min_bandwidth: float,
    ) -> ParzenEstimator:
        """Fit to ``rows`` (n, D) with activity ``active`` and per-observation ``weights``."""
        n, d_all = rows.shape
        w = np.append(np.asarray(weights, dtype=float), prior_weight)
        mu = np.full((d_all, n + 1), PRIOR_MU)
        sigma = np.full((d_all, n + 1), PRIOR_SIGMA)
        numeric = np.concatenate((space.continuous, space.discrete))
        for d in numeric:
            on = np.flatnonzero(active[:, d])
            mu[d, on] = rows[on, d]
            sigma[d, on] = neighbour_bandwidths(rows[on, d], min_bandwidth)
        log_norm = np.zeros((d_all, n + 1))
        log_norm[numeric] = truncnorm.log_gauss_mass(
            -mu[numeric] / sigma[numeric], (1.0 - mu[numeric]) / sigma[numeric]
        )
        cat_log_p = {}
        for d in space.categorical:
            on = active[:, d]
            c = space.n_choices[d]
            # Optuna's categorical kernel: the observed option plus prior mass spread evenly;
            # inactive observations and the prior component are uniform.
            table = np.full((n + 1, c), prior_weight / (np.count_nonzero(on) + 1))
            table[np.flatnonzero(on), rows[on, d].astype(int)] += 1.0
            table /= table.sum(axis=1, keepdims=True)
            cat_log_p[int(d)] = np.log(table)
        return cls(space, np.log(w / w.sum()), mu, sigma, log_norm, cat_log_p)

    @cached_property
    def _inv_sigma(self) -> np.ndarray:
        return 1.0 / self.sigma

    @cached_property
    def _log_const(self) -> np.ndarray:
        """Per-kernel constant of the continuous log-density: -log(sigma sqrt(2 pi) mass)."""
        const: np.ndarray = -np.log(self.sigma) - truncnorm.LOG_SQRT_2PI - self.log_norm
        return const

    @property
    def n_components(self) -> int:
        return len(self.log_weights)

    def sample(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``size`` whole configurations: rows (size, D) and their activity masks."""
        columns = np.arange(len(self.space))
        rows = self.sample_columns(rng, self.log_weights, size, columns)
        return rows, self.space.activity(rows)

    def sample_columns(
        self, rng: np.random.Generator, log_resp: np.ndarray, size: int, columns: np.ndarray
    ) -> np.ndarray:
        """Draw values of ``columns`` (size, len(columns)): a component per draw with
        probability softmax(``log_resp``), then each column from that component's kernel.

        ``log_resp`` is the mixture weights, or the weights conditioned on values already
        chosen for other columns (see :meth:`log_kernels`).
        """
        p = np.exp(log_resp - logsumexp(log_resp))
        comp = rng.choice(self.n_components, size=size, p=p / p.sum())
        out = np.empty((size, len(columns)))
        kind = self.space.kind[columns]
        num = np.flatnonzero(kind != CATEGORICAL)
        if len(num):
            cols = columns[num]
            u = rng.random((size, len(num)))
            out[:, num] = truncnorm.sample(u, self.mu[cols][:, comp].T, self.sigma[cols][:, comp].T, 0.0, 1.0)
        for j in np.flatnonzero(kind == DISCRETE):
            out[:, j] = self.space.snap(int(columns[j]), out[:, j])
        for j in np.flatnonzero(kind == CATEGORICAL):
            cum = np.cumsum(np.exp(self.cat_log_p[int(columns[j])][comp]), axis=1)
            u = rng.random(size) * cum[:, -1]
            out[:, j] = np.minimum(np.sum(cum <= u[:, None], axis=1), cum.shape[1] - 1)
        return out

    def log_kernels(self, values: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """log prod over ``columns`` of each component's kernel at ``values``: shape (m, K).

        Adding a row of this to the log weights conditions the mixture on those values
        (Bayes' rule over components), which is how later columns keep their correlation
        with columns already decided.
        """
        out = np.zeros((len(values), self.n_components))
        for j, d in enumerate(columns):
            out += self._column_log_kernel(int(d), values[:, j])
        return out

    def log_pdf(self, rows: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Log-density of each row over its active columns, shape (m,)."""
        log_k = np.zeros((len(rows), self.n_components))
        for d in range(len(self.space)):
            on = active[:, d]
            if on.any():
                log_k[on] += self._column_log_kernel(d, rows[on, d])
        return logsumexp(log_k + self.log_weights, axis=1)

    def _column_log_kernel(self, d: int, x: np.ndarray) -> np.ndarray:
        """log kernel_k(x_i) of column ``d`` for every value and component: (m, K)."""
        kind = self.space.kind[d]
        if kind == CATEGORICAL:
            cat: np.ndarray = self.cat_log_p[d][:, x.astype(int)].T
            return cat
        mu, inv_sigma = self.mu[d], self._inv_sigma[d]
        if kind == CONTINUOUS:
            z = (x[:, None] - mu) * inv_sigma
            cont: np.ndarray = self._log_const[d] - 0.5 * z * z
            return cont
        # Discrete: the kernel's mass over the value's grid cell; few distinct values among
        # candidates, so each cell is evaluated once.
        values, inverse = np.unique(x, return_inverse=True)
        lo, hi = self.space.cell(d, values)
        mass = truncnorm.log_gauss_mass((lo[:, None] - mu) * inv_sigma, (hi[:, None] - mu) * inv_sigma)
        disc: np.ndarray = (mass - self.log_norm[d])[inverse.ravel()]
        return disc
