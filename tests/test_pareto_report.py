"""The multi-objective report (issue 15, item 7): the Pareto-front plot for 2 objectives
(one scatter, front drawn) and 3 (pairwise panels), infeasible points greyed; the
hypervolume curve only rises and ends at the hypervolume of every feasible result."""

import numpy as np
import pandas as pd
import pytest

from pipeline.objectives import Constraint, Objective
from pipeline.pareto_report import front_plot, hypervolume_plot
from searchers.common.pareto import hypervolume


def trials(n=30, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.integers(500, 60000, n)
    acc = 1 - 30 / np.sqrt(params) + rng.normal(0, 0.02, n)
    return pd.DataFrame(
        {
            "stage": "full",
            "trial_id": [f"t{i:02d}" for i in range(n)],
            "failed": False,
            "training_iteration": 10,
            "val_accuracy": acc,
            "params": params,
            "latency_ms": params / 20000 + rng.uniform(0, 0.5, n),
        }
    )


def image(path):
    from matplotlib.image import imread

    return imread(path)


@pytest.mark.parametrize("n_obj", [2, 3])
def test_front_plot_writes_a_readable_png_with_one_panel_per_pair(tmp_path, n_obj):
    goals = (Objective("val_accuracy", "max"), Objective("params", "min"), Objective("latency_ms", "min"))[:n_obj]
    rows = trials()
    path = front_plot(rows, goals, (Constraint("params", "<=", 40000.0),), "t03", "full", tmp_path / "p.png")
    img = image(path)
    assert img.ndim == 3 and img.shape[0] > 300
    # width grows with the number of panels: 1 for 2 objectives, 3 for 3
    assert img.shape[1] > (1500 if n_obj == 3 else 600)
    # grey (infeasible) pixels are there: params > 40000 exist in the data
    grey = np.all(np.abs(img[..., :3] - 0xBB / 255) < 0.02, axis=-1)
    assert grey.sum() > 20


def test_hypervolume_curve_rises_to_the_hypervolume_of_all_feasible_results(tmp_path):
    from pipeline.pareto_report import hypervolume_curve

    class Exp:
        events = []

    rows = trials()
    rows["t"] = np.arange(len(rows), dtype=float)
    goals = (Objective("val_accuracy", "max"), Objective("params", "min"))
    limit = (Constraint("params", "<=", 40000.0),)
    curve = hypervolume_curve(Exp(), rows, goals, limit)
    assert (np.diff(curve["hypervolume"]) >= 0).all()
    assert curve["epochs"].iloc[-1] == 10 * len(rows)
    ok = rows[rows["params"] <= 40000]
    pts = np.column_stack([-ok["val_accuracy"], ok["params"]])
    span = pts.max(axis=0) - pts.min(axis=0)
    ref = pts.max(axis=0) + 0.1 * span
    assert curve["hypervolume"].iloc[-1] == pytest.approx(hypervolume(pts, ref))
    assert image(hypervolume_plot(curve, tmp_path / "hv.png")).shape[1] > 600


def test_comparison_hypervolume_uses_one_reference_for_every_run():
    from pipeline.pareto_report import comparison_hypervolumes

    goals = [{"metric": "acc", "mode": "max"}, {"metric": "params", "mode": "min"}]

    def best(*points, feasible=True):
        rows = [{"cv": {"acc": {"mean": a}, "params": {"mean": p}}, "feasible": feasible} for a, p in points]
        return {"objectives": goals, "pareto": rows}

    a = best((0.9, 100.0))
    b = best((0.8, 50.0), (0.9, 200.0))
    hv = comparison_hypervolumes([a, b, best((1.0, 1.0), feasible=False), {"value": 1.0}])
    # minimised points: a (-0.9, 100); b (-0.8, 50), (-0.9, 200); ref = worst + 10 % of the range:
    # (-0.8 + 0.01, 200 + 15) = (-0.79, 215)
    assert hv[0] == pytest.approx(0.11 * 115)
    assert hv[1] == pytest.approx(0.01 * 165 + (0.11 - 0.01) * 15)  # the second box minus the overlap
    assert hv[2] == 0.0  # no feasible point: nothing dominated
    assert hv[3] is None  # a one-objective run has no hypervolume
