"""`ProgbarLogger`: progress bars and per-epoch lines on `sys.stdout`."""

import sys
import time

from pytrainc import io_utils
from pytrainc.callbacks import _util
from pytrainc.callbacks._util import _print
from pytrainc.callbacks.callback import Callback


def _format_value(value):
    # Keras's Progbar: 4 decimals, or scientific notation for tiny values.
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def _format_logs(logs):
    return " - ".join(f"{key}: {_format_value(value)}" for key, value in (logs or {}).items())


def _format_step_time(seconds):
    """Keras's `Progbar._format_time` for one step: `5ms/step`, `120us/step`, `2s/step`."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _count(done, target):
    """Keras's step count: right-aligned to the target's digits, or `done/Unknown`."""
    if not target:
        return "%7d/Unknown" % done
    return f"%{len(str(target))}d/%d" % (done, target)


_BAR_WIDTH = 20  # Keras's Progbar width
_DONE, _TODO = "━", "─"


def _keras_line(done, target, elapsed, logs, verbose):
    """The line Keras 3 prints at the end of an epoch (or of evaluate/predict).

    verbose=1: `4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - loss: 0.1234` (the bar
    without Keras's colors: done steps thick, the rest thin); verbose=2:
    `4/4 - 0s - 5ms/step - loss: 0.1234`.
    """
    step = _format_step_time(elapsed / done if done else 0.0)
    metrics = (" - " + _format_logs(logs)) if logs else ""
    if verbose == 2:
        return f"{_count(done, target)} - {elapsed:.0f}s - {step}{metrics}"
    bar = ""
    if target:
        filled = int(_BAR_WIDTH * min(done, target) / target)
        bar = " " + _DONE * filled + _TODO * (_BAR_WIDTH - filled)
    return f"{_count(done, target)}{bar} {elapsed:.0f}s {step}{metrics}"


def _dynamic_display(stream):
    """Whether `stream` shows a bar redrawn in place: a terminal or a Jupyter kernel.

    Anything else (a file, a pipe, pytest's capture) gets one plain line per
    epoch, so logs stay readable.
    """
    if not io_utils.is_interactive_logging_enabled():  # lines go to the `pytrainc` logger
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except (ValueError, OSError):  # A closed stream.
        return False
    # ipykernel's OutStream is not a tty, but Jupyter renders `\r` and widgets.
    return type(stream).__module__.startswith("ipykernel")


_tqdm_bar_class = None


def _in_notebook_kernel():
    """Whether this process is a Jupyter kernel (IPython's shell there runs under IPKernelApp)."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # an IPython too old or half-initialized: no notebook
        return False


def _tqdm_base():
    """tqdm's notebook widget in a Jupyter kernel with ipywidgets, its terminal bar otherwise.

    Chosen here rather than by `tqdm.auto`, which warns on stderr in a kernel
    without ipywidgets; the terminal bar renders as text there."""
    if _in_notebook_kernel():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm
        except ImportError:
            pass
        else:
            return tqdm
    from tqdm.std import tqdm

    return tqdm


def _tqdm_bar():
    """Returns a tqdm subclass drawing Keras-like bars (see `_tqdm_base`), or None without tqdm."""
    global _tqdm_bar_class
    if _tqdm_bar_class is None:
        try:
            tqdm = _tqdm_base()
        except ImportError:
            _tqdm_bar_class = False
        else:
            widget = tqdm.__module__ == "tqdm.notebook"

            class _Bar(tqdm):
                # tqdm joins its own `postfix` with ", "; fields of our own keep
                # Keras's layout: `3/10 ━━━━━━────── 1s 5ms/step - loss: 0.1234`.
                metrics = ""
                is_widget = widget

                @property
                def format_dict(self):
                    values = super().format_dict
                    n, total, elapsed = values["n"], values["total"], values["elapsed"]
                    values["text_count"] = _count(n, total)
                    values["text_rest"] = (
                        f"{elapsed:.0f}s {_format_step_time(elapsed / n if n else 0.0)}" + self.metrics
                    )
                    if widget:  # the widget draws the bar between the two texts
                        values["bar_format"] = "{text_count} {bar} {text_rest}"
                        return values
                    # Never cut the metrics at the terminal's width: shorten the bar
                    # (down to none) and let a line longer than that wrap.
                    cols = values.get("ncols") or 80
                    text = len(values["text_count"]) + len(values["text_rest"])
                    width = min(_BAR_WIDTH, cols - text - 3) if total else 0
                    values["bar_format"] = (
                        "{text_count} {bar:%d} {text_rest}" % width if width >= 1 else "{text_count} {text_rest}"
                    )
                    values["ncols"] = None
                    return values

            _tqdm_bar_class = _Bar
    return _tqdm_bar_class or None


_BAR_FORMAT = "{text_count} {bar:20} {text_rest}"


class ProgbarLogger(Callback):
    """Prints the progress and metrics of training to `sys.stdout`.

    Added automatically by `fit()`, `evaluate()` and `predict()` when
    `verbose != 0`. Its verbosity, number of epochs and steps come from
    `params` (`set_params`); the number of steps is read again at every
    epoch, so `fit()` can update `params["steps"]` when the batch size changes.

    With `verbose=1` or 2, `fit()` prints `Epoch i/N` at the start of each
    epoch (when `N > 1`), as Keras 3. With `verbose=1` in a terminal or in
    Jupyter, a tqdm progress bar then shows Keras's layout, the
    steps done, the elapsed time, the time per step and the running loss and
    metrics, updated in place from `on_train_progress` (and from
    `on_train_batch_end` when `fit()` runs batch by batch); at the end of the
    epoch it stays on screen with the epoch's metrics, validation included:
    `32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 31ms/step - loss: 0.1234`. The bar gets
    shorter (or goes) in a narrow terminal: the metrics are never cut. When
    the output is not a terminal (a file, a pipe, a captured stream) or tqdm is
    not installed, it prints that line once at the end of the epoch.

    With `verbose=2`, the epoch's line is Keras's
    `32/32 - 1s - 31ms/step - loss: 0.1234 - ...`. Values are formatted as in
    Keras: 4 decimals, scientific notation when the absolute value is at most
    1e-3. `evaluate` and `predict` print the same line (without metrics for
    `predict`).

    Messages that other callbacks print while a bar is on screen go through
    `tqdm.write`, so they appear above the bar instead of inside it.

    Its batch hooks only count steps, so it does not make `fit()` leave the C
    engine after every batch.

    Example:

    >>> logger = ProgbarLogger()
    >>> logger.set_params({"verbose": 1, "epochs": 2, "steps": 4})
    >>> logger.on_epoch_begin(0)
    Epoch 1/2
    >>> logger.on_epoch_end(0, {"loss": 0.69314, "accuracy": 0.0001})  # doctest: +ELLIPSIS
    4/4 ━━━━━━━━━━━━━━━━━━━━ 0s ...s/step - loss: 0.6931 - accuracy: 1.0000e-04
    """

    _transient = {"_bar": None}

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.seen = 0
        self._start = None
        self._called_in_fit = False
        self._bar = None

    @property
    def target(self):
        """Number of steps per epoch from `params["steps"]`, or `None`."""
        return (self.params or {}).get("steps")

    @property
    def _train_progress_needed(self):
        # Only a bar redrawn in place has a use for progress within an epoch.
        return self.verbose == 1 and _dynamic_display(sys.stdout) and _tqdm_bar() is not None

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)

    def _reset(self):
        self.seen = 0
        self._start = time.time()

    def _emit(self, logs):
        if not self.verbose:
            return
        target = self.target if self.target else self.seen
        start = self._start if self._start is not None else time.time()
        _print(_keras_line(target, target, time.time() - start, logs, self.verbose))

    # -- the tqdm bar (verbose=1 on a terminal or in Jupyter)

    def _open_bar(self):
        if self._bar is not None and self._bar.is_widget:
            # In Jupyter, one widget per fit: it starts each epoch again; the
            # epochs' lines are printed below it as text.
            self._bar.reset(total=self.target)
            self._bar.metrics = ""
            return
        self._close_bar()
        bar_class = _tqdm_bar()
        if bar_class is None or not _dynamic_display(sys.stdout):
            return
        self._bar = bar_class(
            total=self.target,
            file=sys.stdout,
            unit="step",
            ascii=_TODO + _DONE,
            bar_format=_BAR_FORMAT,
            leave=True,
            dynamic_ncols=True,
            mininterval=0.1,
        )
        _util._active_bar = self._bar

    def _close_bar(self):
        if self._bar is not None:
            bar, self._bar = self._bar, None
            if _util._active_bar is bar:
                _util._active_bar = None
            bar.close()

    def _advance_bar(self, steps_done, logs, force=False):
        bar = self._bar
        target = self.target
        if target and bar.total != target:
            bar.total = target
        bar.metrics = (" - " + _format_logs(logs)) if logs else ""
        delta = steps_done - bar.n
        if delta > 0 and not force:
            bar.update(delta)  # Redraws at most every `mininterval` seconds.
        else:
            bar.n = steps_done
            bar.refresh()

    # -- hooks

    def on_train_begin(self, logs=None):
        # Inside fit(), validation runs silently.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False
        self._close_bar()  # In case the last epoch was interrupted.

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")
        if self.verbose == 1:
            self._open_bar()

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            # Without progress calls the engine ran the whole epoch at once.
            self._advance_bar(self.seen or self.target or 0, logs, force=True)
            if self._bar.is_widget:
                self._emit(logs)  # the widget stays for the next epoch
                return
            self._close_bar()
            return
        self._emit(logs)

    def on_train_progress(self, steps_done, logs=None):
        self.seen = steps_done
        if self._bar is not None:
            self._advance_bar(steps_done, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self._bar is not None:
            self._advance_bar(batch + 1, logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self.seen = batch + 1

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._emit(logs)

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_predict_batch_end(self, batch, logs=None):
        self.seen = batch + 1

    def on_predict_end(self, logs=None):
        # Prediction results are not metrics: print the count and time only.
        self._emit(None)
