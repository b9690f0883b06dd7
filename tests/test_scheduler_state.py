"""Run vs restart halfway: a core reloaded from its saved state takes the same decisions."""

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schedulers import CONTINUE, AsyncHyperband, SyncHyperband

CORES = {
    "stopping": lambda: AsyncHyperband(1, 9, 3, rule="stopping", brackets=2, seed=3),
    "promotion": lambda: AsyncHyperband(1, 9, 3, rule="promotion", brackets=3, seed=3),
    "sync": lambda: SyncHyperband(1, 9, 3),
}


def _value(seed: int, tid: str, r: int) -> float:
    rng = np.random.default_rng([seed, int(tid[1:]), r])
    base = np.random.default_rng([seed, int(tid[1:])]).random()
    return float(base + 1.0 / r + 0.05 * rng.standard_normal()) if rng.random() > 0.03 else math.nan


def drive(kind: str, seed: int, n_trials: int, slots: int, reload_at: int | None = None):
    """Round-robin over ``slots`` running trials; promoted trials first, then new ones."""
    core = CORES[kind]()
    log, running, progress, created = [], [], {}, 0
    while True:
        log.extend((tid, "stopped") for tid in core.take_stops())
        while len(running) < slots:
            waiting = [t for t in core.runnable() if t not in running]
            if waiting:
                running.append(waiting[0])
            elif created < n_trials:
                tid = f"t{created}"
                created += 1
                core.add(tid)
                progress[tid] = 0
                running.append(tid)
            else:
                core.on_search_finished()
                if not running and not core.runnable():
                    core.on_stall(search_finished=True)
                    log.extend((tid, "stopped") for tid in core.take_stops())
                if not [t for t in core.runnable() if t not in running]:
                    break
        if not running:
            return log, core
        tid = running.pop(0)
        progress[tid] += 1
        decision = core.on_result(tid, progress[tid], _value(seed, tid, progress[tid]))
        log.append((tid, progress[tid], decision))
        if decision == CONTINUE:
            running.append(tid)
        if reload_at is not None and len(log) >= reload_at:
            reload_at = None
            fresh = CORES[kind]()
            fresh.load(json.loads(json.dumps(core.to_dict())))  # through the file format
            core = fresh


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(CORES)), seed=st.integers(0, 10_000), slots=st.integers(1, 4), cut=st.integers(1, 200)
)
def test_reloading_halfway_changes_no_decision(kind, seed, slots, cut):
    straight, core_a = drive(kind, seed, 40, slots)
    restarted, core_b = drive(kind, seed, 40, slots, reload_at=cut)
    assert restarted == straight
    assert core_b.to_dict() == core_a.to_dict()


def test_the_driver_exercises_every_decision():
    for kind in CORES:
        log, _ = drive(kind, 1, 40, 3)
        decisions = {entry[-1] for entry in log}
        expected = {"CONTINUE", "STOP"} | ({"PAUSE"} if kind != "stopping" else set())
        assert expected <= decisions, (kind, decisions)
