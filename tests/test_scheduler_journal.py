"""The scheduler's snapshot + journal (schedulers/state_file.py): what is read back is exact.

Driven by the emulated controller (no Ray runtime) with a tiny compaction threshold, so
a run compacts many times. A crash is emulated at each step of a write (an exception,
and once a real SIGKILL of a child process): the state read back is the state of the
core after its last complete journal append, to the last field.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from schedulers.state_file import FILE_NAME, StateStore, journal_path, load_state, read_journal
from tests.test_scheduler_adapter import SCHEDULERS, sim


class Crash(Exception):
    pass


def _journaled(kind, tmp_path, min_bytes=256):
    scheduler = SCHEDULERS[kind]()
    scheduler.journal_min_bytes = min_bytes
    run = sim(scheduler, slots=3, max_trials=60, experiment_dir=str(tmp_path))
    return scheduler, run


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_snapshot_plus_journal_reads_back_the_live_state_at_every_point(tmp_path, kind):
    scheduler, run = _journaled(kind, tmp_path)
    for epochs in range(40, 2000, 40):
        run.run(until_epochs=epochs)
        assert load_state(str(tmp_path / FILE_NAME))["core"] == scheduler.core.to_dict()
    assert scheduler._store.compactions >= 3  # the threshold made it compact along the way
    assert os.path.getsize(journal_path(str(tmp_path / FILE_NAME))) <= max(256, scheduler._store.snapshot_bytes) + 4096


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_a_crash_between_journal_append_and_compaction_restores_exactly(tmp_path, kind, monkeypatch):
    scheduler, run = _journaled(kind, tmp_path)
    calls = {"n": 0}
    original = StateStore.compact

    def compact(self, state):
        calls["n"] += 1
        if calls["n"] == 3:  # the journal has just been appended to; the process dies here
            raise Crash
        original(self, state)

    monkeypatch.setattr(StateStore, "compact", compact)
    with pytest.raises(Crash):
        run.run()
    assert load_state(str(tmp_path / FILE_NAME))["core"] == scheduler.core.to_dict()


def test_a_crash_between_the_new_snapshot_and_emptying_the_journal_restores_exactly(tmp_path, monkeypatch):
    scheduler, run = _journaled("promotion", tmp_path)
    run.run(until_epochs=20)
    assert scheduler._store.compactions == 1  # the first snapshot only
    journal = journal_path(str(tmp_path / FILE_NAME))

    def ftruncate(fd, length):
        raise Crash

    monkeypatch.setattr(os, "ftruncate", ftruncate)
    with pytest.raises(Crash):
        run.run()
    monkeypatch.undo()
    # The snapshot holds every event; the journal still holds events it already includes.
    saved = json.load(open(tmp_path / FILE_NAME))
    assert os.path.getsize(journal) > 0 and read_journal(str(tmp_path / FILE_NAME), saved["seq"]) == []
    assert load_state(str(tmp_path / FILE_NAME))["core"] == scheduler.core.to_dict()


def test_a_torn_last_line_is_ignored(tmp_path):
    scheduler, run = _journaled("sync", tmp_path, min_bytes=10**9)  # never compacts after the first snapshot
    run.run(until_epochs=200)
    path = str(tmp_path / FILE_NAME)
    expected = scheduler.core.to_dict()
    seq = load_state(path)["seq"]
    with open(journal_path(path), "ab") as f:  # killed in the middle of an append
        f.write(json.dumps([seq + 1, "on_result", "00001", 3.0, 0.5]).encode()[:-3])
    assert load_state(path)["core"] == expected
    with open(journal_path(path), "ab") as f:  # even a complete-looking tail without its newline
        f.write(b"]")
    assert load_state(path)["core"] == expected


def test_a_run_restored_after_a_torn_append_journals_on_exactly(tmp_path):
    from benchmarks.sched_sim import SimController
    from tests.test_scheduler_adapter import searcher

    search = searcher()
    scheduler = SCHEDULERS["promotion"]()
    scheduler.journal_min_bytes = 10**9  # the crash leaves a long journal with a torn tail
    run = sim(scheduler, slots=3, search=search, experiment_dir=str(tmp_path))
    run.run(until_epochs=150)
    search.save(str(tmp_path / "searcher.pkl"))
    snapshot = run.snapshot()
    path = str(tmp_path / FILE_NAME)
    with open(journal_path(path), "ab") as f:
        f.write(b'[99999, "on_result", "000')
    resumed = searcher()
    resumed.restore(str(tmp_path / "searcher.pkl"))
    second = SCHEDULERS["promotion"]()
    second.journal_min_bytes = 10**9
    result = SimController.restored(snapshot, run, resumed, second).run()
    assert not result.stalled
    assert load_state(path)["core"] == second.core.to_dict()


def test_the_journal_is_read_up_to_a_gap_or_a_broken_line(tmp_path):
    path = str(tmp_path / "state.json")
    store = StateStore(path)
    store.append([["add", "a"], ["add", "b"]])
    with open(journal_path(path), "ab") as f:
        f.write(b'[5, "add", "c"]\n')  # events 3 and 4 are missing
    assert [e[0] for e in read_journal(path, 0)] == [1, 2]
    with open(journal_path(path), "wb") as f:
        f.write(b'[1, "add", "a"]\nnot json\n[3, "add", "c"]\n')
    assert [e[0] for e in read_journal(path, 0)] == [1]
    assert [e[0] for e in read_journal(path, 1)] == []


_CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from schedulers.state_file import StateStore
    from tests.test_scheduler_adapter import SCHEDULERS, sim

    directory, kill_at = sys.argv[1], int(sys.argv[2])
    scheduler = SCHEDULERS["promotion"]()
    scheduler.journal_min_bytes = 256
    original, calls = StateStore.compact, [0]

    def compact(self, state):
        calls[0] += 1
        if calls[0] == kill_at:  # after the journal append, before the snapshot
            with open(os.path.join(directory, "expected.json"), "w") as f:
                json.dump(scheduler.core.to_dict(), f)
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, state)

    StateStore.compact = compact
    sim(scheduler, slots=3, max_trials=60, experiment_dir=os.path.join(directory, "exp")).run()
    """
)


def test_sigkill_between_journal_append_and_compaction_restores_exactly(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path), "3"], env=env, capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    expected = json.load(open(tmp_path / "expected.json"))
    assert load_state(str(tmp_path / "exp" / FILE_NAME))["core"] == expected
