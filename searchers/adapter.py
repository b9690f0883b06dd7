"""The thin Ray Tune adapter every mftune searcher shares.

Ray's ``Searcher`` contract has sharp edges (measured on Ray 2.60): metric and mode arrive only through ``set_search_properties``;
Tune resolves nothing in a suggested config; ``on_trial_complete`` comes with
``result=None`` for paused trials that HyperBand stops and with ids we never
suggested; a searcher that cannot ``save`` silently restarts with ``num_samples=1`` on
restore. This class handles all of that once, and turns the callbacks into calls on a
pure :class:`TrialRecord`; a subclass only implements :meth:`_propose`.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from searchers.common.atomic import atomic_write
from searchers.common.checks import check_mode, finite_or_none
from searchers.common.objectives import Objectives, first, parse_objectives
from searchers.common.ray_names import SEED_ALIASES
from searchers.common.renamed import renamed_kwargs
from searchers.define_by_run import as_space
from searchers.record import PENDING, TrialRecord
from searchers.space import SearchSpace, SpaceError, holds_params

_STATE_FORMAT = 1


class SpaceSearcher(Searcher):
    """Base class: search space, seeded generator, trial record, Ray callbacks, save/restore.

    Args:
        space: a :class:`SearchSpace` or anything it accepts (Ray domains, YAML form), or
            a define-by-run function ``space(trial)`` (see :mod:`searchers.define_by_run`).
            If omitted, the Tuner's ``param_space`` is used.
        metric, mode: as in Ray; ``mode`` is "min" or "max". Several objectives: parallel
            lists, ``metric=["acc", "params"], mode=["max", "min"]`` (Ray's ``OptunaSearch``
            convention); a searcher with a multi-objective core then records each result's
            vector (:mod:`searchers.common.objectives`), the first metric is the primary one.
        constraints: optional ``["params <= 50000", ...]`` (or (metric, op, bound) triples):
            infeasible trials rank below feasible ones, by total violation.
        points_to_evaluate: complete configurations to try first, in order.
        evaluated_rewards: (Ray's warm start) the metric values ``points_to_evaluate``
            already scored, one per point: they are recorded as finished trials instead
            of being run again (NaN records a failure).
        seed: seed of the searcher's own ``numpy.random.Generator``; Ray's
            ``random_state_seed`` and ``random_state`` (an int) are accepted for it.
        resource_attr: result key that counts fidelity (epochs, iterations) for the
            per-level record that multi-fidelity cores use.

    Everything after ``points_to_evaluate`` is keyword-only (Ray's searchers differ in
    what comes next). **Differs from Ray's searchers**: ``seed`` defaults to 0, not None,
    so two runs suggest the same configurations unless told otherwise.
    """

    @renamed_kwargs(aliases=SEED_ALIASES)
    def __init__(
        self,
        space: Any = None,
        metric: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        *,
        evaluated_rewards: Sequence[float] | None = None,
        seed: int = 0,
        resource_attr: str = "training_iteration",
        constraints: Sequence[Any] | None = None,
    ):
        self.objectives: Objectives | None = parse_objectives(metric, mode, constraints)
        self._constraints = list(constraints or [])
        primary_metric: str | None = first(metric)
        primary_mode: str | None = first(mode)
        check_mode(primary_mode)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        super().__init__(metric=primary_metric, mode=primary_mode)
        self.space: SearchSpace | None = as_space(space) if space is not None else None
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.resource_attr = resource_attr
        self.record = TrialRecord()
        self._raw_points = [dict(p) for p in (points_to_evaluate or [])]
        self._points: list[dict[str, Any]] = []
        # Warm start: (config, reward) pairs recorded once both the space and mode are known.
        self._warm: list[tuple[dict[str, Any], float]] = []
        if evaluated_rewards is not None:
            if self.objectives is not None:
                raise ValueError("evaluated_rewards is single-objective only; leave it out with several metrics")
            rewards = list(evaluated_rewards)
            if len(rewards) != len(self._raw_points):
                raise ValueError(
                    f"evaluated_rewards must hold one value per points_to_evaluate entry "
                    f"({len(self._raw_points)}), got {len(rewards)}"
                )
            self._warm = list(zip(self._raw_points, rewards))
            self._raw_points = []
        if self.space is not None:
            self._points = self._check_points(self._raw_points)
        self._record_warm_start()
        # TuneConfig(max_concurrent_trials=N): enforced here, counting only trials that run
        # or are about to (not those a scheduler paused), see set_max_concurrency.
        self.max_concurrent: int | None = None
        self._paused: set[str] = set()
        self._n_live = 0  # suggested trials not yet complete (paused ones included)

    # ----------------------------------------------------------- for subclasses
    @property
    def _known_space(self) -> SearchSpace:
        """The space, once known (suggest() checks that it is before any proposal)."""
        assert self.space is not None, "no search space yet"
        return self.space

    def _propose(self, trial_id: str) -> dict[str, Any]:
        """Return flat values (see SearchSpace.to_flat) for a new trial."""
        raise NotImplementedError

    def _record_changed(self, trial_id: str) -> None:
        """A trial's row of the record was added or changed (suggest, result, completion).

        Called after each Ray callback that can change the record, so a subclass that keeps
        a table derived from it (TPE's observation table) updates that row here.
        """

    def _record_replaced(self) -> None:
        """The record changed outside the per-trial callbacks (a warm start by
        ``add_evaluated_point``): a table derived from it is rebuilt when next needed."""

    def _extra_state(self) -> dict[str, Any]:
        """Subclass state beyond space/record/generator, for save()."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    # -------------------------------------------------------------- Ray contract
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any) -> bool:
        if config and holds_params(config):
            if self.space is not None:
                return False  # like Ray's searchers: one space, from one place
            self.space = SearchSpace(config)
            self._points = self._check_points(self._raw_points)
        if self.objectives is not None:
            metric, mode = None, None  # our own objectives win over TuneConfig's one metric
        else:
            self.objectives = parse_objectives(metric, mode, self._constraints)
            metric, mode = first(metric), first(mode)
        check_mode(mode)
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        self._record_warm_start()
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.space is None:
            raise RuntimeError(
                f"{type(self).__name__} has no search space: pass space= or a "
                "param_space with search domains to the Tuner"
            )
        if self.space.dim == 0:
            raise RuntimeError(f"{type(self).__name__}: the search space has no parameters to search")
        if self._metric is None or self._mode is None:
            raise RuntimeError(
                f"{type(self).__name__} needs metric and mode: pass them to the searcher or to TuneConfig"
            )
        if self.max_concurrent is not None and self.running() >= self.max_concurrent:
            return None  # Ray asks again at its next step
        flat = self._points.pop(0) if self._points else self._propose(trial_id)
        self.record.add(trial_id, flat)
        self._n_live += 1
        self._record_changed(trial_id)
        return self.space.from_flat(flat)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Enforce ``max_concurrent_trials`` ourselves (Ray's ``ConcurrencyLimiter`` then steps aside).

        Ray's limiter counts every suggested, unfinished trial, paused ones included, so
        under a pausing scheduler (ASHA promotion, Hyperband, BOHB) paused trials hold the
        places and new trials are held back while workers idle. Here a trial that the
        scheduler paused (``on_pause``) frees its place until it is resumed
        (``on_unpause``): mftune's schedulers and Ray's ``HyperBandForBOHB`` call both.
        """
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"max_concurrent must be an integer >= 1, got {max_concurrent!r}")
        self.max_concurrent = max_concurrent
        return True

    def running(self) -> int:
        """Suggested trials that are not complete and not paused: those that hold a place."""
        return self._n_live - len(self._paused)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        loss = self._loss(result)
        level = result.get(self.resource_attr)
        if loss is not None and level is not None:
            self.record.report(trial_id, level, loss, self._vector(result))
            self._record_changed(trial_id)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id not in self.record:
            return  # e.g. trials of another searcher in a restored experiment
        self._complete(trial_id, result, error)
        self._record_changed(trial_id)

    def _complete(self, trial_id: str, result: dict[str, Any] | None, error: bool) -> None:
        self._paused.discard(trial_id)
        obs = self.record.get(trial_id)
        assert obs is not None  # in the record (checked above)
        if obs.state == PENDING:
            self._n_live -= 1
        if error:
            self.record.fail(trial_id)
            return
        loss = None
        if result is not None:
            loss = self._loss(result)
            level = result.get(self.resource_attr)
            if loss is None and self._metric in result:
                self.record.fail(trial_id)  # reported NaN/inf: a failure, not a value
                return
            if loss is not None and level is not None:
                self.record.report(trial_id, level, loss, self._vector(result))
        self.record.complete(trial_id, loss, None if result is None else self._vector(result))

    def on_pause(self, trial_id: str) -> None:
        """The scheduler paused the trial: it stays pending for the model, but frees its place."""
        obs = self.record.get(trial_id)
        if obs is not None and obs.state == PENDING:
            self._paused.add(trial_id)

    def on_unpause(self, trial_id: str) -> None:
        """The scheduler resumes (or promoted) the trial: it holds a place again."""
        self._paused.discard(trial_id)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        if self.space is None or self._mode is None:
            raise RuntimeError("add_evaluated_point needs the search space and mode set first")
        flat = self.space.to_flat(parameters)
        obs = self.record.add(f"__evaluated_{len(self.record)}", flat)
        for i, v in enumerate(intermediate_values or []):
            loss = self._sign(v)
            if loss is not None:
                self.record.report(obs.trial_id, i + 1, loss)
        if error:
            self.record.fail(obs.trial_id)
        else:
            self.record.complete(obs.trial_id, self._sign(value))
        self._record_replaced()

    # ------------------------------------------------------------- persistence
    def save(self, checkpoint_path: str) -> None:
        state = {
            "format": _STATE_FORMAT,
            "class": type(self).__qualname__,
            "space": self.space,
            "metric": self._metric,
            "mode": self._mode,
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "resource_attr": self.resource_attr,
            "record": self.record,
            "raw_points": self._raw_points,
            "points": self._points,
            "warm": self._warm,
            "max_concurrent": self.max_concurrent,
            "paused": sorted(self._paused),
            "objectives": self.objectives,
            "extra": self._extra_state(),
        }
        atomic_pickle(state, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        if state.get("format") != _STATE_FORMAT or state.get("class") != type(self).__qualname__:
            raise ValueError(
                f"{checkpoint_path} holds {state.get('class')} state (format "
                f"{state.get('format')}), not {type(self).__qualname__}"
            )
        self.space = state["space"]
        self._metric, self._mode = state["metric"], state["mode"]
        self.seed = state["seed"]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.resource_attr = state["resource_attr"]
        self.record = state["record"]
        self._raw_points, self._points = state["raw_points"], state["points"]
        self._warm = state.get("warm", [])  # absent in states saved before warm starts existed
        # states saved before concurrency was counted here hold neither (then: no limit set)
        self.max_concurrent = state.get("max_concurrent", self.max_concurrent)
        self._paused = set(state.get("paused", ()))
        self.objectives = state.get("objectives")  # absent before multi-objective support
        self._n_live = sum(1 for t in self.record if t.state == PENDING)
        self._load_extra_state(state["extra"])

    # ----------------------------------------------------------------- helpers
    def _record_warm_start(self) -> None:
        if not self._warm or self.space is None or self._mode is None:
            return
        warm, self._warm = self._warm, []
        for i, (config, reward) in enumerate(warm):
            try:
                self.add_evaluated_point(config, reward, error=finite_or_none(reward) is None)
            except SpaceError as err:
                raise SpaceError(err.name, f"points_to_evaluate[{i}] (with evaluated_rewards): {err}") from None

    def _check_points(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i, point in enumerate(points):
            try:
                out.append(self._known_space.to_flat(point))
            except SpaceError as err:
                raise SpaceError(err.name, f"points_to_evaluate[{i}]: {err}") from None
        return out

    def _sign(self, value: Any) -> float | None:
        v = finite_or_none(value)
        if v is None:
            return None
        return v if self._mode == "min" else -v

    def _vector(self, result: Mapping[str, Any]) -> tuple[float, ...] | None:
        """Multi-objective: the result's (minimised objectives..., violation); else None."""
        return None if self.objectives is None else self.objectives.vector(result)

    def _loss(self, result: Mapping[str, Any]) -> float | None:
        return self._sign(result.get(self._metric)) if self._metric else None


def atomic_pickle(obj: Any, path: str) -> None:
    """Write ``obj`` so that ``path`` holds either the old or the new state, never half."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)

    atomic_write(path, write)
