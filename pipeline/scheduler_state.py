"""Carries a trial scheduler's state through Ray's experiment snapshots.

Ray 2.60 never saves the scheduler (ray-project/ray#30838): on ``Tuner.restore`` it is
unpickled fresh from ``tuner.pkl``, so ASHA would forget its rungs and promote or stop
trials as if the experiment had just begun. Callback state *is* snapshotted and
restored, so this callback stores the scheduler's own ``save()`` output there and feeds
it back to ``restore()``. Schedulers without ``save`` (FIFO) are skipped. It works for
schedulers whose state is plain data, such as Ray's ASHA; Ray's HyperBand keeps live
Trial objects and cannot be carried this way (docs/pipeline.md).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ray.tune import Callback
from ray.tune.schedulers import TrialScheduler


def can_save(scheduler: TrialScheduler) -> bool:
    return type(scheduler).save is not TrialScheduler.save and type(scheduler).restore is not TrialScheduler.restore


class SchedulerState(Callback):
    def __init__(self, scheduler: TrialScheduler):
        self.scheduler = scheduler

    def get_state(self) -> dict[str, Any] | None:
        if not can_save(self.scheduler):
            return None
        with tempfile.TemporaryDirectory(prefix="mftune-sched-") as d:
            path = os.path.join(d, "scheduler.pkl")
            self.scheduler.save(path)
            with open(path, "rb") as f:
                return {"scheduler": f.read()}

    def set_state(self, state: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory(prefix="mftune-sched-") as d:
            path = os.path.join(d, "scheduler.pkl")
            with open(path, "wb") as f:
                f.write(state["scheduler"])
            self.scheduler.restore(path)
