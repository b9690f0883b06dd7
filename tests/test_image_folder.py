"""The image-folder task (``--task images --data-dir DIR``): class subfolders of RGB or grey
images of any size, resized to the trial's resolution, rows from the trial context."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline.context import CV_FOLD_KEY, ContextSetup, bind, trial_context
from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity, Fold
from pipeline.run import main
from pipeline.tasks import TaskOptions, get_task
from pipeline.trainable import builtin_trainable
from tests.pipeline_runs import ROOT

IMAGES = get_task("images")


def make_folder(root, grey=False, per_class=12, seed=0):
    """Three classes told apart by colour (or brightness), in sizes from 10x14 to 40x33."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    colours = {"cat": (200, 40, 40), "dog": (40, 200, 40), "eel": (40, 40, 200)}
    for k, (name, rgb) in enumerate(colours.items()):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            w, h = int(rng.integers(10, 41)), int(rng.integers(14, 34))
            if grey:  # brightness tells the classes apart
                pixels = np.full((h, w), 60 + 70 * k) + rng.normal(0, 15, (h, w))
            else:
                pixels = np.full((h, w, 3), rgb, dtype=np.float64) + rng.normal(0, 25, (h, w, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                root / name / f"{i}.{'png' if i % 2 else 'jpg'}"
            )
    (root / "notes.txt").write_text("not a class")  # files beside the class folders are ignored
    return str(root)


def load(data_dir, fidelity, fold=None, seed=0):
    return IMAGES.load(TaskOptions(data_dir=data_dir), fidelity, seed, fold)


def test_images_of_any_size_become_squares_at_the_trial_resolution(tmp_path):
    rgb = make_folder(tmp_path / "rgb")
    data = load(rgb, Fidelity(1.0, 16, 1))
    assert data.x_train.shape[1:] == (3, 16, 16) and data.n_outputs == 3
    assert len(data.y_train) + len(data.y_val) == 36 and np.bincount(data.y_val).tolist() == [2, 2, 2]
    assert abs(float(data.x_train.mean())) < 1e-4  # normalised on the training rows
    assert load(rgb, Fidelity(1.0, None, 1)).x_train.shape[1:] == (3, 32, 32)  # the default side
    grey = make_folder(tmp_path / "grey", grey=True)
    assert load(grey, Fidelity(1.0, 8, 1)).x_train.shape[1:] == (1, 8, 8)
    half = load(rgb, Fidelity(0.5, 16, 1))
    assert len(half.y_train) == 15 and np.array_equal(half.y_val, data.y_val)  # nested, same holdout
    folds = [load(rgb, Fidelity(1.0, 8, 1), Fold(i, 3)) for i in range(3)]
    assert sum(len(f.y_val) for f in folds) == 36


@pytest.mark.parametrize(
    "layout, message",
    [
        (None, "the images task needs a directory with one subfolder per class"),
        ("missing", "not a directory"),
        ("flat", "needs at least 2 class subfolders holding images"),
        ("one-class", "found 1"),
        ("few", "needs at least 10 images, found 4"),
    ],
)
def test_a_folder_without_class_folders_is_one_line(tmp_path, layout, message, capsys):
    from PIL import Image

    img = Image.new("RGB", (8, 8))
    if layout == "flat":
        tmp_path.joinpath("a.png").write_bytes(b"")
        img.save(tmp_path / "b.png")
    elif layout == "one-class":
        (tmp_path / "a").mkdir()
        img.save(tmp_path / "a" / "1.png")
    elif layout == "few":
        for c in "ab":
            (tmp_path / c).mkdir()
            for i in range(2):
                img.save(tmp_path / c / f"{i}.png")
    args = ["--task", "images", "--output", str(tmp_path / "out")]
    if layout is not None:
        args += ["--data-dir", str(tmp_path / "nope") if layout == "missing" else str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    field = "--data-dir" if layout is not None else "data_dir"  # named as the user gave it
    assert err.count("\n") == 0 and message in err and err.startswith(f"python -m pipeline.run: error: {field}:")
    assert not (tmp_path / "out").exists()


def test_a_resolution_out_of_range_is_refused(tmp_path):
    from pipeline.config import build

    folder = make_folder(tmp_path / "rgb")
    with pytest.raises(UsageError, match=r"^stages\[0\].resolution: images allows 4 to 512 pixels, got 2"):
        build({"task": "images", "data_dir": folder, "stages": [{"resolution": 2, "budget": {"trials": 2}}]})


def test_the_images_trainable_learns_colours_through_its_context(tmp_path):
    folder = make_folder(tmp_path / "rgb")
    seen = []
    fn = builtin_trainable("images", TaskOptions(data_dir=folder))

    def spy(config):
        fn(config)
        seen.append(trial_context())

    config = {"optimizer": "adam", "lr": 0.01, "batch_size": 8, "channels": 8, "hidden": 32, CV_FOLD_KEY: 0}
    bind(spy, ContextSetup(Fidelity(1.0, 8, 6), seed=0, cv_folds=3))(config)
    metrics = [m for m, _ in seen[0].reports]
    assert len(metrics) == 6 and metrics[-1]["input_shape"] == "3x8x8" and metrics[-1]["n_train"] == 24
    assert metrics[-1]["val_accuracy"] >= 0.75  # three solid colours: far above chance (1/3)


@pytest.mark.ray
def test_images_through_two_resolutions_and_cv(tmp_path):
    folder = make_folder(tmp_path / "rgb")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"""
task: images
data_dir: {folder}
stages:
  - {{name: 8px, resolution: 8, data_fraction: 0.5, max_epochs: 2, budget: {{trials: 3}}, top_k: 2}}
  - {{name: 16px, resolution: 16, max_epochs: 2, budget: {{trials: 2}}}}
cv: {{folds: 2, top_k: 2}}
"""
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run", "--config", str(cfg), "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    trials = pd.read_csv(out / "trials.csv")
    assert set(trials[trials["stage"] == "8px"]["input_shape"]) == {"3x8x8"}
    assert set(trials[trials["stage"] == "16px"]["input_shape"]) == {"3x16x16"}
    best = json.loads((out / "best.json").read_text())
    assert len(best["cv_scores"]) == 2 and best["fidelity"]["resolution"] is None  # CV at the default 32 px
