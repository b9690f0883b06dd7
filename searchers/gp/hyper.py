"""GP hyperparameters, their bounds and priors, as one vector for L-BFGS-B.

The vector is ``[log length scale per parameter..., log signal variance, log noise
variance, constant mean]``; logs make the positive quantities unconstrained apart from
their bounds. Each prior is the log density of the natural quantity evaluated at
exp(log value) (no Jacobian), as GPyTorch, BoTorch and Optuna do.

Priors, by default those of Optuna's GPSampler (optuna/_gp/prior.py), the baseline we
are measured against:

* length scales ("optuna"): log p = -(0.1 / lam + 0.1 lam) with lam = 1 / l^2. It has its
  mode at l = 1 and only a gentle penalty for long length scales, so automatic
  relevance determination can switch an unimportant parameter off, which hyperparameter
  spaces are full of. Two alternatives stay selectable for the ablation in
  docs/benchmarks.md: "gamma" (Gamma(3, 6) on l, BoTorch's classic default; its
  exponential tail keeps unimportant parameters "important" and cost us on the mixed
  space) and "dim-scaled" (LogNormal(sqrt2 + log(P)/2, sqrt3), BoTorch >= 0.12,
  Hvarfner et al. 2024; built for high dimensions, too smooth at 2-10 parameters and
  25-50 evaluations);
* signal variance: Gamma(2, 1), around the variance of the standardized data;
* noise variance: Gamma(1.1, 30) above the bound 1e-6: small unless the data insist;
  the bound keeps the Cholesky factor well conditioned;
* constant mean: flat within its bounds (the data are standardized, so +-3 is wide), or
  held at 0 (``mean="zero"``, as Optuna's GPSampler, which has no mean parameter), so a
  point far from every observation is expected to be as good as the average one. A
  fitted constant can settle far above the average: in a held-out Styblinski-Tang-6 run
  where the GP on power-transformed losses stayed in a local minimum it sat at +2.0 with
  a signal sd of 0.46, so every unexplored region looked poor and sure of it
  (docs/benchmarks.md, "the GP's constant mean").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_LENGTHSCALE_BOUNDS = (math.log(1e-2), math.log(1e2))
LOG_SIGNAL_BOUNDS = (math.log(1e-2), math.log(1e2))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
MEAN_BOUNDS = (-3.0, 3.0)

LENGTHSCALE_PRIORS = ("optuna", "gamma", "dim-scaled")
PRIOR_MEANS = ("fitted", "zero")


def _gamma(u: np.ndarray, shape: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """log Gamma(shape, rate) density of exp(u), and d/du."""
    v = np.exp(u)
    return (shape - 1.0) * u - rate * v, (shape - 1.0) - rate * v


@dataclass(frozen=True)
class Priors:
    """Priors on the hyperparameter vector; ``lengthscale`` names the length-scale prior."""

    lengthscale: str = "optuna"
    mean: str = "fitted"

    def __post_init__(self) -> None:
        if self.lengthscale not in LENGTHSCALE_PRIORS:
            raise ValueError(
                f"lengthscale_prior must be one of {', '.join(LENGTHSCALE_PRIORS)}, got {self.lengthscale!r}"
            )
        if self.mean not in PRIOR_MEANS:
            raise ValueError(f"prior_mean must be one of {', '.join(PRIOR_MEANS)}, got {self.mean!r}")

    def bounds(self, n_params: int) -> list[tuple[float, float]]:
        """The box of the fit; a zero mean is a box of width 0 (L-BFGS-B keeps it fixed)."""
        box = bounds(n_params)
        if self.mean == "zero":
            box[-1] = (0.0, 0.0)
        return box

    def _lengthscale(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.lengthscale == "optuna":
            lam = np.exp(-2.0 * u)  # 1 / l^2
            return -(0.1 / lam + 0.1 * lam), -(0.2 / lam - 0.2 * lam)
        if self.lengthscale == "gamma":
            return _gamma(u, 3.0, 6.0)
        loc, scale = math.sqrt(2.0) + 0.5 * math.log(len(u)), math.sqrt(3.0)
        z = (u - loc) / scale
        return -0.5 * z * z - u, -z / scale - 1.0  # LogNormal density of l = exp(u)

    def log_density(self, theta: np.ndarray, n_params: int) -> tuple[float, np.ndarray]:
        """Log prior of ``theta`` (up to a constant) and its gradient."""
        grad = np.zeros_like(theta)
        ls_value, grad[:n_params] = self._lengthscale(theta[:n_params])
        sig_value, grad[n_params] = _gamma(theta[n_params], 2.0, 1.0)
        noise_value, grad[n_params + 1] = _gamma(theta[n_params + 1], 1.1, 30.0)
        return float(np.sum(ls_value) + sig_value + noise_value), grad

    def start(self, n_params: int) -> np.ndarray:
        """The default starting point of a fit: length scales at the prior's typical
        value, unit signal, noise 1e-3, mean 0."""
        if self.lengthscale == "optuna":
            u = 0.0
        elif self.lengthscale == "gamma":
            u = math.log(2.0 / 6.0)
        else:
            u = math.sqrt(2.0) + 0.5 * math.log(n_params)
        return _clip(np.concatenate([np.full(n_params, u), [0.0, math.log(1e-3), 0.0]]))

    def sample(self, rng: np.random.Generator, n_params: int) -> np.ndarray:
        """A random start for a restart: log length scales and log signal spread around
        the default start, noise log-uniform within its bounds."""
        theta = self.start(n_params)
        theta[:n_params] += rng.normal(0.0, 1.0, n_params)
        theta[n_params] += rng.normal(0.0, 1.0)
        theta[n_params + 1] = rng.uniform(*LOG_NOISE_BOUNDS)
        return _clip(theta)


def bounds(n_params: int) -> list[tuple[float, float]]:
    return [LOG_LENGTHSCALE_BOUNDS] * n_params + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS, MEAN_BOUNDS]


def _clip(theta: np.ndarray) -> np.ndarray:
    lo, hi = np.array(bounds(len(theta) - 3)).T
    clipped: np.ndarray = np.clip(theta, lo, hi)
    return clipped


@dataclass(frozen=True)
class Hyper:
    """Fitted hyperparameters in natural units."""

    lengthscales: np.ndarray  # (P,)
    signal: float
    noise: float
    mean: float

    @classmethod
    def from_vector(cls, theta: np.ndarray) -> Hyper:
        theta = np.asarray(theta, dtype=float)
        return cls(np.exp(theta[:-3]), float(math.exp(theta[-3])), float(math.exp(theta[-2])), float(theta[-1]))

    def to_vector(self) -> np.ndarray:
        return np.concatenate([np.log(self.lengthscales), [math.log(self.signal), math.log(self.noise), self.mean]])

    def column_weights(self, group: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """w_d = weight_d / lengthscale_{group(d)}^2, the factors of r^2 per column."""
        w: np.ndarray = weight / self.lengthscales[group] ** 2
        return w
