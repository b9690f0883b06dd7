"""Experiment configuration: YAML file and flags merged, then validated in full.

Everything a user can get wrong is checked here, before Ray starts: an unknown key or
value, a malformed YAML file, an impossible search space, a hyperparameter the task
does not have, a missing data file or target column. Each problem is one
:class:`UsageError` naming the field and what is allowed.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from pipeline import hparams
from pipeline.errors import UsageError
from pipeline.registry import SCHEDULERS, SEARCHERS
from pipeline.tasks import Fidelity, TaskOptions, TrialSetup, get_task, is_custom, load_custom_trainable
from searchers.space import SearchSpace, SpaceError

DEFAULT_TASK = "digits"
DEFAULT_NUM_SAMPLES = 20

#: metrics the built-in tasks report, with the direction that is better
TASK_METRICS = {"val_accuracy": "max", "val_loss": "min", "train_loss": "min",
                "val_rmse": "min", "val_r2": "max"}

#: every key a YAML file may hold (flags use the same names with dashes)
FIELDS = (
    "task", "data", "target", "problem", "data_dir", "metric", "mode", "search_space",
    "num_samples", "max_epochs", "data_fraction", "resolution", "searcher", "scheduler",
    "seed", "output", "address", "cpus_per_trial", "gpus_per_trial", "max_concurrent",
    "time_budget_s", "reuse_actors", "verbose",
)


@dataclass
class ExperimentConfig:
    task: str
    space: SearchSpace
    metric: str
    mode: str
    fidelity: Fidelity
    options: TaskOptions
    num_samples: int
    searcher: str
    scheduler: str
    seed: int
    output: Path
    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int | None = None
    time_budget_s: float | None = None
    reuse_actors: bool = True
    verbose: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def custom(self) -> bool:
        return is_custom(self.task)

    def setup(self) -> TrialSetup:
        return TrialSetup(self.task, self.options, self.fidelity, self.seed, self.cpus_per_trial)


def load_yaml(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise UsageError("config", f"file not found: {path}")
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UsageError("config", f"malformed YAML in {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError("config", f"{path} must hold a mapping of settings, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise UsageError(str(unknown[0]), f"unknown setting in {path}; allowed: {', '.join(FIELDS)}")
    return dict(data)


def build(raw: Mapping[str, Any], check_data: bool = True) -> ExperimentConfig:
    """Validate merged settings (YAML overridden by flags) into an ExperimentConfig."""
    task_name = _str(raw, "task", DEFAULT_TASK)
    custom = is_custom(task_name)
    task = None if custom else get_task(task_name)
    if custom:
        load_custom_trainable(task_name)  # import errors surface now, not in a trial

    options = TaskOptions(
        data_dir=_path(raw, "data_dir"), data_path=_path(raw, "data"),
        target=_str(raw, "target", None), problem=_str(raw, "problem", None))
    fidelity = Fidelity(
        data_fraction=_number(raw, "data_fraction", 1.0, float, lambda v: 0 < v <= 1, "a number in (0, 1]"),
        resolution=_number(raw, "resolution", None, int, lambda v: v >= 1, "an integer >= 1"),
        max_epochs=_number(raw, "max_epochs", task.default_max_epochs if task else 10, int,
                           lambda v: v >= 1, "an integer >= 1"))
    if custom:
        for key in ("data_fraction", "resolution", "data", "target", "problem", "data_dir"):
            if raw.get(key) is not None:
                raise UsageError(key, "applies to built-in tasks only; a custom trainable reads its own data")
    elif check_data:
        task.check(options, fidelity)

    metric, mode = _metric_and_mode(raw, task, options)
    space = _space(raw, task, task_name)

    searcher = _choice(raw, "searcher", "random", tuple(SEARCHERS))
    scheduler = _choice(raw, "scheduler", "fifo", tuple(SCHEDULERS))
    seed = _number(raw, "seed", 0, int, lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)")
    cfg = ExperimentConfig(
        task=task_name, space=space, metric=metric, mode=mode, fidelity=fidelity, options=options,
        num_samples=_number(raw, "num_samples", DEFAULT_NUM_SAMPLES, int, lambda v: v >= 1, "an integer >= 1"),
        searcher=searcher, scheduler=scheduler, seed=seed,
        output=_output(raw, task_name),
        address=_str(raw, "address", None),
        cpus_per_trial=_number(raw, "cpus_per_trial", 1.0, float, lambda v: v > 0, "a number > 0"),
        gpus_per_trial=_number(raw, "gpus_per_trial", 0.0, float, lambda v: v >= 0, "a number >= 0 (fractions allowed)"),
        max_concurrent=_number(raw, "max_concurrent", None, int, lambda v: v >= 1, "an integer >= 1"),
        time_budget_s=_number(raw, "time_budget_s", None, float, lambda v: v > 0, "a number of seconds > 0"),
        reuse_actors=_bool(raw, "reuse_actors", True),
        verbose=_bool(raw, "verbose", False),
        raw=dict(raw),
    )
    if cfg.gpus_per_trial > 1 and cfg.gpus_per_trial != int(cfg.gpus_per_trial):
        raise UsageError("gpus_per_trial", f"above 1 it must be a whole number of GPUs, got {cfg.gpus_per_trial}")
    return cfg


# ----------------------------------------------------------------------- fields


def _metric_and_mode(raw, task, options) -> tuple[str, str]:
    metric = _str(raw, "metric", None)
    mode = _str(raw, "mode", None)
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
    allowed = ("val_accuracy", "val_loss", "train_loss") if task.is_classification(options) \
        else ("val_rmse", "val_r2", "val_loss", "train_loss")
    if metric not in allowed:
        raise UsageError("metric", f"task {task.name} reports {', '.join(allowed)}; got {metric!r}")
    return metric, mode or TASK_METRICS[metric]


def _space(raw, task, task_name) -> SearchSpace:
    tree = raw.get("search_space")
    if tree is None:
        if task is None:
            raise UsageError("search_space", f"required for a custom trainable ({task_name}); give it in --config")
        tree = task.default_space()
    if not isinstance(tree, Mapping):
        raise UsageError("search_space", f"must be a mapping of hyperparameters, got {type(tree).__name__}")
    try:
        space = SearchSpace(tree)
    except SpaceError as err:
        raise UsageError(f"search_space.{err.name}" if err.name else "search_space", str(err).split(": ", 1)[-1]) from None
    if len(space) == 0:
        raise UsageError("search_space", "has no parameters to tune")
    if task is not None:
        _check_hyperparameters(space, task)
    return space


def _check_hyperparameters(space: SearchSpace, task) -> None:
    """Run configurations of the space through the task's hyperparameter table."""
    rng = np.random.default_rng(0)
    probes = [space.decode(np.zeros(space.dim)), space.decode(np.ones(space.dim))]
    probes += [space.sample(rng) for _ in range(32)]
    for config in probes:
        try:
            hparams.parse(config, task.model_keys)
        except hparams.HyperparameterError as err:
            raise UsageError(f"search_space.{err.key}", f"{str(err).split(': ', 1)[-1]} (task {task.name})") from None


def _output(raw, task_name) -> Path:
    value = _path(raw, "output")
    if value is None:
        stem = task_name.replace(":", "-").replace(".", "-")
        value = os.path.join("results", f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = Path(value).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError("output", f"{out} already exists and is not an empty directory; choose a new path")
    return out


def _str(raw, key, default):
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise UsageError(key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _path(raw, key):
    value = _str(raw, key, None)
    return os.path.expanduser(value) if value else None


def _choice(raw, key, default, allowed):
    value = _str(raw, key, default)
    if value not in allowed:
        raise UsageError(key, f"unknown {key} {value!r}; allowed: {', '.join(allowed)}")
    return value


def _bool(raw, key, default):
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise UsageError(key, f"must be true or false, got {value!r}")
    return value


def _number(raw, key, default, kind, ok, allowed):
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise UsageError(key, f"must be {allowed}, got {value!r}")
    try:
        number = kind(value) if not isinstance(value, str) else kind(float(value) if kind is float else value)
    except (TypeError, ValueError):
        raise UsageError(key, f"must be {allowed}, got {value!r}") from None
    if kind is int and not isinstance(value, str) and float(value) != number:
        raise UsageError(key, f"must be {allowed}, got {value!r}")
    if (kind is float and not math.isfinite(number)) or not ok(number):
        raise UsageError(key, f"must be {allowed}, got {value!r}")
    return number
