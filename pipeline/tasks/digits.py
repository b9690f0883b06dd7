"""scikit-learn's bundled 8x8 digits: the default task, no download needed."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from pipeline.tasks.base import ImageTask, TaskOptions, optimizer_choice


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return images, bunch.target.astype(np.int64)


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
