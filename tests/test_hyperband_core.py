"""Synchronous Hyperband's pure core: brackets, rung completion, failures, closing."""

import pytest

from schedulers import CONTINUE, PAUSE, STOP, SyncHyperband
from schedulers.core import DONE, PROMOTED, RUNNING


def hyperband():
    return SyncHyperband(1, 4, 2)  # milestones 1, 2 below 4; bracket sizes [4, 3, 3]


def test_brackets_fill_in_hyperband_order_with_hyperband_sizes():
    core = hyperband()
    assert core.sizes == [4, 3, 3]
    brackets = [core.add(f"t{i}").bracket for i in range(14)]
    assert brackets == [0] * 4 + [1] * 3 + [2] * 3 + [3] * 4  # the 4th instance is bracket b=0 again
    assert [(b.bracket, b.levels) for b in core.instances] == [(0, [1, 2]), (1, [2]), (2, []), (0, [1, 2])]


def test_a_rung_completes_then_its_top_half_goes_on_and_the_rest_stops():
    core = hyperband()
    for i in range(4):
        core.add(f"t{i}")
    assert core.on_result("t0", 1, 4.0) == PAUSE
    assert core.on_result("t1", 1, 1.0) == PAUSE
    assert core.on_result("t2", 1, 3.0) == PAUSE
    # The 4th arrival completes rung 1: keep max(1, 4 // 2) = 2 of [t1 1.0, t3 2.0, t2 3.0, t0 4.0].
    assert core.on_result("t3", 1, 2.0) == CONTINUE  # t3 is in the top 2: it simply continues
    assert core.runnable() == ["t1"] and core.trial("t1").status == PROMOTED
    assert core.take_stops() == ["t0", "t2"] and core.trial("t0").status == DONE
    assert core.on_result("t3", 2, 5.0) == PAUSE  # rung 2 waits for t1
    assert core.on_result("t1", 2, 3.0) == CONTINUE  # complete: keep max(1, 2 // 2) = 1: t1
    assert core.runnable() == [] and core.take_stops() == ["t3"]
    assert core.on_result("t1", 3, 2.5) == CONTINUE
    assert core.on_result("t1", 4, 2.0) == STOP
    assert core.trial("t1").reason == "completed" and core.trial("t3").reason == "stopped"


def test_max_mode_ranks_like_min_mode_on_negated_values():
    # The adapter hands the core -metric when maximising; rank order, hence decisions, carry over.
    accuracies = {"a": 0.6, "b": 0.9, "c": 0.7, "d": 0.8}
    core = hyperband()
    for tid in accuracies:
        core.add(tid)
    decisions = [core.on_result(tid, 1, -acc) for tid, acc in accuracies.items()]
    assert decisions == [PAUSE, PAUSE, PAUSE, CONTINUE]  # d (0.8) is 2nd best: it goes on
    assert core.runnable() == ["b"] and core.take_stops() == ["a", "c"]


def test_a_failed_trial_counts_as_arrived_so_the_bracket_finishes():
    core = hyperband()
    for i in range(7):
        core.add(f"t{i}")
    bracket = core.instances[1]  # b=1: t4, t5, t6, one milestone at 2; keep max(1, 3 // 2) = 1
    assert core.on_result("t4", 1, 9.0) == CONTINUE  # below its bracket's first milestone
    assert core.on_result("t4", 2, 1.0) == PAUSE
    core.finish("t5", "error", was_running=True)  # errored before its milestone
    assert bracket.rung == 0  # still waiting for t6
    assert core.on_result("t6", 2, 2.0) == STOP  # rung complete: t4 goes on, t6 stops
    assert core.runnable() == ["t4"] and core.take_stops() == []  # t5 is already done
    assert core.on_result("t4", 3, 0.9) == CONTINUE and core.on_result("t4", 4, 0.8) == STOP


def test_every_trial_of_a_bracket_failing_still_finishes_it():
    core = hyperband()
    for i in range(4):
        core.add(f"t{i}")
    core.on_result("t0", 1, 1.0)
    for tid in ("t1", "t2", "t3"):
        core.finish(tid, "error", was_running=True)
    # t0 is the only finite result: it goes on; rung 2 then waits for it alone.
    assert core.runnable() == ["t0"] and core.instances[0].rung == 1
    core.finish("t0", "removed", was_running=False)  # stopped by the user while paused
    assert core.instances[0].rung == 2 and core.runnable() == []  # nothing left, nothing waits


def test_nan_counts_as_arrived_and_stops_at_once():
    core = hyperband()
    for i in range(4):
        core.add(f"t{i}")
    assert core.on_result("t0", 1, float("nan")) == STOP
    assert core.trial("t0").reason == "nan"
    assert [core.on_result(t, 1, v) for t, v in [("t1", 3.0), ("t2", 1.0), ("t3", 2.0)]] == [PAUSE, PAUSE, CONTINUE]
    assert core.runnable() == ["t2"] and core.take_stops() == ["t1"]


def test_a_user_stop_before_the_milestone_counts_as_arrived():
    core = hyperband()
    for i in range(4):
        core.add(f"t{i}")
    for tid, v in [("t0", 1.0), ("t1", 2.0), ("t2", 3.0)]:
        assert core.on_result(tid, 1, v) == PAUSE
    core.finish("t3", "completed", was_running=True)  # e.g. a Tune stopper ended it at r < 1
    assert core.runnable() == ["t0", "t1"] and core.take_stops() == ["t2"]


def test_a_retried_trial_is_readmitted_while_its_rung_is_open_only():
    core = hyperband()
    for i in range(4):
        core.add(f"t{i}")
    core.finish("t0", "error", was_running=True)
    assert core.revive("t0") and core.trial("t0").status == RUNNING
    assert "t0" not in core.instances[0].rungs[0]  # its +inf arrival was withdrawn
    for tid, v in [("t0", 1.0), ("t1", 2.0), ("t2", 3.0)]:
        core.on_result(tid, 1, v)
    core.finish("t3", "error", was_running=True)  # completes rung 1 with t3 counted
    assert not core.revive("t3")  # too late: its rung has been decided
    assert core.revive("t1") is False  # not failed, nothing to revive
    assert core.on_result("t3", 2, 0.0) == STOP


def test_the_open_bracket_closes_when_the_search_ends():
    core = hyperband()
    for i in range(10):  # brackets 0, 1, 2 full
        core.add(f"t{i}")
    core.add("t10")
    core.add("t11")  # bracket 3 (b=0) has 2 of 4 trials
    assert core.on_result("t10", 1, 2.0) == PAUSE
    assert core.on_result("t11", 1, 1.0) == PAUSE
    core.on_search_finished()  # no more trials will come: decide with the two there are
    assert core.runnable() == ["t11"] and core.take_stops() == ["t10"]
    assert core.instances[3].closed


def test_a_stall_closes_the_open_bracket():
    core = hyperband()
    for i in range(3):
        core.add(f"t{i}")
        assert core.on_result(f"t{i}", 1, float(i)) == PAUSE
    core.on_stall(search_finished=False)  # e.g. a ConcurrencyLimiter holds new trials back
    assert core.runnable() == ["t0"] and core.take_stops() == ["t1", "t2"]  # keep max(1, 3 // 2)


def test_brackets_argument():
    assert SyncHyperband(1, 27, 3, brackets=2).sizes == [27, 12]
    with pytest.raises(ValueError, match="brackets"):
        SyncHyperband(1, 27, 3, brackets=5)
