"""ASHA's pure core: stopping and promotion decisions against hand-computed sequences."""

import numpy as np
import pytest

from schedulers import CONTINUE, PAUSE, STOP, AsyncHyperband
from schedulers.core import DONE, PAUSED, PROMOTED, RUNNING

NAN = float("nan")


def stopping(**kw):
    return AsyncHyperband(1, 27, 3, rule="stopping", **kw)  # milestones 1, 3, 9; trials end at 27


def test_stopping_continues_while_in_the_top_third_of_the_rung_so_far():
    core = stopping()
    # (trial, loss at r=1, n recorded, keep = max(1, n // 3), rank) -> decision
    arrivals = [
        ("t0", 5.0, CONTINUE),  # n=1 keep 1: the first always continues
        ("t1", 7.0, STOP),  # n=2 keep 1, rank 1
        ("t2", 3.0, CONTINUE),  # n=3 keep 1, rank 0
        ("t3", 4.0, STOP),  # n=4 keep 1: [3 4 5 7], rank 1
        ("t4", 4.0, STOP),  # n=5 keep 1, ties t3 and ranks after it: rank 2
        ("t5", 1.0, CONTINUE),  # n=6 keep 2, rank 0
        ("t6", 3.0, STOP),  # n=7 keep 2: [1 3(t2) 3(t6) ...]: the tie goes to t2, rank 2
        ("t7", 2.0, CONTINUE),  # n=8 keep 2: [1 2 3 3 ...], rank 1
        ("t8", NAN, STOP),  # n=9 keep 3: NaN ranks last and never continues
    ]
    for tid, loss, expected in arrivals:
        core.add(tid)
        assert core.on_result(tid, 0.5, loss) == CONTINUE  # below the first milestone: no decision
        assert core.on_result(tid, 1, loss) == expected, tid
    assert core.trial("t8").reason == "nan" and core.trial("t1").reason == "stopped"
    # Rung 3: t0 (6.0) first; t2 (2.0) best; t5 ties t2 at 2.0 and arrives later.
    assert core.on_result("t0", 2, 0.0) == CONTINUE  # between milestones
    assert core.on_result("t0", 3, 6.0) == CONTINUE
    assert core.on_result("t2", 3, 2.0) == CONTINUE  # n=2 keep 1, rank 0
    assert core.on_result("t5", 3, 2.0) == STOP  # n=3 keep 1, rank 1 (tie, later)
    assert core.on_result("t0", 9, 1.0) == CONTINUE
    assert core.on_result("t0", 27, 0.5) == STOP  # the end: completed
    assert core.trial("t0").reason == "completed"
    assert core.on_result("t1", 2, 0.0) == STOP  # a stopped trial stays stopped


def test_stopping_decides_at_the_highest_milestone_a_jump_reaches():
    core = stopping()
    core.add("a")
    assert core.on_result("a", 10, 1.0) == CONTINUE  # skipped 1 and 3: recorded at 9 only
    assert "a" in core.brackets[0].rungs[2] and "a" not in core.brackets[0].rungs[0]
    assert core.trial("a").next_rung == 3


def promotion(max_resource=9, **kw):
    return AsyncHyperband(1, max_resource, 3, rule="promotion", **kw)  # milestones 1, 3 below 9


def test_promotion_pauses_and_promotes_the_top_third_when_a_slot_frees():
    core = promotion()
    core.add("t0")
    assert core.on_result("t0", 1, 5.0) == PAUSE  # n=1: top floor(1/3)=0, nothing to promote
    core.add("t1")
    assert core.on_result("t1", 1, 3.0) == PAUSE  # n=2: still nobody
    core.add("t2")
    # n=3: top 1 is t1 (3.0); t2's slot frees and goes to t1, t2 waits.
    assert core.on_result("t2", 1, 4.0) == PAUSE
    assert core.runnable() == ["t1"] and core.trial("t1").status == PROMOTED
    assert core.runnable() == ["t1"]  # asking again changes nothing
    assert core.on_result("t1", 2, 2.5) == CONTINUE  # resumed from its checkpoint at epoch 1
    assert core.runnable() == [] and core.trial("t1").status == RUNNING
    assert core.on_result("t1", 3, 2.0) == PAUSE  # rung 3: n=1, nobody; rung 1's top 1 is promoted
    core.add("t3")
    assert core.on_result("t3", 1, 1.0) == CONTINUE  # n=4 keep 1: t3 itself is the best -> goes on
    assert core.on_result("t3", 3, 6.0) == PAUSE  # rung 3: n=2 keep 0; rung 1's top 1 (t3) promoted
    core.add("t4")
    assert core.on_result("t4", 1, 6.0) == PAUSE  # n=5 keep 1 = t3, already promoted
    core.add("t5")
    assert core.on_result("t5", 1, 2.0) == CONTINUE  # n=6 keep 2 = t3 (promoted), t5 -> itself
    assert core.on_result("t5", 3, 0.5) == CONTINUE  # rung 3: n=3 keep 1 = t5 -> on to the end
    assert core.on_result("t5", 9, 0.4) == STOP  # completed; its slot frees, nothing to promote
    assert core.runnable() == []
    core.add("t6")
    assert core.on_result("t6", 1, 0.1) == CONTINUE  # n=7 keep 2 = t6, t3
    assert core.on_result("t6", 3, 3.0) == PAUSE  # rung 3 n=4 keep 1 = t5 (done); rung 1 keep 2 done
    assert core.runnable() == []
    # The search ends and nothing runs: nobody paused can ever be promoted, all stop.
    core.on_stall(search_finished=True)
    assert sorted(core.take_stops()) == ["t0", "t1", "t2", "t3", "t4", "t6"]
    assert core.take_stops() == []
    assert all(t.status == DONE for t in core.trials())


def test_a_freed_slot_promotes_from_the_highest_rung_first_then_the_lowest_loss():
    core = AsyncHyperband(1, 8, 2, rule="promotion")  # milestones 1, 2, 4 below 8; top floor(n / 2)
    for tid in "pqrsxy":
        core.add(tid)
    rungs = core.brackets[0].rungs
    # Two waiting trials at rung 1 and two at rung 2 (set up directly: events consume
    # candidates as soon as they appear, so this state needs several freed slots at once).
    for tid, k, loss in [("r", 0, 0.5), ("s", 0, 0.7), ("p", 1, 3.0), ("q", 1, 4.0)]:
        rungs[k].add(tid, loss)
        core.trial(tid).status, core.trial(tid).next_rung = PAUSED, k + 1
    core.finish("x", "completed", was_running=True)
    assert core.runnable() == ["p"]  # rung 2's top 1, although rung 1's r has a lower loss
    core.finish("y", "error", was_running=True)
    assert core.runnable() == ["p", "r"]  # then rung 1's top 1
    core.finish("p", "removed", was_running=False)  # not running: frees no slot
    assert core.runnable() == ["r"]


def test_a_stall_with_the_search_going_on_releases_the_least_invested_worst_trial():
    core = promotion()
    for tid, loss in [("a", 2.0), ("b", 3.0)]:
        core.add(tid)
        assert core.on_result(tid, 1, loss) == PAUSE
    core.on_stall(search_finished=False)  # e.g. a ConcurrencyLimiter refuses new trials
    assert core.take_stops() == ["b"] and core.trial("b").reason == "released"
    assert core.trial("a").status == PAUSED


def test_nan_at_a_promotion_rung_stops_and_frees_the_slot_for_a_promotion():
    core = promotion()
    for tid, loss in [("a", 1.0), ("b", 2.0)]:
        core.add(tid)
        assert core.on_result(tid, 1, loss) == PAUSE
    core.add("c")
    assert core.on_result("c", 1, NAN) == STOP  # n=3 keep 1 = a: c's slot goes to a
    assert core.runnable() == ["a"] and core.trial("c").reason == "nan"


def test_several_brackets_have_their_own_rungs_and_a_seeded_choice():
    core = AsyncHyperband(1, 27, 3, rule="stopping", brackets=3, seed=7)
    sizes = np.array([27, 12, 6], dtype=float)
    expected = np.random.default_rng(7).choice(3, size=40, p=sizes / sizes.sum())
    for i in range(40):
        assert core.add(f"t{i}").bracket == expected[i]
    by_bracket = {b: [f"t{i}" for i in range(40) if expected[i] == b] for b in range(3)}
    x, y = by_bracket[1][:2]  # bracket 1 decides at 3 and 9, never at 1
    assert core.on_result(x, 1, 100.0) == CONTINUE
    assert core.on_result(x, 3, 100.0) == CONTINUE  # first at its bracket's rung 3
    z = by_bracket[0][0]
    assert core.on_result(z, 1, 0.0) == CONTINUE and core.on_result(z, 3, 0.0) == CONTINUE
    assert core.on_result(y, 3, 200.0) == STOP  # bracket 1's rung 3: n=2, worse than x; z is elsewhere
    assert core.milestones(x) == [3, 9] and core.milestones(z) == [1, 3, 9]


def test_bad_arguments_raise_naming_them():
    with pytest.raises(ValueError, match="rule"):
        AsyncHyperband(1, 27, 3, rule="median")
    with pytest.raises(ValueError, match="brackets"):
        AsyncHyperband(1, 27, 3, brackets=5)  # at most 3 milestones + 1
    with pytest.raises(ValueError, match="brackets"):
        AsyncHyperband(1, 27, 3, brackets=0)
    with pytest.raises(ValueError, match="seed"):
        AsyncHyperband(1, 27, 3, seed=1.5)
