"""The names the pipeline writes at the top of an experiment directory, in one place.

A stage is a directory of the same level (``<output>/<stage>/``, Ray's experiment), so
a stage named like one of these files would overwrite it or be overwritten: a stage
``stages`` loses its rows from ``trials.csv``, a stage ``pipeline.json`` moves the resume
file aside. :func:`reserved` is what stage-name validation asks; every module that
writes at the top level takes its name from here.
"""

from __future__ import annotations

import re

SETTINGS_FILE = "experiment.yaml"
STATE_FILE = "pipeline.json"
EVENTS_FILE = "events.jsonl"
LOCK_FILE = ".mftune.lock"
STAGE_TABLES = "stages"  # <output>/stages/<name>.csv: each finished stage's trials
TRIALS_CSV, TRIALS_PARQUET = "trials.csv", "trials.parquet"
CV_DIR = "cv"  # Ray's experiment of the cross-validation run
CV_CSV = "cv.csv"
BEST_FILE = "best.json"
REPORT_FILE = "report.md"
PLOTS = "plots"
CONTEXT_FILE = "context.jsonl"  # which fidelity knobs / folds each trial read
SCRATCH = ".mftune-tmp"  # trials' temporary checkpoint folders, removed at every start
MODEL_DIR = "model"  # the refitted winner (pipeline.model), renamed into place when complete

RESERVED = (
    SETTINGS_FILE,
    STATE_FILE,
    EVENTS_FILE,
    LOCK_FILE,
    STAGE_TABLES,
    TRIALS_CSV,
    TRIALS_PARQUET,
    CV_DIR,
    CV_CSV,
    BEST_FILE,
    REPORT_FILE,
    PLOTS,
    CONTEXT_FILE,
    SCRATCH,
    MODEL_DIR,
)

#: where an unusable stage directory is moved (``pipeline.tuner_run.set_aside``)
ASIDE = re.compile(r"\.incomplete-\d+$")


#: the Ray experiments of an adaptive stage's probe and second part (``pipeline.adaptive``)
ADAPTIVE_PARTS = (".probe", ".more")


def aside_name(stage: str, n: int) -> str:
    return f"{stage}.incomplete-{n}"


def reserved(name: str) -> str | None:
    """Why a stage cannot be called ``name`` (None: it can)."""
    if name.lower() in {r.lower() for r in RESERVED}:  # case-insensitive filesystems too
        return f"{name!r} is a file or folder the pipeline writes in the experiment directory"
    if name.endswith(ADAPTIVE_PARTS):
        return f"{name!r} ends like the parts of an adaptive stage ({', '.join(ADAPTIVE_PARTS)})"
    if ASIDE.search(name):
        return f"{name!r} is where the pipeline moves an incomplete stage directory aside"
    return None
