"""The experiment's wall-clock deadline (``deadline_s``): one limit for all its stages and CV.

Why a limit of its own next to each stage's ``time_s``: a stage's clock starts at its
first result and counts that stage only, so a chain of three stages pays Ray's start-up
(worker processes, imports: tens of seconds on a loaded machine) three times on top of
their budgets, and nothing bounds the whole. The deadline counts wall-clock seconds
from the moment the driver starts the experiment, Ray's start included, and across
resumes: ``pipeline.json`` keeps the seconds of earlier sessions (``spent_s``, written
at every save of the state and, while a stage runs, every :data:`SAVE_EVERY_S` seconds,
so a killed session loses at most that much of its count); the time between sessions
does not count.

When it passes, the Ray Tune run in progress (a stage's or CV's) stops at once and
keeps what it has, as a spent ``time_s`` does; stages that have not started are
skipped, and so is CV if it has not started; the result comes from the last stage that
ran. Refit (the winner trained on every labelled row) still runs: it is the model the
experiment delivers, one training, not search.

The limit lives here, in the driver process, and not in the stage's stopper: Ray
pickles the stopper into ``tuner.pkl`` and a resumed session unpickles the old one,
whose ``time.monotonic()`` instant means nothing in a new process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: while a stage runs, the state (with its clock) is saved this often under a deadline
SAVE_EVERY_S = 10.0

_until: float | None = None  # the time.monotonic() instant it passes; None: no deadline
_save: Callable[[], None] | None = None
_saved_at = 0.0


@contextmanager
def session(
    limit_s: float | None, spent_s: float, started: float, save: Callable[[], None] | None = None
) -> Iterator[None]:
    """Within the block the deadline is ``limit_s`` less ``spent_s`` (earlier sessions)
    after ``started`` (this session's ``time.monotonic()`` start); None: no deadline.
    ``save`` writes the state with its clock; :func:`tick` calls it every SAVE_EVERY_S."""
    global _until, _save, _saved_at
    previous = (_until, _save, _saved_at)
    _until = None if limit_s is None else started + limit_s - spent_s
    _save, _saved_at = (save if limit_s is not None else None), time.monotonic()
    try:
        yield
    finally:
        _until, _save, _saved_at = previous


def tick() -> None:
    """Called by every stage's stopper at each step of Ray's loop (a tenth of a second):
    saves the clock when SAVE_EVERY_S have passed since the last save, under a deadline only."""
    global _saved_at
    if _save is not None and time.monotonic() - _saved_at >= SAVE_EVERY_S:
        _saved_at = time.monotonic()
        _save()


def passed() -> bool:
    return _until is not None and time.monotonic() >= _until


def left_s() -> float | None:
    """Seconds until it passes (negative once it has); None without a deadline."""
    return None if _until is None else _until - time.monotonic()
