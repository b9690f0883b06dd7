"""The refit of the winner without Ray: the ``refit`` setting, the refit context, the
tabular model on raw DataFrames (missing values, unseen categories), image models on raw
arrays and files, the saved directory read back, and pipeline.json's refit record.
(The pipeline runs that write ``model/`` are in tests/test_refit_ray.py.)"""

import json
import os

import numpy as np
import pandas as pd
import pytest

from pipeline.config import build
from pipeline.context import ContextSetup, TrialContext, call_in_context, trial_context
from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.layout import MODEL_DIR, reserved
from pipeline.model import MANIFEST, load_model
from pipeline.refit import fit_winner, refit_fidelity, replace_dir
from pipeline.run import main
from pipeline.state import DONE, PipelineState, RefitRecord, StageRecord
from pipeline.tasks import TaskOptions
from tests.pipeline_runs import ROOT

MLP = {
    "model": "mlp",
    "batch_size": 32,
    "hidden": 32,
    "layers": 1,
    "dropout": 0.0,
    "optimizer": {"name": "adam", "lr": 0.01, "beta1": 0.9, "weight_decay": 1e-6},
}
GBM = {"model": {"name": "gbm", "max_leaf_nodes": 8}, "optimizer": {"name": "sgd", "lr": 0.2, "momentum": 0.0}}


def table(path, n=240, regression=False):
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=n)
    x1[::17] = np.nan
    color = rng.choice(["red", "green", "blue"], size=n)
    frame = pd.DataFrame({"x1": x1, "x2": rng.uniform(0, 100, size=n), "color": color})
    signal = np.nan_to_num(x1) + 2 * (color == "red")
    frame["y"] = signal * 10 + rng.normal(size=n) if regression else np.where(signal > 0.5, 1, 0)
    frame.to_csv(path, index=False)
    return frame


def save_and_load(model, manifest_extra, tmp_path):
    model.manifest.update(format="mftune-model/1", **manifest_extra)
    model.save(tmp_path / "m")
    return load_model(tmp_path / "m")


# ------------------------------------------------------------------ the setting


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"refit": 3}, "refit: must be true or false, got 3"),
        ({"refit": "yes please"}, "refit: must be true or false, got 'yes please'"),
        ({"refit": "mod:fn"}, "refit: task digits refits itself: must be true or false, got 'mod:fn'"),
        ({"refit": [True]}, "refit: must be true or false, got [True]"),
    ],
)
def test_bad_refit_values_are_one_line_naming_the_field(raw, fragment, tmp_path, capsys, monkeypatch):
    import yaml

    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({"task": "digits", **raw}))
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray was started"))
    assert main(["--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"python -m pipeline.run: error: {fragment}" in err[0], err
    assert set(os.listdir(tmp_path)) == before


def test_refit_setting_defaults_and_custom_trainables(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "docs" / "examples"))
    out = {"output": str(tmp_path / "o")}
    assert build({"num_samples": 2, **out}, check_data=False).refit is True  # built-in: on by default
    assert build({"num_samples": 2, "refit": False, **out}, check_data=False).refit is False
    custom = {"task": "own_model_sklearn:train", "metric": "val_accuracy", "mode": "max", **out}
    custom["search_space"] = {"learning_rate": {"type": "float", "low": 0.01, "high": 0.5}}
    assert build(custom).refit is False  # a custom trainable refits only when it says how
    assert build({**custom, "refit": "own_model_sklearn:refit"}).refit == "own_model_sklearn:refit"
    with pytest.raises(UsageError) as err:
        build({**custom, "refit": True})
    assert err.value.field == "refit" and "refit: module:function" in err.value.message
    with pytest.raises(UsageError) as err:
        build({**custom, "refit": "own_model_sklearn:nothing"})
    assert err.value.field == "refit" and "no attribute 'nothing'" in err.value.message
    with pytest.raises(UsageError) as err:
        build({**custom, "refit": 1.5})
    assert err.value.message == "must be true, false or module:function (your refit function), got 1.5"


def test_refit_flag_reaches_the_settings_and_model_is_a_reserved_name(tmp_path):
    from pipeline.run import build_parser, settings_from

    raw, _ = settings_from(build_parser().parse_args(["--no-refit"]))
    assert raw["refit"] is False
    cfg = build({**raw, "num_samples": 2, "output": str(tmp_path / "o")}, check_data=False)
    assert cfg.refit is False and cfg.settings["refit"] is False  # kept in experiment.yaml for --resume
    assert reserved("model") and reserved(MODEL_DIR.upper())


def test_refit_fidelity_is_the_last_one_on_every_row(tmp_path):
    cfg = build(
        {
            "stages": [
                {"data_fraction": 0.3, "resolution": 4, "max_epochs": 2, "budget": {"trials": 4}, "top_k": 2},
                {"data_fraction": 0.5, "resolution": 8, "max_epochs": 3, "budget": {"trials": 2}},
            ],
            "output": str(tmp_path / "o"),
        },
        check_data=False,
    )
    assert refit_fidelity(cfg) == Fidelity(1.0, 8, 3)


# ---------------------------------------------------------------- the context


def test_the_refit_context_splits_every_row_into_training():
    ctx = TrialContext(ContextSetup(Fidelity(0.3, None, 2), seed=1, stage="refit", refit=True))
    y = np.repeat([0, 1, 2], 10)
    train, val = call_in_context(lambda c: trial_context().split(y), ctx, {})
    assert train.tolist() == list(range(30)) and len(val) == 0
    assert ctx.fold is None and ctx.stage == "refit"


# --------------------------------------------------------------------- tabular


@pytest.mark.parametrize("config", [MLP, GBM], ids=["mlp", "gbm"])
def test_tabular_model_predicts_raw_frames_with_missing_values_and_unseen_categories(config, tmp_path):
    frame = table(tmp_path / "t.csv")
    opts = TaskOptions(data_path=str(tmp_path / "t.csv"), target="y")
    model, _ = fit_winner("tabular", opts, None, config, Fidelity(1.0, None, 8), 0, 1)
    assert model.manifest["n_train"] == len(frame) and model.classes == [0, 1]  # the target's own values
    loaded = save_and_load(model, {"config": config}, tmp_path)
    kind = "sklearn" if config is GBM else "torch"
    assert loaded.manifest["kind"] == kind
    assert sorted(os.listdir(tmp_path / "m")) == sorted(
        [MANIFEST, "preprocess.joblib", "estimator.joblib" if kind == "sklearn" else "weights.pt"]
    )
    raw = frame.drop(columns=["y"]).head(6).copy()
    raw.loc[0, "x1"] = np.nan
    raw.loc[1, "color"] = "purple"  # never seen in training
    raw.loc[2, "color"] = None
    raw = raw[["color", "x2", "x1"]]  # columns in any order
    proba = loaded.predict_proba(raw)
    assert proba.shape == (6, 2) and np.allclose(proba.sum(axis=1), 1.0) and np.isfinite(proba).all()
    np.testing.assert_array_equal(loaded.predict(raw), model.predict(raw))  # the files hold the model
    assert set(loaded.predict(raw)) <= {0, 1}
    # it learnt the rule on the rows it saw (a signal with label noise only at the threshold)
    assert np.mean(loaded.predict(frame) == frame["y"]) > 0.85
    with pytest.raises(ValueError, match="lacks the column"):
        loaded.predict(raw.drop(columns=["x2"]))


def test_tabular_regression_predicts_in_the_targets_units(tmp_path):
    frame = table(tmp_path / "r.csv", regression=True)
    opts = TaskOptions(data_path=str(tmp_path / "r.csv"), target="y")
    model, _ = fit_winner("tabular", opts, None, GBM, Fidelity(1.0, None, 10), 0, 1)
    loaded = save_and_load(model, {"config": GBM}, tmp_path)
    pred = loaded.predict(frame)
    rmse = float(np.sqrt(np.mean((pred - frame["y"]) ** 2)))
    assert loaded.classes is None and rmse < 0.5 * frame["y"].std()  # in units of y, far better than its mean
    with pytest.raises(ValueError, match="regression"):
        loaded.predict_proba(frame)


# ---------------------------------------------------------------------- images


def test_digits_model_predicts_raw_images_at_native_size(tmp_path):
    from sklearn.datasets import load_digits

    config = {k: v for k, v in MLP.items() if k not in ("model", "layers")} | {"channels": 8}
    model, _ = fit_winner("digits", TaskOptions(), None, config, Fidelity(1.0, 4, 4), 0, 1)
    loaded = save_and_load(model, {"config": config}, tmp_path)
    assert loaded.manifest["input"]["resolution"] == 4 and loaded.test_score is None  # digits has no test split
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # 8x8, as the task reads them; pooled to 4x4
    np.testing.assert_allclose(loaded.predict_proba(images), model.predict_proba(images), atol=1e-6)
    assert np.mean(loaded.predict(images) == bunch.target) > 0.8
    with pytest.raises(ValueError, match="cannot be pooled"):
        loaded.predict(np.zeros((2, 6, 6), dtype=np.float32))


def test_image_folder_model_predicts_files(tmp_path):
    from tests.test_image_folder import make_folder

    folder = tmp_path / "imgs"
    make_folder(folder, per_class=12)
    config = {k: v for k, v in MLP.items() if k not in ("model", "layers")} | {"channels": 8, "batch_size": 16}
    opts = TaskOptions(data_dir=str(folder))
    model, _ = fit_winner("images", opts, None, config, Fidelity(1.0, 8, 6), 0, 1)
    loaded = save_and_load(model, {"config": config}, tmp_path)
    files = sorted(p for p in folder.glob("*/*") if p.is_file())
    truth = [p.parent.name for p in files]
    assert loaded.classes == sorted(set(truth))
    predicted = loaded.predict([str(p) for p in files])
    assert np.mean(predicted == np.asarray(truth)) > 0.8


# ------------------------------------------------------------ directory, state


def test_replace_dir_installs_a_complete_model_over_a_stale_one(tmp_path):
    stale, new = tmp_path / "model", tmp_path / "scratch" / "model-1"
    stale.mkdir()
    (stale / "old").write_text("x")
    new.mkdir(parents=True)
    (new / MANIFEST).write_text("{}")
    replace_dir(new, stale)
    assert os.listdir(stale) == [MANIFEST] and not new.exists()
    assert os.listdir(tmp_path / "scratch") == []


def test_the_refit_record_round_trips_and_a_damaged_one_is_refused(tmp_path):
    state = PipelineState(stages=[StageRecord("a")], refit=RefitRecord(DONE, "torch", 10, 0.9, "accuracy", 5, 1.0))
    state.save(tmp_path)
    assert PipelineState.load(tmp_path).refit == state.refit
    data = json.loads((tmp_path / "pipeline.json").read_text())
    data["refit"]["status"] = "half"
    (tmp_path / "pipeline.json").write_text(json.dumps(data))
    with pytest.raises(UsageError, match="refit.status 'half' is not one of"):
        PipelineState.load(tmp_path)
    del data["refit"]  # a pipeline.json from before refits
    (tmp_path / "pipeline.json").write_text(json.dumps(data))
    assert PipelineState.load(tmp_path).refit is None
