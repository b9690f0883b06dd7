"""Define-by-run search spaces (Optuna style), traced into a conditional :class:`SearchSpace`.

A user writes ``space(trial)`` with ``trial.suggest_float/int/categorical`` and ordinary
Python ``if``/``for``::

    def space(trial):
        n = trial.suggest_int("n_layers", 1, 3)
        widths = [trial.suggest_int(f"width_{i}", 8, 64, log=True) for i in range(n)]
        opt = trial.suggest_categorical("optimizer", ["sgd", "adam"])
        if opt == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)
        return {"widths": widths}  # optional: extra keys for the trainable

mftune's searchers model a *space*, not a function, so the function is traced once: it
is run with one parameter varied at a time, and a parameter whose value changes what is
suggested after it (``n_layers``, ``optimizer`` above) becomes a categorical branch whose
options hold the parameters that value leads to (``width_0`` under ``n_layers=1`` and
``width_0`` under ``n_layers=2`` are separate dimensions of the model). Every searcher
then works unchanged on the traced space; each suggestion is replayed through the
function, which checks that the trace was right.

What is supported, plainly:

* branches on ``suggest_categorical`` values and on ``suggest_int`` values with at most
  :data:`MAX_BRANCH_VALUES` values (a branching int is modelled as a categorical);
* loops whose length is such an int, parameters whose range depends on such a value;
* the function's return value: a dict merged into the configuration (its keys must not
  repeat a parameter's name), e.g. a per-layer list built in the loop.

Not supported (a :class:`SpaceError` names the parameter): branching on a float;
interactions that change the structure only when two parameters change together
(tracing varies one at a time; the replay then raises); parameter names with ``/`` or
``[``; more than :data:`MAX_TRACE_RUNS` runs of the function to trace it.

The configuration a trainable receives is ``{parameter name: value}`` for the parameters
the function suggested, updated with the dict it returned; ``points_to_evaluate`` are
given the same way (``{"n_layers": 2, "width_0": 16, ...}``), extra keys ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from searchers.space import Categorical, Float, Int, Param, SearchSpace, SpaceError, _same

#: Most values a branching ``suggest_int`` may take (each becomes a branch).
MAX_BRANCH_VALUES = 32
#: Most runs of the user's function while tracing it.
MAX_TRACE_RUNS = 5000
#: Key under which a branch option stores the value it stands for (not a parameter).
_VALUE_KEY = "__value__"


@dataclass(frozen=True)
class _Dist:
    kind: str  # "float", "int", "categorical"
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def spec(self) -> Any:
        if self.kind == "categorical":
            return Categorical(self.choices)
        if self.kind == "int":
            return Int(int(self.low), int(self.high), self.log, int(self.step or 1))
        return Float(self.low, self.high, self.log, self.step)

    def default(self) -> Any:
        return self.choices[0] if self.kind == "categorical" else (int(self.low) if self.kind == "int" else self.low)

    def probes(self) -> list[Any]:
        """Values tried to see whether the rest of the function depends on this one."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            values = self.values()
            if len(values) <= MAX_BRANCH_VALUES:
                return values
            return sorted({values[0], values[1], values[len(values) // 2], values[-2], values[-1]})
        mid = math.sqrt(self.low * self.high) if self.log else 0.5 * (self.low + self.high)
        return [self.low, mid, self.high]

    def values(self) -> list[int]:
        step = int(self.step or 1)
        return list(range(int(self.low), int(self.high) + 1, step))


class _Missing(Exception):
    """Replay asked for a parameter the suggestion did not hold."""


class TraceTrial:
    """The ``trial`` a define-by-run function receives: Optuna's ``suggest_*`` methods.

    Values come from ``values`` (parameter name -> value); a parameter not there gets its
    lowest value while tracing (``strict=False``) and is an error on replay.
    """

    def __init__(self, values: Mapping[str, Any], strict: bool):
        self._values = values
        self._strict = strict
        self.calls: list[tuple[str, _Dist]] = []
        self.params: dict[str, Any] = {}
        self.returned: dict[str, Any] = {}  # what the function returned (set after the run)

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        if step is not None and log:
            raise SpaceError(name, "suggest_float: step and log cannot be used together")
        return float(self._suggest(name, _Dist("float", float(low), float(high), bool(log), step)))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return int(self._suggest(name, _Dist("int", int(low), int(high), bool(log), int(step))))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._suggest(name, _Dist("categorical", choices=tuple(choices)))

    def _suggest(self, name: str, dist: _Dist) -> Any:
        if not isinstance(name, str) or not name or "/" in name or "[" in name:
            raise SpaceError(str(name), "parameter names must be non-empty strings without '/' or '['")
        if name in self.params:
            if dict(self.calls)[name] != dist:
                raise SpaceError(name, "suggested twice with different ranges in one run")
            return self.params[name]
        self.calls.append((name, dist))
        if name in self._values:
            value = self._values[name]
        elif self._strict:
            raise _Missing(name)
        else:
            value = dist.default()
        self.params[name] = value
        return value


def _run(fn: Callable[[TraceTrial], Any], values: Mapping[str, Any], strict: bool = False) -> TraceTrial:
    trial = TraceTrial(values, strict)
    returned = fn(trial)
    if returned is not None and not isinstance(returned, Mapping):
        raise SpaceError("", f"a define-by-run space returns None or a dict, got {type(returned).__name__}")
    trial.returned = dict(returned or {})
    return trial


class _Tracer:
    def __init__(self, fn: Callable[[TraceTrial], Any]):
        self.fn = fn
        self.runs = 0

    def run(self, fixed: Mapping[str, Any]) -> list[tuple[str, _Dist]]:
        self.runs += 1
        if self.runs > MAX_TRACE_RUNS:
            raise SpaceError("", f"tracing the define-by-run space took more than {MAX_TRACE_RUNS} runs; simplify it")
        return _run(self.fn, fixed).calls

    def explore(self, fixed: dict[str, Any]) -> dict[str, Any]:
        """The subtree of parameters suggested after ``fixed`` (their values decided)."""
        node: dict[str, Any] = {}
        fixed = dict(fixed)
        while True:
            calls = self.run(fixed)
            free = [(i, n, d) for i, (n, d) in enumerate(calls) if n not in fixed]
            if not free:
                return node
            index, name, dist = free[0]
            try:
                spec = dist.spec()
                SearchSpace({"p": spec})
            except SpaceError as err:
                raise SpaceError(name, str(err).split(": ", 1)[-1]) from None
            tails = {_tail(self.run({**fixed, name: v}), name) for v in dist.probes()}
            if len(tails) == 1:
                node[name] = spec
                fixed[name] = dist.default()
                continue
            if dist.kind == "float":
                raise SpaceError(
                    name,
                    "what is suggested after it depends on its value; mftune models branches on "
                    "suggest_categorical and suggest_int only",
                )
            options = dist.choices if dist.kind == "categorical" else dist.values()
            if len(options) > MAX_BRANCH_VALUES:
                raise SpaceError(name, f"branches on an int with more than {MAX_BRANCH_VALUES} values")
            subtrees = [self.explore({**fixed, name: v}) for v in options]
            # What every option suggests alike does not depend on the branch: hoist it.
            shared = {k: t for k, t in subtrees[0].items() if all(k in o and _equal(o[k], t) for o in subtrees[1:])}
            rest = [{k: t for k, t in o.items() if k not in shared} for o in subtrees]
            node[name] = Categorical([{_VALUE_KEY: v, **r} for v, r in zip(options, rest)]) if any(rest) else spec
            node.update(shared)
            return node  # everything suggested after a branch is in its options or hoisted here


def _equal(a: Any, b: Any) -> bool:
    """Deep equality of traced subtrees (Categorical compares by identity otherwise)."""
    if isinstance(a, Categorical) and isinstance(b, Categorical):
        return len(a.choices) == len(b.choices) and all(_equal(x, y) for x, y in zip(a.choices, b.choices))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return _same(a, b)


def _tail(calls: list[tuple[str, _Dist]], name: str) -> tuple[tuple[str, _Dist], ...]:
    names = [n for n, _ in calls]
    return tuple(calls[names.index(name) + 1 :])


class DefineByRunSpace(SearchSpace):
    """A :class:`SearchSpace` traced from ``fn(trial)``; configs come from replaying ``fn``."""

    def __init__(self, fn: Callable[[TraceTrial], Any]):
        if not callable(fn):
            raise SpaceError("", f"a define-by-run space is a function of a trial, got {type(fn).__name__}")
        self.fn = fn
        tree = _Tracer(fn).explore({})
        super().__init__(tree)
        self._user: dict[str, str] = {}  # compiled name -> the user's parameter name
        self._values: dict[str, tuple[Any, ...]] = {}  # branch name -> the value each option stands for
        for p in self.params:
            self._user[p.name] = p.name.rsplit("/", 1)[-1]
        self._collect_branches(tree, "")

    def _collect_branches(self, node: Mapping[str, Any], path: str) -> None:
        for key, child in node.items():
            name = f"{path}/{key}" if path else key
            if isinstance(child, Categorical) and any(
                isinstance(o, Mapping) and _VALUE_KEY in o for o in child.choices
            ):
                self._values[name] = tuple(o[_VALUE_KEY] for o in child.choices)
                for i, option in enumerate(child.choices):
                    self._collect_branches({k: v for k, v in option.items() if k != _VALUE_KEY}, f"{name}[{i}]")

    def user_name(self, param: Param | str) -> str:
        """The name the function gave a parameter (``width_0``, not ``n_layers[1]/width_0``)."""
        return self._user[param if isinstance(param, str) else param.name]

    def _user_value(self, param: Param, value: Any) -> Any:
        if param.name in self._values:
            return self._values[param.name][int(value)]
        return param.choices[int(value)] if param.is_categorical else value

    def params_of(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Flat (compiled) values -> ``{user parameter name: value}``."""
        return {self._user[name]: self._user_value(self[name], v) for name, v in flat.items()}

    def from_flat(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        params = self.params_of(self.canonical_flat(flat))
        try:
            trial = _run(self.fn, params, strict=True)
        except _Missing as missing:
            raise SpaceError(
                str(missing),
                "the function asked for a parameter the trace did not expect here: it branches on "
                "two parameters at once or on a float (see searchers.define_by_run)",
            ) from None
        unused = set(params) - set(trial.params)
        if unused:
            raise SpaceError(sorted(unused)[0], "the trace expected this parameter but the function did not ask")
        clash = set(trial.returned) & set(trial.params)
        if clash:
            raise SpaceError(sorted(clash)[0], "the function returned a key that is also a parameter's name")
        return {**trial.params, **trial.returned}

    def to_flat(self, config: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(config, Mapping):
            raise SpaceError("", f"expected a dict of parameter values, got {config!r}")
        flat: dict[str, Any] = {}
        for p in self.params:  # DFS order: a branch is decided before what it leads to
            if not self.is_active(p, flat):
                continue
            name = self._user[p.name]
            if name not in config:
                raise SpaceError(name, "missing from the configuration")
            value = config[name]
            if p.is_categorical:
                labels = self._values.get(p.name, p.choices)
                index = next((i for i, label in enumerate(labels) if _same(label, value)), None)
                if index is None:
                    raise SpaceError(name, f"value {value!r} is not one of the choices {list(labels)}")
                flat[p.name] = index
            else:
                flat[p.name] = p.check(value)
        return flat

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return self.from_flat(self.sample_flat(rng))

    def to_ray(self) -> dict[str, Any]:
        raise SpaceError("", "a define-by-run space has no Ray domain form; use an mftune searcher with it")

    def to_tree(self) -> dict[str, Any]:
        raise SpaceError("", "a define-by-run space has no tree form; use it as it is")

    def with_params(self, extra: Mapping[str, Any]) -> DefineByRunSpace:
        """This space plus unconditional parameters (``Int``/``Float``/``Categorical``)."""
        return DefineByRunSpace(_WithParams(self.fn, dict(extra)))

    def __repr__(self) -> str:
        return f"DefineByRunSpace({getattr(self.fn, '__qualname__', self.fn)!r}: {', '.join(self.names)})"


class _WithParams:
    """``fn`` followed by suggestions of ``extra`` (a picklable callable, for saved searchers)."""

    def __init__(self, fn: Callable[[TraceTrial], Any], extra: dict[str, Any]):
        self.fn, self.extra = fn, extra

    def __call__(self, trial: TraceTrial) -> Any:
        returned = self.fn(trial)
        for name, spec in self.extra.items():
            if isinstance(spec, Int):
                trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
            elif isinstance(spec, Float):
                trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
            else:
                trial.suggest_categorical(name, spec.choices)
        return returned


def as_space(space: Any) -> SearchSpace:
    """A :class:`SearchSpace` from any front end: a space, a function of a trial, a tree."""
    if isinstance(space, SearchSpace):
        return space
    if callable(space):
        return DefineByRunSpace(space)
    return SearchSpace(space)
