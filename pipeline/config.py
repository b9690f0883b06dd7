"""Experiment configuration: YAML file and flags merged, then validated in full.

Everything a user can get wrong is checked here, before Ray starts: an unknown key or
value, a malformed YAML file, an impossible search space, a hyperparameter the task
does not have, a missing data file or target column, a stage chain that cannot work.
Each problem is one :class:`UsageError` naming the field and what is allowed.

An experiment is a pipeline of stages (``pipeline.stages_config``). It comes from
``stages``/``cv`` in the YAML file; or, when the one-stage settings (``--num-samples``,
``--max-epochs``, ...) are given, it is that one stage; or else it is the task's default
pipeline (``pipeline.defaults``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pipeline import fields, hparams, objectives
from pipeline.defaults import PIPELINES
from pipeline.errors import UsageError
from pipeline.refit import setting as refit_setting
from pipeline.stages_config import (
    Budget,
    CVSpec,
    StageSpec,
    algorithms,
    check_searcher,
    cv_to_yaml,
    fidelity_from,
    parse_stages,
    stage_to_yaml,
)
from pipeline.tasks import TASKS, Fidelity, TaskOptions, get_task, is_custom, load_custom_trainable
from searchers.space import SearchSpace, SpaceError

DEFAULT_TASK = "digits"
DEFAULT_NUM_SAMPLES = 20

#: metrics the built-in tasks report, with the direction that is better
TASK_METRICS = {"val_accuracy": "max", "val_loss": "min", "train_loss": "min", "val_rmse": "min", "val_r2": "max"}

#: settings that describe a one-stage experiment (flags); a config with `stages` sets them per stage
ONE_STAGE_FIELDS = (
    "num_samples",
    "max_epochs",
    "data_fraction",
    "resolution",
    "searcher",
    "scheduler",
    "time_budget_s",
    "epochs_budget",
)

#: every key a YAML file may hold (flags use the same names with dashes; stages, cv and
#: search_space are YAML-only)
FIELDS = (
    "task",
    "data",
    "target",
    "problem",
    "data_dir",
    "metric",
    "mode",
    "objectives",
    "constraints",
    "select",
    "search_space",
    *ONE_STAGE_FIELDS,
    "stages",
    "cv",
    "seed",
    "refit",
    "deadline_s",
    "output",
    "address",
    "cpus_per_trial",
    "gpus_per_trial",
    "max_concurrent",
    "max_failures",
    "reuse_actors",
    "verbose",
)
#: keys of a YAML file that have no flag
YAML_ONLY = ("search_space", "stages", "cv")
#: settings that say where an experiment runs, not what it is: a resumed run may change them
WHERE_FIELDS = ("output", "address", "verbose")


@dataclass
class ExperimentConfig:
    task: str
    space: SearchSpace
    metric: str
    mode: str
    options: TaskOptions
    stages: tuple[StageSpec, ...]
    cv: CVSpec | None
    seed: int
    output: Path
    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int | None = None
    max_failures: int = 0  # retries of a trial whose worker died or raised, from its checkpoint
    reuse_actors: bool = True
    verbose: bool = False
    #: what is optimised: (Objective(metric, mode),) for a one-metric run; several for a
    #: multi-objective one, whose first is ``metric``/``mode`` (see pipeline.objectives)
    objectives: tuple[objectives.Objective, ...] = ()
    constraints: tuple[objectives.Constraint, ...] = ()
    #: which CV'd Pareto-optimal finalist best.json picks (pipeline.pareto_select)
    select: str = "primary"
    #: refit the winner into model/: True/False, or a custom trainable's module:function
    refit: bool | str = False
    #: wall-clock seconds for all stages and CV together, across resumes (pipeline.deadline)
    deadline_s: float | None = None
    #: the settings in canonical form (stages spelled out): what experiment.yaml holds
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def custom(self) -> bool:
        return is_custom(self.task)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1


def load_yaml(path: str, field_name: str = "config") -> dict[str, Any]:
    if not os.path.isfile(path):
        raise UsageError(field_name, f"file not found: {path}")
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UsageError(field_name, f"malformed YAML in {path}{where}: {problem}") from None
    except UnicodeDecodeError:
        raise UsageError(field_name, f"{path} is not a UTF-8 text file (a YAML mapping of settings)") from None
    except OSError as err:
        raise UsageError(field_name, f"cannot read {path}: {err.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError(field_name, f"{path} must hold a mapping of settings, got {type(data).__name__}")
    unknown = sorted(str(k) for k in set(data) - set(FIELDS))
    if unknown:
        raise UsageError(unknown[0], f"unknown setting in {path}; allowed: {', '.join(FIELDS)}")
    return dict(data)


def build(raw: Mapping[str, Any], check_data: bool = True, existing_output: Path | None = None) -> ExperimentConfig:
    """Validate merged settings (YAML overridden by flags) into an ExperimentConfig.

    ``existing_output`` is the directory of an experiment being resumed (it exists).
    """
    if raw.get("stages") == "auto":  # calibrate, then the proposed chain (pipeline.advise)
        from pipeline.advise import resolve_auto

        return build(resolve_auto(dict(raw), check_data), check_data, existing_output)
    task_name = fields.text(raw, "task", DEFAULT_TASK)
    custom = is_custom(task_name)
    task = None if custom else get_task(task_name)
    if custom:
        load_custom_trainable(task_name)  # import errors surface now, not in a trial
        for key in ("data", "target", "problem", "data_dir"):
            if raw.get(key) is not None:
                raise UsageError(key, "applies to built-in tasks only; a custom trainable reads its own data")

    if task is not None:
        for key in ("data", "target", "problem", "data_dir"):
            if raw.get(key) is not None and key not in task.options:
                users = [t.name for t in TASKS.values() if key in t.options]
                raise UsageError(key, f"does not apply to task {task_name}; it is read by {', '.join(users)} only")
    options = TaskOptions(
        data_dir=_path(raw, "data_dir"),
        data_path=_path(raw, "data"),
        target=fields.text(raw, "target", None),
        problem=fields.text(raw, "problem", None),
    )
    if task is not None and check_data:
        task.check(options, Fidelity())  # data files and columns, before any stage

    goals, constraints = _objectives(raw, task, options)
    metric, mode = goals[0].metric, goals[0].mode
    space = _space(raw, task, task_name, multi_objective=len(goals) > 1)
    stages, cv = _pipeline(raw, task, task_name, options, space, check_data)
    cfg = ExperimentConfig(
        task=task_name,
        space=space,
        metric=metric,
        mode=mode,
        options=options,
        stages=stages,
        cv=cv,
        seed=fields.number(raw, "seed", 0, int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)"),
        output=existing_output or _output(raw, task_name),
        address=fields.text(raw, "address", None),
        cpus_per_trial=fields.number(raw, "cpus_per_trial", 1.0, float, lambda v: v > 0, "a number > 0"),
        gpus_per_trial=fields.number(
            raw, "gpus_per_trial", 0.0, float, lambda v: v >= 0, "a number >= 0 (fractions allowed)"
        ),
        max_concurrent=fields.number(raw, "max_concurrent", None, int, lambda v: v >= 1, "an integer >= 1"),
        max_failures=fields.number(raw, "max_failures", 0, int, lambda v: v >= 0, "an integer >= 0"),
        reuse_actors=fields.flag(raw, "reuse_actors", True),
        verbose=fields.flag(raw, "verbose", False),
        objectives=goals,
        constraints=constraints,
        select=_select(raw, goals, stages),
        refit=refit_setting(raw, task_name, custom),
        deadline_s=fields.number(raw, "deadline_s", None, float, lambda v: v > 0, "a number of seconds > 0"),
    )
    if cfg.gpus_per_trial > 1 and cfg.gpus_per_trial != int(cfg.gpus_per_trial):
        raise UsageError("gpus_per_trial", f"above 1 it must be a whole number of GPUs, got {cfg.gpus_per_trial}")
    cfg.settings = _canonical(raw, cfg)
    return cfg


# ----------------------------------------------------------------------- fields


def _pipeline(raw, task, task_name, options, space, check_data) -> tuple[tuple[StageSpec, ...], CVSpec | None]:
    one_stage = [k for k in ONE_STAGE_FIELDS if raw.get(k) is not None]
    if raw.get("stages") is not None:
        if one_stage:
            raise UsageError(
                one_stage[0],
                "sets up a one-stage experiment, but the config has `stages`: set it in each stage instead",
            )
        return parse_stages(raw["stages"], raw.get("cv"), task, options, space, check_data)
    if one_stage or raw.get("cv") is not None or task is None:
        stage = _one_stage(raw, task, options, check_data)
        check_searcher(stage, space, "")
        if raw.get("cv") is None:
            return (stage,), None
        one = {k: v for k, v in stage_to_yaml(stage).items() if k != "top_k"}  # cv.top_k decides
        return parse_stages([one], raw["cv"], task, options, space, check_data)
    default = PIPELINES[task_name]
    return parse_stages(default["stages"], default.get("cv"), task, options, space, check_data)


def _one_stage(raw, task, options, check_data) -> StageSpec:
    fidelity = fidelity_from(raw, "", task, task.default_max_epochs if task else 10, options, check_data)
    budget = Budget(
        trials=fields.number(raw, "num_samples", DEFAULT_NUM_SAMPLES, int, lambda v: v >= 1, "an integer >= 1"),
        epochs_budget=fields.number(raw, "epochs_budget", None, int, lambda v: v >= 1, "an integer >= 1"),
        time_s=fields.number(raw, "time_budget_s", None, float, lambda v: v > 0, "a number of seconds > 0"),
    )
    return StageSpec(name="stage-1", fidelity=fidelity, **algorithms(raw), budget=budget, top_k=1)


def _canonical(raw: Mapping[str, Any], cfg: ExperimentConfig) -> dict[str, Any]:
    out = {
        k: v
        for k, v in raw.items()
        if k not in WHERE_FIELDS and k not in ONE_STAGE_FIELDS and k not in ("stages", "cv")
    }
    out.update(
        task=cfg.task, metric=cfg.metric, mode=cfg.mode, seed=cfg.seed, stages=[stage_to_yaml(s) for s in cfg.stages]
    )
    out.pop("objectives", None)  # one objective is stored as metric/mode, exactly as before
    out.pop("constraints", None)
    if cfg.multi_objective:  # metric/mode stay: the primary objective, what reports and history read
        out["objectives"] = objectives.objectives_to_yaml(cfg.objectives)
    if cfg.constraints:
        out["constraints"] = objectives.constraints_to_yaml(cfg.constraints)
    for key, value in (("data", cfg.options.data_path), ("data_dir", cfg.options.data_dir)):
        if value is not None:
            out[key] = value
    if "search_space" not in out and not cfg.custom:
        out["search_space"] = get_task(cfg.task).space_for(cfg.multi_objective)
    if cfg.cv is not None:
        out["cv"] = cv_to_yaml(cfg.cv)
    return out


def _objectives(raw, task, options) -> tuple[tuple[objectives.Objective, ...], tuple[objectives.Constraint, ...]]:
    """``metric``/``mode`` (one objective) or ``objectives`` (one or several), and ``constraints``."""
    allowed = None if task is None else {**_task_metrics(task, options), **objectives.COST_METRICS}
    constraints = objectives.parse_constraints(raw.get("constraints"), allowed)
    if raw.get("objectives") is None:
        return (objectives.Objective(*_metric_and_mode(raw, task, options)),), constraints
    goals = objectives.parse_objectives(raw["objectives"], allowed)
    for key, value in (("metric", goals[0].metric), ("mode", goals[0].mode)):
        given = raw.get(key)
        if given is not None and given != value:  # experiment.yaml holds both; they must agree
            raise UsageError(
                key, f"is {given!r} but the first objective's {key} is {value!r}; give either metric/mode or objectives"
            )
    return goals, constraints


def _select(raw, goals, stages) -> str:
    """``select`` (multi-objective runs only), and a searcher for every stage that searches
    every objective (the others would silently optimise the first one)."""
    from pipeline.pareto_select import SELECT_RULES
    from pipeline.registry import MULTI_OBJECTIVE_SCHEDULERS, MULTI_OBJECTIVE_SEARCHERS

    if len(goals) < 2:
        if raw.get("select") is not None:
            raise UsageError("select", "applies to multi-objective runs only (objectives with 2 or more entries)")
        return "primary"
    for i, stage in enumerate(stages):
        if stage.searcher not in MULTI_OBJECTIVE_SEARCHERS:
            where = f"stages[{i}].searcher" if len(stages) > 1 else "searcher"
            allowed = ", ".join(sorted(MULTI_OBJECTIVE_SEARCHERS))
            raise UsageError(where, f"{stage.searcher} optimises one metric; with several objectives use {allowed}")
        if stage.scheduler not in MULTI_OBJECTIVE_SCHEDULERS:
            where = f"stages[{i}].scheduler" if len(stages) > 1 else "scheduler"
            allowed = ", ".join(sorted(MULTI_OBJECTIVE_SCHEDULERS))
            raise UsageError(
                where, f"{stage.scheduler} ranks one metric; with several objectives use {allowed} (asha is MO-ASHA)"
            )
    return fields.choice(raw, "select", "primary", SELECT_RULES)


def _task_metrics(task, options) -> dict[str, str]:
    """The metrics a built-in task reports (besides the cost metrics), with their natural mode."""
    names = (
        ("val_accuracy", "val_loss", "train_loss")
        if task.is_classification(options)
        else ("val_rmse", "val_r2", "val_loss", "train_loss")
    )
    return {m: TASK_METRICS[m] for m in names}


def _metric_and_mode(raw, task, options) -> tuple[str, str]:
    metric = fields.text(raw, "metric", None)
    mode = fields.text(raw, "mode", None)
    if mode is not None and mode not in ("min", "max"):
        raise UsageError("mode", f"must be min or max, got {mode!r}")
    if task is None:
        if metric is None:
            raise UsageError("metric", "required for a custom trainable: the key it reports (--metric NAME)")
        if mode is None:
            raise UsageError("mode", "required for a custom trainable: min or max (--mode)")
        return metric, mode
    default_metric, default_mode = task.metric(options)
    if metric is None:
        return default_metric, mode or default_mode
    allowed = tuple(_task_metrics(task, options))
    if metric not in allowed:
        raise UsageError("metric", f"task {task.name} reports {', '.join(allowed)}; got {metric!r}")
    return metric, mode or TASK_METRICS[metric]


def _space(raw, task, task_name, multi_objective: bool = False) -> SearchSpace:
    tree = raw.get("search_space")
    if tree is None:
        if task is None:
            raise UsageError("search_space", f"required for a custom trainable ({task_name}); give it in --config")
        tree = task.space_for(multi_objective)
    elif isinstance(tree, str) and ":" not in tree:
        tree = _named_space(tree, task, task_name)
    if not isinstance(tree, (Mapping, str)):
        raise UsageError(
            "search_space", f"must be a mapping of hyperparameters or module:function, got {type(tree).__name__}"
        )
    try:
        space = compile_space(tree)
    except SpaceError as err:
        raise UsageError(
            f"search_space.{err.name}" if err.name else "search_space", str(err).split(": ", 1)[-1]
        ) from None
    if isinstance(tree, Mapping):
        _check_typed(tree, "search_space")
    if len(space) == 0:
        raise UsageError("search_space", "has no parameters to tune")

    if task is not None:
        _check_hyperparameters(space, task)
    return space


def _named_space(name: str, task, task_name: str) -> dict[str, Any]:
    """``search_space: NAME``: one of the task's named spaces (``default``; ``arch`` for image tasks)."""
    names = task.named_spaces() if task is not None else {}
    if name.strip() not in names:
        allowed = ", ".join(names) + ", " if names else ""
        raise UsageError(
            "search_space",
            f"unknown named space {name!r} for task {task_name}; allowed: {allowed}a mapping, or module:function",
        )
    return names[name.strip()]


def compile_space(tree: Mapping[str, Any] | str) -> SearchSpace:
    """The YAML ``search_space``: a tree of parameters, or ``module:function`` naming a
    define-by-run ``space(trial)`` (see :mod:`searchers.define_by_run`)."""
    if isinstance(tree, str):
        from pipeline.tasks import load_custom_trainable
        from searchers.define_by_run import DefineByRunSpace

        return DefineByRunSpace(load_custom_trainable(tree, field="search_space"))
    return SearchSpace(tree)


_PARAM_KEYS = {"low", "high", "choices", "step", "log"}


def _check_typed(tree: Mapping[str, Any], where: str) -> None:
    """A mapping that looks like a parameter (low/high/choices) but has no ``type`` would
    otherwise be taken as a constant sub-dict: say what is missing instead."""
    for key, node in tree.items():
        if not isinstance(node, Mapping):
            continue
        name = f"{where}.{key}"
        if "type" not in node and _PARAM_KEYS & set(node):
            keys = "/".join(sorted(_PARAM_KEYS & set(node)))
            raise UsageError(name, f"has {keys} but no type; add type: float, int or categorical")
        if node.get("type") in ("int", "float") and node.get("step") is not None and not node.get("log"):
            try:
                low, high, step = (float(node[k]) for k in ("low", "high", "step"))
            except (KeyError, TypeError, ValueError):
                continue  # the space itself reports it
            k = (high - low) / step if step > 0 else 0.0
            if step > 0 and high > low and abs(k - round(k)) > 1e-9 * max(1.0, abs(k)):
                raise UsageError(
                    name,
                    f"step {step:g} does not divide high - low ({high:g} - {low:g}): {high:g} could never be "
                    "drawn; make high - low a multiple of step",
                )
        if node.get("type") == "categorical" and isinstance(node.get("choices"), list):
            for i, choice in enumerate(node["choices"]):
                if isinstance(choice, Mapping):
                    _check_typed(choice, f"{name}.choices[{i}]")
        elif "type" not in node:
            _check_typed(node, name)


def _check_hyperparameters(space: SearchSpace, task) -> None:
    """Run configurations of the space through the task's hyperparameter table."""
    rng = np.random.default_rng(0)
    probes = [space.decode(np.zeros(space.dim)), space.decode(np.ones(space.dim))]
    probes += [space.sample(rng) for _ in range(32)]
    for config in probes:
        try:
            task.parse_hparams(config)
        except hparams.HyperparameterError as err:
            raise UsageError(f"search_space.{err.key}", f"{str(err).split(': ', 1)[-1]} (task {task.name})") from None


def _output(raw, task_name) -> Path:
    if "://" in str(raw.get("output") or ""):
        raise UsageError(
            "output",
            "cloud storage URIs are not supported; give a directory on a filesystem "
            "that every node mounts (see docs/cluster.md)",
        )
    value = _path(raw, "output")
    if value is None:
        stem = task_name.replace(":", "-").replace(".", "-")
        value = os.path.join("results", f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = Path(value).expanduser().resolve()
    _check_writable(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(
            "output",
            f"{out} already exists and is not an empty directory; choose a new path (or continue it with --resume)",
        )
    return out


def _check_writable(out: Path) -> None:
    """The directory the experiment will be created in (or that it is) must take new entries."""
    where = out
    while not where.exists():
        where = where.parent
    if not where.is_dir():
        if where == out:
            return  # an existing file: reported as "already exists" below
        raise UsageError("output", f"cannot create {out}: {where} is a file, not a directory")
    try:
        read_only = bool(os.statvfs(where).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise UsageError("output", f"cannot create {out}: {where} is on a read-only filesystem")
    if not os.access(where, os.W_OK | os.X_OK):
        raise UsageError("output", f"cannot create {out}: no permission to write in {where}")


def _path(raw, key):
    """Absolute: trials run in their own working directories, and a resume may start elsewhere."""
    value = fields.text(raw, key, None)
    return os.path.abspath(os.path.expanduser(value)) if value else None
