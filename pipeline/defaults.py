"""The pipeline each built-in task runs when the settings name no stages.

``python -m pipeline.run`` with no arguments runs the digits pipeline below. The
fashion-mnist and tabular shapes follow the same idea: many cheap trials at a low
fidelity, the best few at full fidelity, then cross-validation of the finalists.
docs/examples/ holds the same pipelines as YAML (a test keeps them equal).
"""

from __future__ import annotations

from typing import Any

#: The default experiment: digits at 4x4 with 30 % of the training rows, then 8x8 with
#: all of them, then 5-fold cross-validation of the best 3 (see docs/benchmarks.md).
DIGITS = {
    "stages": [
        {
            "name": "coarse",
            "data_fraction": 0.3,
            "resolution": 4,
            "max_epochs": 10,
            "searcher": "auto",
            "scheduler": "asha",
            "budget": {"trials": 40},
            "top_k": 6,
        },
        {
            "name": "full",
            "data_fraction": 1.0,
            "resolution": 8,
            "max_epochs": 15,
            "searcher": "auto",
            "scheduler": "fifo",
            "budget": {"trials": 10},
        },
    ],
    "cv": {"folds": 5, "top_k": 3},
}

#: 7x7 -> 14x14 -> 28x28 -> CV; hours on a 2-core CPU, minutes on a GPU (--gpus-per-trial).
FASHION_MNIST = {
    "stages": [
        {
            "name": "7px",
            "data_fraction": 0.2,
            "resolution": 7,
            "max_epochs": 6,
            "searcher": "auto",
            "scheduler": "asha",
            "budget": {"trials": 60},
            "top_k": 12,
        },
        {
            "name": "14px",
            "data_fraction": 0.5,
            "resolution": 14,
            "max_epochs": 8,
            "searcher": "auto",
            "scheduler": "asha",
            "budget": {"trials": 24},
            "top_k": 4,
        },
        {
            "name": "28px",
            "data_fraction": 1.0,
            "resolution": 28,
            "max_epochs": 10,
            "searcher": "auto",
            "scheduler": "fifo",
            "budget": {"trials": 6},
        },
    ],
    "cv": {"folds": 5, "top_k": 3},
}

TABULAR = {
    "stages": [
        {
            "name": "coarse",
            "data_fraction": 0.3,
            "max_epochs": 30,
            "searcher": "auto",
            "scheduler": "asha",
            "budget": {"trials": 40},
            "top_k": 6,
        },
        {
            "name": "full",
            "data_fraction": 1.0,
            "max_epochs": 30,
            "searcher": "auto",
            "scheduler": "fifo",
            "budget": {"trials": 10},
        },
    ],
    "cv": {"folds": 5, "top_k": 3},
}

#: your own image folder: 16 px on 30 % of the images, then 32 px on all, then 5-fold CV of 3
IMAGES = {
    "stages": [
        {
            "name": "16px",
            "data_fraction": 0.3,
            "resolution": 16,
            "max_epochs": 10,
            "searcher": "auto",
            "scheduler": "asha",
            "budget": {"trials": 30},
            "top_k": 5,
        },
        {
            "name": "32px",
            "data_fraction": 1.0,
            "resolution": 32,
            "max_epochs": 15,
            "searcher": "auto",
            "scheduler": "fifo",
            "budget": {"trials": 8},
        },
    ],
    "cv": {"folds": 5, "top_k": 3},
}

PIPELINES: dict[str, dict[str, Any]] = {
    "digits": DIGITS,
    "fashion-mnist": FASHION_MNIST,
    "tabular": TABULAR,
    "images": IMAGES,
}
