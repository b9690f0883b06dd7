"""One multi-fidelity suggestion as a pure function of the trial record (no Ray).

Start-up: uniform random draws until ``n_startup_trials`` trials have reported a result.
Then, with ``model="hypertune"``: fit one GP per rung with at least ``min_rung_points``
observations (each on its own standardized losses, warm-started from its previous fit),
weight the rungs by ranking consistency with the highest of them
(:mod:`searchers.mf.weights`), combine them into a product of experts and maximise log-EI
against the ensemble's best mean among the highest rung's trials. With ``model="joint"``:
fit one GP over (configuration, log resource) on every rung's observations and maximise
log-EI of its slice at ``max_resource`` (``target_level="max"``) or at the highest rung
level with enough observations (``"populated"``, MOBSTER's choice).

Cost per suggestion is bounded: each rung's GP keeps at most ``max_points`` observations
(the joint GP at most ``max_points`` over all rungs, the highest rungs first), the
hyperparameter fits at most ``fit_points``, the weights score at most ``max_points`` of the
highest rung's trials. The state carried between suggestions is the last hyperparameter
vector of each model (warm starts) and the last weights (for inspection); both pickle
with the core, so a restored searcher suggests exactly what an uninterrupted one would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from searchers.gp.acquisition import Acquisition, Surrogate
from searchers.gp.core import _check_int
from searchers.gp.encoding import Encoding
from searchers.gp.fit import fit_hyperparameters
from searchers.gp.hyper import Hyper, Priors
from searchers.gp.likelihood import MarginalLikelihood
from searchers.gp.optimize import maximize
from searchers.gp.posterior import Posterior
from searchers.gp.threads import single_blas_thread
from searchers.gp.warping import standardize
from searchers.mf import rungs as rungs_mod
from searchers.mf.rungs import Rung
from searchers.mf.surrogates import Ensemble, ResourceSlice, loo_means
from searchers.mf.weights import rung_weights
from searchers.record import TrialRecord
from searchers.space import SearchSpace

MODELS = ("hypertune", "joint")
#: where the joint model's acquisition looks: ``max_resource``, or the highest rung level
#: with enough observations (MOBSTER's choice; Syne Tune's ``resource_acq="bohb"``)
TARGET_LEVELS = ("max", "populated")


class MFCore:
    """The searcher's algorithm; see :class:`searchers.mf.MFGPSearcher` for the arguments."""

    def __init__(
        self,
        model: str = "joint",
        min_resource: float = 1,
        max_resource: float = 81,
        reduction_factor: float = 3,
        n_startup_trials: int = 10,
        min_rung_points: int = 4,
        n_bootstrap: int = 100,
        max_points: int = 300,
        fit_points: int = 150,
        fit_restarts: int = 2,
        n_candidates: int = 512,
        n_starts: int = 4,
        max_pending: int = 32,
        lengthscale_prior: str = "optuna",
        target_level: str = "max",
    ):
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        if target_level not in TARGET_LEVELS:
            raise ValueError(f"target_level must be one of {', '.join(TARGET_LEVELS)}, got {target_level!r}")
        if target_level != "max" and model != "joint":
            raise ValueError(
                f"target_level={target_level!r} applies with model='joint' only "
                "(Hyper-Tune's ensemble targets its highest rung with a model)"
            )
        for name, value in (("min_resource", min_resource), ("max_resource", max_resource)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if max_resource < min_resource:
            raise ValueError(f"max_resource ({max_resource!r}) must be >= min_resource ({min_resource!r})")
        if (
            isinstance(reduction_factor, bool)
            or not isinstance(reduction_factor, (int, float))
            or not (1 < reduction_factor < math.inf)
        ):
            raise ValueError(f"reduction_factor must be a finite number > 1, got {reduction_factor!r}")
        self.model = model
        self.target_level = target_level
        self.min_resource, self.max_resource = float(min_resource), float(max_resource)
        self.reduction_factor = float(reduction_factor)
        self.levels = rungs_mod.rung_levels(self.min_resource, self.max_resource, self.reduction_factor)
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 1)
        self.min_rung_points = _check_int("min_rung_points", min_rung_points, 3)
        self.n_bootstrap = _check_int("n_bootstrap", n_bootstrap, 1)
        self.max_points = _check_int("max_points", max_points, 4)
        self.fit_points = _check_int("fit_points", fit_points, 4)
        self.fit_restarts = _check_int("fit_restarts", fit_restarts, 0)
        self.n_candidates = _check_int("n_candidates", n_candidates, 1)
        self.n_starts = _check_int("n_starts", n_starts, 1)
        self.max_pending = _check_int("max_pending", max_pending, 0)
        self.priors = Priors(lengthscale_prior)
        #: warm starts: last fitted hyperparameters per model ("joint", or a rung level)
        self.thetas: dict[str, np.ndarray] = {}
        #: the rung weights of the last suggestion, level -> weight (hypertune)
        self.weights: dict[float, float] = {}
        #: the resource level of the joint model's last acquisition (for inspection)
        self.last_target: float | None = None
        self._encoding: Encoding | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_encoding": None}  # the encoding is a cache of the space

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a core pickled before target_level existed targeted max_resource
        self.__dict__.update({"target_level": "max", "last_target": None, **state})

    def encoding(self, space: SearchSpace) -> Encoding:
        if self._encoding is None or self._encoding.space is not space:
            self._encoding = Encoding(space)
        return self._encoding

    # ------------------------------------------------------------------ suggest
    def propose(self, space: SearchSpace, record: TrialRecord, rng: np.random.Generator) -> dict[str, Any]:
        """Flat values of the next configuration to try."""
        if rungs_mod.n_observed(record) < self.n_startup_trials:
            return space.sample_flat(rng)
        data = [r for r in rungs_mod.collect(record, self.levels) if len(r) >= self.min_rung_points]
        if not data:
            return space.sample_flat(rng)
        pending = rungs_mod.in_flight(record, self.max_pending)
        with single_blas_thread():
            if self.model == "joint":
                return self._propose_joint(space, data, pending, rng)
            return self._propose_hypertune(space, data, pending, rng)

    def _fit(
        self, key: str, X: np.ndarray, y: np.ndarray, group: np.ndarray, weight: np.ndarray, rng: np.random.Generator
    ) -> Posterior:
        idx = np.sort(rng.choice(len(y), size=self.fit_points, replace=False)) if len(y) > self.fit_points else None
        Xf, yf = (X, y) if idx is None else (X[idx], y[idx])
        objective = MarginalLikelihood(Xf, yf, group, weight, self.priors)
        fit = fit_hyperparameters(objective, rng, self.thetas.get(key), self.fit_restarts)
        self.thetas[key] = fit.theta
        hyper = Hyper.from_vector(fit.theta)
        return Posterior(X, y, hyper, hyper.column_weights(group, weight))

    def _maximize(
        self, surrogate: Surrogate, enc: Encoding, best: float, seed: np.ndarray, rng: np.random.Generator
    ) -> dict[str, Any]:
        acq = Acquisition("log-ei", surrogate, best, 0.0)
        x, _ = maximize(acq, enc, rng, self.n_candidates, self.n_starts, seed[None, :])
        return enc.decode(x)

    def _propose_hypertune(
        self, space: SearchSpace, data: list[Rung], pending: list[dict[str, Any]], rng: np.random.Generator
    ) -> dict[str, Any]:
        enc = self.encoding(space)
        posteriors, inputs = [], []
        for rung in data:
            rung = rungs_mod.cap_rung(rung, self.max_points, rng)
            X = enc.encode_many(rung.flats)
            posteriors.append(self._fit(f"{rung.level:g}", X, standardize(rung.losses), enc.group, enc.weight, rng))
            inputs.append(X)
        top, X_top = posteriors[-1], inputs[-1]
        if len(data) == 1:
            weights = np.ones(1)
        else:
            preds = np.stack([p.predict(X_top)[0] for p in posteriors[:-1]] + [loo_means(top)])
            weights = rung_weights(preds, top.y, rng, self.n_bootstrap)
        self.weights = {rung.level: float(w) for rung, w in zip(data, weights)}
        members: list[Posterior] = list(posteriors)
        if pending:
            Xp = enc.encode_many(pending)
            members = [p.condition_on(Xp) if w > 0 else p for p, w in zip(posteriors, weights)]
        ensemble = Ensemble(members, list(weights))
        mean_top = ensemble.predict(X_top)[0]
        b = int(np.argmin(mean_top))
        return self._maximize(ensemble, enc, float(mean_top[b]), X_top[b], rng)

    def _propose_joint(
        self, space: SearchSpace, data: list[Rung], pending: list[dict[str, Any]], rng: np.random.Generator
    ) -> dict[str, Any]:
        enc = self.encoding(space)
        level = self._target_level(data, enc.n_params)
        data = rungs_mod.cap_joint(data, self.max_points, rng)
        units = [rungs_mod.resource_unit(r.level, self.min_resource, self.max_resource) for r in data]
        X = np.vstack([np.hstack([enc.encode_many(r.flats), np.full((len(r), 1), u)]) for r, u in zip(data, units)])
        y = standardize(np.concatenate([r.losses for r in data]))
        group = np.append(enc.group, enc.n_params)  # the resource has a length scale of its own
        weight = np.append(enc.weight, 1.0)
        posterior = self._fit("joint", X, y, group, weight, rng)
        self.last_target = level
        target = ResourceSlice(posterior, rungs_mod.resource_unit(level, self.min_resource, self.max_resource))
        if pending:
            target = target.condition_on(enc.encode_many(pending))
        # The incumbent: the best predicted loss at the target among the configurations observed so far.
        X_seen = np.unique(X[:, :-1], axis=0)
        mean = target.predict(X_seen)[0]
        b = int(np.argmin(mean))
        self.weights = {}
        return self._maximize(target, enc, float(mean[b]), X_seen[b], rng)

    def _target_level(self, data: list[Rung], n_params: int) -> float:
        """``max_resource``, or with ``target_level="populated"`` the highest rung level
        holding at least ``max(6, n_params + 1)`` observations (the lowest if none does).

        Early in a run few trials reached the top, and the joint GP's slice there is an
        extrapolation from the lower rungs; a populated level is one the model has seen
        (``data``: the rungs with data, lowest first, before any cap).
        """
        if self.target_level == "max":
            return self.max_resource
        need = max(6, n_params + 1)
        return next((r.level for r in reversed(data) if len(r) >= need), data[0].level)
