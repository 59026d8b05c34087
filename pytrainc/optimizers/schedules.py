"""Learning-rate schedules, as `keras.optimizers.schedules`.

A schedule maps the optimizer's step count to a learning rate. Pass one as an
optimizer's `learning_rate`; the C engine evaluates it before every step inside
the epoch loop (csrc/schedules.c), with no Python call per batch. Calling a
schedule from Python, `schedule(step)`, runs the same C code.
"""

import math

import numpy as np

from pytrainc import _C
from pytrainc._plan import pack_named

_EMPTY = np.zeros(0, dtype=np.float64)


def _number(name, value, positive=False, allow_zero=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be finite. Received: {name}={value}")
    if positive and (value < 0 or (value == 0 and not allow_zero)):
        raise ValueError(f"Argument `{name}` must be {'>= 0' if allow_zero else '> 0'}. Received: {name}={value}")
    return value


class LearningRateSchedule:
    """Base class: `schedule(step)` returns the learning rate at that step."""

    _kind = _C.SCHEDULES["constant"]
    _config = ()  # get_config's keys, in Keras's order; all but "name" are the engine's parameters

    def _params(self):
        # Booleans go in as 0/1 and a missing (None) value as NaN, as csrc/schedules.c reads them.
        values = {k: getattr(self, k) for k in self._config if k != "name"}
        return _pack(self, **{k: math.nan if v is None else float(v) for k, v in values.items()})

    def _table(self):
        return _EMPTY

    def __call__(self, step):
        steps = np.asarray(step, dtype=np.int64)
        out = _C.schedule_value(self._kind, self._params(), self._table(), steps.reshape(-1))
        return float(out[0]) if steps.ndim == 0 else out.reshape(steps.shape)

    def get_config(self):
        return {k: getattr(self, k) for k in self._config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_NAMES = {kind: name for name, kind in _C.SCHEDULES.items()}


def _pack(schedule, **values):
    """The schedule's named parameters as the engine's float64 (8,) array (csrc/kinds.def)."""
    name = _NAMES[schedule._kind]
    return pack_named(_C.SCHEDULE_PARAMS[name], values, f"Schedule {name!r}", np.float64, 8)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: Float > 0.
        decay_steps: Positive int or float.
        decay_rate: Float > 0.
        staircase: If True, `step / decay_steps` is floored. Defaults to False.
        name: Defaults to "ExponentialDecay".

    Example:

    >>> lr = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.9, staircase=True)
    >>> opt = pytrainc.optimizers.SGD(learning_rate=lr)
    """

    _config = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")
    _kind = _C.SCHEDULES["exponential"]

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate, positive=True)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True, allow_zero=False)
        self.decay_rate = _number("decay_rate", decay_rate, positive=True)
        self.staircase = bool(staircase)
        self.name = name


class InverseTimeDecay(ExponentialDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (the seed 003 formula).

    Args as ExponentialDecay; `staircase` floors `step / decay_steps`. Defaults name="InverseTimeDecay".
    """

    _kind = _C.SCHEDULES["inverse_time"]

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[1]` while `step <= boundaries[1]`, ...,
    `values[-1]` after the last boundary.

    Args:
        boundaries: Increasing list of step numbers.
        values: List of learning rates, one more than boundaries.
        name: Defaults to "PiecewiseConstant".
    """

    _kind = _C.SCHEDULES["piecewise"]

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries = [_number("boundaries", b) for b in boundaries]
        values = [_number("values", v, positive=True) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries}, values={values}"
            )
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must be strictly increasing. Received: {boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name
        self._tab = np.array(boundaries + values, dtype=np.float64)

    def _params(self):
        return _pack(self)  # its boundaries and values go in the table

    def _table(self):
        return self._tab

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from `initial_learning_rate` to `end_learning_rate` over `decay_steps`.

    Args:
        initial_learning_rate: Float > 0.
        decay_steps: Positive number.
        end_learning_rate: Defaults to 0.0001.
        power: Defaults to 1.0.
        cycle: Whether to restart after decay_steps (with a longer period). Defaults to False.
        name: Defaults to "PolynomialDecay".
    """

    _config = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name")
    _kind = _C.SCHEDULES["polynomial"]

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate, positive=True)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True, allow_zero=False)
        self.end_learning_rate = _number("end_learning_rate", end_learning_rate, positive=True)
        self.power = _number("power", power)
        self.cycle = bool(cycle)
        self.name = name


class CosineDecay(LearningRateSchedule):
    """Cosine decay with optional linear warmup (Loshchilov and Hutter, SGDR), as Keras 3.

    Args:
        initial_learning_rate: Float > 0.
        decay_steps: Positive number of decay steps (after warmup).
        alpha: Minimum rate as a fraction of the start rate. Defaults to 0.0.
        name: Defaults to "CosineDecay".
        warmup_target: Rate reached after warmup; None for no warmup. Defaults to None.
        warmup_steps: Defaults to 0.
    """

    _config = ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps")
    _kind = _C.SCHEDULES["cosine"]

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None, warmup_steps=0
    ):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate, positive=True)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True, allow_zero=False)
        self.alpha = _number("alpha", alpha)
        self.warmup_target = None if warmup_target is None else _number("warmup_target", warmup_target, positive=True)
        self.warmup_steps = _number("warmup_steps", warmup_steps, positive=True)
        self.name = name


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR), as Keras.

    Args:
        initial_learning_rate: Float > 0.
        first_decay_steps: Length of the first period.
        t_mul: Factor on the period length after each restart. Defaults to 2.0.
        m_mul: Factor on the initial rate after each restart. Defaults to 1.0.
        alpha: Minimum rate as a fraction of the start rate. Defaults to 0.0.
        name: Defaults to "SGDRDecay".
    """

    _config = ("initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name")
    _kind = _C.SCHEDULES["cosine_restarts"]

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate, positive=True)
        self.first_decay_steps = _number("first_decay_steps", first_decay_steps, positive=True, allow_zero=False)
        self.t_mul = _number("t_mul", t_mul, positive=True, allow_zero=False)
        self.m_mul = _number("m_mul", m_mul, positive=True)
        self.alpha = _number("alpha", alpha)
        self.name = name


_CLASSES = {
    c.__name__: c
    for c in (
        ExponentialDecay,
        InverseTimeDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule):
    """{'class_name', 'config'} of a schedule, as Keras's."""
    schedule = learning_rate_schedule
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config, custom_objects=None):
    """A schedule from `serialize`'s dict; custom_objects: {name: class} for schedules of your own."""
    custom = (custom_objects or {}).get(config.get("class_name"))
    if custom is not None:
        return custom.from_config(config.get("config", {}))
    cls = _CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {config.get('class_name')!r}. Known: {sorted(_CLASSES)}")
    return cls.from_config(config.get("config", {}))
