"""When ``auto`` hands over from the GP to TPE: a pure function of the trial count and the space.

The rule: the GP serves the first ``GP_MAX_TRIALS`` (1,000) suggestions, TPE every later
one, whatever the dimension. Chosen from ``benchmarks/auto_switch.py`` on held-out problems
(Ackley-5, Styblinski-Tang-6, Levy-6, Griewank-8, six-hump camel, an HPO-like mixed
space, a 12-parameter conditional space; Ackley-20, Levy-20, Styblinski-Tang-16), never
on the problems docs/benchmarks.md reports; the figures are in docs/benchmarks.md
("auto searcher"). What they said:

* quality: no hand-over lowered the regret. Run to 1,000 trials (3 seeds a problem),
  handing over to TPE after 200, 300, 400, 500 or 700 trials cost at every later budget
  in dimension <= 12 (after 700: 1.97 x the GP's regret at 1,000, p = 2e-4; after 300:
  15.9 x) and, in dimension >= 16, was level for a while and then cost (after 300-500:
  1.2-1.4 x at 1,000, p = 0.03; after 700: 1.03 x). An earlier rule handed over at 300,
  as far as the first study had measured; the reported problems then showed that
  hand-over costing at 500, and this study confirmed it on held-out ones.
* the exception: narrow curved valleys. Two added to the held-out set later
  (Dixon-Price-8, Powell-8, the shape of the reported Rosenbrock-10 where the GP lost to
  TPE at 500) gain from every hand-over (after 200-700: 0.18-0.47 x the GP's regret at
  every later budget, p = 0.031 over their 6 runs). With them in the group a hand-over
  still costs (after 300: 6.0 x at 1,000, p = 0.004). A fixed threshold cannot serve
  both, and the GP's incumbent stalling does not tell the valleys apart; what does help
  there is a power transform of the losses (``GPSearcher(loss_warping=...)``), not the
  default because it kept the search in a local minimum in 4 of 10 held-out
  Styblinski-Tang-6 runs where the plain GP left it in all 10 (docs/benchmarks.md,
  "Narrow valleys held out" and "The settling risk at 10 seeds").
* cost: a GP suggestion grows with the trials until the posterior's cap
  (``GPSearcher(max_points=1000)``, the best half kept) and the fit's (200 points) stop
  it: 0.25-0.45 s at 1,000 trials in 2-20 dimensions on a loaded 2-CPU machine, against
  1-8 ms for TPE. So the GP serves as far as its lead was measured, which is also where its
  cost stops growing and it starts to drop observations; TPE, whose cost stays small,
  serves beyond. The dimension changed how far the GP leads, not whether a hand-over
  helps, so ``dim`` does not enter the threshold today; it stays an argument so that a
  measured effect can be added without changing callers.

Counting trials (finished, failed or in flight, in suggestion order), not finished
ones, makes the switch point depend only on how many suggestions were made, so the
same seed switches at the same suggestion under any timing of results.
"""

from __future__ import annotations

from typing import Literal

Model = Literal["gp", "tpe"]

#: The GP serves suggestions while fewer than this many trials are recorded; then TPE.
GP_MAX_TRIALS = 1000


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
