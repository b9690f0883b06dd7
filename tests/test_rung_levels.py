"""Rung levels, Hyperband bracket sizes and the sorted rung, against hand-computed values."""

import math

import pytest

from schedulers.levels import bracket_sizes, reached, rung_levels, top_count
from schedulers.rung import Rung


@pytest.mark.parametrize(
    "args, levels",
    [
        ((1, 27, 3), [1, 3, 9]),
        ((1, 15, 3), [1, 3, 9]),
        ((1, 10, 2), [1, 2, 4, 8]),
        ((2, 50, 2.5), [2, 5.0, 12.5, 31.25]),
        ((1, 1, 3), []),
        ((4, 5, 2), [4]),
    ],
)
def test_rung_levels(args, levels):
    assert rung_levels(*args) == levels


def test_float_levels_stop_below_the_maximum_despite_rounding():
    levels = rung_levels(0.1, 0.9, 3)  # 0.1 * 3 * 3 == 0.9000000000000001
    assert levels == pytest.approx([0.1, 0.3])
    assert reached(0.9, 0.1 * 3 * 3)


@pytest.mark.parametrize(
    "args, name",
    [
        ((0, 27, 3), "min_resource"),
        ((-1, 27, 3), "min_resource"),
        ((5, 4, 3), "max_resource"),
        ((1, 27, 1), "reduction_factor"),
        ((1, 27, 0.5), "reduction_factor"),
        ((1, float("nan"), 3), "max_resource"),
        (("1", 27, 3), "min_resource"),
        ((1, 27, True), "reduction_factor"),
    ],
)
def test_bad_resources_raise_naming_the_argument(args, name):
    with pytest.raises(ValueError, match=name):
        rung_levels(*args)


def test_hyperband_bracket_sizes():
    assert bracket_sizes(3, 3) == [27, 12, 6, 4]  # R=27, eta=3
    assert bracket_sizes(4, 3) == [81, 34, 15, 8, 5]  # R=81, eta=3 (Li et al., 2018, table 1)
    assert bracket_sizes(2, 2) == [4, 3, 3]  # levels 1, 2 below 4
    assert bracket_sizes(0, 3) == [1]


def test_top_count_is_floor_n_over_eta():
    assert [top_count(n, 3) for n in range(10)] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert [top_count(n, 2.5) for n in (4, 5, 7)] == [1, 2, 2]


def test_rung_keeps_records_sorted_with_ties_by_arrival_and_nan_last():
    rung = Rung(3)
    assert rung.add("a", 5.0) == 0
    assert rung.add("b", float("nan")) == 1
    assert rung.add("c", 5.0) == 1  # a tie goes to the earlier arrival
    assert rung.add("d", 1.0) == 0
    assert rung.add("e", None) == 4  # missing: as bad as NaN, after it
    assert list(rung) == ["d", "a", "c", "b", "e"]
    assert rung.top(2) == ["d", "a"]
    assert math.isinf(rung.loss("b"))
    with pytest.raises(KeyError):
        rung.add("a", 0.0)  # one record per trial and rung


def test_rung_round_trips_through_its_dict():
    rung = Rung(9)
    for tid, loss in [("x", 2.0), ("y", float("inf")), ("z", 1.0)]:
        rung.add(tid, loss)
    rung.promote("z")
    back = Rung.from_dict(rung.to_dict())
    assert list(back) == ["z", "x", "y"] and back.promoted == ["z"]
    assert back.add("w", 2.0) == 2  # arrival counter restored: w ties x and ranks after it
