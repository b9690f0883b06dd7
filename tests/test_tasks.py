"""Built-in tasks: fidelity knobs change what is trained; data is found or refused clearly."""

import gzip
import hashlib
import http.server
import os
import struct
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import hparams
from pipeline.errors import UsageError
from pipeline.tasks import Fidelity, TaskOptions, get_task
from pipeline.tasks import fashion_mnist as fm
from pipeline.tasks.tabular import preprocessor, transform
from pipeline.training import train_epochs

DIGITS = get_task("digits")
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------ digits


def test_digits_fidelity_changes_rows_and_image_shape_not_validation_rows():
    full = DIGITS.load(TaskOptions(), Fidelity(1.0, None, 5), seed=0)
    low = DIGITS.load(TaskOptions(), Fidelity(0.3, 4, 5), seed=0)
    assert full.x_train.shape == (1438, 1, 8, 8) and full.x_val.shape == (359, 1, 8, 8)
    assert low.x_train.shape[1:] == (1, 4, 4) and low.x_val.shape == (359, 1, 4, 4)
    assert abs(len(low.y_train) - 0.3 * 1438) <= 10  # per-class rounding
    assert np.array_equal(full.y_val, low.y_val)  # the validation split ignores fidelity
    # class balance of the subset follows the full training split
    np.testing.assert_allclose(
        np.bincount(low.y_train) / len(low.y_train), np.bincount(full.y_train) / len(full.y_train), atol=0.01
    )
    # scaling is fitted on the training rows only
    assert abs(full.x_train.mean()) < 1e-5 and abs(full.x_train.std() - 1) < 1e-4
    assert abs(full.x_val.mean()) > 1e-4


def test_digits_are_sklearns_without_importing_sklearn():
    """The bundled file read directly gives load_digits' arrays; and a trial worker that
    imports the task registry and loads the digits never imports scikit-learn (~2 s of
    every worker's start)."""
    from sklearn.datasets import load_digits

    from pipeline.tasks.digits import _digits

    images, target = _digits()
    bunch = load_digits()
    assert np.array_equal(images, (bunch.images / 16.0).astype(np.float32)[:, None])
    assert np.array_equal(target, bunch.target) and target.dtype == np.int64
    code = (
        "import sys; from pipeline.tasks import get_task; get_task('digits').raw(None); print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_digits_rejects_an_unsupported_resolution():
    with pytest.raises(UsageError, match="resolution.*8, 4.*got 5"):
        DIGITS.check(TaskOptions(), Fidelity(1.0, 5, 5))


def test_model_input_follows_resolution():
    import torch

    hp = hparams.parse({}, DIGITS.model_keys)
    for res in (8, 4):
        data = DIGITS.load(TaskOptions(), Fidelity(0.1, res, 1), seed=0)
        model = DIGITS.build_model(hp, data, Fidelity(0.1, res, 1))
        assert model(torch.zeros(2, 1, res, res)).shape == (2, 10)


# -------------------------------------------------------------------- fashion-mnist


def write_idx(directory, n=20, size=28, gz=True, magic=0x0803):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(os.path.join(directory, fm.FILES["images"] + suffix), "wb") as f:
        f.write(struct.pack(">IIII", magic, n, size, size) + images.tobytes())
    with opener(os.path.join(directory, fm.FILES["labels"] + suffix), "wb") as f:
        f.write(struct.pack(">II", 0x0801, n) + labels.tobytes())
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_round_trip(tmp_path, gz):
    images, labels = write_idx(tmp_path, gz=gz)
    paths = fm.locate(str(tmp_path), download=False)
    assert np.array_equal(fm.read_idx(paths["images"], "images"), images)
    assert np.array_equal(fm.read_idx(paths["labels"], "labels"), labels)


def test_idx_reader_rejects_wrong_magic_and_truncation(tmp_path):
    write_idx(tmp_path, magic=0x0801)
    with pytest.raises(ValueError, match="not an IDX images file"):
        fm.read_idx(tmp_path / (fm.FILES["images"] + ".gz"), "images")
    raw = struct.pack(">II", 0x0801, 50) + bytes(10)
    (tmp_path / "short").write_bytes(raw)
    with pytest.raises(ValueError, match="expected 50 values, found 10"):
        fm.read_idx(tmp_path / "short", "labels")


@pytest.fixture
def no_system_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "DEBIAN_DIR", str(tmp_path / "no-debian"))
    monkeypatch.setattr(fm, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fm, "MIRRORS", ("http://127.0.0.1:9/",))  # discard port: refused


def test_missing_fashion_mnist_is_one_clear_error(no_system_copy, tmp_path):
    with pytest.raises(UsageError) as info:
        fm.locate(str(tmp_path / "empty"))
    msg = str(info.value)
    assert msg.startswith("data_dir: Fashion-MNIST not found") and "download failed" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "--data-dir" in msg
    assert "\n" not in msg


def test_download_writes_complete_files(no_system_copy, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    images, labels = write_idx(served)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sums = {stem: hashlib.sha256(gzip.open(served / (stem + ".gz")).read()).hexdigest() for stem in fm.FILES.values()}
    try:
        monkeypatch.setattr(fm, "MIRRORS", ("http://127.0.0.1:9/", f"http://127.0.0.1:{server.server_port}/"))
        # a mirror serving other bytes than the published ones: refused, nothing kept
        monkeypatch.setattr(fm, "SHA256", {**sums, fm.FILES["labels"]: "0" * 64})
        with pytest.raises(UsageError, match="SHA256 .* is not the published file's"):
            fm.locate(str(tmp_path / "tampered"))
        assert not [p for p in os.listdir(tmp_path / "tampered") if "labels" in p]
        monkeypatch.setattr(fm, "SHA256", sums)
        target = tmp_path / "dl"
        paths = fm.locate(str(target))
    finally:
        server.shutdown()
    assert np.array_equal(fm.read_idx(paths["images"], "images"), images)
    assert sorted(os.listdir(target)) == sorted(v + ".gz" for v in fm.FILES.values())  # no .part- left


def test_download_is_https_only_and_the_checksums_match_the_real_files():
    assert all(m.startswith("https://") for m in fm.MIRRORS)
    if os.path.isdir(REAL):
        for stem in fm.FILES.values():
            fm.verify(os.path.join(REAL, stem + ".gz"), stem)


REAL = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(
    not os.path.isdir(REAL) and not os.environ.get("MFTUNE_REQUIRE_FASHION_MNIST"),
    reason="Debian package dataset-fashion-mnist not installed (CI installs it)",
)
def test_trains_on_the_real_fashion_mnist_files():
    task = get_task("fashion-mnist")
    fid = Fidelity(0.02, 7, 1)
    task.check(TaskOptions(), fid)
    data = task.load(TaskOptions(), fid, seed=0)
    assert data.x_train.shape == (1000, 1, 7, 7) and data.x_val.shape == (10000, 1, 7, 7)
    assert sorted(np.unique(data.y_train)) == list(range(10))
    reports = []

    class Mem:
        def load_state(self):
            return None

        def report(self, metrics, state):
            reports.append(metrics)

    hp = hparams.parse({"lr": 3e-3, "batch_size": 64}, task.model_keys)
    train_epochs(
        task.build_model(hp, data, fid),
        data,
        hp,
        classification=True,
        max_epochs=1,
        seed=0,
        session=Mem(),
        metric="val_accuracy",
    )
    assert reports[0]["val_accuracy"] > 0.5  # 10 classes: chance is 0.1


# ------------------------------------------------------------------------ tabular


def make_table(path, n=200, regression=False):
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    x1[::17] = np.nan
    frame = pd.DataFrame({"x1": x1, "x2": rng.uniform(0, 100, size=n), "color": color})
    signal = np.nan_to_num(x1) + (color == "red")
    frame["y"] = signal * 10 + rng.normal(size=n) if regression else np.where(signal > 0.5, "yes", "no")
    if str(path).endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_tabular_classification_loads_with_fidelity(tmp_path, ext):
    path = tmp_path / f"t.{ext}"
    make_table(path)
    task = get_task("tabular")
    opts = TaskOptions(data_path=str(path), target="y")
    task.check(opts, Fidelity(0.5, None, 3))
    assert task.metric(opts) == ("val_accuracy", "max")
    full = task.load(opts, Fidelity(1.0, None, 3), seed=0)
    half = task.load(opts, Fidelity(0.5, None, 3), seed=0)
    assert len(full.y_train) == 160 and len(full.y_val) == 40 and full.n_outputs == 2
    assert abs(len(half.y_train) - 80) <= 1 and np.array_equal(half.y_val, full.y_val)
    assert full.x_train.shape[1] == 2 + 3  # two numbers, three colours (an unseen one encodes as zeros)


def test_tabular_regression_is_inferred_and_target_standardised(tmp_path):
    path = tmp_path / "r.csv"
    frame = make_table(path, regression=True)
    task = get_task("tabular")
    opts = TaskOptions(data_path=str(path), target="y")
    assert task.metric(opts) == ("val_rmse", "min")
    data = task.load(opts, Fidelity(), seed=0)
    assert data.n_outputs == 1 and abs(data.y_train.mean()) < 1e-5
    assert 0.5 * frame["y"].std() < data.y_scale < 2 * frame["y"].std()


def test_preprocessing_is_fitted_on_training_rows_only():
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan], "c": ["x", "y", "x", "x"]})
    val = pd.DataFrame({"a": [1000.0, np.nan], "c": ["z", "y"]})
    prep = preprocessor(train).fit(train)
    numeric, categorical = (prep.named_transformers_[n] for n in ("numeric", "categorical"))
    assert numeric["impute"].statistics_.tolist() == [2.0]
    assert categorical["onehot"].categories_[0].tolist() == ["x", "y"]
    out = transform(prep, val)
    mean, std = 2.0, np.std([1.0, 2.0, 3.0, 2.0])
    np.testing.assert_allclose(out[:, 0], [(1000 - mean) / std, 0.0], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1:], [[0, 0], [0, 1]])  # unseen "z" -> all zeros (handle_unknown="ignore")


@pytest.mark.parametrize(
    "opts, field, fragment",
    [
        (dict(data_path="nope.csv", target="y"), "data", "file not found"),
        (dict(data_path="{tmp}/t.csv", target="label"), "target", "no column 'label'"),
        (dict(data_path="{tmp}/t.csv"), "target", "needs a target column"),
        (dict(data_path="{tmp}/t.xlsx", target="y"), "data", "unsupported file type"),
        (dict(data_path="{tmp}/t.csv", target="y", problem="ranking"), "problem", "classification, regression"),
    ],
)
def test_tabular_errors_name_the_field(tmp_path, opts, field, fragment):
    make_table(tmp_path / "t.csv")
    (tmp_path / "t.xlsx").write_text("x")
    opts = {k: v.format(tmp=tmp_path) for k, v in opts.items()}
    with pytest.raises(UsageError) as info:
        get_task("tabular").check(TaskOptions(**opts), Fidelity())
    assert info.value.field == field and fragment in info.value.message
