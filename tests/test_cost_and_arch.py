"""Cost metrics (issue 15, item 2) and the architecture space of the image tasks (item 3):
every block type builds, trains, and is counted; conditional parameters follow the
branch; every built-in task reports params, flops (torch tasks) and latency_ms."""

import numpy as np
import pytest
import torch
from torch import nn

from pipeline import arch
from pipeline.context import ContextSetup, TrialContext
from pipeline.cost_metrics import count_flops, count_params, fixed_batch, latency_ms, measure
from pipeline.fidelity import Fidelity
from pipeline.hparams import HyperparameterError
from pipeline.tasks import TaskOptions, get_task
from searchers.space import SearchSpace

SMALL = Fidelity(0.1, 4, 2)


def fit(task_name, config, fidelity=SMALL, options=None):
    options = options or TaskOptions()
    task = get_task(task_name)
    ctx = TrialContext(ContextSetup(fidelity, seed=1))
    data = task.load_for(options, ctx)
    task.fit(task.parse_hparams(config), data, options, ctx)
    return [m for m, _ in ctx.reports]


def test_params_and_flops_match_the_layer_arithmetic():
    # Linear 10->5: 55 parameters, 2*10*5 = 100 FLOPs per sample (torch counts a MAC as 2)
    model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 3))
    assert count_params(model) == 10 * 5 + 5 + 5 * 3 + 3
    assert count_flops(model, torch.zeros(1, 10)) == 2 * (10 * 5 + 5 * 3)
    conv = nn.Conv2d(2, 4, 3, padding=1, bias=False)
    conv.weight.requires_grad_(True)
    assert count_flops(conv, torch.zeros(1, 2, 6, 6)) == 2 * (2 * 9) * 4 * 36
    frozen = nn.Linear(4, 4)
    frozen.bias.requires_grad_(False)
    assert count_params(frozen) == 16  # trainable parameters only


def test_latency_is_positive_and_mode_is_restored():
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    model.train()
    ms = latency_ms(model, torch.zeros(64, 8), warmup=1, repeats=3)
    assert ms > 0 and model.training
    assert fixed_batch(np.arange(5)[:, None], 12).ravel().tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


@pytest.mark.parametrize(
    "block",
    [
        "plain",
        {"name": "bottleneck", "width_ratio": 0.5},
        {"name": "inverted", "expansion": 4, "kernel_size": 5},
        {"name": "inverted", "expansion": 1, "kernel_size": 3},
    ],
)
def test_every_block_type_builds_trains_and_is_counted(block):
    config = {"block": block, "blocks": 3, "width_mult": 0.5, "optimizer": "adam", "lr": 0.01, "batch_size": 64}
    reports = fit("digits", config)
    assert [r["epoch"] for r in reports] == [1, 2]
    first = reports[0]
    hp = get_task("digits").parse_hparams(config)
    model = arch.ArchNet(4, 10, hp)
    assert first["params"] == count_params(model) > 0
    assert first["flops"] == count_flops(model, torch.zeros(1, 1, 4, 4)) > 0
    assert first["latency_ms"] > 0
    assert all(r["params"] == first["params"] and r["flops"] == first["flops"] for r in reports)
    assert np.isfinite(reports[-1]["val_accuracy"])


def test_architecture_knobs_move_the_costs_the_right_way():
    def cost(**hp):
        full = arch.parse({"optimizer": "adam", **hp})
        m = arch.ArchNet(8, 10, full)
        return count_params(m), count_flops(m, torch.zeros(1, 1, 8, 8))

    assert cost(blocks=1) < cost(blocks=3)
    assert cost(width_mult=0.5) < cost(width_mult=1.0)
    inv = {"name": "inverted", "kernel_size": 3}
    assert cost(block={**inv, "expansion": 2}) < cost(block={**inv, "expansion": 6})
    assert cost(block={"name": "bottleneck", "width_ratio": 0.25}) < cost(
        block={"name": "bottleneck", "width_ratio": 1.0}
    )
    # global pooling: the size of the model does not depend on the resolution, its FLOPs do
    hp = arch.parse({"blocks": 2})
    assert count_params(arch.ArchNet(4, 10, hp)) == count_params(arch.ArchNet(8, 10, hp))
    assert count_flops(arch.ArchNet(4, 10, hp), torch.zeros(1, 1, 4, 4)) < count_flops(
        arch.ArchNet(8, 10, hp), torch.zeros(1, 1, 8, 8)
    )


def test_conditional_parameters_follow_the_chosen_branch():
    space = SearchSpace(get_task("digits").named_spaces()["arch"])
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        config = space.sample(rng)
        block = config["block"]
        seen.add(block["name"])
        expected = {
            "plain": {"name"},
            "bottleneck": {"name", "width_ratio"},
            "inverted": {"name", "expansion", "kernel_size"},
        }
        assert set(block) == expected[block["name"]]
        hp = get_task("digits").parse_hparams(config)
        assert hp["block"] == block["name"]
        assert ("width_ratio" in hp) == (block["name"] == "bottleneck")
        assert ("expansion" in hp) == (block["name"] == "inverted")
    assert seen == set(arch.BLOCK_TYPES)


@pytest.mark.parametrize(
    "config, key",
    [
        ({"block": "dense"}, "block"),
        ({"block": {"name": "plain", "expansion": 2}}, "block/expansion"),
        ({"block": {"name": "bottleneck", "kernel_size": 3}}, "block/kernel_size"),
        ({"block": {"width_ratio": 0.5}}, "block"),
        ({"blocks": 0}, "blocks"),
        ({"block": {"name": "inverted", "kernel_size": 4}}, "kernel_size"),
        ({"width_mult": "wide"}, "width_mult"),
        ({"blocks": 2, "channels": 16}, "channels"),  # SmallCNN's knob in the arch space
    ],
)
def test_bad_architecture_hyperparameters_name_the_key(config, key):
    with pytest.raises(HyperparameterError) as err:
        get_task("digits").parse_hparams(config)
    assert err.value.key == key


def test_default_space_still_builds_smallcnn_and_reports_costs():
    reports = fit("digits", {"channels": 8, "hidden": 32, "optimizer": "adam", "lr": 0.01, "batch_size": 64})
    assert {"params", "flops", "latency_ms"} <= set(reports[0])
    assert reports[0]["params"] == count_params(
        get_task("digits").build_model(
            get_task("digits").parse_hparams({"channels": 8, "hidden": 32}), _data(), Fidelity()
        )
    )


def _data():
    ctx = TrialContext(ContextSetup(Fidelity(0.3, 4, 1), seed=1))
    return get_task("digits").load_for(TaskOptions(), ctx)


def test_tabular_mlp_and_gbm_report_costs(tmp_path):
    rng = np.random.default_rng(0)
    import pandas as pd

    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    frame["y"] = (frame.a + frame.b > 0).astype(int)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    options = TaskOptions(data_path=str(path), target="y")
    mlp = fit("tabular", {"hidden": 8, "layers": 1, "batch_size": 32}, Fidelity(1.0, None, 2), options)
    assert mlp[0]["params"] == (2 * 8 + 8) + (8 * 2 + 2)
    assert mlp[0]["flops"] == 2 * (2 * 8 + 8 * 2)
    assert mlp[0]["latency_ms"] > 0
    gbm = fit("tabular", {"model": {"name": "gbm", "max_leaf_nodes": 4}}, Fidelity(1.0, None, 2), options)
    # leaves over every tree: it grows with the ensemble, at most max_leaf_nodes per tree
    assert 0 < gbm[0]["params"] <= gbm[1]["params"] <= 4 * gbm[1]["n_trees"]
    assert "flops" not in gbm[0] and gbm[0]["latency_ms"] > 0


def test_measure_on_the_trials_device_leaves_mode_alone():
    model = arch.ArchNet(8, 10, arch.parse({}))
    out = measure(model, np.zeros((3, 1, 8, 8), dtype=np.float32))
    assert set(out) == {"params", "flops", "latency_ms"} and model.training
