"""The benchmark objectives reach their stated optima at the known minimisers."""

import numpy as np
import pytest

from benchmarks.functions import _H3_A, _H3_P, PROBLEMS, hartmann
from searchers.space import SearchSpace

MINIMISERS = {
    "branin": [{"x1": -np.pi, "x2": 12.275}, {"x1": np.pi, "x2": 2.275}, {"x1": 9.42478, "x2": 2.475}],
    "hartmann6": [{f"x{i}": v for i, v in enumerate([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])}],
    "rosenbrock10": [{f"x{i}": 1.0 for i in range(10)}],
    "conditional": [{"s": 0.0, "model": {"kind": "branin", "x": np.pi, "y": 2.275}}],
    "mixed": [{"x1": np.pi, "x2": 2.275, "k": 3, "cat": "a"}],
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_optimum_is_attained_and_not_beaten_by_random_points(name):
    problem = PROBLEMS[name]
    for point in MINIMISERS[name]:
        assert problem.fn(point) == pytest.approx(problem.optimum, abs=1e-4)
    space = SearchSpace(problem.space)
    rng = np.random.default_rng(0)
    assert min(problem.fn(space.sample(rng)) for _ in range(2000)) >= problem.optimum - 1e-9


def test_conditional_branch_minima():
    assert hartmann([0.114614, 0.555649, 0.852547], _H3_A, _H3_P) == pytest.approx(-3.86278, abs=1e-4)
    quadratic = {"s": 0.0, "model": {"kind": "quadratic", "n": 7, "z": 0.3}}
    assert PROBLEMS["conditional"].fn(quadratic) == pytest.approx(0.5)


def test_held_out_valleys_have_their_known_minimum_and_are_not_beaten_by_random_points():
    from benchmarks.auto_switch import HELD_OUT

    d = 8
    argmin = {
        "dixonprice8": [2 ** (-(2**i - 2) / 2**i) for i in range(1, d + 1)],
        "powell8": [0.0] * d,
    }
    rng = np.random.default_rng(0)
    for name, x in argmin.items():
        space, fn, optimum = HELD_OUT[name]
        assert fn({f"x{i}": v for i, v in enumerate(x)}) == pytest.approx(optimum, abs=1e-12)
        sp = SearchSpace(space)
        assert min(fn(sp.sample(rng)) for _ in range(500)) > optimum


def test_stall_report_counts_each_branch_by_the_incumbent_at_its_hand_over(capsys):
    from benchmarks.auto_switch import stall_report

    flat, moving = [5.0] * 10, [5.0 - 0.1 * t for t in range(10)]  # best-so-far regrets
    rows = {
        ("p", "gp", 0, 10): {"regret": flat},  # unmoved before 6
        ("p", "switch@6", 0, 10): {"regret": flat[:9] + [1.0]},  # ... and the hand-over lowered it
        ("q", "gp", 0, 10): {"regret": moving},  # moving before 6
        ("q", "switch@6", 0, 10): {"regret": moving[:9] + [9.0]},  # ... and the hand-over raised it
        ("q", "switch@8", 0, 10): {"regret": moving},  # level
    }
    stall_report(rows, ["p", "q"], [0], 10, window=3)
    table = capsys.readouterr().out
    assert "| unmoved for 3 trials | 1 | 0 | 0 |" in table
    assert "| still moving | 0 | 1 | 1 |" in table


def test_per_run_report_prints_each_seeds_regret_and_the_mean(capsys):
    from benchmarks.auto_switch import per_run_report

    rows = {
        ("p", "gp", 0, 4): {"evals": 4, "regret": [9.0, 5.0, 2.0, 1.0]},
        ("p", "gp", 1, 4): {"evals": 4, "regret": [9.0, 5.0, 3.0, 3.0]},
        ("p", "tpe", 0, 4): {"evals": 4, "regret": [9.0, 9.0, 9.0, 9.0]},  # seed 1 missing: an empty cell
    }
    per_run_report(rows, ["p"], ["gp", "tpe", "random"], [0, 1], 4)
    table = capsys.readouterr().out
    assert "| gp | 1 | 3 | 2 |" in table
    assert "| tpe | 9 |  | 9 |" in table
    assert "random" not in table  # a method without runs gets no row


def test_auto_compare_paired_report_counts_pairs_and_problems(capsys):
    from benchmarks.auto_compare import paired_report

    def run(regret):
        return {"evals": 2, "regret": [regret, regret]}

    rows = {
        ("p", "a", 0, 2): run(1.0),
        ("p", "b", 0, 2): run(0.5),  # b lower
        ("p", "a", 1, 2): run(1.0),
        ("p", "b", 1, 2): run(2.0),  # b higher
        ("q", "a", 0, 2): run(1.0),
        ("q", "b", 0, 2): run(0.1),  # b lower
        ("q", "a", 1, 2): run(1.0),  # no b run for this seed: not a pair
    }
    paired_report(rows, ["p", "q"], "a", "b", [2])
    out = capsys.readouterr().out
    assert "| 2 | 3 | 2 / 1 | p 1/2, q 1/1 |" in out
