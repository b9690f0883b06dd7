"""Scheduler state on disk: a snapshot plus an append-only journal of core events.

Ray never saves a scheduler (ray #30838): on ``Tuner.restore`` the scheduler comes back
in its initial state from ``tuner.pkl``. The adapter therefore persists its core itself.
Rewriting the whole state after every result made each result cost time proportional to
the experiment (quadratic in total; 44 ms per result at 20,000 trials), so the state is
kept as two files:

* the *snapshot* (``path``): the core's whole state and the sequence number of the last
  event it includes, written atomically (temporary file, fsync, ``os.replace``);
* the *journal* (``path + ".journal"``): one JSON line ``[seq, event, *arguments]`` per
  state-changing core event (:data:`schedulers.core.EVENTS`), appended with one
  ``write`` per scheduler hook.

A reader loads the snapshot and replays the journal's events that follow it, in order.
When the journal has grown past the snapshot's size (and at least ``min_journal_bytes``)
it is *compacted*: a new snapshot is written, then the journal is emptied. So the cost per
result is a constant amortised over the run, and a crash at any point restores exactly:

* killed between an append and a compaction: snapshot + journal replay gives the state
  after the last complete append;
* killed after the new snapshot but before the journal was emptied: the journal's events
  are already in the snapshot and are skipped by their sequence numbers;
* killed (or copied by Ray's upload) in the middle of an append: the last line has no
  newline and is ignored, as is everything after a line that does not parse or leaves a
  gap in the sequence numbers (a journal copied after a later compaction emptied it).

Appends are not fsynced: a killed process loses nothing the kernel has, and after an
operating-system crash the files restore to an older consistent state, which the
adapter's replay rules handle like a stale Ray snapshot.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from searchers.common.atomic import atomic_write_text

if TYPE_CHECKING:
    from schedulers.core import RungCore

logger = logging.getLogger(__name__)

FORMAT = 2  # 1: snapshot only, rewritten after every change (read back as a snapshot)
FILE_NAME = "mftune-scheduler-state.json"
JOURNAL_SUFFIX = ".journal"


def journal_path(path: str) -> str:
    return path + JOURNAL_SUFFIX


def write_state(path: str, state: dict[str, Any]) -> int:
    """Write ``state`` to ``path`` atomically; return the number of bytes written.

    The temporary file goes into the parent of ``path``'s directory when that is
    writable and on the same filesystem: the adapter's default directory is Ray's driver
    staging directory, which Ray uploads file by file while we write, and a temporary
    file it listed but we renamed before it was copied failed that whole upload
    (``FileNotFoundError`` logged by Ray's experiment_state.py, seen on Ray 2.60).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    text = json.dumps({"format": FORMAT, **state})
    scratch = os.path.dirname(directory)
    if scratch != directory and os.access(scratch, os.W_OK) and os.stat(scratch).st_dev == os.stat(directory).st_dev:
        _write_via(scratch, path, text)
    else:
        _write_via(directory, path, text)
    return len(text)


def _write_via(scratch: str, path: str, text: str) -> None:
    atomic_write_text(path, text, scratch=scratch)


def read_state(path: str) -> dict[str, Any]:
    """The snapshot alone, as written (see :func:`load_state` for the current state)."""
    with open(path) as f:
        state: dict[str, Any] = json.load(f)
    if state.get("format") not in (1, FORMAT):
        raise ValueError(f"{path}: scheduler state format {state.get('format')!r}, expected {FORMAT}")
    state.setdefault("seq", 0)
    return state


def read_journal(path: str, after: int) -> list[list[Any]]:
    """The complete journal entries ``[seq, event, *args]`` that follow sequence number ``after``."""
    try:
        with open(journal_path(path), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    entries: list[list[Any]] = []
    expected = after + 1
    lines = data.split(b"\n")
    for number, line in enumerate(lines[:-1]):  # the last piece has no newline: empty or torn
        try:
            entry = json.loads(line)
            seq = int(entry[0])
        except (ValueError, TypeError, IndexError):
            logger.warning("%s: line %d does not parse; the journal is read up to it", journal_path(path), number + 1)
            break
        if seq <= after:
            continue  # already in the snapshot (killed between a compaction's two steps)
        if seq != expected:
            logger.warning(
                "%s: event %d follows event %d; the journal is read up to the gap",
                journal_path(path),
                seq,
                expected - 1,
            )
            break
        entries.append(entry)
        expected += 1
    return entries


def new_core(config: dict[str, Any]) -> RungCore:
    """An empty core of the saved configuration (to replay a journal without the scheduler)."""
    from schedulers.async_core import AsyncHyperband
    from schedulers.sync_core import SyncHyperband

    args = (config["min_resource"], config["max_resource"], config["reduction_factor"])
    if config["kind"] == "async":
        return AsyncHyperband(*args, rule=config["rule"], brackets=config["brackets"], seed=config["seed"])
    if config["kind"] == "sync":
        return SyncHyperband(*args, brackets=config["brackets"])
    if config["kind"] == "async-pareto":
        from schedulers.pareto_core import ParetoAsyncHyperband

        return ParetoAsyncHyperband(
            *args,
            n_objectives=config["n_objectives"],
            rule=config["rule"],
            brackets=config["brackets"],
            seed=config["seed"],
        )
    raise ValueError(f"unknown scheduler core kind {config['kind']!r}")


def load_state(path: str, core: RungCore | None = None) -> dict[str, Any] | None:
    """The saved state: the snapshot with the journal's events replayed, or None without a snapshot.

    ``core``, if given, is loaded with it (a core of the same configuration); otherwise
    one is built from the snapshot's configuration. ``state["seq"]`` is the sequence
    number of the last event included.
    """
    if not os.path.exists(path):
        return None
    state = read_state(path)
    core = core if core is not None else new_core(state["core"]["config"])
    core.load(state["core"])
    entries = read_journal(path, state["seq"])
    for entry in entries:
        core.apply(entry[1:])
    if entries:
        state["seq"] = entries[-1][0]
    state["core"] = core.to_dict()
    return state


class StateStore:
    """Writes a core's state as snapshot + journal at ``path`` (see the module docstring)."""

    def __init__(self, path: str, seq: int = 0, *, min_journal_bytes: int = 64 * 1024):
        self.path = path
        self.seq = seq
        self.min_journal_bytes = min_journal_bytes
        self.snapshot_bytes = 0
        self.journal_bytes = 0
        self.compactions = 0
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._fd = os.open(journal_path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.journal_bytes = os.fstat(self._fd).st_size

    def append(self, events: Sequence[Sequence[Any]]) -> None:
        """Journal ``events`` (``[name, *args]`` each) in one write."""
        if not events:
            return
        lines = []
        for event in events:
            self.seq += 1
            lines.append(json.dumps([self.seq, *event]))
        data = ("\n".join(lines) + "\n").encode()
        os.write(self._fd, data)
        self.journal_bytes += len(data)

    def due(self) -> bool:
        """Whether the journal has grown enough that a compaction costs O(1) per event."""
        return self.journal_bytes > max(self.min_journal_bytes, self.snapshot_bytes)

    def compact(self, state: dict[str, Any]) -> None:
        """Write ``state`` (which includes every journaled event) as the snapshot, then empty the journal."""
        self.snapshot_bytes = write_state(self.path, {**state, "seq": self.seq})
        os.ftruncate(self._fd, 0)
        self.journal_bytes = 0
        self.compactions += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


def ended_trials(experiment_dir: str) -> set[str]:
    """Ids of the trials that the scheduler state saved in ``experiment_dir`` has ended.

    Ray 2.60 refreshes a trial's entry in its experiment snapshot only when the trial has
    a live actor (``TuneController._schedule_trial_stop`` marks no other trial), so a
    PAUSED trial stopped while its worker serves another trial stays PAUSED in
    ``experiment_state-*.json`` after the run has finished. The scheduler's own state
    says which trials are over. Empty without it.
    """
    from schedulers.core import DONE

    state = load_state(os.path.join(experiment_dir, FILE_NAME))
    if state is None:
        return set()
    return {t["trial_id"] for t in state["core"]["trials"] if t["status"] == DONE}
