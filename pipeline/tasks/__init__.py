"""Built-in tasks by name, and users' own trainables by import path."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from pipeline.errors import UsageError
from pipeline.tasks.base import Fidelity, Task, TaskOptions, TrialSetup
from pipeline.tasks.digits import DigitsTask
from pipeline.tasks.fashion_mnist import FashionMNISTTask
from pipeline.tasks.image_folder import ImageFolderTask
from pipeline.tasks.tabular import TabularTask

TASKS: dict[str, Task] = {t.name: t for t in (DigitsTask(), FashionMNISTTask(), TabularTask(), ImageFolderTask())}

__all__ = ["TASKS", "Fidelity", "Task", "TaskOptions", "TrialSetup", "get_task", "is_custom", "load_custom_trainable"]


def is_custom(name: str) -> bool:
    return ":" in name


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise UsageError(
            "task", f"unknown task {name!r}; allowed: {', '.join(TASKS)}, or module:function for your own trainable"
        ) from None


def load_custom_trainable(path: str, field: str = "task") -> Callable:
    """Import ``module:function``; the function is a Ray Tune function trainable (or, with
    ``field="search_space"``, a define-by-run space). Errors name ``field``."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UsageError(field, f"expected module:function, got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:
        raise UsageError(field, f"cannot import module {module_name!r}: {err}") from None
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise UsageError(field, f"module {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise UsageError(field, f"{path} is not callable")
    if field != "task":
        return fn
    if not (inspect.isfunction(fn) or inspect.isclass(fn)):
        raise UsageError(
            "task", f"{path} is not a Python function or Trainable class (a Ray Tune trainable taking config)"
        )
    if inspect.isfunction(fn):
        try:
            inspect.signature(fn).bind({})
        except TypeError:
            raise UsageError("task", f"{path} must take one argument, the trial's config dict") from None
    return fn
