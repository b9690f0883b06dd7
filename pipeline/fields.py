"""Validators for one setting each: a value of the right kind, or a UsageError naming it.

``where`` is the path of the enclosing YAML mapping (e.g. ``stages[1].budget``), so an
error inside a stage names exactly the key to fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.errors import UsageError


def qualify(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def text(raw: Mapping[str, Any], key: str, default: str | None, where: str = "") -> str | None:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise UsageError(qualify(where, key), f"must be a non-empty string, got {value!r}")
    return value.strip()


def choice(raw: Mapping[str, Any], key: str, default: str, allowed: tuple[str, ...], where: str = "") -> str:
    value = text(raw, key, default, where)
    if value not in allowed:
        raise UsageError(qualify(where, key), f"unknown {key} {value!r}; allowed: {', '.join(allowed)}")
    return value


def flag(raw: Mapping[str, Any], key: str, default: bool, where: str = "") -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise UsageError(qualify(where, key), f"must be true or false, got {value!r}")
    return value


def number(
    raw: Mapping[str, Any], key: str, default: Any, kind: type, ok: Callable[[Any], bool], allowed: str, where: str = ""
) -> Any:
    """An int or float (strings from flags are parsed) that satisfies ``ok``."""
    value = raw.get(key)
    if value is None:
        return default
    name = qualify(where, key)
    if isinstance(value, bool):
        raise UsageError(name, f"must be {allowed}, got {value!r}")
    try:
        parsed = kind(value) if not isinstance(value, str) else kind(float(value) if kind is float else value)
    except (TypeError, ValueError):
        raise UsageError(name, f"must be {allowed}, got {value!r}") from None
    if kind is int and not isinstance(value, str) and float(value) != parsed:
        raise UsageError(name, f"must be {allowed}, got {value!r}")
    if (kind is float and not math.isfinite(parsed)) or not ok(parsed):
        raise UsageError(name, f"must be {allowed}, got {value!r}")
    return parsed


def mapping(
    raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str = "", required: bool = False
) -> dict[str, Any] | None:
    """A nested mapping whose keys are all in ``allowed``."""
    value = raw.get(key)
    name = qualify(where, key)
    if value is None:
        if required:
            raise UsageError(name, f"required: a mapping with {', '.join(allowed)}")
        return None
    if not isinstance(value, Mapping):
        raise UsageError(name, f"must be a mapping with {', '.join(allowed)}, got {type(value).__name__}")
    check_keys(value, allowed, name)
    return dict(value)


def check_keys(value: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in set(value) - set(allowed))
    if unknown:
        raise UsageError(qualify(where, unknown[0]), f"unknown key; allowed: {', '.join(allowed)}")
