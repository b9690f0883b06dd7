"""Which observations the GP fits on: the multi-fidelity rule, pending trials, the cap."""

import numpy as np
import pytest

from searchers.gp.data import cap_indices, select
from searchers.record import TrialRecord


def record_with_levels():
    rec = TrialRecord()
    # Six trials reached level 1, four level 3, two level 9 (successive halving).
    for i in range(6):
        rec.add(f"t{i}", {"x": i})
        rec.report(f"t{i}", 1, 10.0 + i)
        if i < 4:
            rec.report(f"t{i}", 3, 5.0 + i)
        if i < 2:
            rec.report(f"t{i}", 9, 1.0 + i)
        if i != 3:
            rec.complete(f"t{i}", None)  # t3 is still running at level 3
    rec.add("running", {"x": 99})
    rec.report("running", 1, 0.5)
    rec.add("crashed", {"x": -1})
    rec.report("crashed", 1, 0.1)
    rec.fail("crashed")
    return rec


def test_highest_level_with_enough_points_is_used_with_losses_at_that_level():
    rec = record_with_levels()
    four = select(rec, "highest", 4)
    assert four.level == 3.0
    assert [f["x"] for f in four.flats] == [0, 1, 2, 3]  # the running t3 reported at 3: data
    np.testing.assert_array_equal(four.losses, [5.0, 6.0, 7.0, 8.0])
    assert four.pending == [{"x": 99}]  # running, not yet at level 3
    seven = select(rec, "highest", 7)  # level 1 has 6 + running = 7; the failed trial does not count
    assert seven.level == 1.0 and len(seven.flats) == 7
    assert seven.pending == []
    assert select(rec, "highest", 8) is None  # too few anywhere: random search


def test_levelless_final_results_count_at_every_level():
    rec = record_with_levels()
    rec.add("warm", {"x": 50}, state="complete", loss=0.25)  # e.g. add_evaluated_point
    data = select(rec, "highest", 3)
    assert data.level == 9.0
    assert {"x": 50} in data.flats and 0.25 in data.losses
    only_final = TrialRecord()
    for i in range(3):
        only_final.add(str(i), {"x": i}, state="complete", loss=float(i))
    data = select(only_final, "highest", 3)
    assert data.level is None and len(data.flats) == 3


def test_final_rule_uses_each_finished_trials_last_loss():
    rec = record_with_levels()
    data = select(rec, "final", 5)
    assert data.level is None
    np.testing.assert_array_equal(data.losses, [1.0, 2.0, 7.0, 14.0, 15.0])
    assert data.pending == [{"x": 3}, {"x": 99}]
    assert select(rec, "final", 6) is None
    with pytest.raises(ValueError, match="fidelity must be one of highest, final"):
        select(rec, "lowest", 1)


def test_cap_keeps_the_best_half_and_a_seeded_random_rest():
    losses = np.random.default_rng(0).random(500)
    keep = cap_indices(losses, 100, np.random.default_rng(1))
    assert len(keep) == 100 and len(set(keep)) == 100
    best50 = set(np.argsort(losses)[:50])
    assert best50 <= set(keep)
    np.testing.assert_array_equal(keep, cap_indices(losses, 100, np.random.default_rng(1)))
    np.testing.assert_array_equal(cap_indices(losses[:80], 100, np.random.default_rng(1)), np.arange(80))
