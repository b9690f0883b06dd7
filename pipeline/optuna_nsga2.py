"""Optuna's NSGA-II as a stage searcher (``searcher: optuna-nsga2``), through Ray's OptunaSearch.

A baseline for the multi-objective benchmarks (benchmarks/mo_digits), runnable from a
config like any other searcher. Optuna is a ``bench`` extra, not a dependency of mftune:
it is imported when the searcher is built, and its absence is one line naming the extra.

Why define-by-run: ``SearchSpace.to_ray()`` writes a conditional branch (the architecture
space's ``block``: plain, bottleneck with ``width_ratio``, inverted with ``expansion`` and
``kernel_size``; the optimizer's sgd/adam) as a ``tune.choice`` of dicts that hold further
domains. OptunaSearch's conversion turns such a choice into a categorical over the dicts
themselves and hands the unresolved inner domains to the trainable, so the dict form
cannot express these spaces. The define-by-run form asks Optuna for each parameter of the
flat space that is active under the choices made so far (``SearchSpace.is_active``; a
parent comes before its children) and builds the nested configuration with
``SearchSpace.from_flat``. Optuna's parameter names are the flat names
(``block[1]/width_ratio``); categorical parameters are asked as choice indices, as in the
flat space.

Constraints reach NSGA-II (constrained domination: feasible before infeasible, then by
total violation). OptunaSearch does not pass them on, so this adapter sets each finished
trial's violations on its Optuna trial before Ray tells Optuna the objectives: with
``Trial.set_constraint`` (Optuna 5), or as the user attribute ``constraints`` that the
sampler's ``constraints_func`` reads (Optuna 4, where that is the only way); a violation is
``value - bound`` for ``<=``/``<`` and ``bound - value`` for ``>=``/``>`` (Optuna: feasible
when every entry is <= 0), and a missing value counts as infinitely violated.

Optuna cannot prune a multi-objective study, so NSGA-II runs at full fidelity (``fifo``);
with one objective it works too (it then ignores intermediate results).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ray.tune.search.optuna import OptunaSearch  # imports Optuna only if it is installed

from searchers.space import SearchSpace

if TYPE_CHECKING:  # the registry imports this module when the searcher is first built
    from pipeline.registry import SearchContext

INSTALL_HINT = 'optuna-nsga2 needs Optuna, a benchmark extra: pip install -e ".[bench]"'
CONSTRAINTS_ATTR = "constraints"


def violations(result: Mapping[str, Any], constraints: Sequence[tuple[str, str, float]]) -> list[float]:
    """Optuna's constraint values of one result: each <= 0 when met."""
    out = []
    for metric, op, bound in constraints:
        value = result.get(metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            out.append(math.inf)
        else:
            out.append(float(value) - bound if op in ("<=", "<") else bound - float(value))
    return out


class DefineByRun:
    """The define-by-run function of ``space`` for OptunaSearch: returns the nested config.

    A class rather than a closure: Tune pickles the searcher with every experiment snapshot.
    """

    def __init__(self, space: SearchSpace):
        self.space = space

    def __call__(self, trial: Any) -> dict[str, Any]:
        return self.space.from_flat(suggest_flat(trial, self.space))


def suggest_flat(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """The flat values (see ``SearchSpace.to_flat``) of one configuration, each asked of an
    Optuna trial, inactive branches skipped (the parameters come in DFS order: a branch is
    chosen before its parameters)."""
    flat: dict[str, Any] = {}
    for p in space:
        if not space.is_active(p, flat):
            continue
        if p.is_categorical:
            flat[p.name] = trial.suggest_categorical(p.name, list(range(p.n_choices)))
        elif p.kind == "int":
            flat[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.grid_step), log=p.log)
        else:
            flat[p.name] = trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)
    return flat


class NSGA2Search(OptunaSearch):  # type: ignore[misc]
    """OptunaSearch that returns the nested configuration and reports constraint violations."""

    def __init__(
        self,
        space: SearchSpace,
        constraints: Sequence[tuple[str, str, float]] = (),
        **kwargs: Any,
    ):
        self.constraints = list(constraints)
        self.top = set(space.to_tree())  # the configuration's own keys
        super().__init__(DefineByRun(space), **kwargs)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        config = super().suggest(trial_id)
        # Ray merges the captured flat values (``block[1]/width_ratio`` unflattens to a key
        # ``block[1]``) into the returned config; keep the configuration's own keys
        return None if config is None else {k: v for k, v in config.items() if k in self.top}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if self.constraints and ot_trial is not None and trial_id not in self._completed_trials:
            values = violations(result or {}, self.constraints)
            if hasattr(ot_trial, "set_constraint"):  # Optuna 5
                for (metric, op, bound), v in zip(self.constraints, values):
                    ot_trial.set_constraint(f"{metric} {op} {bound:g}", v)
            else:  # Optuna 4: read by the sampler's constraints_func
                ot_trial.set_user_attr(CONSTRAINTS_ATTR, values)
        super().on_trial_complete(trial_id, result, error)


def constraints_from_attrs(trial: Any) -> list[float]:
    """Optuna 4's ``constraints_func``: the violations stored by NSGA2Search."""
    return list(trial.user_attrs.get(CONSTRAINTS_ATTR, [math.inf]))


def make(ctx: SearchContext) -> NSGA2Search:
    """The registry's factory: NSGA-II on ``ctx``'s objectives (or its one metric)."""
    try:
        import optuna
    except ImportError:
        raise ImportError(INSTALL_HINT) from None

    several = len(ctx.objectives) > 1
    constraints = list(ctx.constraints) if several else []
    old_optuna = not hasattr(optuna.trial.Trial, "set_constraint")
    sampler = optuna.samplers.NSGAIISampler(
        seed=ctx.seed, constraints_func=constraints_from_attrs if constraints and old_optuna else None
    )
    points = [ctx.space.to_flat(p) for p in ctx.points_to_evaluate]
    return NSGA2Search(
        ctx.space,
        constraints,
        metric=[m for m, _ in ctx.objectives] if several else ctx.metric,
        mode=[m for _, m in ctx.objectives] if several else ctx.mode,
        sampler=sampler,
        points_to_evaluate=points or None,
    )
