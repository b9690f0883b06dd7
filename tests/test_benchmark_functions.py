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
