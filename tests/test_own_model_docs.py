"""docs/own-model.md shows the example files as they are, and its YAML files are valid
experiments for them (the Ray runs are in tests/test_own_model.py)."""

import re
import sys

import pytest
import yaml

from pipeline.config import build
from pipeline.fidelity import Fidelity
from tests.pipeline_runs import ROOT

DOC = ROOT / "docs" / "own-model.md"
EXAMPLES = ROOT / "docs" / "examples"


def blocks(lang):
    return [b.strip() for b in re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)]


@pytest.mark.parametrize("name", ["own_model_torch.py", "own_model_sklearn.py"])
def test_the_guide_shows_each_example_file_whole(name):
    assert (EXAMPLES / name).read_text().strip() in blocks("python")


@pytest.mark.parametrize("name", ["own-model-torch.yaml", "own-model-sklearn.yaml"])
def test_the_guide_shows_each_example_config_and_it_builds(name, monkeypatch, tmp_path):
    text = (EXAMPLES / name).read_text()
    assert text.strip() in blocks("yaml")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    raw = yaml.safe_load(text)
    cfg = build({**raw, "output": str(tmp_path / "out")})
    assert len(cfg.stages) == 2 and cfg.cv.folds == 3 and cfg.custom
    if "sklearn" in name:
        assert [s.fidelity.knobs for s in cfg.stages] == [(("max_iter", 20),), (("max_iter", 200),)]
        assert cfg.cv.fidelity == Fidelity(1.0, None, 1, (("max_iter", 200),))  # CV inherits the last knobs
    else:
        assert cfg.stages[0].fidelity.data_fraction == 0.5 and cfg.stages[1].fidelity.max_epochs == 8


def test_the_examples_run_as_plain_functions_outside_the_pipeline(monkeypatch):
    """trial_context() outside Ray: full fidelity, reports kept on the context."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import own_model_sklearn

    from pipeline import trial_context

    ctx = trial_context()
    n = len(ctx.reports)
    own_model_sklearn.train({"learning_rate": 0.1, "max_leaf_nodes": 8, "l2_regularization": 0.0})
    ((metrics, model),) = ctx.reports[n:]
    assert metrics["n_iter"] == 100 and metrics["n_train"] == 456 and metrics["val_accuracy"] > 0.9
    assert model.n_iter_ == 100  # the fitted estimator is the checkpoint's state
    sys.modules.pop("own_model_sklearn", None)
