"""Helpers shared by the callbacks: warnings, printing, argument checks, the learning rate."""

import math
import numbers
import os
import sys
import warnings

from pytrainc import io_utils

# The `pytrainc/` directory: `_warn` skips the frames of every module in it.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _warn(message):
    """Warns at the first stack frame outside the pytrainc package.

    Callback warnings are raised several frames below the user's code
    (`fit` -> `CallbackList` -> callback), so a fixed `stacklevel=2` would point
    inside pytrainc. This walks up to the caller the message is meant for.
    """
    stacklevel = 2  # The caller of _warn, as with a plain stacklevel=2.
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        stacklevel += 1
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


# The tqdm bar ProgbarLogger is drawing (it sets this), if any. Messages printed while it is
# on screen go through `tqdm.write`, which clears the bar, prints the message
# and draws the bar again below it.
_active_bar = None


def _close_stale_bar():
    """Closes a bar left open by a `fit()` that was interrupted mid-epoch."""
    global _active_bar
    bar, _active_bar = _active_bar, None
    if bar is not None:
        bar.close()


def _print(message):
    if not io_utils.is_interactive_logging_enabled():  # to the `pytrainc` logger instead
        io_utils.print_msg(message)
        return
    bar = _active_bar
    if bar is not None and not getattr(bar, "disable", False):
        type(bar).write(message, file=sys.stdout)
        return
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _check_int(owner, name, value, minimum=0):
    """`value` as an int, refused unless it is an integer >= `minimum` (0 or 1)."""
    expected = "a non-negative integer" if minimum == 0 else "a positive integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner} expects `{name}` to be {expected}. Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"{owner} expects `{name}` to be {expected}. Received: {name}={value}")
    return int(value)


def _check_finite_number(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner} expects `{name}` to be a real number. Received: {name}={value!r} of type {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise ValueError(f"{owner} expects `{name}` to be a finite number. Received: {name}={value}")
    return float(value)


def _check_verbose(owner, verbose):
    if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral):
        raise TypeError(
            f"{owner} expects `verbose` to be 0 (silent) or 1 (print messages). "
            f"Received: verbose={verbose!r} of type {type(verbose).__name__}"
        )
    return int(verbose)


def _fspath(owner, name, path):
    if isinstance(path, (str, bytes, os.PathLike)):
        path = os.fsdecode(path)
        if path:
            return path
    raise TypeError(
        f"{owner} expects `{name}` to be a non-empty str or os.PathLike. "
        f"Received: {name}={path!r} of type {type(path).__name__}"
    )


def _optimizer_of(owner, model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"{owner} needs a compiled model whose optimizer has a "
            f'"learning_rate" attribute. Received: optimizer={optimizer!r}'
        )
    return optimizer


def _get_learning_rate(owner, model):
    return float(_optimizer_of(owner, model).learning_rate)


def _set_learning_rate(owner, model, value):
    """Sets `model.optimizer.learning_rate`; the optimizer forwards it to the engine."""
    optimizer = _optimizer_of(owner, model)
    try:
        optimizer.learning_rate = value
    except TypeError as exc:
        # Raised by optimizers built with a LearningRateSchedule.
        raise TypeError(
            f"{owner} cannot set the learning rate of this optimizer: {exc} "
            f"Use {owner} with an optimizer created with a float "
            "`learning_rate`, or drop the callback and let the schedule set "
            "the rate."
        ) from exc
    except ValueError as exc:
        raise ValueError(f"{owner} cannot set the learning rate to {value!r}: {exc}") from exc
