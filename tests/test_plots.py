"""Report figures from synthetic trials (no Ray): each PNG is written, non-blank, and the
helpers name parameters and fidelities the way the tables do."""

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from pipeline import plots
from pipeline.report import fidelity, readable


@pytest.fixture
def trials():
    rng = np.random.default_rng(0)
    n = 30
    lr = 10 ** rng.uniform(-4, -1, n)
    width = rng.integers(8, 65, n)
    opt = rng.choice(["sgd", "adam"], n)
    value = -((np.log10(lr) + 2) ** 2) - 0.01 * np.abs(width - 32) + (opt == "adam") * 0.1
    return pd.DataFrame(
        {"stage": ["a"] * 15 + ["b"] * 15, "value": value, "optimizer/lr": lr, "width": width, "optimizer/name": opt}
    )


def check_png(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) > 100 and img.std() > 0


def test_every_trial_figure_is_drawn(tmp_path, trials):
    params = ["optimizer/lr", "width", "optimizer/name"]
    labels = {"a": "a (4 px, <= 3 ep)", "b": "b (8 px, <= 9 ep)"}
    check_png(plots.parallel_coordinates(trials, params, "acc", "max", "t", tmp_path / "p.png"))
    check_png(plots.slices(trials, params, "acc", labels, "t", tmp_path / "s.png"))
    check_png(plots.contour(trials, "optimizer/lr", "width", "acc", "t", tmp_path / "c.png"))
    curves = pd.DataFrame(
        [
            {"stage": s, "trial": f"{s}{t}", "iter": e, "value": 0.1 * e + t}
            for s in "ab"
            for t in range(3)
            for e in range(1, 4 - t)
        ]
    )
    check_png(plots.learning_curves(curves, {"a": 3, "b": 3}, labels, "acc", tmp_path / "l.png"))
    points = pd.DataFrame(
        {"order": range(1, 7), "stage": list("aaabbb"), "value": range(6), "stopped": [1, 0, 1, 0, 0, 0]}
    )
    check_png(plots.history(points, "acc", "max", tmp_path / "h.png", labels))


def test_contour_survives_collinear_points(tmp_path):
    df = pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0], "x": [1, 2, 3, 4], "y": [1, 2, 3, 4]})
    check_png(plots.contour(df, "x", "y", "acc", "t", tmp_path / "c.png"))


def test_names_and_fidelities_as_the_tables_write_them():
    assert readable("optimizer[1]/lr") == "optimizer/lr" and readable("a[0]/b[2]/c") == "a/b/c"
    assert fidelity({"resolution": 4, "data_fraction": 0.3, "max_epochs": 10}) == "4 px, 0.3 of rows, <= 10 ep"
    assert fidelity({"data_fraction": 1.0, "max_epochs": 5}) == "<= 5 ep"  # tabular: no px
