"""Your own images: a directory with one subfolder per class (``--task images --data-dir DIR``).

Any size, RGB or grey (PNG, JPEG, BMP, GIF, TIFF, WebP: what Pillow reads). Every image
is resized to a square of the trial's ``resolution`` (the fidelity knob; default 32),
so a low-resolution stage trains the same CNN family on smaller inputs. The images are
grey (1 channel) when every one of them is, else RGB (3). Like every built-in task the
rows come from the trial context (``ctx.split``: a seeded stratified holdout, nested
data fractions, or the CV fold), and the per-channel normalisation is fitted on the
trial's training rows only.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.tasks.base import ImageTask, TaskOptions, memo, optimizer_choice
from pipeline.tasks.data import ArrayData

if TYPE_CHECKING:
    from pipeline.context import TrialContext

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DEFAULT_RESOLUTION = 32
MIN_RESOLUTION, MAX_RESOLUTION = 4, 512


def scan(data_dir: str | None) -> tuple[list[str], list[tuple[str, int]]]:
    """Class names (sorted subfolder names) and (path, class index) of every image;
    UsageError naming ``data_dir`` for anything a user must fix."""
    if not data_dir:
        raise UsageError("data_dir", "the images task needs a directory with one subfolder per class (--data-dir DIR)")
    if not os.path.isdir(data_dir):
        raise UsageError("data_dir", f"not a directory: {data_dir}")
    classes, files = [], []
    for name in sorted(os.listdir(data_dir)):
        folder = os.path.join(data_dir, name)
        if name.startswith(".") or not os.path.isdir(folder):
            continue
        images = sorted(
            os.path.join(folder, f) for f in os.listdir(folder) if os.path.splitext(f)[1].lower() in EXTENSIONS
        )
        if images:
            files += [(path, len(classes)) for path in images]
            classes.append(name)
    if len(classes) < 2:
        raise UsageError(
            "data_dir",
            f"{data_dir} needs at least 2 class subfolders holding images ({', '.join(EXTENSIONS)}); "
            f"found {len(classes)}",
        )
    return classes, files


@functools.lru_cache(maxsize=2)
def _read(data_dir: str, resolution: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """All images as ``(n, c, resolution, resolution)`` floats in [0, 1], labels, class names."""
    from PIL import Image

    classes, files = scan(data_dir)
    opened = []
    for path, label in files:
        try:
            with Image.open(path) as img:
                img.load()
                opened.append((img.copy(), label))
        except OSError as err:
            raise UsageError("data_dir", f"cannot read image {path}: {err}") from None
    grey = all(img.mode in ("L", "1", "I;16", "I") for img, _ in opened)
    mode = "L" if grey else "RGB"
    x = np.stack([to_array(img, resolution, mode) for img, _ in opened])
    y = np.asarray([label for _, label in opened], dtype=np.int64)
    return np.ascontiguousarray(x), y, tuple(classes)


def to_array(img: Any, resolution: int, mode: str) -> np.ndarray:
    """One PIL image as ``(c, resolution, resolution)`` floats in [0, 1] (``mode`` L or RGB)."""
    from PIL import Image

    arr = np.asarray(img.convert(mode).resize((resolution, resolution), Image.BILINEAR), dtype=np.float32) / 255.0
    return arr[None, :, :] if mode == "L" else arr.transpose(2, 0, 1)


def read_image(path: str, resolution: int, mode: str) -> np.ndarray:
    """An image file as the task reads it for training (what a saved model's ``predict`` does with paths)."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return to_array(img, resolution, mode)


class ImageFolderTask(ImageTask):
    name = "images"
    native_resolution = DEFAULT_RESOLUTION  # images of any size are resized to this side by default
    val_fraction = 0.2
    default_max_epochs = 15
    options = ("data_dir",)
    per_channel = True

    def images(self, options: TaskOptions, resolution: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        x, y, classes = _read(options.data_dir, resolution)
        return x, y, list(classes)

    def check(self, options: TaskOptions, fidelity: Fidelity) -> None:
        res = fidelity.resolution
        if res is not None and not MIN_RESOLUTION <= res <= MAX_RESOLUTION:
            raise UsageError("resolution", f"images allows {MIN_RESOLUTION} to {MAX_RESOLUTION} pixels, got {res}")
        _, files = scan(options.data_dir)
        if len(files) < 10:
            raise UsageError("data_dir", f"needs at least 10 images, found {len(files)} in {options.data_dir}")

    def load_for(self, options: TaskOptions, ctx: TrialContext) -> ArrayData:
        resolution = ctx.resolution or self.native_resolution
        key = (self, options, resolution, ctx.data_fraction, ctx.seed, ctx.fold)
        return memo(key, lambda: _arrays(options, resolution, ctx))

    def default_space(self) -> dict[str, Any]:
        return {
            "optimizer": optimizer_choice(adam_lr_high=1e-2),
            "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
            "channels": {"type": "int", "low": 8, "high": 32, "step": 8},
            "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        }


def _arrays(options: TaskOptions, resolution: int, ctx: TrialContext) -> ArrayData:
    x, y, classes = _read(options.data_dir, resolution)
    train_idx, val_idx = ctx.split(y, ImageFolderTask.val_fraction, stratify=True)
    x_tr, x_va = x[train_idx], x[val_idx]
    mean = x_tr.mean(axis=(0, 2, 3), keepdims=True)  # per channel, training rows only
    std = x_tr.std(axis=(0, 2, 3), keepdims=True)
    std[std == 0] = 1.0
    return ArrayData(
        ((x_tr - mean) / std).astype(np.float32),
        y[train_idx],
        ((x_va - mean) / std).astype(np.float32),
        y[val_idx],
        len(classes),
    )
