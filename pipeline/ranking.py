"""A stage's trials as outcomes, and the rule that picks the configurations it hands on.

Ranking follows Hyperband's incumbent rule: results at a higher fidelity (more epochs
reached) outrank results at a lower one, then the metric decides. Under FIFO every
trial reaches the stage's epochs and only the metric matters; under ASHA the trials
that survived every rung come first, whatever a trial stopped early happened to score.
A configuration evaluated twice is handed on once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.events import finite_or_none
from pipeline.state import Candidate


@dataclass
class TrialOutcome:
    trial_id: str
    config: dict[str, Any]
    value: float | None  # last reported metric; None: failed or never finite
    iterations: int
    error: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)  # the last result
    recovered: bool = False  # known only from the events log (see merge_completed)
    checkpoint: str | None = None  # directory of the trial's last checkpoint


def outcomes_from_grid(grid: Any, metric: str) -> list[TrialOutcome]:
    out = []
    for result in grid:
        metrics = dict(result.metrics or {})
        trial_id = metrics.get("trial_id") or _trial_id_from_path(result.path)
        out.append(
            TrialOutcome(
                trial_id=str(trial_id),
                config=dict(result.config or {}),
                value=None if result.error else finite_or_none(metrics.get(metric)),
                iterations=int(metrics.get("training_iteration") or 0),
                error=result.error is not None,
                metrics=metrics,
                checkpoint=result.checkpoint.path if result.checkpoint else None,
            )
        )
    return out


def merge_completed(
    outcomes: list[TrialOutcome], events: Iterable[dict[str, Any]], stage: str, metric: str
) -> list[TrialOutcome]:
    """Put back completed results that Ray's restored state lost or ran over.

    A driver killed between a trial's completion and Ray's next experiment snapshot
    restores either without that trial, or with it still unfinished, and Ray runs it
    again, possibly from an older checkpoint or from scratch and under a scheduler that
    stops it sooner than the first time. The events log holds the first completion
    either way. A trial Ray does not hold is added from the log (``recovered``); one whose
    logged completion went further (more iterations), or that only the log saw end with a
    value, takes the logged result, without the checkpoint, which belongs to the later run.
    """
    logged: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("stage") != stage or event.get("e") != "complete":
            continue
        first = logged.get(event["trial"])
        if first is None or _iterations(event) > _iterations(first):
            logged[event["trial"]] = event  # the furthest completion; on a tie the first
    merged = []
    for o in outcomes:
        event = logged.pop(o.trial_id, None)
        if (
            event is not None
            and finite_or_none(event.get("value")) is not None
            and (o.value is None or _iterations(event) > o.iterations)
        ):
            o = _logged_outcome(event, metric, config=o.config, recovered=False)
        merged.append(o)
    merged += [
        _logged_outcome(event, metric, config=event.get("config") or {}, recovered=True) for event in logged.values()
    ]
    return merged


def _iterations(event: dict[str, Any]) -> int:
    return int(event.get("iter") or 0)


def _logged_outcome(event: dict[str, Any], metric: str, config: dict[str, Any], recovered: bool) -> TrialOutcome:
    """A trial's outcome as the events log recorded its completion: its last result, no checkpoint.

    Logs written before the last result rode along with ``complete`` give the metric only.
    """
    metrics = dict(event.get("metrics") or {})
    metrics[metric] = event.get("value")
    return TrialOutcome(
        trial_id=event["trial"],
        config=config,
        value=event.get("value"),
        iterations=_iterations(event),
        metrics=metrics,
        recovered=recovered,
    )


def config_key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def rank(outcomes: Iterable[TrialOutcome], mode: str) -> list[TrialOutcome]:
    """Finite outcomes, best first, one per distinct configuration."""
    sign = -1.0 if mode == "max" else 1.0
    finite = [o for o in outcomes if o.value is not None and math.isfinite(o.value)]
    finite.sort(key=lambda o: (-o.iterations, sign * o.value))
    seen, ranked = set(), []
    for o in finite:
        key = config_key(o.config)
        if key not in seen:
            seen.add(key)
            ranked.append(o)
    return ranked


def top_k(outcomes: Iterable[TrialOutcome], mode: str, k: int) -> list[Candidate]:
    return [
        Candidate(
            config=o.config, value=float(o.value), trial_id=o.trial_id, iterations=o.iterations, checkpoint=o.checkpoint
        )
        for o in rank(outcomes, mode)[:k]
    ]


def observations(outcomes: Iterable[TrialOutcome]) -> list[list[Any]]:
    """(config, last value) of every trial with a finite result, for a warm start."""
    return [[o.config, float(o.value)] for o in outcomes if o.value is not None]


def _trial_id_from_path(path: str | None) -> str:
    return str(path).rstrip("/").rsplit("/", 1)[-1] if path else "?"
