"""Fashion-MNIST (28x28, 10 classes) at 28, 14 or 7 pixels.

Where the files come from, in order: ``--data-dir``; the Debian package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``); a download into
``--data-dir`` (or ``~/.cache/mftune/fashion-mnist``). The loader runs on the worker,
so on a cluster each node finds or fetches its own copy; the driver checks first so
a machine without the data fails before any trial starts.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import struct
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import UsageError
from pipeline.tasks.base import Fidelity, ImageTask, TaskOptions, optimizer_choice
from searchers.common.atomic import atomic_write

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "mftune", "fashion-mnist")
#: HTTPS only (the S3 *website* endpoint the dataset's README names serves plain HTTP);
#: every download is verified against SHA256 below before it takes the real name
MIRRORS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
)
FILES = {"images": "train-images-idx3-ubyte", "labels": "train-labels-idx1-ubyte"}
#: the 10,000 test images: never tuned on; the refitted winner is scored on them when
#: they lie beside the training files (Debian's package has them; the download does not)
TEST_FILES = {"images": "t10k-images-idx3-ubyte", "labels": "t10k-labels-idx1-ubyte"}
#: SHA256 of the *uncompressed* IDX files (independent of how a mirror gzipped them),
#: taken from Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist)
SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
}
_IDX_MAGIC = {"images": 0x0803, "labels": 0x0801}


class DataNotFound(Exception):
    pass


class ChecksumMismatch(Exception):
    pass


def verify(path: str | Path, stem: str) -> None:
    """Raise ChecksumMismatch unless the (gzipped) file holds exactly the known IDX bytes."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError) as err:
        raise ChecksumMismatch(f"{stem}.gz is not a gzip file ({err})") from None
    if digest.hexdigest() != SHA256[stem]:
        raise ChecksumMismatch(f"{stem}.gz: SHA256 {digest.hexdigest()[:16]}... is not the published file's")


def read_idx(path: str | Path, kind: str) -> np.ndarray:
    """Parse one IDX file (gzip or plain); ``kind`` is "images" or "labels"."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for an IDX file")
    magic, count = struct.unpack(">II", raw[:8])
    if magic != _IDX_MAGIC[kind]:
        raise ValueError(f"{path}: not an IDX {kind} file (magic 0x{magic:08x})")
    if kind == "labels":
        data = np.frombuffer(raw, dtype=np.uint8, offset=8)
        shape: tuple[int, ...] = (count,)
    else:
        rows, cols = struct.unpack(">II", raw[8:16])
        data = np.frombuffer(raw, dtype=np.uint8, offset=16)
        shape = (count, rows, cols)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: expected {int(np.prod(shape))} values, found {data.size}")
    return data.reshape(shape)


def _find(directory: str | None) -> dict[str, Path] | None:
    if not directory:
        return None
    found = {}
    for kind, stem in FILES.items():
        for name in (stem + ".gz", stem):
            if (Path(directory) / name).is_file():
                found[kind] = Path(directory) / name
                break
    return found if len(found) == len(FILES) else None


def _download(directory: str, timeout: float = 30.0) -> dict[str, Path]:
    os.makedirs(directory, exist_ok=True)
    errors = []
    for base in MIRRORS:
        try:
            for stem in FILES.values():
                target = Path(directory) / (stem + ".gz")
                if target.is_file():
                    continue
                with urllib.request.urlopen(base + stem + ".gz", timeout=timeout) as r:

                    def write(tmp: str, r=r, stem=stem) -> None:
                        with open(tmp, "wb") as out:
                            out.write(r.read())
                        verify(tmp, stem)  # a wrong file never gets the real name

                    atomic_write(target, write)
            found = _find(directory)
            if found:
                return found
        except (OSError, ChecksumMismatch) as err:
            errors.append(f"{base}: {getattr(err, 'reason', err)}")
    raise DataNotFound("; ".join(errors) or "no mirror configured")


def locate(data_dir: str | None, download: bool = True) -> dict[str, Path]:
    """Paths of the training IDX files, or UsageError saying how to get them."""
    for directory in (data_dir, DEBIAN_DIR):
        found = _find(directory)
        if found:
            return found
    target = data_dir or CACHE_DIR
    found = _find(target)
    if found:
        return found
    reason = "download disabled"
    if download:
        try:
            return _download(target)
        except DataNotFound as err:
            reason = f"download failed ({err})"
    looked = ", ".join(d for d in (data_dir, DEBIAN_DIR, CACHE_DIR) if d)
    raise UsageError(
        "data_dir",
        f"Fashion-MNIST not found in {looked} and {reason}; install it with "
        "'apt-get install dataset-fashion-mnist' or put "
        f"{FILES['images']}.gz and {FILES['labels']}.gz in --data-dir",
    )


@functools.lru_cache(maxsize=2)
def _load(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(images, "images").astype(np.float32)[:, None, :, :] / 255.0
    y = read_idx(labels, "labels").astype(np.int64)
    if len(x) != len(y):
        raise ValueError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    return x, y


class FashionMNISTTask(ImageTask):
    name = "fashion-mnist"
    options = ("data_dir",)
    native_resolution = 28
    resolutions = (28, 14, 7)
    val_fraction = 1 / 6  # 10,000 of the 60,000 training images
    default_max_epochs = 10

    def check(self, options: TaskOptions, fidelity: Fidelity) -> None:
        super().check(options, fidelity)
        paths = locate(options.data_dir)
        try:
            _load(paths["images"], paths["labels"])
        except (OSError, ValueError) as err:
            raise UsageError("data_dir", f"unreadable Fashion-MNIST files: {err}") from None

    def raw(self, options: TaskOptions) -> tuple[np.ndarray, np.ndarray]:
        paths = locate(options.data_dir)
        return _load(paths["images"], paths["labels"])

    def test_images(self, options: TaskOptions) -> tuple[np.ndarray, np.ndarray] | None:
        folder = locate(options.data_dir)["images"].parent
        paths = {}
        for kind, stem in TEST_FILES.items():
            found = [folder / name for name in (stem + ".gz", stem) if (folder / name).is_file()]
            if not found:
                return None
            paths[kind] = found[0]
        return _load(paths["images"], paths["labels"])

    def default_space(self) -> dict[str, Any]:
        return {
            "optimizer": optimizer_choice(adam_lr_high=1e-2),
            "batch_size": {"type": "categorical", "choices": [32, 64, 128, 256]},
            "channels": {"type": "int", "low": 8, "high": 32, "step": 8},
            "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        }
