"""The refitted winner as a model on disk (``<experiment>/model/``): save, load, predict.

After the last stage (and cross-validation) the pipeline trains the winning
configuration once more on every labelled row (``pipeline.refit``) and saves it here::

    from pipeline.model import load_model

    m = load_model("results/digits-20261130-120000/model")
    m.predict(images)          # class labels (or values, for regression)
    m.predict_proba(images)    # classification: one column per class, m.classes

What the directory holds, all written by :meth:`Model.save`:

* ``manifest.json``: task, kind, configuration, metric, CV and test scores, the
  preprocessing and architecture needed to predict, library versions;
* ``weights.pt``: the torch ``state_dict`` (CNN and MLP models), loaded with
  ``weights_only=True`` (no code runs from the file);
* ``estimator.joblib``: the scikit-learn estimator (the GBM model);
* ``preprocess.joblib``: the tabular task's fitted ColumnTransformer, so ``predict``
  takes a raw pandas DataFrame with the table's feature columns;
* ``model.pkl``: a custom trainable's own model, the object its refit function
  returned (:func:`load_model` gives that object back).

joblib and pickle files run code when they are loaded: load only models you trust.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "mftune-model/1"
MANIFEST, WEIGHTS, ESTIMATOR, PREPROCESS, CUSTOM = (
    "manifest.json",
    "weights.pt",
    "estimator.joblib",
    "preprocess.joblib",
    "model.pkl",
)
_BATCH = 4096

__all__ = ["FORMAT", "MANIFEST", "Model", "library_versions", "load_model"]


def library_versions() -> dict[str, str]:
    """The versions a saved model was made with (a model may not load in others)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("mftune", "numpy", "pandas", "scikit-learn", "torch", "ray"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass
class Model:
    """A trained built-in model and everything its ``predict`` needs.

    ``manifest["input"]`` says what ``predict`` takes: ``{"type": "table", "columns": [...]}``
    (a DataFrame with those columns; others are ignored) or ``{"type": "images", ...}``
    (an array ``(n, h, w)`` or ``(n, c, h, w)``: floats in [0, 1] or uint8 0-255, at the
    model's resolution or a multiple of it; the images task also takes file paths).
    """

    manifest: dict[str, Any]
    net: Any = None  # torch.nn.Module (kind "torch")
    estimator: Any = None  # scikit-learn estimator (kind "sklearn")
    preprocess: Any = None  # fitted ColumnTransformer (tabular)
    _eval: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ facts
    @property
    def classes(self) -> list[Any] | None:
        """Class labels, in the order of ``predict_proba``'s columns (None: regression)."""
        return self.manifest.get("classes")

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest["config"]

    @property
    def test_score(self) -> float | None:
        return self.manifest.get("test_score")

    # -------------------------------------------------------------- predicting
    def predict(self, x: Any) -> np.ndarray:
        """Class labels (classification) or values in the target's units (regression)."""
        if self.classes is None:
            return self._regress(self._features(x))
        index = self.predict_proba(x).argmax(axis=1)
        return np.asarray(self.classes, dtype=object if _mixed(self.classes) else None)[index]

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, one row per input, one column per :attr:`classes`."""
        if self.classes is None:
            raise ValueError("predict_proba: this model is a regression model (no classes)")
        features = self._features(x)
        n_classes = len(self.classes)
        if self.estimator is not None:
            proba = np.zeros((len(features), n_classes))
            proba[:, self.estimator.classes_.astype(int)] = self.estimator.predict_proba(features)
            return proba
        return _softmax(self._forward(features))

    def _regress(self, features: np.ndarray) -> np.ndarray:
        out = self.estimator.predict(features) if self.estimator is not None else self._forward(features)[:, 0]
        return np.asarray(out, dtype=np.float64) * self.manifest["y_std"] + self.manifest["y_mean"]

    def _forward(self, features: np.ndarray) -> np.ndarray:
        import torch

        self.net.eval()
        with torch.no_grad():
            outs = [
                self.net(torch.as_tensor(features[i : i + _BATCH], dtype=torch.float32)).numpy()
                for i in range(0, len(features), _BATCH)
            ]
        return np.concatenate(outs) if outs else np.zeros((0, max(1, len(self.classes or [0]))))

    def _features(self, x: Any) -> np.ndarray:
        spec = self.manifest["input"]
        if spec["type"] == "table":
            return _table(self.preprocess, x, spec["columns"])
        return _images(x, spec)

    # ------------------------------------------------------------------ saving
    def save(self, directory: str | Path) -> None:
        """Write the model's files into ``directory`` (created; the caller renames it into place)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.net is not None:
            import torch

            torch.save({k: v.detach().cpu() for k, v in self.net.state_dict().items()}, directory / WEIGHTS)
        if self.estimator is not None or self.preprocess is not None:
            import joblib

            if self.estimator is not None:
                joblib.dump(self.estimator, directory / ESTIMATOR)
            if self.preprocess is not None:
                joblib.dump(self.preprocess, directory / PREPROCESS)
        write_manifest(self.manifest, directory)


def write_manifest(manifest: dict[str, Any], directory: Path) -> None:
    with open(directory / MANIFEST, "w") as f:
        json.dump(manifest, f, indent=2, default=_plain)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def save_custom(obj: Any, manifest: dict[str, Any], directory: str | Path) -> None:
    """A custom trainable's model: the object itself, pickled, beside its manifest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / CUSTOM, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    write_manifest(manifest, directory)


def load_model(directory: str | Path) -> Any:
    """The model saved in ``directory`` (an experiment's ``model/``).

    A built-in task's model comes back as a :class:`Model`; a custom trainable's as the
    object its refit function returned (its module must be importable, as for any pickle).
    """
    directory = Path(directory).expanduser()
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{directory} holds no mftune model (no {MANIFEST})")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}; this mftune reads {FORMAT}")
    kind = manifest["kind"]
    if kind == "custom":
        with open(directory / CUSTOM, "rb") as f:
            return pickle.load(f)  # noqa: S301 (the user's own model; see the module docstring)
    model = Model(manifest)
    if (directory / PREPROCESS).is_file() or kind == "sklearn":
        import joblib

        if (directory / PREPROCESS).is_file():
            model.preprocess = joblib.load(directory / PREPROCESS)
        if kind == "sklearn":
            model.estimator = joblib.load(directory / ESTIMATOR)
    if kind == "torch":
        import torch

        model.net = build_net(manifest["architecture"])
        model.net.load_state_dict(torch.load(directory / WEIGHTS, map_location="cpu", weights_only=True))
        model.net.eval()
    return model


def build_net(architecture: dict[str, Any]) -> Any:
    """A fresh network of the saved architecture (``{"class": "MLP", "kwargs": {...}}``)."""
    from pipeline.arch import ArchNet
    from pipeline.models import MLP, SmallCNN

    classes = {"MLP": MLP, "SmallCNN": SmallCNN, "ArchNet": ArchNet}
    return classes[architecture["class"]](**architecture["kwargs"])


# ----------------------------------------------------------------------- inputs


def _table(preprocess: Any, x: Any, columns: Sequence[str]) -> np.ndarray:
    import pandas as pd

    from pipeline.tasks.tabular import transform

    if not isinstance(x, pd.DataFrame):
        raise TypeError(f"predict takes a pandas DataFrame with the columns {list(columns)}, got {type(x).__name__}")
    missing = [c for c in columns if c not in x.columns]
    if missing:
        raise ValueError(f"predict: the DataFrame lacks the column(s) {missing} the model was trained on")
    return transform(preprocess, x[list(columns)])


def _images(x: Any, spec: dict[str, Any]) -> np.ndarray:
    """Raw images as the network's normalised ``(n, c, r, r)`` input."""
    resolution, channels = int(spec["resolution"]), int(spec["channels"])
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (str, os.PathLike)):
        arr = _read_files(x, resolution, channels)
    else:
        arr = np.asarray(x)
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        arr = arr.astype(np.float32)
        if arr.ndim == 3:
            arr = arr[:, None, :, :]
        if arr.ndim != 4 or arr.shape[1] != channels or arr.shape[2] != arr.shape[3]:
            raise ValueError(
                f"predict takes square images of shape (n, {resolution}, {resolution}) or "
                f"(n, {channels}, side, side), got {arr.shape}"
            )
        side = arr.shape[-1]
        if side != resolution:
            if side % resolution:
                raise ValueError(f"predict: images of side {side} cannot be pooled to the model's {resolution}")
            from pipeline.tasks.data import downsample

            arr = downsample(arr, resolution)
    mean = np.asarray(spec["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(spec["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    return ((arr - mean) / std).astype(np.float32)


def _read_files(paths: Sequence[Any], resolution: int, channels: int) -> np.ndarray:
    from pipeline.tasks.image_folder import read_image

    return np.stack([read_image(str(p), resolution, "L" if channels == 1 else "RGB") for p in paths])


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _mixed(values: Sequence[Any]) -> bool:
    return len({type(v) for v in values}) > 1


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)  # a Path, or whatever else a custom refit reported: readable, not lost
