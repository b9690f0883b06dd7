"""What one trial is given to train at: a fidelity level and, in cross-validation, a fold.

Light on purpose (no torch, no pandas): the public trial context and the stage parser
both carry these, and ``from pipeline import trial_context`` must stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the fidelity knobs every stage has; anything else a stage declares is under ``knobs``
BUILT_IN_KNOBS = ("data_fraction", "resolution", "max_epochs")


@dataclass(frozen=True)
class Fidelity:
    """How cheaply a trial trains: share of the training rows, image size, epochs, and the
    user's own knobs (``n_estimators``, ``max_seq_len``, ...) as sorted (name, value) pairs,
    so a fidelity stays hashable (tasks cache data per fidelity)."""

    data_fraction: float = 1.0
    resolution: int | None = None  # None: the task's native resolution
    max_epochs: int = 15
    knobs: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "data_fraction": self.data_fraction,
            "resolution": self.resolution,
            "max_epochs": self.max_epochs,
        }
        if self.knobs:
            out["knobs"] = dict(self.knobs)
        return out


@dataclass(frozen=True)
class Fold:
    """One fold of stratified k-fold cross-validation over a task's labelled rows."""

    index: int
    n_folds: int
