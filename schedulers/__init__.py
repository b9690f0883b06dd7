"""mftune trial schedulers for Ray Tune: ASHA and Hyperband over one pure rung core.

``core``, ``async_core``, ``sync_core``, ``rung``, ``stopping``, ``promotion``,
``sync_bracket`` and ``levels`` are pure Python/numpy (no Ray); ``ray_adapter``,
``asha`` and ``hyperband`` are the thin Ray ``TrialScheduler`` layer, imported lazily
here so the core stays usable without Ray; ``bohb`` pairs ``HyperbandScheduler`` with
``searchers.TPESearcher``. Nothing here imports the ``pipeline`` package.
"""

from __future__ import annotations

from typing import Any

from schedulers.async_core import AsyncHyperband
from schedulers.core import CONTINUE, PAUSE, STOP, RungCore
from schedulers.levels import bracket_sizes, rung_levels
from schedulers.pareto_core import ParetoAsyncHyperband
from schedulers.sync_core import SyncHyperband

__all__ = [
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "AsyncHyperband",
    "BOHB",
    "CONTINUE",
    "HyperBandScheduler",
    "HyperbandScheduler",
    "MOASHAScheduler",
    "PAUSE",
    "ParetoAsyncHyperband",
    "RungCore",
    "STOP",
    "SyncHyperband",
    "bracket_sizes",
    "data_size_trainable",
    "make_bohb",
    "rung_levels",
]

# Ray's spellings of the same classes, so ``from schedulers import HyperBandScheduler``
# replaces ``from ray.tune.schedulers import HyperBandScheduler`` without other edits.
_RAY_SPELLINGS = {"AsyncHyperBandScheduler": "ASHAScheduler", "HyperBandScheduler": "HyperbandScheduler"}

_LAZY = {
    "ASHAScheduler": "schedulers.asha",
    "HyperbandScheduler": "schedulers.hyperband",
    "data_size_trainable": "schedulers.data_size",
    "BOHB": "schedulers.bohb",
    "make_bohb": "schedulers.bohb",
    "MOASHAScheduler": "schedulers.mo_asha",
}


def __getattr__(name: str) -> Any:
    name = _RAY_SPELLINGS.get(name, name)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'schedulers' has no attribute {name!r}")
