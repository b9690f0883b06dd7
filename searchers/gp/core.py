"""GP Bayesian optimisation as a pure function of the trial record (no Ray).

One suggestion: pick the training data (fidelity rule, cap), standardize the losses
(optionally through a fitted power transform, :mod:`searchers.gp.warping`),
fit the hyperparameters (warm-started from the previous suggestion), condition on the
trials in flight (kriging believer), maximise the acquisition, decode. Several
objectives: the losses are a fresh ParEGO scalarisation each time (:mod:`searchers.gp.parego`). Until
``n_startup_trials`` observations exist at some level, suggestions are uniform random draws.
The only state carried between suggestions is the last hyperparameter vector, and it
is part of the searcher's saved state, so a restored searcher suggests exactly what an
uninterrupted one would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from searchers.common.renamed import renamed_kwargs
from searchers.gp import data, parego
from searchers.gp.acquisition import ACQUISITIONS, Acquisition
from searchers.gp.encoding import Encoding
from searchers.gp.fit import fit_hyperparameters
from searchers.gp.hyper import Hyper, Priors
from searchers.gp.likelihood import MarginalLikelihood
from searchers.gp.optimize import maximize
from searchers.gp.posterior import Posterior
from searchers.gp.threads import single_blas_thread
from searchers.gp.warping import WARPINGS, warp_losses
from searchers.record import TrialRecord
from searchers.space import SearchSpace

KAPPA_SCHEDULES = ("constant", "srinivas")


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class GPCore:
    """The searcher's algorithm; see :class:`searchers.gp.GPSearcher` for the arguments."""

    @renamed_kwargs(deprecated={"n_initial": "n_startup_trials"})
    def __init__(
        self,
        acquisition: str = "log-ei",
        kappa: float = 2.0,
        kappa_schedule: str = "constant",
        n_startup_trials: int = 10,
        fidelity: str = "final",
        max_points: int = 1000,
        fit_points: int = 200,
        fit_restarts: int = 4,
        n_candidates: int = 1024,
        n_starts: int = 5,
        lengthscale_prior: str = "optuna",
        loss_warping: str = "none",
        prior_mean: str = "fitted",
    ):
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {', '.join(ACQUISITIONS)}, got {acquisition!r}")
        if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not (math.isfinite(kappa) and kappa >= 0):
            raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
        if kappa_schedule not in KAPPA_SCHEDULES:
            raise ValueError(f"kappa_schedule must be one of {', '.join(KAPPA_SCHEDULES)}, got {kappa_schedule!r}")
        if fidelity not in data.FIDELITY_RULES:
            raise ValueError(f"fidelity must be one of {', '.join(data.FIDELITY_RULES)}, got {fidelity!r}")
        self.acquisition, self.kappa, self.kappa_schedule = acquisition, float(kappa), kappa_schedule
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 1)
        self.fidelity = fidelity
        self.priors = Priors(lengthscale_prior, prior_mean)  # checks both, naming the argument
        if loss_warping not in WARPINGS:
            raise ValueError(f"loss_warping must be one of {', '.join(WARPINGS)}, got {loss_warping!r}")
        self.loss_warping = loss_warping
        self.max_points = _check_int("max_points", max_points, 2)
        self.fit_points = _check_int("fit_points", fit_points, 2)
        self.fit_restarts = _check_int("fit_restarts", fit_restarts, 0)
        self.n_candidates = _check_int("n_candidates", n_candidates, 1)
        self.n_starts = _check_int("n_starts", n_starts, 1)
        #: last fitted hyperparameter vector: the warm start of the next fit
        self.theta: np.ndarray | None = None
        self._encoding: Encoding | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        # states saved before the rename (n_initial -> n_startup_trials) restore as they were
        if "n_initial" in state:
            state["n_startup_trials"] = state.pop("n_initial")
        state.setdefault("loss_warping", "none")  # states saved before the option existed
        self.__dict__.update(state)

    def __getstate__(self) -> dict[str, Any]:
        # Settings and the warm start are the state; the encoding is a cache of the space.
        return {**self.__dict__, "_encoding": None}

    def encoding(self, space: SearchSpace) -> Encoding:
        if self._encoding is None or self._encoding.space is not space:
            self._encoding = Encoding(space)
        return self._encoding

    def kappa_at(self, n_observations: int, n_params: int) -> float:
        """UCB's kappa; "srinivas" grows it as sqrt(0.2 * 2 log(d t^2 pi^2 / (6 * 0.1))).

        That is GP-UCB's beta_t (Srinivas et al. 2010, delta = 0.1) scaled down by 5, as
        the paper does in its experiments; ``kappa`` is ignored then.
        """
        if self.kappa_schedule == "constant":
            return self.kappa
        t = max(n_observations, 1)
        return math.sqrt(0.2 * 2.0 * math.log(max(n_params, 1) * t * t * math.pi**2 / 0.6))

    def propose(self, space: SearchSpace, record: TrialRecord, rng: np.random.Generator) -> dict[str, Any]:
        """Flat values of the next configuration to try."""
        chosen = data.select(record, self.fidelity, self.n_startup_trials)
        if chosen is None:
            return space.sample_flat(rng)
        with single_blas_thread():
            return self._propose_gp(space, chosen, rng)

    def _propose_gp(self, space: SearchSpace, chosen: data.TrainingData, rng: np.random.Generator) -> dict[str, Any]:
        enc = self.encoding(space)
        if chosen.vectors is not None:  # several objectives: ParEGO, see searchers.gp.parego
            m = chosen.vectors.shape[1] - 1
            chosen.losses = parego.scalarise(chosen.vectors, parego.random_weights(m, rng))
        keep = data.cap_indices(chosen.losses, self.max_points, rng)
        X = enc.encode_many([chosen.flats[i] for i in keep])
        losses = chosen.losses[keep]
        y = warp_losses(losses, self.loss_warping)

        fit_idx = (
            np.sort(rng.choice(len(y), size=self.fit_points, replace=False))
            if len(y) > self.fit_points
            else slice(None)
        )
        objective = MarginalLikelihood(X[fit_idx], y[fit_idx], enc.group, enc.weight, self.priors)
        fit = fit_hyperparameters(objective, rng, self.theta, self.fit_restarts)
        self.theta = fit.theta
        hyper = Hyper.from_vector(fit.theta)
        posterior = Posterior(X, y, hyper, hyper.column_weights(enc.group, enc.weight))
        if chosen.pending:
            posterior = posterior.condition_on(enc.encode_many(chosen.pending))
        best = int(np.argmin(y))
        acq = Acquisition(self.acquisition, posterior, float(y[best]), self.kappa_at(len(y), enc.n_params))
        x, _ = maximize(acq, enc, rng, self.n_candidates, self.n_starts, X[best][None, :])
        return enc.decode(x)
