"""scikit-learn's bundled 8x8 digits: the default task, no download needed."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from pipeline.tasks.base import ImageTask, TaskOptions


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
            "optimizer": {"type": "categorical", "choices": [
                {"name": "sgd",
                 "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
                 "momentum": {"type": "float", "low": 0.0, "high": 0.99}},
                {"name": "adam",
                 "lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
                 "beta1": {"type": "float", "low": 0.8, "high": 0.99},
                 "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True}},
            ]},
            "batch_size": {"type": "categorical", "choices": [16, 32, 64, 128]},
            "channels": {"type": "int", "low": 8, "high": 32, "step": 8},
            "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        }
