"""Gaussian-process Bayesian optimisation: a pure numpy/scipy core and a Ray Tune searcher.

Modules, one concept each: ``encoding`` (mixed/conditional spaces as unit vectors),
``kernel`` (Matern-5/2), ``hyper`` (hyperparameters, bounds, priors), ``likelihood``
(marginal likelihood and gradient), ``fit`` (L-BFGS-B with restarts), ``posterior``
(prediction, kriging believer), ``acquisition`` (UCB, EI, log-EI), ``optimize``
(candidates, polishing, coordinate search), ``data`` (fidelity rule, size cap),
``core`` (one suggestion), ``searcher`` (the Ray adapter). Only ``searcher`` imports Ray.
"""

from typing import Any

from searchers.gp.core import GPCore

__all__ = ["GPCore", "GPSearcher"]


def __getattr__(name: str) -> Any:
    # The searcher imports Ray; keep the core importable without it.
    if name == "GPSearcher":
        from searchers.gp.searcher import GPSearcher

        return GPSearcher
    raise AttributeError(name)
