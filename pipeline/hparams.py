"""Hyperparameters the built-in tasks understand, with defaults and allowed values.

One table serves two moments: the driver checks a search space against it before any
trial starts (so a typo such as ``learning_rate`` is an error, not a silently ignored
key), and each trial reads its configuration through it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

OPTIMIZERS = ("sgd", "adam", "adamw")
#: keys every torch model reads besides its own (the optimizer's and the batch size)
MLP_SHARED_KEYS = ("optimizer", "lr", "momentum", "beta1", "weight_decay", "batch_size")
#: keys a conditional ``optimizer`` branch (a dict) may hold
OPTIMIZER_KEYS = ("name", "lr", "momentum", "beta1", "weight_decay")


class HyperparameterError(ValueError):
    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True)
class _Rule:
    kind: type
    default: Any
    ok: Callable[[Any], bool]
    allowed: str


_RULES: dict[str, _Rule] = {
    "lr": _Rule(float, 1e-3, lambda v: v > 0, "a number > 0"),
    "momentum": _Rule(float, 0.9, lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta1": _Rule(float, 0.9, lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "weight_decay": _Rule(float, 0.0, lambda v: v >= 0, "a number >= 0"),
    "batch_size": _Rule(int, 64, lambda v: v >= 1, "an integer >= 1"),
    "dropout": _Rule(float, 0.0, lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "hidden": _Rule(int, 64, lambda v: v >= 1, "an integer >= 1"),
    "channels": _Rule(int, 16, lambda v: v >= 1, "an integer >= 1"),
    "layers": _Rule(int, 2, lambda v: 1 <= v <= 8, "an integer in [1, 8]"),
}


def _coerce(key: str, value: Any) -> Any:
    rule = _RULES[key]
    if isinstance(value, bool):
        raise HyperparameterError(key, f"must be {rule.allowed}, got {value!r}")
    try:
        v = rule.kind(value)
    except (TypeError, ValueError):
        raise HyperparameterError(key, f"must be {rule.allowed}, got {value!r}") from None
    if rule.kind is int and float(value) != v:
        raise HyperparameterError(key, f"must be {rule.allowed}, got {value!r}")
    if (rule.kind is float and not math.isfinite(v)) or not rule.ok(v):
        raise HyperparameterError(key, f"must be {rule.allowed}, got {value!r}")
    return v


def parse(config: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Defaults filled in, every value checked; ``keys`` are the task's model knobs.

    ``optimizer`` is a name or a dict ``{name, lr, momentum, beta1, weight_decay}`` (a
    conditional branch); its entries override top-level ones.
    """
    allowed = set(keys) | {"optimizer", "lr", "momentum", "beta1", "weight_decay", "batch_size"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise HyperparameterError(unknown[0], f"unknown hyperparameter; allowed: {', '.join(sorted(allowed))}")
    merged = dict(config)
    opt = merged.pop("optimizer", "adam")
    if isinstance(opt, Mapping):
        bad = sorted(set(opt) - set(OPTIMIZER_KEYS))
        if bad:
            raise HyperparameterError(f"optimizer/{bad[0]}", f"unknown key; allowed: {', '.join(OPTIMIZER_KEYS)}")
        if "name" not in opt:
            raise HyperparameterError("optimizer", f"a branch needs 'name' ({', '.join(OPTIMIZERS)})")
        merged.update({k: v for k, v in opt.items() if k != "name"})
        opt = opt["name"]
    if opt not in OPTIMIZERS:
        raise HyperparameterError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {opt!r}")
    out = {"optimizer": opt}
    for key in sorted(allowed - {"optimizer"}):
        out[key] = _coerce(key, merged[key]) if key in merged else _RULES[key].default
    return out


def make_optimizer(hp: Mapping[str, Any], params) -> torch.optim.Optimizer:
    if hp["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=hp["lr"], momentum=hp["momentum"], weight_decay=hp["weight_decay"])
    cls = torch.optim.Adam if hp["optimizer"] == "adam" else torch.optim.AdamW
    return cls(params, lr=hp["lr"], betas=(hp["beta1"], 0.999), weight_decay=hp["weight_decay"])
