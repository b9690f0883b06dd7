"""When ``auto`` hands over from the GP to TPE: a pure function of the trial count and the space.

The rule: the GP serves the first ``GP_MAX_TRIALS`` (300) suggestions, TPE every later one,
whatever the dimension. Chosen from ``benchmarks/auto_switch.py`` on held-out problems
(Ackley-5, Styblinski-Tang-6, Levy-6, Griewank-8, six-hump camel, an HPO-like mixed
space, a 12-parameter conditional space; Ackley-20, Levy-20, Styblinski-Tang-16), never
on the problems docs/benchmarks.md reports; the figures are in docs/benchmarks.md
("auto searcher"). What they said:

* quality: handing over to TPE after 50, 100 or 200 trials never lowered the regret
  at any budget up to 300, in low or high dimension; after 300 trials the GP alone had
  0.57-0.78 x the regret of a switch at 100 or 200 (geometric mean over problems; p =
  0.06-0.5 with the seeds run) and 0.01-0.2 x that of TPE alone. So the GP serves as
  long as its lead was measured: 300 trials.
* cost: a GP suggestion grows with the trials (fit and posterior over up to 1,000
  points): 20-50 x a TPE suggestion at 100 trials, 50-100 x at 300. Past the measured
  range TPE's small, flat cost decides. The dimension (2-20 measured) changed how far
  the GP leads, not whether a switch helps, so ``dim`` does not enter the threshold
  today; it stays an argument so that a measured effect can be added without changing
  callers.

Counting trials (finished, failed or in flight, in suggestion order), not finished
ones, makes the switch point depend only on how many suggestions were made, so the
same seed switches at the same suggestion under any timing of results.
"""

from __future__ import annotations

from typing import Literal

Model = Literal["gp", "tpe"]

#: The GP serves suggestions while fewer than this many trials are recorded; then TPE.
GP_MAX_TRIALS = 300


def gp_trials(dim: int) -> int:
    """How many trials the GP serves in a space of ``dim`` parameters (then TPE)."""
    return GP_MAX_TRIALS


def choose_model(n_trials: int, dim: int, switch_after: int | None = None) -> Model:
    """The model for the next suggestion, given ``n_trials`` trials already recorded
    (finished, failed or in flight) in a space of ``dim`` parameters.

    ``switch_after`` overrides the measured threshold (``0``: TPE from the start). The rule
    is monotone in ``n_trials``: once TPE serves, it serves every later suggestion.
    """
    limit = gp_trials(dim) if switch_after is None else switch_after
    return "gp" if n_trials < limit else "tpe"
