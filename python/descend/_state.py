"""descend.FitState: what one fit hands the next so that it continues."""

from __future__ import annotations

import numpy as np


class FitState:
    """The state a run ends in, for the next run to continue from.

    Pass the same object as ``descend.fit(..., state=s)`` to successive
    fits (the estimators' ``partial_fit`` and ``warm_start`` do): a fresh
    one (``started`` False) lets the fit start as usual, seeded by
    ``seed``, and receives its end; a filled one makes the next fit start
    from it instead of afresh:

    - ``steps``: the updates so far, the clock of learning-rate schedules
      (eta_t at update t counts on) and of Adam's bias correction;
    - ``state0``, ``state1``: the update rule's buffers (momentum's
      velocity, Adam's moments ...), float64 copies;
    - ``random``: the shuffle's SplitMix64 state, so each epoch draws a
      fresh permutation, never the first one again;
    - ``schedule``: where ReduceOnPlateau stands (carried, the step size,
      the best objective, the checks without improvement, first);
    - ``average``: the running mean of the iterates (``average=``), and
      ``iterate``, the last iterate, where the next fit resumes then (the
      coefficients a fit returns are the average).

    Two fits of max_iter=1 with one state are one fit of max_iter=2 (same
    seed, tol=None), bit for bit. A state left by another update rule, or
    for another number of parameters, is refused (ValueError). Plain data:
    it pickles and copies.
    """

    def __init__(self) -> None:
        self.started = False
        self.steps = 0
        self.random = 0
        self.schedule = (False, 0.0, float("inf"), 0, True)
        self.state0 = np.empty(0)
        self.state1 = np.empty(0)
        self.average = np.empty(0)
        self.iterate = np.empty(0)

    def __repr__(self) -> str:
        if not self.started:
            return "FitState(not started)"
        return f"FitState(steps={self.steps}, {self.state0.size + self.state1.size} rule state values)"
