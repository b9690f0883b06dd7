"""The shape of a pipeline: fidelity stages and the final cross-validation, validated.

A stage is one Tuner at one fidelity level with its own searcher, scheduler and budget;
it hands its ``top_k`` configurations to the next stage (evaluated there first) or, for
the last stage, to cross-validation. Everything is checked here, before Ray starts, and
an error names the YAML path of the key (``stages[1].budget.trials``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pipeline import fields
from pipeline.errors import UsageError
from pipeline.fidelity import BUILT_IN_KNOBS
from pipeline.fidelity_correlation import DEFAULT_THRESHOLD, auto_top_k
from pipeline.layout import RESERVED, reserved
from pipeline.registry import SCHEDULERS, SEARCHERS, SearchContext, stage_searcher
from pipeline.tasks import Fidelity, Task, TaskOptions
from searchers.space import SearchSpace

STAGE_KEYS = (
    "name",
    "data_fraction",
    "resolution",
    "max_epochs",
    "searcher",
    "scheduler",
    "budget",
    "top_k",
    "warm_start",
    "knobs",
    "bridge",
    "adaptive",
    "adaptive_threshold",
)
BUDGET_KEYS = ("trials", "epochs", "time_s")
CV_KEYS = ("folds", "top_k", "max_epochs", "data_fraction", "resolution", "knobs")
_KNOB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Budget:
    """When a stage stops: after ``trials`` trials, ``epochs_budget`` epochs summed over its
    trials, or ``time_s`` seconds of running (whichever comes first; None: no limit).
    In YAML the summed budget is spelt ``budget: {epochs: N}``; on the command line
    ``--epochs-budget N``."""

    trials: int | None = None
    epochs_budget: int | None = None
    time_s: float | None = None


@dataclass(frozen=True)
class StageSpec:
    name: str
    fidelity: Fidelity
    searcher: str
    scheduler: str
    budget: Budget
    top_k: int
    warm_start: bool = False  # give the searcher the previous stage's observations
    #: extra configurations from below the top-k handed on to measure the stage's rank
    #: correlation with the next (pipeline.fidelity_correlation); 0 on the last stage
    bridge: int = 0
    auto_top_k: bool = False  # `top_k: auto`: top_k is then the default before any correlation is known
    adaptive: bool = False  # probe after half the trials; stop when the ranking does not predict the next
    adaptive_threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True)
class CVSpec:
    folds: int
    top_k: int
    fidelity: Fidelity


def stage_to_yaml(stage: StageSpec) -> dict[str, Any]:
    """The YAML form that :func:`parse_stages` reads back into the same spec."""
    budget = {
        k: v
        for k, v in (
            ("trials", stage.budget.trials),
            ("epochs", stage.budget.epochs_budget),
            ("time_s", stage.budget.time_s),
        )
        if v is not None
    }
    out = {
        "name": stage.name,
        "data_fraction": stage.fidelity.data_fraction,
        "max_epochs": stage.fidelity.max_epochs,
        "searcher": stage.searcher,
        "scheduler": stage.scheduler,
        "budget": budget,
        "top_k": "auto" if stage.auto_top_k else stage.top_k,
        "warm_start": stage.warm_start,
        "bridge": stage.bridge,
    }
    if stage.adaptive:
        out.update(adaptive=True, adaptive_threshold=stage.adaptive_threshold)
    if stage.fidelity.resolution is not None:
        out["resolution"] = stage.fidelity.resolution
    if stage.fidelity.knobs:
        out["knobs"] = dict(stage.fidelity.knobs)
    return out


def cv_to_yaml(cv: CVSpec) -> dict[str, Any]:
    out = {
        "folds": cv.folds,
        "top_k": cv.top_k,
        "max_epochs": cv.fidelity.max_epochs,
        "data_fraction": cv.fidelity.data_fraction,
    }
    if cv.fidelity.resolution is not None:
        out["resolution"] = cv.fidelity.resolution
    if cv.fidelity.knobs:
        out["knobs"] = dict(cv.fidelity.knobs)
    return out


def parse_stages(
    raw_stages: Any, raw_cv: Any, task: Task | None, options: TaskOptions, space: SearchSpace, check_data: bool
) -> tuple[tuple[StageSpec, ...], CVSpec | None]:
    if not isinstance(raw_stages, list) or not raw_stages:
        raise UsageError("stages", f"must be a non-empty list of stages (mappings with {', '.join(STAGE_KEYS)})")
    cv_raw = fields.mapping({"cv": raw_cv}, "cv", CV_KEYS)
    cv_top_k = None
    if cv_raw is not None:
        cv_top_k = fields.number(cv_raw, "top_k", None, int, lambda v: v >= 1, "an integer >= 1", "cv")
        if cv_top_k is None:
            raise UsageError("cv.top_k", "required: how many of the last stage's best configurations to cross-validate")
    stages: list[StageSpec] = []
    for i, item in enumerate(raw_stages):
        where = f"stages[{i}]"
        if not isinstance(item, Mapping):
            raise UsageError(where, f"must be a mapping with {', '.join(STAGE_KEYS)}, got {type(item).__name__}")
        fields.check_keys(item, STAGE_KEYS, where)
        last = i == len(raw_stages) - 1
        stages.append(_stage(item, where, i, last, cv_top_k, task, options, check_data))
    for i, stage in enumerate(stages[:-1]):
        if stage.auto_top_k:  # the stated default before any correlation is known
            stages[i] = replace(
                stage, top_k=auto_top_k(None, stages[i + 1].budget.trials, stage.budget.trials or 10**9)
            )
    for i, stage in enumerate(stages):
        check_searcher(stage, space, f"stages[{i}]")
    _check_chain(stages, space)
    cv = _cv(cv_raw, stages[-1], task, options, check_data) if cv_raw is not None else None
    return tuple(stages), cv


def fidelity_from(
    raw: Mapping[str, Any],
    where: str,
    task: Task | None,
    default_epochs: int,
    options: TaskOptions,
    check_data: bool,
    inherited_knobs: Mapping[str, Any] | None = None,
) -> Fidelity:
    """A stage's (or CV's) fidelity level. The same knobs for built-in tasks and custom
    trainables: a custom trainable reads them through ``pipeline.trial_context()``."""
    fidelity = Fidelity(
        data_fraction=fields.number(
            raw, "data_fraction", 1.0, float, lambda v: 0 < v <= 1, "a number in (0, 1]", where
        ),
        resolution=fields.number(raw, "resolution", None, int, lambda v: v >= 1, "an integer >= 1", where),
        max_epochs=fields.number(raw, "max_epochs", default_epochs, int, lambda v: v >= 1, "an integer >= 1", where),
        knobs=tuple(sorted({**(inherited_knobs or {}), **knobs_from(raw, where)}.items())),
    )
    if task is not None and check_data:
        try:
            task.check(options, fidelity)
        except UsageError as err:
            if err.field in ("data_fraction", "resolution", "max_epochs"):
                raise UsageError(fields.qualify(where, err.field), err.message) from None
            raise
    return fidelity


def knobs_from(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The user's own fidelity knobs (``knobs: {n_estimators: 200, max_seq_len: 128}``):
    identifiers with a number, a string or true/false (what a trainable can read back)."""
    value = raw.get("knobs")
    name = fields.qualify(where, "knobs")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError(name, f"must be a mapping of knob names to values, got {type(value).__name__}")
    out = {}
    for key, v in value.items():
        at = f"{name}.{key}"
        if not isinstance(key, str) or not _KNOB_NAME.match(key):
            raise UsageError(at, "a knob name must be letters, digits and '_', not starting with a digit")
        if key in BUILT_IN_KNOBS:
            raise UsageError(at, f"is a built-in fidelity setting: give it as {fields.qualify(where, key)}")
        if not isinstance(v, (bool, int, float, str)):
            raise UsageError(at, f"must be a number, a string or true/false, got {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise UsageError(at, f"must be a finite number, got {v}")
        out[key] = v
    return out


def _stage(raw, where, index, last, cv_top_k, task, options, check_data) -> StageSpec:
    name = fields.text(raw, "name", f"stage-{index + 1}", where)
    if not _NAME.match(name):
        raise UsageError(f"{where}.name", f"must be letters, digits, '_', '.', '-', got {name!r}")
    why = reserved(name)
    if why:
        raise UsageError(f"{where}.name", f"{why}; reserved: {', '.join(r for r in RESERVED if _NAME.match(r))}")
    fidelity = fidelity_from(raw, where, task, task.default_max_epochs if task else 10, options, check_data)
    budget_raw = fields.mapping(raw, "budget", BUDGET_KEYS, where, required=True)
    budget = Budget(
        trials=fields.number(budget_raw, "trials", None, int, lambda v: v >= 1, "an integer >= 1", f"{where}.budget"),
        epochs_budget=fields.number(
            budget_raw, "epochs", None, int, lambda v: v >= 1, "an integer >= 1", f"{where}.budget"
        ),
        time_s=fields.number(
            budget_raw, "time_s", None, float, lambda v: v > 0, "a number of seconds > 0", f"{where}.budget"
        ),
    )
    if budget == Budget():
        raise UsageError(f"{where}.budget", "needs at least one of trials, epochs, time_s")
    auto = raw.get("top_k") == "auto"
    if auto and last:
        raise UsageError(
            f"{where}.top_k", "auto applies to a stage followed by another; the last stage hands on cv.top_k (or 1)"
        )
    allowed = "an integer >= 1" if last else "an integer >= 1 or auto"
    top_k = 1 if auto else fields.number(raw, "top_k", None, int, lambda v: v >= 1, allowed, where)
    if last and cv_top_k is not None:
        if top_k is not None and top_k != cv_top_k:
            raise UsageError(
                f"{where}.top_k",
                f"the last stage hands cv.top_k ({cv_top_k}) finalists to "
                f"cross-validation; drop top_k here or set it to {cv_top_k}",
            )
        top_k = cv_top_k
    elif top_k is None:
        if not last:
            raise UsageError(f"{where}.top_k", "required: how many configurations this stage passes to the next")
        top_k = 1
    if budget.trials is not None and top_k > budget.trials:
        field = "cv.top_k" if last and cv_top_k is not None else f"{where}.top_k"
        raise UsageError(field, f"({top_k}) cannot exceed {where}.budget.trials ({budget.trials})")
    return StageSpec(
        name=name,
        fidelity=fidelity,
        **algorithms(raw, where),
        budget=budget,
        top_k=top_k,
        warm_start=fields.flag(raw, "warm_start", False, where),
        auto_top_k=auto,
        **_measuring(raw, where, last, budget),
    )


#: bridge configurations a stage hands on when its YAML does not say (0 on the last stage)
DEFAULT_BRIDGE = 2


def _measuring(raw: Mapping[str, Any], where: str, last: bool, budget: Budget) -> dict[str, Any]:
    """``bridge``, ``adaptive`` and ``adaptive_threshold``: they concern the hand-off to a next stage."""
    bridge = fields.number(raw, "bridge", None, int, lambda v: 0 <= v <= 100, "an integer in [0, 100]", where)
    adaptive = fields.flag(raw, "adaptive", False, where)
    threshold = fields.number(
        raw, "adaptive_threshold", None, float, lambda v: -1 < v <= 1, "a number in (-1, 1]", where
    )
    if last:
        for key, value in (
            ("bridge", bridge or None),
            ("adaptive", adaptive or None),
            ("adaptive_threshold", threshold),
        ):
            if value is not None:
                raise UsageError(f"{where}.{key}", "applies to a stage followed by another; this is the last stage")
    if threshold is not None and not adaptive:
        raise UsageError(f"{where}.adaptive_threshold", "applies with adaptive: true only")
    if adaptive and (budget.trials is None or budget.trials < 4):
        raise UsageError(
            f"{where}.adaptive",
            "needs budget.trials >= 4: the stage is probed after half of its trials (docs/pipeline.md)",
        )
    return {
        "bridge": 0 if last else (DEFAULT_BRIDGE if bridge is None else bridge),
        "adaptive": adaptive,
        "adaptive_threshold": DEFAULT_THRESHOLD if threshold is None else threshold,
    }


def algorithms(raw: Mapping[str, Any], where: str = "") -> dict[str, str]:
    """A stage's searcher and scheduler by name; a paired scheduler (bohb) brings its searcher."""
    scheduler = fields.choice(raw, "scheduler", "fifo", tuple(SCHEDULERS), where)
    searcher = raw.get("searcher")
    if searcher is not None:
        searcher = fields.choice(raw, "searcher", "auto", tuple(SEARCHERS), where)
    try:
        searcher = stage_searcher(searcher, scheduler)
    except ValueError as err:
        raise UsageError(fields.qualify(where, "searcher"), str(err)) from None
    return {"searcher": searcher, "scheduler": scheduler}


def _check_chain(stages: list[StageSpec], space: SearchSpace) -> None:
    names = [s.name for s in stages]
    for i, stage in enumerate(stages):
        where = f"stages[{i}]"
        if names.index(stage.name) != i:
            raise UsageError(
                f"{where}.name", f"{stage.name!r} is already the name of stages[{names.index(stage.name)}]"
            )
        if i == 0:
            if stage.warm_start:
                raise UsageError(f"{where}.warm_start", "the first stage has no previous stage to start from")
            continue
        prev = stages[i - 1]
        if stage.budget.trials is not None and stage.budget.trials < prev.top_k:
            raise UsageError(
                f"{where}.budget.trials",
                f"({stage.budget.trials}) must be >= stages[{i - 1}].top_k "
                f"({prev.top_k}): those configurations are evaluated first",
            )
        if stage.searcher == "hyperopt" and _has_dict_choices(space):
            raise UsageError(
                f"{where}.searcher",
                "hyperopt cannot start from the previous stage's configurations "
                "in a space with a choice of dicts (Ray's HyperOptSearch hangs on "
                "such points_to_evaluate); use another searcher here or a flat space",
            )
        if stage.warm_start and not _can_warm_start(check_searcher(stage, space, where)):
            raise UsageError(
                f"{where}.warm_start",
                f"searcher {stage.searcher} cannot take earlier observations "
                "(it has no add_evaluated_point); set warm_start: false",
            )


def _cv(raw, last: StageSpec, task, options, check_data) -> CVSpec:
    folds = fields.number(raw, "folds", None, int, lambda v: 2 <= v <= 50, "an integer in [2, 50]", "cv")
    if folds is None:
        raise UsageError("cv.folds", "required: the number of folds (e.g. 5)")
    if check_data and task is not None:
        task.check_folds(options, folds)
    fidelity = fidelity_from(
        raw, "cv", task, last.fidelity.max_epochs, options, check_data, inherited_knobs=dict(last.fidelity.knobs)
    )
    return CVSpec(folds=folds, top_k=last.top_k, fidelity=fidelity)


def _has_dict_choices(space: SearchSpace) -> bool:
    """Whether a categorical parameter has a dict among its options (a conditional branch)."""
    return any(p.parent is not None for p in space.params) or any(
        isinstance(c, dict) for p in space.params if p.is_categorical for c in p.choices
    )


def check_searcher(stage: StageSpec, space: SearchSpace, where: str) -> object:
    """Build the stage's searcher once, so a space it cannot take fails now, not in Ray.

    (Ray's HyperOptSearch, for one, rejects conditional branches that share a
    parameter name, such as ``lr`` under both ``sgd`` and ``adam``.)
    """
    ctx = SearchContext(space=space, metric="m", mode="max", seed=0, max_resource=stage.fidelity.max_epochs)
    try:
        return SEARCHERS[stage.searcher](ctx)
    except ImportError as err:  # a baseline's library is missing: say which extra has it
        raise UsageError(fields.qualify(where, "searcher"), str(err).splitlines()[0]) from None
    except Exception as err:  # each library raises its own types
        detail = str(err).splitlines()[0] if str(err) else ""
        raise UsageError(
            fields.qualify(where, "searcher"),
            f"{stage.searcher} cannot search this space: {type(err).__name__} {detail}".rstrip(),
        ) from None


def _can_warm_start(searcher: object) -> bool:
    from ray.tune.search import Searcher

    return type(searcher).add_evaluated_point is not Searcher.add_evaluated_point
