"""The pipeline's own progress, in ``pipeline.json``: what ``--resume`` continues from.

Ray keeps each stage's trials; this file keeps what lies between stages: which stages
finished, the configurations each handed on (top-k), and how far cross-validation got.
It is rewritten atomically (temporary file, then rename) at every transition, so a
driver killed at any moment leaves the previous state or the next, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError
from pipeline.results import write_json

STATE_FILE = "pipeline.json"
SETTINGS_FILE = "experiment.yaml"
FORMAT = 1
PENDING, RUNNING, DONE = "pending", "running", "done"


@dataclass
class Candidate:
    """A configuration handed on by a stage, with its score there."""

    config: dict[str, Any]
    value: float
    trial_id: str
    iterations: int
    checkpoint: str | None = None  # the trial's last checkpoint (model trained at that stage's fidelity)


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


@dataclass
class CVRecord:
    status: str = PENDING
    finalists: list[Candidate] = field(default_factory=list)
    #: per finalist: the final metric of each fold (None: the fold failed)
    scores: list[list[float | None]] = field(default_factory=list)
    winner: int | None = None
    epochs: int = 0
    wall_s: float = 0.0


@dataclass
class PipelineState:
    stages: list[StageRecord]
    cv: CVRecord | None = None
    status: str = RUNNING
    sessions: int = 1  # 1 + how many times the experiment was resumed

    def save(self, out_dir: Path) -> None:
        write_json({"format": FORMAT, **asdict(self)}, out_dir / STATE_FILE)

    @classmethod
    def load(cls, out_dir: Path) -> PipelineState:
        path = out_dir / STATE_FILE
        if not path.is_file():
            raise UsageError("resume", f"{out_dir} is not an mftune experiment (no {STATE_FILE})")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise UsageError("resume", f"{path} is not valid JSON: {err}") from None
        if data.get("format") != FORMAT:
            raise UsageError("resume", f"{path} has format {data.get('format')!r}; this mftune reads {FORMAT}")
        stages = [StageRecord(**{**s, "top_k": [Candidate(**c) for c in s["top_k"]]}) for s in data["stages"]]
        cv = data.get("cv")
        if cv is not None:
            cv = CVRecord(**{**cv, "finalists": [Candidate(**c) for c in cv["finalists"]]})
        return cls(stages=stages, cv=cv, status=data["status"], sessions=data.get("sessions", 1))
