"""``auto``: the GP while it is the better model and cheap, TPE beyond (mftune's default searcher).

Modules: ``rule`` (the switch rule, a pure function of the trial count and the space),
``core`` (one record, both models, which model served each suggestion; no Ray),
``searcher`` (the Ray adapter). Only ``searcher`` imports Ray.
"""

from typing import Any

from searchers.auto.core import AutoCore
from searchers.auto.rule import choose_model

__all__ = ["AutoCore", "AutoSearcher", "choose_model"]


def __getattr__(name: str) -> Any:
    # The searcher imports Ray; keep the core importable without it.
    if name == "AutoSearcher":
        from searchers.auto.searcher import AutoSearcher

        return AutoSearcher
    raise AttributeError(name)
