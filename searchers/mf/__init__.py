"""Model-based multi-fidelity search: GPs over (configuration, resource) from every rung.

Under ASHA most trials stop at low rungs; a searcher that models one value per trial
(its last loss, or one rung's) throws away the shape of what the rungs say. This package
models all rung results, in one of two ways (``model=``):

* ``"joint"`` (the default; MOBSTER, Klein et al., 2020, with Syne Tune's ``matern52-res``
  kernel): one GP over (configuration, log resource), the acquisition taken at the
  highest resource. It won the held-out comparison (docs/benchmarks.md).
* ``"hypertune"`` (Li et al., 2022, Hyper-Tune; MFES-HB before it): one GP per rung,
  combined as a weighted product of experts; a rung's weight is how often (over
  bootstrap samples of the highest rung's trials) its model ranks those trials best
  (:mod:`searchers.mf.weights`). Low rungs guide early, the top rung takes over once it
  ranks better.

Modules: ``rungs`` (which observations, the cap), ``weights`` (ranking-consistency
weights), ``surrogates`` (ensemble, resource slice, leave-one-out means), ``core`` (one
suggestion), ``searcher`` (the Ray adapter; the only one that imports Ray).
"""

from typing import Any

from searchers.mf.core import MODELS, MFCore

__all__ = ["MFCore", "MFGPSearcher", "MODELS"]


def __getattr__(name: str) -> Any:
    # The searcher imports Ray; keep the core importable without it.
    if name == "MFGPSearcher":
        from searchers.mf.searcher import MFGPSearcher

        return MFGPSearcher
    raise AttributeError(name)
