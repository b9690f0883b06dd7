"""Several objectives and constraints, as a searcher or scheduler is given them.

Ray's convention for multi-objective searchers (``OptunaSearch``) is parallel lists:
``metric=["val_accuracy", "params"], mode=["max", "min"]``, given to the searcher (and here
to the scheduler) itself; ``TuneConfig`` takes one metric only. :func:`parse_objectives`
accepts that form and the single-metric one, and :class:`Objectives` turns one result into
the vector every multi-objective component works on: the minimised objectives followed by
the total constraint violation (:mod:`searchers.common.pareto`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from searchers.common.checks import check_mode, finite_or_none
from searchers.common.pareto import parse_constraint

Constraint = tuple[str, str, float]


@dataclass(frozen=True)
class Objectives:
    """The (metric, mode) pairs and constraints of a multi-objective run."""

    pairs: tuple[tuple[str, str], ...]
    constraints: tuple[Constraint, ...] = ()

    @property
    def metrics(self) -> list[str]:
        return [m for m, _ in self.pairs]

    @property
    def modes(self) -> list[str]:
        return [mode for _, mode in self.pairs]

    def vector(self, result: Mapping[str, Any]) -> tuple[float, ...]:
        """(minimised objectives..., total violation); missing values are +inf."""
        out: list[float] = []
        for metric, mode in self.pairs:
            v = finite_or_none(result.get(metric))
            out.append(math.inf if v is None else (v if mode == "min" else -v))
        violation = 0.0
        for metric, op, bound in self.constraints:
            v = finite_or_none(result.get(metric))
            if v is None:
                violation = math.inf
            elif op == "<=":
                violation += max(0.0, v - bound)
            else:
                violation += max(0.0, bound - v)
        out.append(violation)
        return tuple(out)


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def parse_objectives(metric: Any, mode: Any, constraints: Any = None, *, always: bool = False) -> Objectives | None:
    """``Objectives`` for list ``metric``/``mode`` (or any constraints); None for one metric.

    One metric without constraints returns None (unless ``always``): the caller keeps its
    single-objective path exactly as it was. ``constraints`` are strings such as ``"params <= 50000"`` or
    (metric, "<=" / ">=", bound) triples.
    """
    metrics, modes = _as_list(metric), _as_list(mode)
    cons: list[Constraint] = []
    for c in constraints or ():
        if isinstance(c, str):
            cons.append(parse_constraint(c))
        elif isinstance(c, (list, tuple)) and len(c) == 3 and c[1] in ("<=", ">="):
            bound = finite_or_none(c[2])
            if not isinstance(c[0], str) or bound is None:
                raise ValueError(f"constraint {c!r} must be (metric, '<=' or '>=', finite number)")
            cons.append((c[0], str(c[1]), bound))
        else:
            raise ValueError(
                f"constraint {c!r} must be a string '<metric> <= <number>' or a (metric, op, bound) triple"
            )
    if metrics is None or (len(metrics) <= 1 and not cons and not always):
        if modes is not None and len(modes) > 1:
            raise ValueError(f"mode has {len(modes)} entries but metric has {len(metrics or [])}")
        return None
    if modes is None or len(modes) != len(metrics):
        raise ValueError(f"mode must list one 'min' or 'max' per metric ({len(metrics)}), got {mode!r}")
    for m in modes:
        check_mode(m, allow_none=False)
    if len(set(metrics)) != len(metrics) or not all(isinstance(m, str) and m for m in metrics):
        raise ValueError(f"metric must list distinct metric names, got {metric!r}")
    return Objectives(tuple(zip(metrics, modes)), tuple(cons))


def first(value: Any) -> Any:
    """The first entry of a list metric/mode (the primary objective), else the value itself."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value
