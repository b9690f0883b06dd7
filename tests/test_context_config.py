"""Stages and CV for a custom trainable (``--task module:function``): the same fidelity
settings as the built-ins, the user's own ``knobs``, and a clear line for each mistake."""

import pytest
import yaml

from pipeline.config import build
from pipeline.errors import UsageError
from pipeline.fidelity import Fidelity
from pipeline.stage_trainable import declared
from pipeline.stages_config import parse_stages, stage_to_yaml

CUSTOM = {
    "task": "json:dumps",
    "metric": "score",
    "mode": "max",
    "search_space": {"x": {"type": "float", "low": 0, "high": 1}},
}


def custom(**extra):
    return build({**CUSTOM, **extra}, check_data=False)


def test_custom_trainable_gets_stages_knobs_and_cv_from_yaml():
    cfg = custom(
        stages=[
            {
                "name": "a",
                "data_fraction": 0.3,
                "resolution": 16,
                "max_epochs": 2,
                "knobs": {"n_estimators": 50},
                "budget": {"trials": 4},
                "top_k": 2,
            },
            {"name": "b", "knobs": {"n_estimators": 400, "max_seq_len": 128}, "budget": {"trials": 3}},
        ],
        cv={"folds": 3, "top_k": 2, "knobs": {"max_seq_len": 256}},
    )
    a, b = cfg.stages
    assert a.fidelity == Fidelity(0.3, 16, 2, (("n_estimators", 50),))
    assert b.fidelity.knobs == (("max_seq_len", 128), ("n_estimators", 400)) and b.fidelity.data_fraction == 1.0
    # CV inherits the last stage's knobs, its own override them
    assert cfg.cv.folds == 3 and cfg.cv.fidelity.knobs == (("max_seq_len", 256), ("n_estimators", 400))
    # what experiment.yaml holds reads back into the same experiment (resume)
    again = build(yaml.safe_load(yaml.safe_dump(cfg.settings)), check_data=False)
    assert again.stages == cfg.stages and again.cv == cfg.cv


def test_one_stage_flags_and_cv_work_for_a_custom_trainable():
    cfg = custom(data_fraction="0.25", resolution="8", num_samples="5", cv={"folds": 2, "top_k": 2})
    (stage,) = cfg.stages
    assert stage.fidelity.data_fraction == 0.25 and stage.fidelity.resolution == 8
    assert cfg.cv.folds == 2 and stage.top_k == 2


def test_declared_names_are_the_ones_a_trainable_should_read():
    assert declared(Fidelity()) == ()  # full data, native resolution: nothing to read
    assert declared(Fidelity(0.5, 4, 3, (("n", 1),))) == ("data_fraction", "resolution", "n")


@pytest.mark.parametrize(
    "knobs, message",
    [
        ([1, 2], "stages[0].knobs: must be a mapping of knob names to values, got list"),
        ({"n trees": 3}, "stages[0].knobs.n trees: a knob name must be letters, digits and '_'"),
        (
            {"max_epochs": 3},
            "stages[0].knobs.max_epochs: is a built-in fidelity setting: give it as stages[0].max_epochs",
        ),
        ({"sizes": [1, 2]}, "stages[0].knobs.sizes: must be a number, a string or true/false, got list"),
        ({"n": None}, "stages[0].knobs.n: must be a number, a string or true/false, got NoneType"),
        ({"n": float("nan")}, "stages[0].knobs.n: must be a finite number, got nan"),
    ],
)
def test_bad_knobs_are_one_line_naming_the_key(knobs, message):
    with pytest.raises(UsageError) as err:
        custom(stages=[{"knobs": knobs, "budget": {"trials": 2}}])
    assert str(err.value).startswith(message)


def test_cv_knobs_are_checked_too():
    with pytest.raises(UsageError, match=r"^cv.knobs.x: must be a number"):
        custom(stages=[{"budget": {"trials": 2}}], cv={"folds": 2, "top_k": 1, "knobs": {"x": {"a": 1}}})


def test_stage_yaml_round_trip_keeps_knobs():
    cfg = custom(stages=[{"name": "s", "knobs": {"flag": True, "kind": "fast"}, "budget": {"trials": 2}}])
    text = stage_to_yaml(cfg.stages[0])
    assert text["knobs"] == {"flag": True, "kind": "fast"}
    stages, _ = parse_stages([text], None, None, cfg.options, cfg.space, False)
    assert stages == cfg.stages


def test_near_ties_are_finalists_within_one_standard_error_of_the_winner():
    from pipeline.cv import FinalistScore, near_ties, winner

    scores = [
        FinalistScore(0, [0.90, 0.92, 0.94]),  # winner: mean 0.92, std 0.02, SE 0.02 / sqrt(3) = 0.01155
        FinalistScore(1, [0.90, 0.91, 0.92]),  # mean 0.91: within one SE
        FinalistScore(2, [0.89, 0.90, 0.91]),  # mean 0.90: 0.02 away, beyond one SE
        FinalistScore(3, [0.95, 0.93, None]),  # incomplete: never a near-tie
    ]
    win = winner(scores, "max")
    assert win == 0 and near_ties(scores, win) == [1]
    assert near_ties([FinalistScore(0, [0.9]), FinalistScore(1, [0.9])], 0) == []  # one fold: no spread to judge
