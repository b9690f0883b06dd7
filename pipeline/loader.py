"""The public way to read an experiment directory in Python, finished or still running.

::

    from pipeline import load_experiment

    exp = load_experiment("results/digits-20261124-120000")
    exp.best_params, exp.best_value        # the winner (CV mean when CV ran)
    df = exp.trials_dataframe()            # one row per trial of every stage (and CV)
    exp.model.predict(x)                   # the refitted winner (model/), once finished

Everything is read from ``events.jsonl``, which the driver appends to as each result
arrives, so the same calls work on a directory whose run is in progress (or was killed):
then ``best_*`` are those of the last stage that has finished trials, the highest
fidelity reached so far (earlier stages ran at lower fidelity and are not comparable).
Once the run is finished, ``best.json`` is the answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline.events import EVENTS_FILE, read_events
from pipeline.layout import BEST_FILE
from pipeline.state import SETTINGS_FILE


class ExperimentResults:
    """What an experiment directory holds, as Python values. Re-read on every access."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        if not (self.path / SETTINGS_FILE).is_file():
            raise FileNotFoundError(f"{self.path} is not an mftune experiment directory (no {SETTINGS_FILE})")
        with open(self.path / SETTINGS_FILE) as f:
            self.settings: dict[str, Any] = yaml.safe_load(f)

    @property
    def metric(self) -> str:
        return self.settings["metric"]

    @property
    def mode(self) -> str:
        return self.settings["mode"]

    @property
    def stage_names(self) -> list[str]:
        return [s["name"] for s in self.settings.get("stages", [])]

    @property
    def finished(self) -> bool:
        return (self.path / BEST_FILE).is_file()

    def _best_json(self) -> dict[str, Any] | None:
        path = self.path / BEST_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def _best_event(self) -> dict[str, Any] | None:
        done = [e for e in self._completions() if e.get("value") is not None and e["stage"] in self.stage_names]
        if not done:
            return None
        last_stage = max(self.stage_names.index(e["stage"]) for e in done)
        done = [e for e in done if self.stage_names.index(e["stage"]) == last_stage]
        sign = -1.0 if self.mode == "max" else 1.0
        return min(done, key=lambda e: sign * e["value"])

    @property
    def best_params(self) -> dict[str, Any] | None:
        """The winner's configuration (None before any trial finished)."""
        best = self._best_json()
        if best is not None:
            return best["config"]
        event = self._best_event()
        return None if event is None else event["config"]

    @property
    def best_value(self) -> float | None:
        """The winner's value: its CV mean when the run cross-validated, else its stage value."""
        best = self._best_json()
        if best is not None:
            return best["value"]
        event = self._best_event()
        return None if event is None else event["value"]

    @property
    def model(self) -> Any:
        """The refitted winner in ``model/`` (:func:`pipeline.model.load_model`): a model with
        ``predict`` / ``predict_proba``; None until the refit has finished, or without one."""
        from pipeline.layout import MODEL_DIR
        from pipeline.model import MANIFEST, load_model

        return load_model(self.path / MODEL_DIR) if (self.path / MODEL_DIR / MANIFEST).is_file() else None

    def _completions(self) -> list[dict[str, Any]]:
        last: dict[tuple[str, str], dict[str, Any]] = {}
        for e in read_events(self.path / EVENTS_FILE):
            if e.get("e") in ("complete", "error"):
                last.pop((e["stage"], e["trial"]), None)  # a retried trial's last word counts
                last[(e["stage"], e["trial"])] = e
        return list(last.values())

    def trials_dataframe(self) -> pd.DataFrame:
        """One row per trial: ``stage``, ``trial_id``, ``state`` (complete, error, running),
        ``value`` (the metric at its last result), ``iterations`` and ``params/<name>``
        columns (nested keys joined with ``/``; none yet for a running trial)."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for e in read_events(self.path / EVENTS_FILE):
            key = (e["stage"], e["trial"])
            row = rows.setdefault(
                key, {"stage": e["stage"], "trial_id": e["trial"], "state": "running", "value": None, "iterations": 0}
            )
            if e.get("iter") is not None:
                row["iterations"] = max(row["iterations"], int(e["iter"]))
            if e.get("value") is not None:
                row["value"] = e["value"]
            if e.get("e") in ("complete", "error"):
                row["state"] = "complete" if e["e"] == "complete" else "error"
                row.update({f"params/{k}": v for k, v in _flatten(e.get("config") or {}).items()})
        columns = ["stage", "trial_id", "state", "value", "iterations"]
        frame = pd.DataFrame(list(rows.values()))
        return frame if len(frame) else pd.DataFrame(columns=columns)

    def __repr__(self) -> str:
        return f"ExperimentResults({str(self.path)!r}, metric={self.metric!r}, mode={self.mode!r})"


def load_experiment(path: str | Path) -> ExperimentResults:
    """Open an experiment directory (``--output``) for reading; see :class:`ExperimentResults`."""
    return ExperimentResults(path)


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out
