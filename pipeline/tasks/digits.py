"""scikit-learn's bundled 8x8 digits: the default task, no download needed."""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.tasks.base import ImageTask, TaskOptions, optimizer_choice


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    data = _bundled_csv()
    if data is None:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, target = bunch.images, bunch.target
    else:  # what load_digits does with the same file
        images, target = data[:, :-1].reshape(-1, 8, 8), data[:, -1]
    return (images / 16.0).astype(np.float32)[:, None, :, :], target.astype(np.int64)


def _bundled_csv() -> np.ndarray | None:
    """The rows of scikit-learn's ``datasets/data/digits.csv.gz``, read without importing
    scikit-learn: every trial worker loads the digits, and ``import sklearn.datasets``
    (with SciPy) costs 1-2 s of each worker's start (benchmarks/worker_start.py). None
    when the file is not where scikit-learn 1.x keeps it; then ``load_digits`` reads it."""
    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as f:
                return np.loadtxt(f, delimiter=",")
    return None


class DigitsTask(ImageTask):
    name = "digits"
    native_resolution = 8
    resolutions = (8, 4)
    val_fraction = 0.2
    default_max_epochs = 15

    def raw(self, options: TaskOptions) -> tuple[np.ndarray, np.ndarray]:
        return _digits()

    def default_space(self) -> dict[str, Any]:
        return {
            "optimizer": optimizer_choice(),
            "batch_size": {"type": "categorical", "choices": [16, 32, 64, 128]},
            "channels": {"type": "int", "low": 8, "high": 32, "step": 8},
            "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        }
