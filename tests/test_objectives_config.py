"""Objectives and constraints in YAML and flags (issue 15, item 1): the grammar, every
config error as one line naming the field, and one objective = today's run exactly."""

import math

import pytest
import yaml

from pipeline import ray_runtime
from pipeline.config import build
from pipeline.errors import UsageError
from pipeline.objectives import Constraint, Objective, feasible, parse_constraints, total_violation
from pipeline.run import main

BASE = {"task": "digits", "num_samples": 2, "max_epochs": 1, "resolution": 4}


def cfg(tmp_path, **extra):
    return build({**BASE, "output": str(tmp_path / "exp"), **extra})


def test_objectives_from_yaml_and_flags_are_the_same(tmp_path):
    from_yaml = cfg(
        tmp_path,
        objectives=[{"metric": "val_accuracy", "mode": "max"}, {"metric": "params", "mode": "min"}],
        constraints=["params <= 50000", "latency_ms < 2.5"],
    )
    from_flags = cfg(
        tmp_path, objectives=["val_accuracy:max", "params:min"], constraints=["params<=5e4", "latency_ms <2.5"]
    )
    assert (
        from_yaml.objectives == from_flags.objectives == (Objective("val_accuracy", "max"), Objective("params", "min"))
    )
    assert from_yaml.constraints == from_flags.constraints
    assert from_yaml.constraints == (Constraint("params", "<=", 50000.0), Constraint("latency_ms", "<", 2.5))
    assert (from_yaml.metric, from_yaml.mode) == ("val_accuracy", "max")  # the first is the primary
    assert from_yaml.multi_objective
    assert from_yaml.settings["objectives"] == [
        {"metric": "val_accuracy", "mode": "max"},
        {"metric": "params", "mode": "min"},
    ]
    assert from_yaml.settings["constraints"] == ["params <= 50000", "latency_ms < 2.5"]
    assert (from_yaml.settings["metric"], from_yaml.settings["mode"]) == ("val_accuracy", "max")


def test_a_missing_mode_takes_the_metrics_natural_direction(tmp_path):
    c = cfg(tmp_path, objectives=["val_accuracy", {"metric": "latency_ms"}, "val_loss"])
    assert [o.mode for o in c.objectives] == ["max", "min", "min"]


def test_one_objective_is_exactly_todays_run(tmp_path):
    today = cfg(tmp_path, metric="val_accuracy", mode="max")
    one = cfg(tmp_path, objectives=[{"metric": "val_accuracy", "mode": "max"}])
    plain = cfg(tmp_path)
    assert one.settings == today.settings == plain.settings
    assert (one.metric, one.mode, one.objectives) == (today.metric, today.mode, today.objectives)
    assert not one.multi_objective and "objectives" not in one.settings
    assert one.space.names == today.space.names  # the default space, not arch
    assert "channels" in one.space.names


def test_settings_round_trip_through_experiment_yaml(tmp_path):
    c = cfg(tmp_path, objectives=["val_accuracy:max", "flops:min"], constraints=["params <= 20000"])
    again = build(yaml.safe_load(yaml.safe_dump(c.settings)) | {"output": str(tmp_path / "again")})
    assert again.objectives == c.objectives and again.constraints == c.constraints
    assert sorted(again.space.names) == sorted(c.space.names)
    assert "block" in c.space.names  # a multi-objective run searches the architecture by default


@pytest.mark.parametrize(
    "extra, field, fragment",
    [
        ({"objectives": ["val_acc:max", "params:min"]}, "objectives[0]", "unknown metric 'val_acc'"),
        ({"objectives": ["val_rmse:min"]}, "objectives[0]", "this task reports val_accuracy"),
        ({"objectives": ["params:min", "params:max"]}, "objectives[1]", "duplicate objective 'params'"),
        ({"objectives": ["val_accuracy:maximise"]}, "objectives[0]", "bad mode 'maximise'"),
        ({"objectives": [{"metric": "params", "mode": "up"}]}, "objectives[0]", "bad mode 'up'"),
        (
            {"objectives": [{"metric": "params", "direction": "min"}]},
            "objectives[0].direction",
            "allowed: metric, mode",
        ),
        ({"objectives": [{"mode": "min"}]}, "objectives[0].metric", "must be a metric name"),
        ({"objectives": []}, "objectives", "non-empty list"),
        ({"objectives": "val_accuracy:max"}, "objectives", "non-empty list"),
        ({"objectives": [3]}, "objectives[0]", "mapping {metric, mode} or metric:mode"),
        ({"objectives": ["a b:max"]}, "objectives[0]", "expected metric:mode"),
        ({"objectives": ["params:min"], "metric": "val_loss"}, "metric", "first objective's metric is 'params'"),
        ({"objectives": ["params:min", "flops:min"], "mode": "max"}, "mode", "either metric/mode or objectives"),
        ({"objectives": ["params:min", "flops:min"], "select": "best"}, "select", "allowed: primary, knee"),
        ({"select": "knee"}, "select", "multi-objective runs only"),
        ({"objectives": ["params:min", "flops:min"], "searcher": "rl"}, "searcher", "optimises one metric"),
        ({"objectives": ["params:min", "flops:min"], "scheduler": "hyperband"}, "scheduler", "ranks one metric"),
        ({"constraints": ["params <== 3"]}, "constraints[0]", "malformed constraint"),
        ({"constraints": ["params <= __import__('os')"]}, "constraints[0]", "malformed constraint"),
        ({"constraints": ["params <= 1e999"]}, "constraints[0]", "finite number"),
        ({"constraints": ["params = 3"]}, "constraints[0]", "OP one of <= >= < >"),
        ({"constraints": [5]}, "constraints[0]", "malformed constraint"),
        ({"constraints": {"params": 3}}, "constraints", "list of"),
        ({"constraints": ["size <= 3"]}, "constraints[0]", "unknown metric 'size'"),
        ({"constraints": ["params <= 3", "params<=3"]}, "constraints[1]", "duplicate constraint"),
    ],
)
def test_every_config_error_names_the_field(tmp_path, extra, field, fragment):
    with pytest.raises(UsageError) as err:
        cfg(tmp_path, **extra)
    assert err.value.field == field
    assert fragment in err.value.message
    assert not (tmp_path / "exp").exists()


def test_custom_trainable_objectives_need_a_mode_and_take_any_metric(tmp_path):
    with pytest.raises(UsageError, match="needs a mode"):
        parse_objectives_custom(["score"])
    assert parse_objectives_custom(["score:max", "size_mb:min"]) == (
        Objective("score", "max"),
        Objective("size_mb", "min"),
    )
    assert parse_constraints(["size_mb <= 4"], None) == (Constraint("size_mb", "<=", 4.0),)


def parse_objectives_custom(value):
    from pipeline.objectives import parse_objectives

    return parse_objectives(value, None)


def test_constraint_decisions_and_violations():
    c = (Constraint("params", "<=", 100.0), Constraint("latency_ms", ">", 1.0))
    assert feasible({"params": 100, "latency_ms": 1.5}, c)
    assert not feasible({"params": 101, "latency_ms": 1.5}, c)
    assert not feasible({"params": 50, "latency_ms": 1.0}, c)  # strict bound met with equality
    assert not feasible({"params": 50}, c)  # missing value: infeasible
    assert not feasible({"params": float("nan"), "latency_ms": 2}, c)
    assert total_violation({"params": 130, "latency_ms": 0.25}, c) == pytest.approx(30 + 0.75)
    assert total_violation({"params": 10, "latency_ms": 2}, c) == 0.0
    assert math.isinf(total_violation({"latency_ms": 2}, c))
    assert str(Constraint("x", "<=", 0.1 + 0.2)) == f"x <= {0.1 + 0.2!r}"  # round-trips exactly


def test_cli_flags_parse_and_errors_are_one_line(tmp_path, monkeypatch, capsys):
    class Started(Exception):
        pass

    def sentinel(*a, **k):
        raise Started

    monkeypatch.setattr(ray_runtime, "init", sentinel)
    out = tmp_path / "bad"
    code = main(["--num-samples", "2", "--output", str(out), "--objectives", "val_accuracy:max", "params:sideways"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "bad mode 'sideways'" in err[0] and not out.exists()
    code = main(["--num-samples", "2", "--output", str(out), "--constraints", "params <= x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "malformed constraint" in err[0]
    with pytest.raises(Started):
        main(
            ["--num-samples", "2", "--max-epochs", "1", "--output", str(tmp_path / "ok")]
            + ["--objectives", "val_accuracy:max", "params:min", "--constraints", "params <= 40000"]
        )


def test_multi_objective_stages_get_mo_searchers_and_mo_asha(tmp_path):
    from pipeline.experiment import stage_seed
    from pipeline.pareto_select import search_context
    from pipeline.registry import SCHEDULERS, SEARCHERS, SearchContext
    from schedulers import ASHAScheduler, MOASHAScheduler

    c = cfg(tmp_path, objectives=["val_accuracy:max", "params:min"], constraints=["latency_ms < 5"], scheduler="asha")
    ctx = SearchContext(
        space=c.space, metric=c.metric, mode=c.mode, seed=stage_seed(0, 0), max_resource=1, **search_context(c)
    )
    searcher = SEARCHERS["tpe"](ctx)
    assert searcher.objectives.metrics == ["val_accuracy", "params"]
    assert searcher.objectives.constraints == (("latency_ms", "<=", 5.0),)
    default = SEARCHERS["auto"](ctx)  # the default searcher: ParEGO's GP, then multi-objective TPE
    assert type(default).__name__ == "AutoSearcher" and default.objectives.metrics == ["val_accuracy", "params"]
    assert default.objectives.constraints == (("latency_ms", "<=", 5.0),)
    scheduler = SCHEDULERS["asha"](ctx)
    assert isinstance(scheduler, MOASHAScheduler) and scheduler.metrics == ["val_accuracy", "params"]
    one = cfg(tmp_path)
    ctx1 = SearchContext(
        space=one.space, metric=one.metric, mode=one.mode, seed=0, max_resource=1, **search_context(one)
    )
    assert SEARCHERS["tpe"](ctx1).objectives is None  # one objective: today's path
    assert type(SEARCHERS["auto"](ctx1)).__name__ == "AutoSearcher"
    assert type(SCHEDULERS["asha"](ctx1)) is ASHAScheduler


def test_the_lightweight_example_builds_as_a_multi_objective_arch_run(tmp_path):
    from tests.pipeline_runs import ROOT

    raw = yaml.safe_load((ROOT / "docs" / "examples" / "digits-lightweight.yaml").read_text())
    c = build({**raw, "output": str(tmp_path / "lw")})
    assert c.multi_objective and c.select == "primary" and "block" in c.space.names
    assert [s.scheduler for s in c.stages] == ["asha", "fifo"] and c.cv.folds == 3
