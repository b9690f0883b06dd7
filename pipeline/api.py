"""The pipeline from Python (notebooks, scripts): one call runs or resumes an experiment.

    from pipeline.api import tune

    result = tune(
        "my_model:train",                      # or the function itself, or "digits"
        search_space={"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}},
        metric="val_accuracy", mode="max",
        stages=[{"data_fraction": 0.3, "max_epochs": 3, "budget": {"trials": 20}, "top_k": 4},
                {"max_epochs": 10, "budget": {"trials": 6}}],
        cv={"folds": 3, "top_k": 2},
    )
    result.best_config, result.cv_mean, result.trials  # a pandas DataFrame
    result.model.predict(x)                  # the winner refitted on every row (model/)

The settings are the YAML keys of ``python -m pipeline.run`` (docs/pipeline.md), checked
the same way: a mistake raises :class:`pipeline.errors.UsageError` with the one line the
command prints (``err.field``, ``err.message``) instead of exiting. ``tune(resume=DIR)``
continues an interrupted experiment (pass the trainable again if it was a function).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import UsageError
from pipeline.layout import BEST_FILE, TRIALS_CSV

__all__ = ["NoResultError", "TuneResult", "run_settings", "tune"]


class NoResultError(RuntimeError):
    """A stage ended without any trial reporting a finite metric (see the trials' error.txt)."""


@dataclass
class TuneResult:
    """What an experiment found; everything is also on disk under ``path``."""

    path: Path
    best: dict[str, Any] | None  # best.json: the winner, its CV scores, every stage's summary

    @property
    def best_config(self) -> dict[str, Any] | None:
        return self.best["config"] if self.best else None

    @property
    def best_value(self) -> float | None:
        """The winner's CV mean when there was CV, else its last-stage value."""
        return self.best["value"] if self.best else None

    @property
    def cv_scores(self) -> list[float | None] | None:
        return self.best.get("cv_scores") if self.best else None

    @property
    def cv_mean(self) -> float | None:
        return self.best.get("cv_mean") if self.best else None

    @property
    def cv_std(self) -> float | None:
        return self.best.get("cv_std") if self.best else None

    @property
    def trials(self) -> pd.DataFrame:
        """Every stage's trials (CV folds are in ``cv``), as in trials.csv."""
        path = self.path / TRIALS_CSV
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()

    @property
    def test_score(self) -> float | None:
        """The refitted model's score on the task's held-out test split (None: no test split, or no refit)."""
        return self.best.get("test_score") if self.best else None

    @property
    def model(self) -> Any:
        """The refitted winner from ``model/`` (:func:`pipeline.model.load_model`), or None without one."""
        from pipeline.layout import MODEL_DIR
        from pipeline.model import MANIFEST, load_model

        return load_model(self.path / MODEL_DIR) if (self.path / MODEL_DIR / MANIFEST).is_file() else None

    @property
    def cv(self) -> pd.DataFrame:
        """One row per (finalist, fold), as in cv.csv (empty without CV)."""
        path = self.path / "cv.csv"
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def tune(
    trainable: str | Callable[[dict[str, Any]], Any] | None = None,
    *,
    resume: str | Path | None = None,
    **settings: Any,
) -> TuneResult:
    """Run an experiment (or continue the one in ``resume``) and return what it found.

    ``trainable``: a built-in task name (``digits``, ``tabular``, ...), ``module:function``,
    or a module-level function (a function defined in a notebook works too: Ray copies it
    to the workers). ``settings``: the YAML keys, e.g. ``search_space``, ``metric``,
    ``mode``, ``stages``, ``cv``, ``seed``, ``output``, ``data``, ``target``.
    """
    from pipeline.config import FIELDS

    if resume is not None:
        extra = sorted(k for k in settings if k not in ("address", "verbose"))
        if extra:
            raise UsageError(extra[0], "cannot be combined with resume: a resumed experiment keeps its own settings")
        return run_settings(
            resume=resume,
            address=settings.get("address"),
            verbose=settings.get("verbose"),
            task=None if trainable is None else _task_name(trainable),
        )
    unknown = sorted(k for k in settings if k not in FIELDS or k == "task")
    if unknown:
        raise UsageError(unknown[0], f"unknown setting; allowed: {', '.join(k for k in FIELDS if k != 'task')}")
    raw: dict[str, Any] = {k: v for k, v in settings.items() if v is not None}
    if trainable is not None:
        raw["task"] = _task_name(trainable)
    if isinstance(raw.get("output"), Path):
        raw["output"] = str(raw["output"])
    return run_settings(raw)


def run_settings(
    raw: dict[str, Any] | None = None,
    *,
    resume: str | Path | None = None,
    address: str | None = None,
    verbose: bool | None = None,
    task: str | None = None,
) -> TuneResult:
    """The one path from settings to a finished experiment, shared by :func:`tune` and
    ``python -m pipeline.run`` (which turns its UsageError into the one-line exit 2 and
    NoResultError into exit 1), so the two cannot drift.

    ``raw``: the merged YAML keys of a new experiment; or ``resume``: the directory of
    one to continue (``address``/``verbose`` may be added; ``task``, when given, must be
    the experiment's own).
    """
    from pipeline.config import build
    from pipeline.experiment import load_for_resume, run

    if resume is not None:
        cfg = load_for_resume(str(resume), address, verbose)
        if task is not None and task != cfg.task:
            raise UsageError("trainable", f"{task} is not this experiment's task ({cfg.task})")
    else:
        cfg = build(raw or {})
    try:
        result = run(cfg, resume=resume is not None)
    except SystemExit as stop:  # the command line's "no trial reported a finite metric" exit
        raise NoResultError(f"no trial reported a finite {cfg.metric}; see {cfg.output}") from stop
    best = result.best
    if best is None and (result.output / BEST_FILE).is_file():
        best = json.loads((result.output / BEST_FILE).read_text())
    return TuneResult(result.output, best)


def _task_name(trainable: str | Callable) -> str:
    if isinstance(trainable, str):
        return trainable
    if not callable(trainable):
        raise UsageError("trainable", f"must be a task name, module:function or a function, got {trainable!r}")
    module, name = getattr(trainable, "__module__", None), getattr(trainable, "__qualname__", "")
    if not module or "<locals>" in name or "<lambda>" in name:
        raise UsageError(
            "trainable",
            f"{name or trainable!r} must be a function defined at the top level of a module or notebook "
            "(the pipeline finds it again by module:function, e.g. on --resume)",
        )
    return f"{module}:{name}"
