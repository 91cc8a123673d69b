"""A distillation run's time budget: the loop's wall time, kept across resumes.

The time counted is the wall-clock time of the distillation loop: its steps
with their logging, callbacks and checkpoints; not loading the data, building
the network, restoring a checkpoint or exporting the set. It is kept in the
run's checkpoints (`elapsed`, seconds), so a resumed run continues against the
same budget with the time the steps it resumes from had used.

Before each step the loop asks `next_step_fits()`: a step starts only when the
time used plus the expected duration of a step (the median of the last
`ESTIMATE_STEPS` steps timed in this process; the first step after a start or
a resume, which builds the graph, is not timed) stays within the budget. So a
run ends within the budget unless one step takes longer than the ones before
it, or the very first step alone is longer than the budget.

Example:
>>> import tensorflow as tf
>>> ticks = iter([0.0, 0.0, 10.0, 20.0, 30.0, 40.0])
>>> budget = TimeBudget(35.0, tf.Variable(0.0, tf.float64), clock=lambda: next(ticks))
>>> budget.start()
>>> [budget.next_step_fits() for _ in range(4)]
[True, True, True, False]
"""

import math
import statistics
import time

# Steps whose median duration is the expected duration of the next one.
ESTIMATE_STEPS = 5


class TimeBudget:
    """Measures the loop's time and says whether another step fits the budget.

    Args:
        seconds: float, the budget in seconds, or None to only measure the time.
        elapsed: a scalar float64 `tf.Variable`, the seconds used before this
            process started (restored from the checkpoint); `record()` keeps it
            current, so checkpoints hold the time used.
        clock: callable returning seconds (default `time.perf_counter`); tests
            pass a fake one.
    """

    def __init__(self, seconds, elapsed, clock=time.perf_counter):
        self.seconds = None if seconds is None else float(seconds)
        self.elapsed = elapsed
        self.clock = clock
        self._base = 0.0
        self._started = None
        self._boundary = None
        self._used_at_boundary = 0.0
        self._timed = []
        self._steps_seen = 0

    @classmethod
    def of_minutes(cls, minutes, elapsed, clock=time.perf_counter):
        """A budget of `minutes` (None: no budget, the time only measured)."""
        return cls(None if minutes is None else 60.0 * minutes, elapsed, clock)

    def start(self):
        """Starts the clock where the checkpoint's time left off."""
        self._base = float(self.elapsed.numpy())
        self._started = self.clock()
        self._boundary = None
        self._used_at_boundary = self._base
        self._timed = []
        self._steps_seen = 0

    def used(self, now=None):
        """Seconds of loop time used, this run's earlier processes included."""
        now = self.clock() if now is None else now
        return self._base + now - self._started

    def left(self):
        """Seconds left at the last step boundary (inf without a budget)."""
        if self.seconds is None:
            return math.inf
        return max(self.seconds - self._used_at_boundary, 0.0)

    def fraction(self):
        """The share of the budget used at the last step boundary (0 without)."""
        if self.seconds is None:
            return 0.0
        return self._used_at_boundary / self.seconds

    @property
    def step_seconds(self):
        """The expected duration of the next step, or None before one is timed."""
        return statistics.median(self._timed) if self._timed else None

    def next_step_fits(self):
        """Marks a step boundary; whether the next step fits the budget.

        Always True without a budget. Called once before every step.
        """
        now = self.clock()
        if self._boundary is not None:
            self._steps_seen += 1
            if self._steps_seen > 1:  # the first one builds the graph
                self._timed = [*self._timed, now - self._boundary][-ESTIMATE_STEPS:]
        self._boundary = now
        self._used_at_boundary = self.used(now)
        if self.seconds is None:
            return True
        if self._used_at_boundary >= self.seconds:
            return False
        expected = self.step_seconds or 0.0
        return self._used_at_boundary + expected <= self.seconds

    def record(self):
        """Writes the time used into `elapsed` (before a checkpoint); returns it."""
        used = self.used()
        self.elapsed.assign(used)
        return used

    def logs(self, used):
        """What a step's logs say of the budget once `used` seconds are used:
        `time_used` and `time_left`; nothing without a budget."""
        if self.seconds is None:
            return {}
        return {"time_used": used, "time_left": max(self.seconds - used, 0.0)}
