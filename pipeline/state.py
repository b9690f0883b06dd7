"""The pipeline's own progress, in ``pipeline.json``: what ``--resume`` continues from.

Ray keeps each stage's trials; this file keeps what lies between stages: which stages
finished, the configurations each handed on (top-k), and how far cross-validation got.
It is rewritten atomically (temporary file, then rename) at every transition, so a
driver killed at any moment leaves the previous state or the next, never half of one.

``--resume`` reads it back through :meth:`PipelineState.load`, which checks the shape of
every record (a hand-edited or damaged file is refused with one line naming it) and
keeps ``digest``, the hash of the settings in ``experiment.yaml``, so that a changed or
damaged settings file is refused too instead of resuming a different experiment.
"""

from __future__ import annotations

import hashlib
import json
import time
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import UsageError
from pipeline.layout import SETTINGS_FILE, STATE_FILE  # noqa: F401  (re-exported)
from pipeline.results import write_json

FORMAT = 1
PENDING, RUNNING, DONE = "pending", "running", "done"
#: a session that ended without finishing: interrupted (Ctrl-C, SIGTERM) or by an error;
#: ``--resume`` continues from either. Only a killed driver leaves ``running`` behind.
STOPPED, FAILED = "stopped", "failed"
#: a stage or CV that never started because the experiment's deadline had passed (pipeline.deadline)
SKIPPED = "skipped"
STATUSES = (PENDING, RUNNING, DONE, STOPPED, FAILED, SKIPPED)


def settings_digest(settings: dict[str, Any]) -> str:
    """sha256 of the settings as ``experiment.yaml`` holds them (YAML round trip, sorted keys)."""
    plain = yaml.safe_load(yaml.safe_dump(settings))
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Candidate:
    """A configuration handed on by a stage, with its score there."""

    config: dict[str, Any]
    value: float
    trial_id: str
    iterations: int
    checkpoint: str | None = None  # the trial's last checkpoint (model trained at that stage's fidelity)
    #: multi-objective runs: the value of every objective and constrained metric there
    objectives: dict[str, float | None] = field(default_factory=dict)


@dataclass
class StageRecord:
    name: str
    status: str = PENDING
    top_k: list[Candidate] = field(default_factory=list)
    #: (config, value) of every finished trial: warm start for the next searcher
    observations: list[list[Any]] = field(default_factory=list)
    trials: int = 0
    errors: int = 0
    epochs: int = 0
    wall_s: float = 0.0
    best: float | None = None
    #: configurations from below the top-k, handed on as well to measure the correlation
    #: (pipeline.fidelity_correlation), and their positions in this stage's ranking
    bridges: list[Candidate] = field(default_factory=list)
    bridge_ranks: list[int] = field(default_factory=list)
    cost: dict[str, Any] | None = None  # measured CPU/GPU-seconds (fidelity_correlation.Cost)
    correlation: dict[str, Any] | None = None  # how the previous stage's ranking predicted this one's
    adaptive: dict[str, Any] | None = None  # an adaptive stage's probe and decision (pipeline.adaptive)


@dataclass
class CVRecord:
    status: str = PENDING
    finalists: list[Candidate] = field(default_factory=list)
    #: per finalist: the final metric of each fold (None: the fold failed)
    scores: list[list[float | None]] = field(default_factory=list)
    winner: int | None = None
    #: multi-objective runs: per objective or constrained metric, per finalist, each fold's value
    objective_scores: dict[str, list[list[float | None]]] = field(default_factory=dict)
    epochs: int = 0
    wall_s: float = 0.0
    cost: dict[str, Any] | None = None
    correlation: dict[str, Any] | None = None  # last-stage values against CV means


@dataclass
class RefitRecord:
    """The refit of the winner into ``model/`` (``pipeline.refit``)."""

    status: str = PENDING
    kind: str | None = None  # torch | sklearn | custom
    n_train: int | None = None
    test_score: float | None = None
    test_metric: str | None = None
    test_rows: int | None = None
    wall_s: float = 0.0


@dataclass
class PipelineState:
    stages: list[StageRecord]
    cv: CVRecord | None = None
    status: str = RUNNING
    sessions: int = 1  # 1 + how many times the experiment was resumed
    digest: str | None = None  # settings_digest of experiment.yaml (None: written before digests)
    refit: RefitRecord | None = None  # None: no refit (off, or an experiment from before refits)
    #: wall-clock seconds the experiment has run, all sessions, as of the last save (pipeline.deadline)
    spent_s: float = 0.0

    @property
    def final(self) -> int:
        """Index of the stage whose top-k is the result: the last one, unless the deadline
        skipped the stages after it."""
        ran = [i for i, s in enumerate(self.stages) if s.status != SKIPPED]
        return ran[-1] if ran else len(self.stages) - 1

    def start_clock(self, started: float) -> None:
        """Count this session's seconds from ``started`` (``time.monotonic()``) on top of
        the earlier sessions' ``spent_s``; every save writes the sum."""
        self._clock = (started, self.spent_s)

    def save(self, out_dir: Path) -> None:
        clock = getattr(self, "_clock", None)
        if clock is not None:
            self.spent_s = clock[1] + time.monotonic() - clock[0]
        write_json({"format": FORMAT, **asdict(self)}, out_dir / STATE_FILE)

    @classmethod
    def load(cls, out_dir: Path) -> PipelineState:
        path = out_dir / STATE_FILE
        if not path.is_file():
            raise UsageError("resume", f"{out_dir} is not an mftune experiment (no {STATE_FILE})")
        try:
            data = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise damaged(path, f"not valid JSON: {err}") from None
        except OSError as err:
            raise UsageError("resume", f"cannot read {path}: {err.strerror}") from None
        if not isinstance(data, dict):
            raise damaged(path, f"holds a JSON {type(data).__name__}, not an object")
        if data.get("format") != FORMAT:
            raise UsageError("resume", f"{path} has format {data.get('format')!r}; this mftune reads {FORMAT}")
        try:
            body = _checked(cls, {k: v for k, v in data.items() if k != "format"}, "")
            stages = [_stage(s, f"stages[{i}]") for i, s in enumerate(body["stages"])]
            cv = _cv(body["cv"]) if body.get("cv") is not None else None
            refit = RefitRecord(**_checked(RefitRecord, body["refit"], "refit")) if body.get("refit") else None
            statuses = [(f"stages[{i}].status", s.status) for i, s in enumerate(stages)] + [
                ("status", body.get("status"))
            ]
            statuses += [("refit.status", refit.status)] if refit else []
            for key, status in statuses + ([("cv.status", cv.status)] if cv else []):
                if status not in STATUSES:
                    raise ValueError(f"{key} {status!r} is not one of {', '.join(STATUSES)}")
            if not stages:
                raise ValueError("stages is empty")
        except ValueError as err:
            raise damaged(path, str(err)) from None
        return cls(
            stages=stages,
            cv=cv,
            status=body.get("status", RUNNING),
            sessions=body.get("sessions", 1),
            digest=body.get("digest"),
            refit=refit,
            spent_s=float(body.get("spent_s", 0.0)),
        )


def _candidates(items: list[Any], where: str) -> list[Candidate]:
    return [Candidate(**_checked(Candidate, c, f"{where}[{j}]")) for j, c in enumerate(items)]


def _stage(data: Any, where: str) -> StageRecord:
    data = _checked(StageRecord, data, where)
    return StageRecord(
        **{
            **data,
            "top_k": _candidates(data.get("top_k", []), f"{where}.top_k"),
            "bridges": _candidates(data.get("bridges", []), f"{where}.bridges"),
        }
    )


def _cv(data: Any) -> CVRecord:
    data = _checked(CVRecord, data, "cv")
    return CVRecord(**{**data, "finalists": _candidates(data.get("finalists", []), "cv.finalists")})


def damaged(path: Path, detail: str) -> UsageError:
    return UsageError("resume", f"{path} is damaged ({detail}); the experiment cannot be resumed")


def _checked(cls: type, data: Any, where: str) -> dict[str, Any]:
    """``data`` as keyword arguments of dataclass ``cls``, or ValueError naming what is wrong."""
    label = where or "the file"
    if not isinstance(data, dict):
        raise ValueError(f"{label} is a {type(data).__name__}, not an object")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{label} has an unknown key {unknown[0]!r}")
    for f in fields(cls):
        key = f"{where}.{f.name}" if where else f.name
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"{key} is missing")
            continue
        if f.name in ("top_k", "bridges", "finalists", "stages", "cv", "refit"):  # records: checked by the caller
            if f.name in ("cv", "refit") or isinstance(data[f.name], list):
                continue
            raise ValueError(f"{key} is not a list")
        if not _is(data[f.name], hints[f.name]):
            raise ValueError(f"{key} = {data[f.name]!r} is not of type {_name(hints[f.name])}")
    return data


def _is(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_is(v, args[0]) for v in value) if args else isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
