"""MO-ASHA's pure core: Pareto-ranked rung decisions on hand-made cases, constraints, restore."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from schedulers import CONTINUE, PAUSE, STOP, AsyncHyperband, ParetoAsyncHyperband
from schedulers.core import PROMOTED

NAN = float("nan")


def mo_stopping(n_objectives: int = 2, **kw: object) -> ParetoAsyncHyperband:
    return ParetoAsyncHyperband(1, 27, 3, n_objectives=n_objectives, rule="stopping", **kw)  # type: ignore[arg-type]


def test_stopping_keeps_the_first_third_of_the_pareto_order() -> None:
    core = mo_stopping()
    # (trial, [f1, f2, violation], expected); keep = max(1, n // 3) of the n results so far
    arrivals = [
        ("t0", [1, 5, 0], CONTINUE),  # n=1: the first continues
        ("t1", [2, 6, 0], STOP),  # n=2 keep 1: dominated by t0
        # n=3 keep 1: t0 and t2 are both on the front; reference (5.4, 5.4) (worst + 10% of
        # the range), each adds 4.4 * 0.4 = 1.76 alone: the tie goes to the earlier t0
        ("t2", [5, 1, 0], STOP),
        # n=4 keep 1: t3's box 2.4 * 2.4 = 5.76 beats 1.76: it leads the front
        ("t3", [3, 3, 0], CONTINUE),
        ("t4", [NAN, 0, 0], STOP),  # a missing objective: stopped as "nan"
        ("t5", [0.5, 0.5, 0], CONTINUE),  # n=6 keep 2: dominates everyone
        ("t6", [4, 4, 0], STOP),  # n=7 keep 2: rank 2 (dominated by t3)
    ]
    for tid, vec, expected in arrivals:
        core.add(tid)
        assert core.on_result(tid, 0.5, vec) == CONTINUE  # below the first milestone
        assert core.on_result(tid, 1, vec) == expected, tid
    rung = core.brackets[0].rungs[0]
    assert list(rung)[:2] == ["t5", "t3"]
    assert list(rung)[-1] == "t4"  # the missing objective ranks last
    assert core.trial("t4").reason == "nan" and core.trial("t1").reason == "stopped"
    assert math.isinf(rung.loss("t4")) and rung.loss("t5") == 0.0


def test_infeasible_results_rank_below_feasible_ones_by_violation() -> None:
    core = mo_stopping()
    decisions = {}
    for tid, vec in [("a", [1, 1, 0.5]), ("b", [3, 3, 0]), ("c", [0, 0, 0.2]), ("d", [2, 2, 0])]:
        core.add(tid)
        decisions[tid] = core.on_result(tid, 1, vec)
    # a: alone; b: feasible, ahead of a; c: infeasible behind b; d: feasible, dominates b
    assert decisions == {"a": CONTINUE, "b": CONTINUE, "c": STOP, "d": CONTINUE}
    assert list(core.brackets[0].rungs[0]) == ["d", "b", "c", "a"]


def test_one_objective_decides_exactly_as_asha() -> None:
    rng = np.random.default_rng(5)
    scalar = AsyncHyperband(1, 27, 3, rule="stopping")
    pareto = mo_stopping(n_objectives=1)
    for i in range(60):
        tid = f"t{i}"
        scalar.add(tid)
        pareto.add(tid)
        loss = float(rng.integers(0, 6))  # ties, so the arrival rule is exercised
        for level in (1, 3, 9):
            a = scalar.on_result(tid, level, loss) if scalar.trial(tid).status != "done" else None
            b = pareto.on_result(tid, level, [loss, 0.0]) if pareto.trial(tid).status != "done" else None
            assert a == b, (tid, level)
            loss -= 0.5


def test_promotion_promotes_the_head_of_the_pareto_order() -> None:
    core = ParetoAsyncHyperband(1, 9, 3, n_objectives=2, rule="promotion")
    core.add("t0")
    assert core.on_result("t0", 1, [2, 2, 0]) == PAUSE  # n=1: top 0
    core.add("t1")
    assert core.on_result("t1", 1, [1, 3, 0]) == PAUSE
    core.add("t2")
    # n=3 keep 1; reference (3.2, 3.2): t0 adds 1.2 * 1.2 = 1.44, t1 and t2 2.2 * 0.2 = 0.44
    assert core.on_result("t2", 1, [3, 1, 0]) == PAUSE
    assert core.runnable() == ["t0"] and core.trial("t0").status == PROMOTED


def _drive(core: ParetoAsyncHyperband, events: list[tuple[str, float, list[float]]]) -> list[str]:
    out = []
    for tid, level, vec in events:
        if tid not in core:
            core.add(tid)
        out.append(core.on_result(tid, level, vec))
    return out


def test_restore_mid_run_gives_the_same_later_decisions() -> None:
    rng = np.random.default_rng(11)
    events = []
    for i in range(30):
        f = rng.random(2)
        for level in (1, 3, 9):
            events.append((f"t{i}", float(level), [float(f[0]), float(f[1]) / level, float(rng.random() < 0.2)]))
            f = f * 0.8
    whole = ParetoAsyncHyperband(1, 27, 3, n_objectives=2, rule="stopping", brackets=2, seed=3)
    expected = _drive(whole, events)
    first = ParetoAsyncHyperband(1, 27, 3, n_objectives=2, rule="stopping", brackets=2, seed=3)
    _drive(first, events[:40])
    saved = json.loads(json.dumps(first.to_dict()))  # the state file is JSON
    restored = ParetoAsyncHyperband(1, 27, 3, n_objectives=2, rule="stopping", brackets=2, seed=3)
    restored.load(saved)
    assert expected[:40] + _drive(restored, events[40:]) == expected
    assert restored.to_dict() == json.loads(json.dumps(whole.to_dict()))


def test_saved_state_refuses_another_number_of_objectives() -> None:
    core = mo_stopping(n_objectives=2)
    other = mo_stopping(n_objectives=3)
    with pytest.raises(ValueError, match="configuration"):
        other.load(core.to_dict())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_objectives"):
        ParetoAsyncHyperband(1, 27, 3, n_objectives=0)
    from schedulers import MOASHAScheduler

    with pytest.raises(ValueError, match="as lists"):
        MOASHAScheduler("acc", "max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one 'min' or 'max' per metric"):
        MOASHAScheduler(["acc", "params"], ["max"])
    with pytest.raises(ValueError, match="distinct"):
        MOASHAScheduler(["acc", "acc"], ["max", "min"])
    with pytest.raises(ValueError, match="must read"):
        MOASHAScheduler(["acc", "params"], ["max", "min"], constraints=["params < 5"])


def test_scheduler_turns_results_into_vectors_and_accepts_one_of_its_metrics() -> None:
    from schedulers import MOASHAScheduler

    s = MOASHAScheduler(["acc", "params"], ["max", "min"], constraints=["params <= 100"])
    assert s._result_value({"acc": 0.9, "params": 150}) == [-0.9, 150.0, 50.0]
    assert s._result_value({"acc": 0.9}) == [-0.9, math.inf, math.inf]
    assert s._result_value({"loss": 1.0}) is None
    assert s.set_search_properties("acc", "max") and s.set_search_properties(None, None)
    assert not s.set_search_properties("acc", "min")
    assert not s.set_search_properties("loss", "min")
