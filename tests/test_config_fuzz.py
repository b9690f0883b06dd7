"""Property test (issue 18): random mutations of valid YAML configs either validate or
fail with exit 2 and exactly one line on stderr; never a traceback, never a file left
behind. It runs the CLI's own path (``pipeline.run.main``) up to the point where Ray
would start: ``ray_runtime.init`` is replaced by a sentinel, so every check that runs
before the experiment directory exists runs, and no Ray starts for an example."""

import copy
import os
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import ray_runtime
from pipeline.run import main

VALID = [
    {"task": "digits", "num_samples": 3, "max_epochs": 2, "resolution": 4, "searcher": "random"},
    {
        "task": "digits",
        "seed": 1,
        "stages": [
            {"name": "a", "data_fraction": 0.3, "resolution": 4, "max_epochs": 2, "budget": {"trials": 8}, "top_k": 3},
            {"name": "b", "resolution": 8, "max_epochs": 3, "budget": {"trials": 20, "epochs": 15}},
        ],
        "cv": {"folds": 3, "top_k": 2, "max_epochs": 2},
        "search_space": {
            "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
            "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
            "channels": {"type": "int", "low": 8, "high": 32, "step": 8},
        },
    },
    {
        "task": "tabular",
        "target": "y",
        "num_samples": 2,
        "scheduler": "asha",
        "cpus_per_trial": 0.5,
        "max_concurrent": 2,
        "cv": {"folds": 2, "top_k": 1},
    },
]

ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "cv", "plots", "stages", "a", "../x", "0", "1e-3", "nan", "auto", "fifo", "tpe", "x" * 300]),
    st.text(max_size=12),
)
VALUES = st.recursive(
    ATOMS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
KEYS = st.sampled_from(
    [
        "task",
        "metric",
        "mode",
        "seed",
        "stages",
        "cv",
        "search_space",
        "num_samples",
        "max_epochs",
        "data_fraction",
        "resolution",
        "searcher",
        "scheduler",
        "time_budget_s",
        "epochs_budget",
        "deadline_s",
        "cpus_per_trial",
        "gpus_per_trial",
        "max_concurrent",
        "max_failures",
        "reuse_actors",
        "target",
        "problem",
        "data_dir",
        "name",
        "budget",
        "top_k",
        "trials",
        "epochs",
        "time_s",
        "folds",
        "warm_start",
        "type",
        "low",
        "high",
        "step",
        "log",
        "choices",
        "bogus",
    ]
)


class WouldStartRay(Exception):
    pass


def containers(node, path=()):
    """Every mapping and list in the tree, with its path."""
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        if isinstance(child, (dict, list)):
            yield from containers(child, (*path, key))


@st.composite
def mutated(draw):
    cfg = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        places = list(containers(cfg))
        _, node = places[draw(st.integers(0, len(places) - 1))]
        op = draw(st.sampled_from(["set", "delete", "add"]))
        if isinstance(node, dict):
            keys = sorted(node, key=str)
            if op == "delete" and keys:
                del node[draw(st.sampled_from(keys))]
            elif op == "set" and keys:
                node[draw(st.sampled_from(keys))] = draw(VALUES)
            else:
                node[draw(KEYS)] = draw(VALUES)
        elif isinstance(node, list):
            if op == "delete" and node:
                node.pop(draw(st.integers(0, len(node) - 1)))
            elif op == "set" and node:
                node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)
            else:
                node.append(draw(VALUES))
    return cfg


@pytest.fixture(scope="module")
def sandbox():
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "t.csv"), "w") as f:
            f.write("a,b,y\n" + "".join(f"{i},{i % 5},{i % 2}\n" for i in range(40)))
        yield d


@settings(
    max_examples=int(os.environ.get("MFTUNE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cfg=mutated())
def test_mutated_configs_validate_or_fail_with_one_line(cfg, sandbox, capsys, monkeypatch):
    monkeypatch.chdir(sandbox)
    if cfg.get("task") == "tabular" and "data" not in cfg:
        cfg["data"] = os.path.join(sandbox, "t.csv")
    cfg["output"] = os.path.join(sandbox, "exp")
    path = os.path.join(sandbox, "c.yaml")
    try:
        text = yaml.safe_dump(cfg, allow_unicode=True)
    except yaml.YAMLError:
        return
    with open(path, "w") as f:
        f.write(text)
    before = sorted(os.listdir(sandbox))

    def sentinel(*a, **k):
        raise WouldStartRay

    monkeypatch.setattr(ray_runtime, "init", sentinel)
    try:
        rc = main(["--config", path])
    except WouldStartRay:
        rc = 0  # valid: every check before Ray passed
    except SystemExit as exit_:  # argparse
        rc = exit_.code
    err = capsys.readouterr().err
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("python -m pipeline.run: error: "), err
    assert "Traceback" not in err
    assert sorted(os.listdir(sandbox)) == before  # nothing created, valid or not
