"""mftune's pipeline: staged multi-fidelity experiments with cross-validation, on Ray Tune.

Public Python entry points (the command line is ``mftune`` / ``python -m pipeline.run``):

* ``from pipeline import trial_context``: the trial context a trainable reads its stage's
  fidelity, CV fold and seed from (docs/own-model.md);
* :func:`load_experiment` reads an experiment directory, finished or running.

Imported lazily, so that ``import pipeline.<module>`` does not pay for pandas and Ray.
"""

from __future__ import annotations

from typing import Any

_CONTEXT = ("TrialContext", "trial_context")
_LOADER = ("ExperimentResults", "load_experiment")
__all__ = [*_CONTEXT, *_LOADER]


def __getattr__(name: str) -> Any:
    if name in _CONTEXT:
        from pipeline import context

        return getattr(context, name)
    if name in _LOADER:
        from pipeline import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
