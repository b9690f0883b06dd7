"""An experiment directory read back: settings, progress, tables, events, and curves.

Reports and comparisons are built from what a run left on disk, never from a live
process, so they work the same for a finished run, a resumed one and an old directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline.events import EVENTS_FILE, read_events
from pipeline.layout import BEST_FILE, TRIALS_CSV
from pipeline.state import SETTINGS_FILE, STATE_FILE, PipelineState


@dataclass
class Experiment:
    path: Path
    settings: dict[str, Any]
    state: PipelineState
    trials: pd.DataFrame
    cv: pd.DataFrame | None
    best: dict[str, Any] | None
    events: list[dict[str, Any]]

    @property
    def metric(self) -> str:
        return self.settings["metric"]

    @property
    def mode(self) -> str:
        return self.settings["mode"]

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.state.stages]

    @property
    def epochs(self) -> int:
        """Epochs spent by the tuning stages (CV excluded)."""
        return sum(s.epochs for s in self.state.stages)

    @property
    def cv_epochs(self) -> int:
        return self.state.cv.epochs if self.state.cv else 0

    @property
    def wall_s(self) -> float:
        return sum(s.wall_s for s in self.state.stages) + (self.state.cv.wall_s if self.state.cv else 0.0)

    @property
    def n_trials(self) -> int:
        return sum(s.trials for s in self.state.stages)

    @property
    def final_score(self) -> float | None:
        """The winner's CV mean when the run cross-validated, else its best stage value."""
        return None if self.best is None else self.best.get("value")

    def completions(self, stage: str | None = None) -> list[dict[str, Any]]:
        """The last ``complete`` event of each trial, in completion order."""
        last: dict[tuple[str, str], dict[str, Any]] = {}
        for e in self.events:
            if e.get("e") == "complete" and (stage is None or e.get("stage") == stage):
                last.pop((e["stage"], e["trial"]), None)
                last[(e["stage"], e["trial"])] = e
        return list(last.values())


def load(path: str | Path) -> Experiment:
    path = Path(path).expanduser().resolve()
    if not (path / STATE_FILE).is_file() or not (path / SETTINGS_FILE).is_file():
        raise FileNotFoundError(f"{path} is not an mftune experiment directory (no {STATE_FILE} / {SETTINGS_FILE})")
    with open(path / SETTINGS_FILE) as f:
        settings = yaml.safe_load(f)
    trials = pd.read_csv(path / TRIALS_CSV) if (path / TRIALS_CSV).is_file() else pd.DataFrame()
    cv = pd.read_csv(path / "cv.csv") if (path / "cv.csv").is_file() else None
    best = json.loads((path / BEST_FILE).read_text()) if (path / BEST_FILE).is_file() else None
    return Experiment(path, settings, PipelineState.load(path), trials, cv, best, read_events(path / EVENTS_FILE))


def best_so_far(exp: Experiment) -> pd.DataFrame:
    """Best value among the tuning trials finished so far, against spent budget.

    One row per finished trial of the tuning stages (CV excluded), in completion order:
    ``epochs`` is every epoch the stages had trained by then, ``seconds`` the time since
    the experiment's first result, ``best`` the best final value so far (each trial
    scored at its own stage's fidelity).
    """
    stages = set(exp.stage_names)
    events = sorted((e for e in exp.events if e.get("stage") in stages), key=lambda e: e["t"])
    if not events:
        return pd.DataFrame(columns=["epochs", "seconds", "best", "stage"])
    t0 = events[0]["t"]
    sign = 1.0 if exp.mode == "max" else -1.0
    rows, epochs, best, seen = [], 0, None, set()
    for e in events:
        if e["e"] == "result":
            epochs += 1
        elif e["e"] == "complete" and (e["stage"], e["trial"]) not in seen and e.get("value") is not None:
            seen.add((e["stage"], e["trial"]))
            if best is None or sign * e["value"] > sign * best:
                best = e["value"]
            rows.append({"epochs": epochs, "seconds": e["t"] - t0, "best": best, "stage": e["stage"]})
    return pd.DataFrame(rows)
