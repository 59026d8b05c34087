"""`Progbar`: Keras's progress bar for loops of your own (`keras.utils.Progbar`).

`fit`, `evaluate` and `predict` draw their bars with `ProgbarLogger`; `Progbar` is
the same line for a custom loop, with Keras's arguments and averaging: a value
given at each `update` is shown as its mean over the steps so far (weighted by the
steps each update covers), unless it is named in `stateful_metrics`.
"""

import sys
import time

import numpy as np

from pytrainc import io_utils
from pytrainc.callbacks.progbar_logger import _DONE, _TODO, _count, _dynamic_display, _format_value

__all__ = ["Progbar"]


def _format_time(seconds, unit_name):
    """Keras's `Progbar._format_time`: ` 5ms/step`, ` 120us/step`, ` 2s/step`."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def _eta(seconds):
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progbar:
    """Displays a progress bar, as `keras.utils.Progbar`.

    Args:
        target: Total number of steps expected, None if unknown.
        width: Progress bar width on screen. Defaults to 20.
        verbose: 0 (silent), 1 (a bar) or 2 (one line at the end). Defaults to 1.
        interval: Minimum seconds between two redraws. Defaults to 0.05.
        stateful_metrics: Names of values shown as given rather than averaged.
            Defaults to None.
        stateless_metrics: Names of values averaged, all others then shown as
            given (Keras's alternative to `stateful_metrics`). Defaults to None.
        unit_name: Name of a step in the time per step. Defaults to "step".

    Raises:
        ValueError: when both `stateful_metrics` and `stateless_metrics` are given.

    Example:

    >>> bar = Progbar(4, verbose=2)
    >>> for step in range(4):
    ...     bar.update(step + 1, values=[("loss", 1.0 / (step + 1))])  # doctest: +ELLIPSIS
    4/4 - 0s - ...s/step - loss: 0.2500
    """

    def __init__(
        self,
        target,
        width=20,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        stateless_metrics=None,
        unit_name="step",
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar takes one of `stateful_metrics` or `stateless_metrics`, not both. Received: "
                f"stateful_metrics={stateful_metrics!r}, stateless_metrics={stateless_metrics!r}"
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        if stateless_metrics is None:
            self.stateful_metrics = set(stateful_metrics or ())
        else:
            self.stateful_metrics = None
        self._values = {}
        self._values_order = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_width = 0

    def _stateless(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def _step_time(self, current, now):
        # Keras leaves the first step out of the time per step (it holds start-up costs).
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            return (now - self._time_after_first_step) / (current - 1)
        if current == 1:
            self._time_after_first_step = now
        return (now - self._start) / current

    def _metrics_text(self):
        parts = []
        for name in self._values_order:
            total, count = self._values[name]
            parts.append(f" - {name}: {_format_value(np.mean(total) / max(1, count))}")
        return "".join(parts)

    def update(self, current, values=None, finalize=None):
        """Updates the progress bar.

        Args:
            current: Index of the current step.
            values: List of `(name, value_for_last_step)` tuples. Defaults to None.
            finalize: Whether this is the last update. Defaults to None:
                `current >= target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._values_order:
                self._values_order.append(name)
            if self._stateless(name) and not finalize:
                covered = max(current - self._seen_so_far, 1)
                total, count = self._values.get(name, (0.0, 0))
                self._values[name] = (total + value * covered, count + covered)
            else:
                self._values[name] = (value, 1)
        self._seen_so_far = current
        now = time.time()
        step_time = self._step_time(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._last_update = now
            self._draw(current, now, step_time, finalize)
        elif self.verbose == 2 and finalize and self.target:
            line = f"{_count(current, self.target)} - {now - self._start:.0f}s -"
            io_utils.print_msg(line + _format_time(step_time, self.unit_name) + self._metrics_text())

    def _draw(self, current, now, step_time, finalize):
        text = _count(current, self.target)
        if self.target:
            filled = int(self.width * min(current, self.target) / self.target)
            text += " " + _DONE * filled + _TODO * (self.width - filled)
        if self.target and not finalize:
            text += " " + _eta(step_time * (self.target - current))
        else:
            text += f" {now - self._start:.0f}s"
        text += _format_time(step_time, self.unit_name) + self._metrics_text()
        dynamic = _dynamic_display(sys.stdout) and io_utils.is_interactive_logging_enabled()
        padding = " " * max(0, self._prev_width - len(text))
        self._prev_width = len(text)
        if dynamic:
            io_utils.print_msg("\r" + text + padding + ("\n" if finalize else ""), line_break=False)
        else:
            io_utils.print_msg(text)

    def add(self, n, values=None):
        """Advances the bar by `n` steps, as `update(seen + n, values)`."""
        self.update(self._seen_so_far + n, values)
