"""Argument checks shared by layers, optimizers, initializers, regularizers and metrics.

One helper, so that every number argument is refused the same way: a TypeError
for what is not a number, a ValueError for NaN, inf or a value out of range,
each naming the argument, what it must be and what it received. And one check
that what goes to worker processes pickles.
"""

import math
import pickle

import numpy as np


def number(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False, optional=False):
    """value as a float, checked to be a finite number in the given interval.

    Args:
        name: The argument's name, used in the messages.
        value: What the caller passed.
        low, high: The interval's ends. Default to -inf and inf (any finite number).
        low_open, high_open: Whether an end is excluded. Default to False.
        optional: Whether None passes (and is returned). Defaults to False.

    Returns:
        float(value), or None when optional and value is None.

    Raises:
        TypeError: if value is not an int or float (bools are refused).
        ValueError: if value is NaN, inf or outside the interval.

    Example:

    >>> number("rate", 0.5, low=0.0, high=1.0, high_open=True)
    0.5
    """
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"Argument `{name}` must be a number{' or None' if optional else ''}. Received: {name}={value!r}"
        )
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        if low == -math.inf and high == math.inf:
            bound = ""
        elif high == math.inf:
            bound = f" {'>' if low_open else '>='} {low:g}"
        elif low == -math.inf:
            bound = f" {'<' if high_open else '<='} {high:g}"
        else:
            bound = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"Argument `{name}` must be a finite number{bound}. Received: {name}={value}")
    return value


def picklable(obj, message):
    """Refuses, before any worker process starts, what cannot go to one by pickle.

    Args:
        obj: What the workers receive.
        message: The TypeError's text, with `{exc}` where pickle's own error goes.

    Raises:
        TypeError: if pickling obj fails (pickle raises PicklingError, AttributeError or
            TypeError for lambdas, nested functions, open files, locks, ...).
    """
    try:
        pickle.dumps(obj)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(message.format(exc=exc)) from None
