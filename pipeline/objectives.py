"""What an experiment optimises: one metric or several objectives, and constraints.

``objectives: [{metric: val_accuracy, mode: max}, {metric: params, mode: min}]`` (flag:
``--objectives val_accuracy:max params:min``) makes a multi-objective experiment;
``constraints: ["params <= 50000", "latency_ms <= 2.0"]`` (flag: ``--constraints``)
marks results as feasible or not. A constraint is parsed by a small grammar (a metric
name, one of ``<= < >= >``, a number), never evaluated as code, so a config file cannot
run anything.

One objective is exactly today's experiment: ``objectives`` with a single entry is the
same as ``metric``/``mode`` and is stored that way, so its experiment.yaml, searchers
and reports are those of a plain one-metric run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import UsageError

MODES = ("min", "max")
#: the cost metrics every built-in torch task reports once per trial (pipeline.cost_metrics)
COST_METRICS = {"params": "min", "flops": "min", "latency_ms": "min"}
OPERATORS = ("<=", ">=", "<", ">")

_NAME = r"[A-Za-z_][A-Za-z0-9_./-]*"
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTRAINT = re.compile(rf"^\s*({_NAME})\s*(<=|>=|<|>)\s*({_NUMBER})\s*$")
_SPEC = re.compile(rf"^\s*({_NAME})\s*(?::\s*(\w+))?\s*$")


@dataclass(frozen=True)
class Objective:
    metric: str
    mode: str  # min | max

    def to_yaml(self) -> dict[str, str]:
        return {"metric": self.metric, "mode": self.mode}


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``; a missing or non-finite value is infeasible."""

    metric: str
    op: str
    bound: float

    def __str__(self) -> str:
        short = f"{self.bound:g}"
        return f"{self.metric} {self.op} {short if float(short) == self.bound else repr(self.bound)}"

    def violation(self, value: Any) -> float:
        """How far ``value`` is outside the bound (0.0 when satisfied; inf when missing).
        A strict bound met with equality counts as violated by 0 but is not satisfied:
        use :meth:`satisfied` for the decision."""
        v = _finite(value)
        if v is None:
            return math.inf
        over = v - self.bound if self.op in ("<=", "<") else self.bound - v
        return max(over, 0.0)

    def satisfied(self, value: Any) -> bool:
        v = _finite(value)
        if v is None:
            return False
        return {"<=": v <= self.bound, "<": v < self.bound, ">=": v >= self.bound, ">": v > self.bound}[self.op]


def feasible(metrics: Mapping[str, Any], constraints: Sequence[Constraint]) -> bool:
    return all(c.satisfied(metrics.get(c.metric)) for c in constraints)


def total_violation(metrics: Mapping[str, Any], constraints: Sequence[Constraint]) -> float:
    """Sum of the constraints' violations: 0 for a feasible result; ranks infeasible ones."""
    return float(sum(c.violation(metrics.get(c.metric)) for c in constraints if not c.satisfied(metrics.get(c.metric))))


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# ------------------------------------------------------------------ parsing


def parse_objectives(value: Any, allowed: Mapping[str, str] | None, field: str = "objectives") -> tuple[Objective, ...]:
    """The ``objectives`` setting: a list of ``{metric, mode}`` mappings or ``metric:mode``
    strings (flags). ``allowed`` maps the metrics the task reports to their natural mode
    (which a missing ``mode`` takes); None for a custom trainable, whose metrics we cannot
    know and whose every objective must then give its mode."""
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or not value:
        raise UsageError(
            field,
            f"must be a non-empty list of {{metric, mode}} mappings (or metric:mode on the command line), got {value!r}",
        )
    out: list[Objective] = []
    for i, entry in enumerate(value):
        where = f"{field}[{i}]"
        metric, mode = _entry(entry, where)
        if allowed is not None and metric not in allowed:
            raise UsageError(where, f"unknown metric {metric!r}; this task reports {', '.join(allowed)}")
        if mode is None:
            if allowed is None:
                raise UsageError(
                    where,
                    f"needs a mode (min or max) for {metric!r}: a custom trainable's metric has no known direction",
                )
            mode = allowed[metric]
        if mode not in MODES:
            raise UsageError(where, f"bad mode {mode!r} for {metric!r}; allowed: min, max")
        if any(o.metric == metric for o in out):
            raise UsageError(where, f"duplicate objective {metric!r}; each metric may appear once")
        out.append(Objective(metric, mode))
    return tuple(out)


def _entry(entry: Any, where: str) -> tuple[str, str | None]:
    if isinstance(entry, Mapping):
        unknown = sorted(str(k) for k in set(entry) - {"metric", "mode"})
        if unknown:
            raise UsageError(f"{where}.{unknown[0]}", "unknown key; allowed: metric, mode")
        metric, mode = entry.get("metric"), entry.get("mode")
        if not isinstance(metric, str) or not re.fullmatch(_NAME, metric.strip()):
            raise UsageError(f"{where}.metric", f"must be a metric name, got {metric!r}")
        if mode is not None and not isinstance(mode, str):
            raise UsageError(f"{where}.mode", f"must be min or max, got {mode!r}")
        return metric.strip(), mode.strip() if isinstance(mode, str) else None
    if isinstance(entry, str):
        match = _SPEC.match(entry)
        if match is None:
            raise UsageError(where, f"expected metric:mode (e.g. val_accuracy:max), got {entry!r}")
        return match.group(1), match.group(2)
    raise UsageError(where, f"must be a mapping {{metric, mode}} or metric:mode, got {entry!r}")


def parse_constraints(
    value: Any, allowed: Mapping[str, str] | None, field: str = "constraints"
) -> tuple[Constraint, ...]:
    """The ``constraints`` setting: a list of ``"metric <op> number"`` strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping) or not isinstance(value, Sequence):
        raise UsageError(field, f'must be a list of "metric <= number" strings, got {value!r}')
    out: list[Constraint] = []
    for i, entry in enumerate(value):
        where = f"{field}[{i}]"
        match = _CONSTRAINT.match(entry) if isinstance(entry, str) else None
        if match is None:
            raise UsageError(
                where,
                f'malformed constraint {entry!r}; expected "metric OP number" with OP one of {" ".join(OPERATORS)}',
            )
        metric, op, number = match.group(1), match.group(2), float(match.group(3))
        if not math.isfinite(number):
            raise UsageError(where, f"the bound must be a finite number, got {match.group(3)}")
        if allowed is not None and metric not in allowed:
            raise UsageError(where, f"unknown metric {metric!r}; this task reports {', '.join(allowed)}")
        constraint = Constraint(metric, op, number)
        if constraint in out:
            raise UsageError(where, f"duplicate constraint {str(constraint)!r}")
        out.append(constraint)
    return tuple(out)


def objectives_to_yaml(objectives: Sequence[Objective]) -> list[dict[str, str]]:
    return [o.to_yaml() for o in objectives]


def constraints_to_yaml(constraints: Sequence[Constraint]) -> list[str]:
    return [str(c) for c in constraints]
