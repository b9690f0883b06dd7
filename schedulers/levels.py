"""Rung levels and Hyperband bracket sizes: the arithmetic every scheduler here shares.

A *resource* is whatever grows monotonically while a trial trains (epochs, iterations,
rows of data). Decisions are taken at *milestones* ``min_resource * eta**k`` strictly
below ``max_resource``; ``max_resource`` itself is where a trial ends, not a rung.
Bracket ``b`` (0 = most aggressive) takes its decisions at ``levels[b:]``, so the last
bracket, ``b = len(levels)``, runs every trial straight to ``max_resource``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Resources are often floats (0.1 * 3 * 3 = 0.9000000000000001): compare with a tolerance.
_REL_TOL = 1e-9


def check_resources(min_resource: float, max_resource: float, reduction_factor: float) -> None:
    """Raise ValueError naming the argument that makes the rung schedule impossible."""
    for name, value in (
        ("min_resource", min_resource),
        ("max_resource", max_resource),
        ("reduction_factor", reduction_factor),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if min_resource <= 0:
        raise ValueError(f"min_resource must be > 0, got {min_resource!r}")
    if max_resource < min_resource:
        raise ValueError(f"max_resource must be >= min_resource ({min_resource!r}), got {max_resource!r}")
    if reduction_factor <= 1:
        raise ValueError(f"reduction_factor must be > 1, got {reduction_factor!r}")


def rung_levels(min_resource: float, max_resource: float, reduction_factor: float) -> list[float]:
    """Milestones ``min_resource * reduction_factor**k`` strictly below ``max_resource``.

    Integers in, integers out: ``rung_levels(1, 27, 3) == [1, 3, 9]``.
    """
    check_resources(min_resource, max_resource, reduction_factor)
    exact = isinstance(min_resource, int) and isinstance(reduction_factor, int)
    levels: list[float] = []
    level = min_resource
    while not reached(level, max_resource):
        levels.append(level)
        level = level * reduction_factor if exact else min_resource * reduction_factor ** len(levels)
    return levels


def reached(resource: float, level: float) -> bool:
    """Whether ``resource`` has arrived at ``level`` (within float tolerance)."""
    return resource >= level - _REL_TOL * abs(level)


def top_count(n: int, reduction_factor: float) -> int:
    """How many of ``n`` results are in the top ``1/reduction_factor``: floor(n / eta)."""
    return int(math.floor(n / reduction_factor + _REL_TOL))


def bracket_sizes(n_levels: int, reduction_factor: float) -> list[int]:
    """Hyperband's initial number of trials per bracket, most aggressive bracket first.

    With ``s_max = n_levels`` halvings in bracket 0, bracket ``b`` has ``s = s_max - b``
    rungs and starts ``ceil((s_max + 1) / (s + 1) * eta**s)`` trials, so every bracket
    spends about the same total resource (Li et al., 2018). For levels 1, 3, 9 below
    27 and eta 3 that is [27, 12, 6, 4].
    """
    s_max = n_levels
    sizes = []
    for b in range(s_max + 1):
        s = s_max - b
        sizes.append(max(1, math.ceil((s_max + 1) / (s + 1) * reduction_factor**s * (1 - _REL_TOL))))
    return sizes


def check_brackets(brackets: int, n_levels: int) -> None:
    if isinstance(brackets, bool) or not isinstance(brackets, int) or not 1 <= brackets <= n_levels + 1:
        raise ValueError(
            f"brackets must be an int from 1 to {n_levels + 1} (number of rung levels + 1), got {brackets!r}"
        )


def describe_levels(levels: Sequence[float], max_resource: float) -> str:
    return "/".join(f"{lv:g}" for lv in levels) + f" -> {max_resource:g}" if levels else f"-> {max_resource:g}"
