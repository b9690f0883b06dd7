"""Argument and value checks that searchers, schedulers and the pipeline share.

Each check exists once so that a rule (what counts as a finite value, how a bad mode is
reported) cannot drift between packages.
"""

from __future__ import annotations

import math
from typing import Any

MODES = ("min", "max")


def finite_or_none(value: Any) -> float | None:
    """``value`` as a finite float, or None for NaN, inf, None, bools and non-numbers.

    A metric that is missing, NaN or not a number is "no value" everywhere: a failed
    trial for a searcher, +inf for a scheduler's rung, None in the pipeline's tables.
    """
    if isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def check_mode(mode: Any, *, allow_none: bool = True) -> None:
    """Raise ValueError unless ``mode`` is "min" or "max" (or None where allowed)."""
    if mode is None and allow_none:
        return
    if mode not in MODES:
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
