"""One typed search space for every mftune searcher.

Searchers model configurations, not Ray ``Domain`` objects or YAML dicts, so all of
those front ends compile into one :class:`SearchSpace`: a tree of dicts, constants and
parameters, flattened into an ordered list of :class:`Param` with explicit activation
conditions. A categorical parameter whose options carry their own parameters (a choice
of dicts) is the conditional case: its children are active only when it takes that
option.

Three representations of one configuration, and why each exists:

* the *config*: the nested dict a trainable receives (what Ray and users see);
* the *flat* dict ``{param name: value}`` over the active parameters only, with a
  categorical's value given as the option index (what searcher cores reason about);
* the *unit vector* in ``[0, 1]^d`` (what GP-style models take): one dimension per
  numeric parameter (log-transformed where log, discrete cells of equal width), one-hot
  blocks for categoricals, inactive dimensions set to :data:`INACTIVE` with a separate
  mask so a model can tell "inactive" from "at the bound".
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

#: Fill value of inactive dimensions in the unit encoding (numeric dims and one-hot blocks).
INACTIVE = 0.0

_PARAM_TYPES = ("float", "int", "categorical")
_YAML_KEYS = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}


class SpaceError(ValueError):
    """An invalid search space or configuration; the message names the parameter."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"search space parameter '{name}': {message}" if name else message)


# --------------------------------------------------------------------------- user types


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``; ``step`` restricts it to ``low + k*step``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` (both inclusive), optionally on a step grid."""

    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass(frozen=True, eq=False)
class Categorical:
    """A choice among ``choices``; a dict option that holds parameters is a branch."""

    choices: tuple[Any, ...]

    def __init__(self, choices: Sequence[Any]):
        object.__setattr__(self, "choices", tuple(choices))


# ------------------------------------------------------------------------ compiled param


@dataclass(frozen=True, eq=False)
class Param:
    """One parameter of a compiled space.

    ``parent`` is ``(categorical name, option index)``: the parameter is active exactly
    when that categorical is active and takes that option. ``choices`` holds option
    *labels* for display; a branch option's label is its index.
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    parent: tuple[str, int] | None = None
    # Transformed interval the unit coordinate maps onto; set in __post_init__.
    _lo: float = field(default=0.0, repr=False)
    _hi: float = field(default=1.0, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "categorical":
            return
        if self.is_discrete:
            # Each grid value owns a cell of equal width (in transformed space where
            # log), so uniform unit samples give each value its fair share.
            half = 0.5 * float(self.grid_step)
            lo_v, hi_v = self.low - half, self.high + half
            if self.log:
                lo = (
                    math.log(lo_v)
                    if lo_v > 0
                    else math.log(self.low) - 0.5 * (math.log(self.low + float(self.grid_step)) - math.log(self.low))
                )
                hi = math.log(hi_v)
            else:
                lo, hi = lo_v, hi_v
        else:
            lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        object.__setattr__(self, "_lo", float(lo))
        object.__setattr__(self, "_hi", float(hi))

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"

    @property
    def is_discrete(self) -> bool:
        return self.kind == "int" or (self.kind == "float" and self.step is not None)

    @property
    def grid_step(self) -> float:
        """``step`` of a discrete parameter, where it is never None."""
        assert self.step is not None, f"{self.name} has no grid"
        return self.step

    @property
    def n_choices(self) -> int:
        return len(self.choices)

    @property
    def n_grid(self) -> int:
        """Number of grid values of a discrete parameter."""
        return int(round((self.high - self.low) / float(self.grid_step))) + 1

    def to_unit(self, value: float) -> float:
        """Numeric value -> coordinate in [0, 1] (cell centre for discrete values)."""
        t = math.log(value) if self.log else float(value)
        return (t - self._lo) / (self._hi - self._lo)

    def from_unit(self, u: float) -> float | int:
        """Coordinate in [0, 1] -> the nearest valid value (clipped, snapped to the grid)."""
        u = min(max(float(u), 0.0), 1.0)
        t = self._lo + u * (self._hi - self._lo)
        v = math.exp(t) if self.log else t
        if self.is_discrete:
            k = min(max(round((v - self.low) / float(self.grid_step)), 0), self.n_grid - 1)
            return self._grid_value(k)
        return min(max(v, self.low), self.high)

    def check(self, value: Any) -> Any:
        """Return ``value`` normalised, or raise SpaceError if it is not in the domain."""
        if self.is_categorical:
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < self.n_choices:
                return int(value)
            raise SpaceError(self.name, f"option index must be an integer in [0, {self.n_choices - 1}], got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SpaceError(self.name, f"expected a number, got {value!r}")
        v = float(value)
        if not math.isfinite(v):
            raise SpaceError(self.name, f"expected a finite number, got {value!r}")
        tol = 1e-9 * max(1.0, abs(self.high) + abs(self.low))
        if v < self.low - tol or v > self.high + tol:
            raise SpaceError(self.name, f"value {value!r} outside [{self.low}, {self.high}]")
        if self.is_discrete:
            k = (v - self.low) / float(self.grid_step)
            if abs(k - round(k)) > 1e-6:
                raise SpaceError(self.name, f"value {value!r} is not on the grid {self.low} + k*{self.step}")
            return self._grid_value(round(k))
        return min(max(v, self.low), self.high)

    def _grid_value(self, k: int) -> float | int:
        if self.kind == "int":
            return int(self.low + k * self.grid_step)
        step = self.grid_step
        return min(max(_clean_float(self.low + k * step, step), self.low), self.high)


def _clean_float(v: float, step: float | None = None) -> float:
    """Drop binary noise from grid arithmetic (0.1*3 -> 0.3) where that stays on the grid."""
    clean = float(f"{v:.12g}")
    if step is not None and abs(clean - v) > 1e-9 * step:
        return v
    return clean


# --------------------------------------------------------------------------- tree nodes


@dataclass(frozen=True, eq=False)
class _Const:
    value: Any


@dataclass(frozen=True, eq=False)
class _Dict:
    children: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, eq=False)
class _Leaf:
    name: str


@dataclass(frozen=True, eq=False)
class _Choice:
    name: str
    options: tuple[_Node, ...]


# A node of the compiled tree (the config's structure, leaves naming their parameter).
_Node = _Const | _Dict | _Leaf | _Choice


# ------------------------------------------------------------------------- the space


class SearchSpace:
    """A compiled search space.

    Build it from a nested dict whose leaves are :class:`Float`, :class:`Int`,
    :class:`Categorical`, Ray Tune domains (``tune.uniform`` ... ``tune.choice``), the
    YAML form (``{type: float, low: .., high: .., log: true}``) or plain constants.
    """

    def __init__(self, tree: Mapping[str, Any] | SearchSpace):
        if isinstance(tree, SearchSpace):
            tree = tree.to_tree()
        if not isinstance(tree, Mapping):
            raise SpaceError("", f"a search space must be a mapping of names to parameters, got {type(tree).__name__}")
        self._params: list[Param] = []
        self._root = self._compile(tree, path="", parent=None)
        self.params: tuple[Param, ...] = tuple(self._params)
        self._by_name = {p.name: p for p in self.params}
        self._slices: dict[str, slice] = {}
        start = 0
        for p in self.params:
            width = p.n_choices if p.is_categorical else 1
            self._slices[p.name] = slice(start, start + width)
            start += width
        self.dim = start

    # ----------------------------------------------------------------- compilation
    def _compile(self, node: Any, path: str, parent: tuple[str, int] | None) -> _Node:
        if isinstance(node, SearchSpace):
            node = node.to_tree()
        param = _as_param_spec(node, path or "<root>")
        if param is None:
            if isinstance(node, Mapping):
                children: list[tuple[str, _Node]] = []
                for key, child in node.items():
                    if not isinstance(key, str):
                        raise SpaceError(_join(path, repr(key)), "keys must be strings")
                    if "/" in key or "[" in key:
                        raise SpaceError(_join(path, key), "names may not contain '/' or '['")
                    children.append((key, self._compile(child, _join(path, key), parent)))
                return _Dict(tuple(children))
            if isinstance(node, (list, tuple)) and any(holds_params(x) for x in node):
                raise SpaceError(path, "parameters inside lists are not supported; use a dict")
            return _Const(copy.deepcopy(node))
        if path == "":
            raise SpaceError("", "the top level of a search space must be a dict of named parameters")
        if param.kind == "categorical":
            options: list[_Node] = []
            labels: list[Any] = []
            idx = len(self._params)
            self._params.append(cast(Param, param))  # placeholder, replaced below to keep DFS order
            for i, opt in enumerate(param.choices):
                if holds_params(opt):
                    options.append(self._compile(opt, f"{path}[{i}]", (path, i)))
                    labels.append(i)
                else:
                    options.append(_Const(copy.deepcopy(opt)))
                    labels.append(opt)
            self._params[idx] = Param(name=path, kind="categorical", choices=tuple(labels), parent=parent)
            return _Choice(path, tuple(options))
        self._params.append(
            Param(
                name=path,
                kind=param.kind,
                low=param.low,
                high=param.high,
                log=param.log,
                step=param.step,
                parent=parent,
            )
        )
        return _Leaf(path)

    # ------------------------------------------------------------------- queries
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def slice_of(self, name: str) -> slice:
        """Columns of parameter ``name`` in the unit encoding."""
        return self._slices[name]

    def is_active(self, param: Param, flat: Mapping[str, Any]) -> bool:
        """Whether ``param`` is active given the (partial) flat values of its ancestors."""
        while param.parent is not None:
            pname, option = param.parent
            if flat.get(pname) != option:
                return False
            param = self._by_name[pname]
        return True

    # ------------------------------------------------------------- config <-> flat
    def to_flat(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Nested config -> ``{name: value}`` over active params (categoricals as index)."""
        flat: dict[str, Any] = {}
        self._read(self._root, config, "", flat)
        return flat

    def _read(self, node: _Node, value: Any, path: str, flat: dict[str, Any]) -> None:
        if isinstance(node, _Dict):
            if not isinstance(value, Mapping):
                raise SpaceError(path, f"expected a dict, got {value!r}")
            for key, child in node.children:
                if key not in value:
                    if _holds_leaf(child):
                        raise SpaceError(_join(path, key), "missing from the configuration")
                    continue  # constants may be omitted
                self._read(child, value[key], _join(path, key), flat)
        elif isinstance(node, _Leaf):
            flat[node.name] = self._by_name[node.name].check(value)
        elif isinstance(node, _Choice):
            param = self._by_name[node.name]
            inner_error: SpaceError | None = None
            for i, option in enumerate(node.options):
                if _matches(option, value):
                    trial = dict(flat)
                    try:
                        trial[node.name] = i
                        self._read(option, value, f"{node.name}[{i}]", trial)
                    except SpaceError as err:
                        inner_error = inner_error or err
                        continue
                    flat.update(trial)
                    return
            if inner_error is not None:  # the branch matched but a sub-parameter is invalid
                raise inner_error
            raise SpaceError(node.name, f"value {value!r} is not one of the choices {list(param.choices)}")

    def from_flat(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Flat values -> the nested config a trainable receives (validated)."""
        config: dict[str, Any] = self._build(self._root, flat)  # the root is a dict
        return config

    def _build(self, node: _Node, flat: Mapping[str, Any]) -> Any:
        if isinstance(node, _Dict):
            return {k: self._build(child, flat) for k, child in node.children}
        if isinstance(node, _Const):
            return copy.deepcopy(node.value)
        if node.name not in flat:
            raise SpaceError(node.name, "active parameter has no value")
        value = self._by_name[node.name].check(flat[node.name])
        if isinstance(node, _Leaf):
            return value
        return self._build(node.options[value], flat)

    def canonical_flat(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``flat`` and drop entries of inactive parameters."""
        out: dict[str, Any] = {}
        for p in self.params:
            if self.is_active(p, out):
                if p.name not in flat:
                    raise SpaceError(p.name, "active parameter has no value")
                out[p.name] = p.check(flat[p.name])
        return out

    # ------------------------------------------------------------------- sampling
    def sample_flat(self, rng: np.random.Generator) -> dict[str, Any]:
        """Uniform draw in the unit encoding (log-uniform where log), active params only."""
        flat: dict[str, Any] = {}
        for p in self.params:  # DFS order: a parent is decided before its children
            if self.is_active(p, flat):
                flat[p.name] = int(rng.integers(p.n_choices)) if p.is_categorical else p.from_unit(rng.random())
        return flat

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return self.from_flat(self.sample_flat(rng))

    # ------------------------------------------------------------------- encoding
    def encode_flat(self, flat: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Flat values -> (vector in [0,1]^dim, per-dimension active mask)."""
        x = np.full(self.dim, INACTIVE, dtype=float)
        mask = np.zeros(self.dim, dtype=bool)
        for p in self.params:
            if p.name not in flat:
                continue
            sl = self._slices[p.name]
            mask[sl] = True
            if p.is_categorical:
                x[sl] = 0.0
                x[sl.start + int(flat[p.name])] = 1.0
            else:
                x[sl.start] = p.to_unit(flat[p.name])
        return x, mask

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        return self.encode_flat(self.to_flat(config))[0]

    def decode_flat(self, x: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Vector -> flat values; categoricals by argmax of their block, inactive dims ignored."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise ValueError(f"expected a vector of length {self.dim}, got shape {x.shape}")
        flat: dict[str, Any] = {}
        for p in self.params:
            if not self.is_active(p, flat):
                continue
            sl = self._slices[p.name]
            flat[p.name] = int(np.argmax(x[sl])) if p.is_categorical else p.from_unit(x[sl.start])
        return flat

    def decode(self, x: Sequence[float]) -> dict[str, Any]:
        return self.from_flat(self.decode_flat(x))

    # -------------------------------------------------------------- export to Ray
    def to_ray(self) -> dict[str, Any]:
        """The equivalent Ray Tune ``param_space`` (for Ray's own searchers)."""
        from ray import tune

        def build(node: _Node) -> Any:
            if isinstance(node, _Dict):
                return {k: build(c) for k, c in node.children}
            if isinstance(node, _Const):
                return copy.deepcopy(node.value)
            p = self._by_name[node.name]
            if isinstance(node, _Choice):
                return tune.choice([build(o) for o in node.options])
            if p.kind == "int":
                if p.step == 1:
                    return (tune.lograndint if p.log else tune.randint)(int(p.low), int(p.high) + 1)
                if p.low % p.grid_step:
                    raise SpaceError(p.name, "Ray's qrandint needs low to be a multiple of step")
                return (tune.qlograndint if p.log else tune.qrandint)(int(p.low), int(p.high), int(p.grid_step))
            if p.step is not None:
                if abs(p.low / p.step - round(p.low / p.step)) > 1e-9:
                    raise SpaceError(p.name, "Ray's quniform needs low to be a multiple of step")
                return (tune.qloguniform if p.log else tune.quniform)(p.low, p.high, p.step)
            return (tune.loguniform if p.log else tune.uniform)(p.low, p.high)

        space: dict[str, Any] = build(self._root)  # the root is a dict
        return space

    def to_tree(self) -> dict[str, Any]:
        """The space as a tree of :class:`Float`/:class:`Int`/:class:`Categorical`/constants."""

        def build(node: _Node) -> Any:
            if isinstance(node, _Dict):
                return {k: build(c) for k, c in node.children}
            if isinstance(node, _Const):
                return copy.deepcopy(node.value)
            p = self._by_name[node.name]
            if isinstance(node, _Choice):
                return Categorical([build(o) for o in node.options])
            if p.kind == "int":
                return Int(int(p.low), int(p.high), p.log, int(p.grid_step))
            return Float(p.low, p.high, p.log, p.step)

        tree: dict[str, Any] = build(self._root)  # the root is a dict
        return tree

    def __repr__(self) -> str:
        return f"SearchSpace({', '.join(p.name for p in self.params)})"


# --------------------------------------------------------------------- front ends


@dataclass(frozen=True)
class _Spec:
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()


def _join(path: str, key: str) -> str:
    return f"{path}/{key}" if path else key


def holds_params(node: Any) -> bool:
    """Whether ``node`` is, or contains, a parameter (not just constants)."""
    if _as_param_spec(node, "?", validate=False) is not None:
        return True
    if isinstance(node, SearchSpace):
        return True
    if isinstance(node, Mapping):
        return any(holds_params(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(holds_params(v) for v in node)
    return False


def _holds_leaf(node: _Node) -> bool:
    if isinstance(node, (_Leaf, _Choice)):
        return True
    if isinstance(node, _Dict):
        return any(_holds_leaf(c) for _, c in node.children)
    return False


def _matches(option: _Node, value: Any) -> bool:
    """Cheap structural test of whether a config value can come from ``option``."""
    if isinstance(option, _Const):
        return _same(option.value, value)
    if isinstance(option, _Dict):
        if not isinstance(value, Mapping) or set(k for k, _ in option.children) != set(value):
            return False
        return all(_matches(c, value[k]) for k, c in option.children if isinstance(c, _Const))
    return True


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    try:
        return bool(a == b)
    except Exception:  # e.g. numpy arrays: ambiguous truth value
        return False


def _as_param_spec(node: Any, name: str, validate: bool = True) -> _Spec | None:
    """Recognise one parameter in any front-end form; None for dicts and constants."""
    if isinstance(node, Float):
        spec = _Spec("float", node.low, node.high, node.log, node.step)
    elif isinstance(node, Int):
        spec = _Spec("int", node.low, node.high, node.log, node.step)
    elif isinstance(node, Categorical):
        spec = _Spec("categorical", choices=tuple(node.choices))
    elif _is_ray_domain(node):
        spec = _from_ray_domain(node, name)
    elif isinstance(node, Mapping) and _is_yaml_param(node):
        spec = _from_yaml(node, name)
    elif isinstance(node, Mapping) and "grid_search" in node and len(node) == 1:
        raise SpaceError(name, "grid_search is not supported by mftune searchers; use tune.choice")
    else:
        return None
    return _validated(spec, name) if validate else spec


def _is_yaml_param(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    if kind in _PARAM_TYPES:
        return True
    return isinstance(kind, str) and bool({"low", "high", "choices"} & set(node))


def _from_yaml(node: Mapping[str, Any], name: str) -> _Spec:
    kind = node.get("type")
    if kind not in _PARAM_TYPES:
        raise SpaceError(name, f"unknown type {kind!r}; allowed: {', '.join(_PARAM_TYPES)}")
    unknown = set(node) - _YAML_KEYS[kind]
    if unknown:
        raise SpaceError(name, f"unknown key(s) {sorted(unknown)} for type {kind}; allowed: {sorted(_YAML_KEYS[kind])}")
    if kind == "categorical":
        choices = node.get("choices")
        if not isinstance(choices, (list, tuple)):
            raise SpaceError(name, "categorical needs 'choices': a non-empty list")
        return _Spec("categorical", choices=tuple(choices))
    for key in ("low", "high"):
        if key not in node:
            raise SpaceError(name, f"{kind} needs '{key}'")
    log = node.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(name, f"'log' must be true or false, got {log!r}")
    low = _number(node["low"], name, "low")
    high = _number(node["high"], name, "high")
    step = _number(node["step"], name, "step") if node.get("step") is not None else None
    if kind == "int":
        return _Spec("int", low, high, log, 1 if step is None else step)
    return _Spec("float", low, high, log, step)


def _number(value: Any, name: str, key: str) -> float:
    # YAML 1.1 reads "1e-4" (no dot) as a string; accept numeric strings.
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpaceError(name, f"'{key}' must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpaceError(name, f"'{key}' must be a number, got {value!r}")
    return cast(float, value)  # an int, float or numpy number, kept as given


def _validated(spec: _Spec, name: str) -> _Spec:
    if spec.kind == "categorical":
        if len(spec.choices) == 0:
            raise SpaceError(name, "categorical needs at least one choice")
        return spec
    low, high, step = spec.low, spec.high, spec.step
    for key, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise SpaceError(name, f"'{key}' must be a finite number, got {v!r}")
    if spec.kind == "int":
        assert step is not None  # every front end gives an int parameter a step (1 by default)
        for key, v in (("low", low), ("high", high), ("step", step)):
            if float(v) != int(v):
                raise SpaceError(name, f"int '{key}' must be a whole number, got {v!r}")
        low, high, step = int(low), int(high), int(step)
        if step < 1:
            raise SpaceError(name, f"'step' must be >= 1, got {step}")
        if low > high:
            raise SpaceError(name, f"low ({low}) must be <= high ({high})")
        high = low + ((high - low) // step) * step
    else:
        low, high = float(low), float(high)
        if not low < high:
            raise SpaceError(name, f"low ({low}) must be < high ({high})")
        if step is not None:
            step = float(step)
            if not (step > 0 and step <= high - low):
                raise SpaceError(name, f"'step' must be in (0, high - low], got {step}")
            high = _clean_float(low + math.floor((high - low) / step + 1e-9) * step, step)
    if spec.log and low <= 0:
        raise SpaceError(name, f"log scale needs low > 0, got {low}")
    return _Spec(spec.kind, low, high, spec.log, step)


def _is_ray_domain(node: Any) -> bool:
    cls = type(node)
    return cls.__module__ == "ray.tune.search.sample" and any(b.__name__ == "Domain" for b in cls.__mro__)


def _from_ray_domain(domain: Any, name: str) -> _Spec:
    from ray.tune.search import sample as s

    sampler = domain.get_sampler()
    q = None
    if isinstance(sampler, s.Quantized):
        q, sampler = sampler.q, sampler.get_sampler()  # type: ignore[no-untyped-call]  # unannotated in Ray
    if isinstance(domain, s.Categorical):
        if sampler is not None and isinstance(sampler, s.Grid):
            raise SpaceError(name, "grid_search is not supported by mftune searchers; use tune.choice")
        return _Spec("categorical", choices=tuple(domain.categories))
    if isinstance(domain, s.Function):
        raise SpaceError(name, "tune.sample_from cannot be modelled; use uniform/loguniform/randint/choice")
    if isinstance(sampler, s.Normal):
        raise SpaceError(name, "tune.randn/qrandn is unbounded; use uniform or loguniform with bounds")
    if not isinstance(sampler, (s.Uniform, s.LogUniform)):
        raise SpaceError(name, f"unsupported Ray sampler {type(sampler).__name__}")
    log = isinstance(sampler, s.LogUniform)
    low, high = domain.lower, domain.upper
    if isinstance(domain, s.Integer):
        if q is None or q == 1:
            return _Spec("int", int(low), int(high) - 1, log, 1)  # Ray's upper is exclusive
        q = int(q)
        return _Spec("int", math.ceil(low / q) * q, math.floor(high / q) * q, log, q)
    if q is not None:
        low, high = math.ceil(low / q - 1e-9) * q, math.floor(high / q + 1e-9) * q
        return _Spec("float", _clean_float(low, q), _clean_float(high, q), log, float(q))
    return _Spec("float", float(low), float(high), log, None)
