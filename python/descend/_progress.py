"""The progress bar of ``descend.fit(..., progress=True)`` and the estimators' ``verbose``.

A :class:`ProgressBar` shows, on stderr, the iterations (method="batch") or
epochs done out of max_iter, the current objective and the rate. It draws
with tqdm when tqdm is installed (imported here, on the first display, never
at ``import descend``), else prints plain lines::

    descend: epoch 12/100  objective 1.234e-01  45.1 epochs/s

The fit's observer calls :meth:`ProgressBar.update` after every
iteration/epoch; that call reads the clock and returns at once unless the
display is due (tqdm: at most every 0.1 s, plain lines: every 0.5 s), so a
fit pays one clock read per iteration. :meth:`ProgressBar.close` draws the
final count and closes the bar; the fit calls it in a ``finally``, so a
DivergenceError or a KeyboardInterrupt leaves no bar open.
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any, Callable, Optional, TextIO

# The clock every bar reads unless given another (tests replace it).
_clock: Callable[[], float] = time.perf_counter

TQDM_INTERVAL = 0.1
PLAIN_INTERVAL = 0.5


def _tqdm_class() -> Any:
    """tqdm's bar class, or None when tqdm is not installed."""
    try:
        module = importlib.import_module("tqdm")  # untyped: Any, no stubs needed
    except ImportError:
        return None
    return module.tqdm


def _rate(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value:.0f}"


class ProgressBar:
    """A progress display on stderr of a run of at most ``total`` iterations/epochs.

    Nothing is drawn before the first display is due (``interval`` seconds
    after the bar is made) or before :meth:`close`: a fit that ends within
    ``interval`` shows one final bar, and one that fails on its input
    shows nothing.

    Parameters
    ----------
    total : int
        The most iterations/epochs the run can take (max_iter).
    unit : {"iteration", "epoch"}
        What the run counts (tqdm shows iterations as "it").
    use_tqdm : bool or None
        None: tqdm when it is installed, else plain lines. False: plain
        lines always. True: tqdm (ImportError without it).
    file : text stream or None
        Where to draw; None: ``sys.stderr`` as it is when the bar is made.
    interval : float or None
        Least seconds between two displays (the final one excepted); None:
        0.1 for tqdm, 0.5 for plain lines.
    clock : callable or None
        Seconds as a float (default: ``time.perf_counter``).
    """

    def __init__(self, total: int, unit: str, *, use_tqdm: Optional[bool] = None, file: Optional[TextIO] = None,
                 interval: Optional[float] = None, clock: Optional[Callable[[], float]] = None):
        self.total = int(total)
        self.unit = unit
        self.file: TextIO = sys.stderr if file is None else file
        self.tqdm_class: Any = None
        if use_tqdm is None or use_tqdm:
            self.tqdm_class = _tqdm_class()
            if use_tqdm and self.tqdm_class is None:
                raise ImportError("the progress bar's use_tqdm=True needs tqdm: pip install tqdm")
        if interval is None:
            interval = TQDM_INTERVAL if self.tqdm_class is not None else PLAIN_INTERVAL
        self.interval = float(interval)
        self.clock: Callable[[], float] = _clock if clock is None else clock
        self.start = self.clock()
        self.next_show = self.start + self.interval
        self.count: Optional[int] = None
        self.objective: Optional[float] = None
        self.shows = 0  # displays drawn so far, the final one included
        self.closed = False
        self._bar: Any = None

    def update(self, count: int, objective: float) -> None:
        """Record that ``count`` iterations/epochs are done, the last at
        ``objective``; redraw if the display is due. Cheap otherwise."""
        self.count = count
        self.objective = objective
        now = self.clock()
        if now < self.next_show or self.closed:
            return
        self.next_show = now + self.interval
        self._show(now, final=False)

    def close(self, count: Optional[int] = None, objective: Optional[float] = None) -> None:
        """Draw the final count (``count`` and ``objective`` if given, else
        the last update's) and close the bar. Idempotent; draws nothing if
        there is nothing to show (no update and no count)."""
        if self.closed:
            return
        self.closed = True
        if count is not None:
            self.count = count
        if objective is not None:
            self.objective = objective
        if self.count is None:
            return
        self._show(self.clock(), final=True)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- drawing --------------------------------------------------------

    def _show(self, now: float, final: bool) -> None:
        self.shows += 1
        if self.tqdm_class is not None:
            self._show_tqdm(now, final)
        else:
            self._show_plain(now, final)

    def _show_tqdm(self, now: float, final: bool) -> None:
        count = int(self.count or 0)
        if self._bar is None:
            unit = "it" if self.unit == "iteration" else self.unit
            # Redrawn on every update() this class lets through: the throttle is update()'s.
            self._bar = self.tqdm_class(total=self.total, desc="descend", unit=unit, file=self.file, leave=True,
                                        mininterval=0.0, miniters=1, dynamic_ncols=True)
            # The bar is made at its first display: its clock starts with the run.
            self._bar.start_t -= now - self.start
            self._bar.last_print_t = self._bar.start_t
        bar = self._bar
        if self.objective is not None:
            bar.set_postfix_str(f"objective={self.objective:.4e}", refresh=False)
        if final:
            bar.n = count  # close() draws it, with the overall rate
            bar.close()
        else:
            bar.update(count - bar.n)

    def _show_plain(self, now: float, final: bool) -> None:
        seconds = now - self.start
        count = int(self.count or 0)
        line = f"descend: {self.unit} {count}/{self.total}"
        if self.objective is not None:
            line += f"  objective {self.objective:.3e}"
        if seconds > 0:
            line += f"  {_rate(count / seconds)} {self.unit}s/s"
        if final:
            line += f"  ({seconds:.2f} s)"
        print(line, file=self.file, flush=True)
