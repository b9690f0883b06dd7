"""What an experiment leaves next to Ray's own state: a trials table and best.json.

Both are written atomically (temporary file, then rename), so a crash leaves the
previous version or the new one, never half a file. ``mkstemp`` creates its file 0600;
the result gets the mode any other new file would get (0666 less the umask), so that
teammates on shared storage can read results as they read the rest of the directory.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.layout import TRIALS_CSV, TRIALS_PARQUET
from searchers.common.atomic import atomic_write


def _parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding lists, dicts or mixed types become JSON text for Arrow."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        values = out[col].dropna()
        kinds = {type(v) for v in values}
        if len(kinds) > 1 or kinds & {list, dict, tuple}:
            out[col] = out[col].map(lambda v: None if v is None else json.dumps(v, default=str))
    return out


def write_trials(df: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    csv, parquet = out_dir / TRIALS_CSV, out_dir / TRIALS_PARQUET
    atomic_write(csv, lambda p: df.to_csv(p, index=False))
    atomic_write(parquet, lambda p: _parquet_ready(df).to_parquet(p, index=False))
    return csv, parquet


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(obj: dict[str, Any], path: Path) -> Path:
    text = json.dumps(_jsonable(obj), indent=2, default=str) + "\n"

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(path, write)
    return path
