"""The pipeline's multi-objective selection (issue 15, items 6-7): a stage's top-k by
non-dominated rank with a deterministic tie-break, CV mean ± std of every objective, the
CV Pareto set and the ``select`` rules, on hand-computed cases."""

import pytest

from pipeline.context import CV_FINALIST_KEY, CV_FOLD_KEY
from pipeline.objectives import Constraint, Objective
from pipeline.pareto_select import constraint_triples, cv_pareto, fold_tables, rank_outcomes, top_k
from pipeline.ranking import TrialOutcome

ACC_PARAMS = (Objective("val_accuracy", "max"), Objective("params", "min"))


def outcome(tid, acc, params, iterations=10, **extra):
    metrics = {"val_accuracy": acc, "params": params, **extra}
    return TrialOutcome(tid, {"id": tid}, acc, iterations, metrics=metrics)


def test_front_first_then_the_next_rank_and_more_epochs_before_fewer():
    outs = [
        outcome("t5", 0.80, 500),  # dominated by t1 (rank 1)
        outcome("t1", 0.90, 400),  # front
        outcome("t2", 0.95, 2000),  # front
        outcome("t3", 0.70, 100),  # front
        outcome("t4", 0.99, 10, iterations=3),  # dominates all, but stopped early: after every full one
        outcome("t6", 0.60, 3000),  # dominated by all of the front: rank 2
    ]
    ranked = [o.trial_id for o in rank_outcomes(outs, ACC_PARAMS, ())]
    assert set(ranked[:3]) == {"t1", "t2", "t3"}
    assert ranked[3:] == ["t5", "t6", "t4"]
    # the order does not depend on the order Ray listed the trials in
    assert [o.trial_id for o in rank_outcomes(list(reversed(outs)), ACC_PARAMS, ())] == ranked


def test_inside_a_front_the_hypervolume_tie_break_decides():
    # a 2-D front; reference = worst + 10 % of the range. The extreme points have the
    # largest boxes here, the middle point is taken last.
    outs = [outcome("a", 0.9, 1000), outcome("b", 0.8, 550), outcome("c", 0.5, 100)]
    ranked = [o.trial_id for o in rank_outcomes(outs, ACC_PARAMS, ())]
    # minimised: a (-0.9, 1000), b (-0.8, 550), c (-0.5, 100); ref (-0.46, 1090)
    # boxes: a 0.44*90 = 39.6, b 0.34*540 = 183.6, c 0.04*990 = 39.6 -> b first;
    # then a adds 0.1*90 = 9 (its strip beyond b), c adds 0.04*450 = 18 -> c, then a
    assert ranked == ["b", "c", "a"]


def test_infeasible_rank_after_feasible_by_violation_and_duplicates_go_once():
    c = (Constraint("params", "<=", 1000.0),)
    outs = [
        outcome("big", 0.99, 5000),
        outcome("bigger", 0.995, 9000),
        outcome("ok", 0.5, 900),
        outcome("ok2", 0.6, 1000),
    ]
    outs.append(TrialOutcome("zdup", {"id": "ok"}, 0.5, 10, metrics={"val_accuracy": 0.5, "params": 900}))
    ranked = [o.trial_id for o in rank_outcomes(outs, ACC_PARAMS, c)]
    assert ranked[:2] in (["ok", "ok2"], ["ok2", "ok"])
    assert ranked[2:] == ["big", "bigger"]  # violations 4000 < 8000
    cands = top_k(outs, ACC_PARAMS, c, 3)
    assert len(cands) == 3 and cands[2].objectives == {"val_accuracy": 0.99, "params": 5000.0}
    assert cands[0].value in (0.5, 0.6)


def test_a_strict_constraint_is_non_strict_for_searchers():
    assert constraint_triples((Constraint("x", "<", 2.0), Constraint("y", ">", 1.0))) == [
        ("x", "<=", 2.0),
        ("y", ">=", 1.0),
    ]


def cv_outcomes(table):
    """table[finalist][fold] = (acc, params) -> CV trial outcomes."""
    out = []
    for j, folds in enumerate(table):
        for f, (acc, params) in enumerate(folds):
            cfg = {CV_FINALIST_KEY: j, CV_FOLD_KEY: f}
            out.append(TrialOutcome(f"{j}-{f}", cfg, acc, 5, metrics={"val_accuracy": acc, "params": params}))
    return out


def test_cv_reports_mean_and_std_of_every_objective_and_the_pareto_set():
    table = [
        [(0.90, 1000), (0.92, 1000), (0.94, 1000)],  # mean 0.92, std 0.02
        [(0.80, 200), (0.80, 200), (0.83, 200)],  # mean 0.81
        [(0.70, 800), (0.72, 800), (0.74, 800)],  # dominated by finalist 2 (0-based 1)
    ]
    tables = fold_tables(cv_outcomes(table), 3, 3, ["val_accuracy", "params"])
    result = cv_pareto(tables, ACC_PARAMS, ())
    rows = result["rows"]
    assert rows[0]["cv"]["val_accuracy"]["mean"] == pytest.approx(0.92)
    assert rows[0]["cv"]["val_accuracy"]["std"] == pytest.approx(0.02)  # sample std (ddof=1)
    assert rows[0]["cv"]["params"] == {"mean": 1000.0, "std": 0.0, "scores": [1000, 1000, 1000]}
    assert result["front"] == [0, 1]
    assert result["selected"] == 0  # primary: the most accurate feasible


def test_select_rules_and_constraints():
    # 4 front points (acc, params); ideal after scaling: acc 1.0 (max), params 0
    table = [
        [(0.95, 1000), (0.95, 1000)],
        [(0.93, 300), (0.93, 300)],  # knee: scaled (0.2/0.35... see below)
        [(0.80, 150), (0.80, 150)],
        [(0.60, 100), (0.60, 100)],
    ]
    tables = fold_tables(cv_outcomes(table), 4, 2, ["val_accuracy", "params"])
    # scaled minimised: acc (-0.95..-0.60) span .35, params (100..1000) span 900
    # distances: f0 (0, 1) -> 1; f1 (0.057, 0.222) -> 0.229; f2 (0.429, 0.056) -> 0.432; f3 (1, 0) -> 1
    assert cv_pareto(tables, ACC_PARAMS, (), "knee")["selected"] == 1
    assert cv_pareto(tables, ACC_PARAMS, (), "primary")["selected"] == 0
    limit = (Constraint("params", "<=", 200.0),)
    result = cv_pareto(tables, ACC_PARAMS, limit, "primary")
    assert [r["feasible"] for r in result["rows"]] == [False, False, True, True]
    assert result["selected"] == 2  # the most accurate of the feasible ones
    nothing = cv_pareto(tables, ACC_PARAMS, (Constraint("params", "<", 100.0),), "primary")
    assert nothing["selected"] == 3  # none feasible: the least violation (params 100 vs < 100: violation 0)


def test_a_finalist_with_a_failed_fold_stays_off_the_front():
    table = [[(0.99, 10), (0.99, 10)], [(0.5, 500), (0.5, 500)]]
    outs = cv_outcomes(table)
    outs[1] = TrialOutcome("0-1", outs[1].config, None, 5, error=True, metrics={})
    tables = fold_tables(outs, 2, 2, ["val_accuracy", "params"])
    result = cv_pareto(tables, ACC_PARAMS, ())
    assert result["front"] == [1] and result["selected"] == 1
    assert not result["rows"][0]["complete"]


def test_multi_objective_records_survive_pipeline_json(tmp_path):
    """Resume reads pipeline.json back: the candidates' objective values and the CV tables
    of every objective come back as they were written."""
    from pipeline.state import CVRecord, PipelineState, StageRecord

    cands = top_k([outcome("a", 0.9, 100), outcome("b", 0.95, 900)], ACC_PARAMS, (), 2)
    state = PipelineState(
        stages=[StageRecord("s", top_k=cands)],
        cv=CVRecord(finalists=cands, objective_scores={"val_accuracy": [[0.9, None]], "params": [[100.0, 100.0]]}),
    )
    state.save(tmp_path)
    back = PipelineState.load(tmp_path)
    assert back.stages[0].top_k == cands
    assert back.cv.objective_scores == {"val_accuracy": [[0.9, None]], "params": [[100.0, 100.0]]}


def test_infeasible_finalists_are_not_in_the_pareto_set():
    table = [[(0.99, 5000), (0.99, 5000)], [(0.9, 500), (0.9, 500)], [(0.8, 100), (0.8, 100)]]
    tables = fold_tables(cv_outcomes(table), 3, 2, ["val_accuracy", "params"])
    result = cv_pareto(tables, ACC_PARAMS, (Constraint("params", "<=", 1000.0),))
    assert result["front"] == [1, 2] and result["selected"] == 1
    assert [r["on_front"] for r in result["rows"]] == [False, True, True]


def test_without_cv_the_pareto_set_is_over_the_most_epochs_reached():
    from types import SimpleNamespace

    from pipeline.pareto_select import stage_best_fields

    cfg = SimpleNamespace(objectives=ACC_PARAMS, constraints=(), select="primary")
    outs = [outcome("a", 0.8, 100), outcome("b", 0.9, 900), outcome("c", 0.99, 50, iterations=2)]
    fields = stage_best_fields(cfg, top_k(outs, ACC_PARAMS, (), 3))
    assert [row["trial_id"] for row in fields["pareto"]] == ["b", "a"] or [
        row["trial_id"] for row in fields["pareto"]
    ] == ["a", "b"]
    assert fields["trial_id"] == "b" and fields["value"] == 0.9  # primary: the most accurate at full epochs
