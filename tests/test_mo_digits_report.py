"""benchmarks/mo_digits's report arithmetic: the normalised hypervolume of CV'd fronts, the
paired tests over seeds, and which run directories count (no Ray, no training)."""

import json

import pytest

from benchmarks.mo_digits.__main__ import VARIANTS, finished_runs, normalised_hypervolumes, paired


def best(points):
    return {
        "objectives": [{"metric": "val_accuracy", "mode": "max"}, {"metric": "params", "mode": "min"}],
        "pareto": [
            {"feasible": ok, "cv": {"val_accuracy": {"mean": acc}, "params": {"mean": n}}} for acc, n, ok in points
        ],
    }


def test_hypervolume_is_normalised_by_the_box_between_ideal_and_reference():
    # minimised points (-0.9, 1000) and (-0.8, 2000): ideal (-0.9, 1000); reference = worst
    # + 10% of the range = (-0.79, 2100); the box is 0.11 x 1100
    a = best([(0.9, 1000, True)])
    b = best([(0.8, 2000, True), (0.95, 500, False)])  # an infeasible point counts nowhere
    assert normalised_hypervolumes([a, b]) == pytest.approx([1.0, (0.01 * 100) / (0.11 * 1100)])


def test_paired_counts_wins_and_gives_exact_two_sided_p():
    wins, losses, sign_p, wilcoxon_p = paired([1, 2, 3, 4, 5], [0, 0, 0, 0, 0])
    assert (wins, losses) == (5, 0)
    assert sign_p == pytest.approx(2 / 32) and wilcoxon_p == pytest.approx(2 / 32)  # 5 of 5: the smallest p
    wins, losses, sign_p, _ = paired([1, 1, 1, 1, 0], [0, 0, 0, 0, 1])
    assert (wins, losses) == (4, 1) and sign_p == pytest.approx(12 / 32)  # P(<=1 or >=4 of 5)
    assert paired([1, 2], [1, 2])[2:] == (1.0, 1.0)  # no difference at all


def test_finished_runs_are_those_with_a_best_json_of_a_known_variant(tmp_path):
    for where, variant, seed, done in [
        ("seed-0", "motpe-moasha", 0, True),
        ("seed-0", "random-fifo", 0, False),  # interrupted: no best.json
        ("seed-1-nsga2-fifo-3x", "nsga2-fifo-3x", 1, True),
        ("seed-1", "other", 1, True),  # not a variant of this benchmark
        ("seed-1", "nsga2-fifo", 1, True),
    ]:
        run = tmp_path / where / "runs" / variant / f"seed-{seed}"
        run.mkdir(parents=True)
        if done:
            (run / "best.json").write_text(json.dumps({}))
    found = [(v, s) for v, s, _ in finished_runs(tmp_path)]
    assert found == [("motpe-moasha", 0), ("nsga2-fifo", 1), ("nsga2-fifo-3x", 1)]
    assert [v for v, _ in found] == sorted((v for v, _ in found), key=VARIANTS.index)
