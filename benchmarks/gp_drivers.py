"""One ask/tell interface over the searchers the GP benchmarks compare.

A driver suggests flat values of an mftune :class:`SearchSpace` (active parameters only,
categoricals as option index) and is told a loss to minimise, so every method runs the
same protocol on the same objective:

* ``gp`` / ``random``: mftune's ``GPSearcher`` / ``RandomSearcher`` through their Ray
  ``Searcher`` callbacks (``suggest``, ``on_trial_complete``): the production path,
  without starting Ray.
* ``optuna-gp`` / ``optuna-tpe``: ``optuna.samplers.GPSampler(seed=...)`` /
  ``TPESampler(seed=...)`` with their defaults through ``study.ask``/``study.tell``, the
  space asked define-by-run so conditional parameters are suggested only when active.
* ``gp-gamma-prior`` / ``gp-dim-scaled-prior``: the GP with another length-scale prior
  (ablation).
* ``mftune-tpe``: our ``TPESearcher`` with its defaults.

``FACTORIES`` maps each name to ``factory(space, seed) -> driver``; a new method is one
entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.tpe_drivers import OptunaDriver, optuna_distributions  # noqa: F401 (shared; gp_latency imports them here)
from searchers.space import SearchSpace


class SearcherDriver:
    """An mftune searcher driven through Ray's Searcher callbacks (no Ray started)."""

    def __init__(self, searcher: Any):
        self.searcher = searcher
        self.space: SearchSpace = searcher.space
        self._n = 0

    def ask(self) -> tuple[str, dict[str, Any]]:
        tid = f"t{self._n}"
        self._n += 1
        return tid, self.space.to_flat(self.searcher.suggest(tid))

    def tell(self, token: str, loss: float) -> None:
        self.searcher.on_trial_complete(token, {"loss": loss})


def _gp(space: SearchSpace, seed: int) -> SearcherDriver:
    from searchers import GPSearcher

    return SearcherDriver(GPSearcher(space, metric="loss", mode="min", seed=seed))


def _gp_prior(prior: str) -> Callable[[SearchSpace, int], SearcherDriver]:
    """The GP with another length-scale prior (the ablation in docs/benchmarks.md)."""

    def factory(space: SearchSpace, seed: int) -> SearcherDriver:
        from searchers import GPSearcher

        return SearcherDriver(GPSearcher(space, metric="loss", mode="min", seed=seed, lengthscale_prior=prior))

    return factory


def _random(space: SearchSpace, seed: int) -> SearcherDriver:
    from searchers import RandomSearcher

    return SearcherDriver(RandomSearcher(space, metric="loss", mode="min", seed=seed))


def _optuna_gp(space: SearchSpace, seed: int) -> OptunaDriver:
    import optuna

    return OptunaDriver(space, optuna.samplers.GPSampler(seed=seed))


def _optuna_tpe(space: SearchSpace, seed: int) -> OptunaDriver:
    import optuna

    return OptunaDriver(space, optuna.samplers.TPESampler(seed=seed))


def _mftune_tpe(space: SearchSpace, seed: int) -> SearcherDriver:
    from searchers import TPESearcher

    return SearcherDriver(TPESearcher(space, metric="loss", mode="min", seed=seed))


FACTORIES: dict[str, Callable[[SearchSpace, int], Any]] = {
    "gp": _gp,
    "optuna-gp": _optuna_gp,
    "mftune-tpe": _mftune_tpe,
    "optuna-tpe": _optuna_tpe,
    "random": _random,
    "gp-gamma-prior": _gp_prior("gamma"),
    "gp-dim-scaled-prior": _gp_prior("dim-scaled"),
}
