"""When ``auto`` hands over from the GP to TPE: a pure function of the trial count and the space.

PLACEHOLDER: the thresholds are set from benchmarks/auto_switch.py (held-out problems).
"""

from __future__ import annotations

from typing import Literal

Model = Literal["gp", "tpe"]

#: The GP serves suggestions while fewer than this many trials are recorded ...
GP_MAX_TRIALS = 200
#: ... in a space of at most this many parameters; beyond it, GP_MAX_TRIALS_HIGH_DIM.
GP_MAX_DIM = 12
GP_MAX_TRIALS_HIGH_DIM = 100


def gp_trials(dim: int) -> int:
    """How many trials the GP serves in a space of ``dim`` parameters (then TPE)."""
    return GP_MAX_TRIALS if dim <= GP_MAX_DIM else GP_MAX_TRIALS_HIGH_DIM


def choose_model(n_trials: int, dim: int, switch_after: int | None = None) -> Model:
    """The model for the next suggestion, given ``n_trials`` trials already recorded
    (finished, failed or in flight) in a space of ``dim`` parameters.

    ``switch_after`` overrides the measured threshold (``0``: TPE from the start). The rule
    is monotone in ``n_trials``: once TPE serves, it serves every later suggestion.
    """
    limit = gp_trials(dim) if switch_after is None else switch_after
    return "gp" if n_trials < limit else "tpe"
