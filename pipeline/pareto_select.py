"""Multi-objective selection in the pipeline: a stage's top-k, the CV'd Pareto set, the pick.

With several objectives a stage hands on its top-k in the order of
:func:`searchers.common.pareto.pareto_order`, applied the way the one-metric rule is
(``pipeline.ranking``): results at more epochs come first (Hyperband's incumbent rule),
then, among results at the same epochs, feasible before infeasible, the Pareto front first,
inside a front the greedy-hypervolume order, equal gains to the earlier trial (trials are
taken in trial-id order, so the order does not depend on how Ray listed them).

After cross-validation every objective has a mean and a standard deviation over the folds.
``best.json`` holds the finalists on the Pareto front of those CV means (feasibility judged
on the means) and one configuration picked by ``select``:

* ``primary`` (default): the most accurate feasible one: the best CV mean of the first
  objective among the feasible finalists of the front (if none is feasible, the one with
  the least total violation);
* ``knee``: the feasible front point closest (Euclidean) to the ideal point once each
  objective is scaled to [0, 1] over the feasible front: the best compromise, with no
  objective weighted above another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.objectives import Constraint, Objective, total_violation
from pipeline.ranking import TrialOutcome, config_key
from pipeline.state import Candidate
from searchers.common.pareto import hypervolume, nondominated_ranks, pareto_order, to_minimised

SELECT_RULES = ("primary", "knee")


def pairs(objectives: Sequence[Objective]) -> list[tuple[str, str]]:
    return [(o.metric, o.mode) for o in objectives]


def constraint_triples(constraints: Sequence[Constraint]) -> list[tuple[str, str, float]]:
    """The constraints as searchers and schedulers take them: (metric, "<=" or ">=", bound).
    A strict bound becomes the non-strict one: searchers rank by how far a result is over
    the bound, which is the same; the pipeline's own feasibility keeps the strict test."""
    return [(c.metric, {"<": "<=", ">": ">="}.get(c.op, c.op), c.bound) for c in constraints]


def tracked(objectives: Sequence[Objective], constraints: Sequence[Constraint]) -> list[str]:
    """Every metric the selection reads: the objectives, then the constraints' other metrics."""
    names = [o.metric for o in objectives]
    for c in constraints:
        if c.metric not in names:
            names.append(c.metric)
    return names


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def rank_outcomes(
    outcomes: Iterable[TrialOutcome], objectives: Sequence[Objective], constraints: Sequence[Constraint]
) -> list[TrialOutcome]:
    """Outcomes with a finite first objective, best first by the module's order, one per config."""
    finite = sorted((o for o in outcomes if o.value is not None), key=lambda o: o.trial_id)
    ordered: list[TrialOutcome] = []
    for level in sorted({o.iterations for o in finite}, reverse=True):
        group = [o for o in finite if o.iterations == level]
        values = to_minimised([o.metrics for o in group], pairs(objectives))
        violation = np.asarray([total_violation(o.metrics, constraints) for o in group])
        ordered += [group[i] for i in pareto_order(values, violation)]
    seen: set[str] = set()
    out = []
    for o in ordered:
        key = config_key(o.config)
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def top_k(
    outcomes: Iterable[TrialOutcome], objectives: Sequence[Objective], constraints: Sequence[Constraint], k: int
) -> list[Candidate]:
    names = tracked(objectives, constraints)
    return [
        Candidate(
            config=o.config,
            value=float(o.value),  # type: ignore[arg-type]  # rank_outcomes keeps finite values only
            trial_id=o.trial_id,
            iterations=o.iterations,
            checkpoint=o.checkpoint,
            objectives={m: _finite(o.metrics.get(m)) for m in names},
        )
        for o in rank_outcomes(outcomes, objectives, constraints)[:k]
    ]


# ------------------------------------------------------------------------ CV


def fold_tables(
    outcomes: Iterable[TrialOutcome], n_finalists: int, folds: int, metrics: Sequence[str]
) -> dict[str, list[list[float | None]]]:
    """Per metric, per finalist, the value of each fold (None: the fold failed or lacks it)."""
    from pipeline.context import CV_FINALIST_KEY, CV_FOLD_KEY

    tables: dict[str, list[list[float | None]]] = {m: [[None] * folds for _ in range(n_finalists)] for m in metrics}
    for o in outcomes:
        j, f = o.config.get(CV_FINALIST_KEY), o.config.get(CV_FOLD_KEY)
        if not (isinstance(j, int) and isinstance(f, int) and 0 <= j < n_finalists and 0 <= f < folds):
            continue
        for m in metrics:
            tables[m][j][f] = None if o.error else _finite(o.metrics.get(m))
    return tables


def summary(scores: Sequence[float | None]) -> dict[str, Any]:
    finite = [s for s in scores if s is not None]
    return {
        "mean": float(np.mean(finite)) if finite else None,
        "std": float(np.std(finite, ddof=1)) if len(finite) > 1 else None,
        "scores": list(scores),
    }


def cv_pareto(
    tables: Mapping[str, list[list[float | None]]],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
    rule: str = "primary",
) -> dict[str, Any]:
    """The CV'd finalists: each one's mean ± std per metric, feasibility, front membership,
    and the index picked by ``rule``. A finalist with a failed fold is kept out of the
    front (its means are over fewer folds than the others')."""
    n = len(next(iter(tables.values()))) if tables else 0
    rows = []
    for j in range(n):
        cv = {m: summary(tables[m][j]) for m in tables}
        means = {m: s["mean"] for m, s in cv.items()}
        complete = all(all(v is not None for v in tables[o.metric][j]) for o in objectives)
        rows.append(
            {
                "index": j,
                "cv": cv,
                "complete": complete,
                "violation": total_violation(means, constraints) if complete else math.inf,
            }
        )
    for r in rows:
        r["feasible"] = (
            r["complete"] and r["violation"] == 0.0 and all(c.satisfied(r["cv"][c.metric]["mean"]) for c in constraints)
        )
    complete = [r for r in rows if r["complete"]]
    candidates = [r for r in complete if r["feasible"]] or complete  # the front of the feasible ones
    values = to_minimised([{m: r["cv"][m]["mean"] for m in tables} for r in candidates], pairs(objectives))
    front: list[int] = []
    if candidates:
        ranks = nondominated_ranks(values)
        front = [r["index"] for r, rank in zip(candidates, ranks) if rank == 0]
    for r in rows:
        r["on_front"] = r["index"] in front
    return {"rows": rows, "front": front, "selected": select(rows, objectives, rule)}


def select(rows: Sequence[Mapping[str, Any]], objectives: Sequence[Objective], rule: str) -> int | None:
    """Index of the finalist ``rule`` picks (see the module docstring); None when none is complete."""
    complete = [r for r in rows if r["complete"]]
    if not complete:
        return None
    feasible_front = [r for r in complete if r["feasible"] and r["on_front"]]
    if not feasible_front:
        return min(complete, key=lambda r: (r["violation"], r["index"]))["index"]
    first = objectives[0]
    sign = -1.0 if first.mode == "max" else 1.0
    if rule == "primary" or len(feasible_front) == 1:
        return min(feasible_front, key=lambda r: (sign * r["cv"][first.metric]["mean"], r["index"]))["index"]
    pts = to_minimised(
        [{o.metric: r["cv"][o.metric]["mean"] for o in objectives} for r in feasible_front], pairs(objectives)
    )
    low, high = pts.min(axis=0), pts.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    dist = np.linalg.norm((pts - low) / span, axis=1)
    best = min(range(len(feasible_front)), key=lambda i: (float(dist[i]), feasible_front[i]["index"]))
    return int(feasible_front[best]["index"])


def front_hypervolume(points: Sequence[Mapping[str, Any]], objectives: Sequence[Objective], reference: Any) -> float:
    """Hypervolume of ``points`` (result dicts) against a minimised ``reference``."""
    if not points:
        return 0.0
    return hypervolume(to_minimised(list(points), pairs(objectives)), reference)


# ----------------------------------------------------------------- the pipeline


def search_context(cfg: Any) -> dict[str, Any]:
    """The SearchContext fields of a multi-objective experiment (none for one objective)."""
    if not cfg.multi_objective:
        return {}
    return {"objectives": tuple(pairs(cfg.objectives)), "constraints": tuple(constraint_triples(cfg.constraints))}


def _header(cfg: Any) -> dict[str, Any]:
    return {
        "objectives": [o.to_yaml() for o in cfg.objectives],
        "constraints": [str(c) for c in cfg.constraints],
        "select": cfg.select,
    }


def best_fields(cfg: Any, cv: Any) -> dict[str, Any]:
    """best.json's multi-objective part after CV: every finalist's CV mean ± std of each
    objective and constrained metric, whether it is feasible and on the CV Pareto front;
    ``pareto`` lists the front, ``selected`` the finalist ``select`` picked (1-based)."""
    result = cv_pareto(cv.objective_scores, cfg.objectives, cfg.constraints, cfg.select)
    rows = [
        {
            "finalist": r["index"] + 1,
            "config": cv.finalists[r["index"]].config,
            "trial_id": cv.finalists[r["index"]].trial_id,
            "stage_objectives": cv.finalists[r["index"]].objectives,
            "cv": r["cv"],
            "feasible": r["feasible"],
            "on_front": r["on_front"],
        }
        for r in result["rows"]
    ]
    return {
        **_header(cfg),
        "selected": None if result["selected"] is None else result["selected"] + 1,
        "pareto": [row for row in rows if row["on_front"]],
        "cv_objectives": rows,
    }


def stage_best_fields(cfg: Any, top: Sequence[Candidate]) -> dict[str, Any]:
    """best.json's multi-objective part without CV: the last stage's hand-on set, its
    Pareto front by the stage's values, and the pick of ``select`` among them."""
    names = tracked(cfg.objectives, cfg.constraints)
    if top:  # the incumbent rule: only results at the most epochs reached (ASHA stops others early)
        level = max(c.iterations for c in top)
        top = [c for c in top if c.iterations == level]
    tables = {m: [[c.objectives.get(m)] for c in top] for m in names}
    result = cv_pareto(tables, cfg.objectives, cfg.constraints, cfg.select) if top else {"rows": [], "selected": None}
    rows = [
        {
            "rank": r["index"] + 1,
            "config": top[r["index"]].config,
            "trial_id": top[r["index"]].trial_id,
            "objectives": top[r["index"]].objectives,
            "feasible": r["feasible"],
            "on_front": r["on_front"],
        }
        for r in result["rows"]
    ]
    out = {
        **_header(cfg),
        "selected": None if result["selected"] is None else result["selected"] + 1,
        "pareto": [row for row in rows if row["on_front"]],
    }
    if result["selected"] is not None:  # the pick, not simply the first handed on, is "the" config
        pick = top[result["selected"]]
        out.update(
            value=pick.value,
            config=pick.config,
            trial_id=pick.trial_id,
            iterations=pick.iterations,
            checkpoint=pick.checkpoint,
        )
    return out


def summary_lines(best: Mapping[str, Any]) -> list[str]:
    """What the run's last lines say about the Pareto set (nothing for one objective)."""
    if "pareto" not in best:
        return []
    names = [o["metric"] for o in best["objectives"]]
    out = [f"mftune: Pareto set ({len(best['pareto'])}; select: {best['select']} picked {best.get('selected')}):"]
    for row in best["pareto"]:
        if "cv" in row:
            label, cells = f"finalist {row['finalist']}", [_mean_std(row["cv"][m]) for m in names]
        else:
            label, cells = f"rank {row['rank']}", [_short(row["objectives"].get(m)) for m in names]
        feasible = "" if row["feasible"] else " (infeasible)"
        out.append(f"  {label}: " + ", ".join(f"{m} {c}" for m, c in zip(names, cells)) + feasible)
    return out


def _short(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


def _mean_std(s: Mapping[str, Any]) -> str:
    if s.get("mean") is None:
        return "-"
    return _short(s["mean"]) + ("" if s.get("std") is None else f" ± {_short(s['std'])}")
