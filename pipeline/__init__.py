"""mftune's pipeline. The public trial context is importable from here::

    from pipeline import trial_context

(imported lazily, so ``import pipeline`` stays cheap for the command line).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrialContext", "trial_context"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pipeline import context

        return getattr(context, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
