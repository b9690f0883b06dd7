"""Data size as the resource: for models without epochs, retrained from scratch per rung.

A gradient-boosted tree or a kernel SVM has no epochs to stop between; its cheap
approximation is the same model fitted on fewer rows. :func:`data_size_trainable`
turns ``fit(config, size) -> metrics`` into a Ray function trainable that fits once per
level of the scheduler (smallest first), reports the level under ``resource_attr`` with
a checkpoint holding only *which* levels are done, and on resume (after a PAUSE, a
retry or a restore) continues with the next level instead of starting over.

Pair it with the scheduler's levels and resource attribute::

    scheduler = ASHAScheduler(resource_attr="rows", min_resource=100, max_resource=2700,
                              rule="promotion")
    trainable = data_size_trainable(fit, scheduler.resource_levels, resource_attr="rows")

A trial in a later bracket (brackets > 1) still fits the smaller levels first; each
costs at most 1/eta of the next, so this wastes little.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_STATE = "data_size.json"


def data_size_trainable(
    fit: Callable[[dict[str, Any], float], Mapping[str, Any]], sizes: Sequence[float], resource_attr: str = "data_size"
) -> Callable[[dict[str, Any]], None]:
    """A function trainable that calls ``fit(config, size)`` for each size in turn."""
    levels = [float(s) if not isinstance(s, int) else s for s in sizes]
    if not levels or any(not math.isfinite(s) or s <= 0 for s in levels):
        raise ValueError(f"sizes must be positive finite numbers, got {list(sizes)!r}")
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise ValueError(f"sizes must increase strictly, got {list(sizes)!r}")
    if not isinstance(resource_attr, str) or not resource_attr:
        raise ValueError(f"resource_attr must be a non-empty string, got {resource_attr!r}")

    def trainable(config: dict[str, Any]) -> None:
        from ray import tune

        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as d, open(os.path.join(d, _STATE)) as f:
                start = int(json.load(f)["levels_done"])
        for i in range(start, len(levels)):
            metrics = dict(fit(config, levels[i]))
            with tempfile.TemporaryDirectory(prefix="mftune-size-") as d:
                with open(os.path.join(d, _STATE), "w") as f:
                    json.dump({"levels_done": i + 1}, f)
                tune.report({**metrics, resource_attr: levels[i]}, checkpoint=tune.Checkpoint.from_directory(d))

    trainable.__name__ = trainable.__qualname__ = getattr(fit, "__name__", "fit") + "_by_size"
    return trainable
