"""`HyperParameters`: a search space defined as Keras Tuner defines it.

A `build_model(hp)` function asks `hp` for each value it needs
(`hp.Int("units", 8, 64, step=8)`) and gets the value of the trial being run;
the first call with a name also registers the hyperparameter in the space
(define-by-run). Plain Python `if`s make hyperparameters conditional; so does
`hp.conditional_scope(parent_name, parent_values)`, which also tells the
tuner which parent values the child belongs to, as in Keras Tuner.

A value the tuner has not assigned comes from the trial's sampler: the
hyperparameter's default for `GridSearch` and for a plain `HyperParameters()`,
and a draw seeded by the search seed, the trial id and the hyperparameter's
name for the other tuners, so a trial's values never depend on the order in
which trials run.
"""

import contextlib
import math
import zlib

import numpy as np

__all__ = ["HyperParameters", "Choice", "Int", "Float", "Boolean", "Fixed"]

_SAMPLINGS = ("linear", "log")


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise ValueError(f"A hyperparameter name must be a non-empty str. Received: {name!r}")


def _check_sampling(name, sampling, min_value):
    if sampling not in _SAMPLINGS:
        raise ValueError(
            f"Hyperparameter '{name}': sampling must be one of {list(_SAMPLINGS)}. Received: sampling={sampling!r}"
        )
    if sampling == "log" and min_value <= 0:
        raise ValueError(
            f"Hyperparameter '{name}': sampling='log' needs min_value > 0. Received: min_value={min_value}"
        )


class HyperParameter:
    """Base class of the hyperparameter kinds; `HyperParameters` creates them."""

    def __init__(self, name, default, conditions=()):
        _check_name(name)
        self.name = name
        self.default = default
        self.conditions = [(str(p), list(v)) for p, v in conditions]

    def get_config(self):
        return {"name": self.name, "default": self.default, "conditions": self.conditions}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        conditions = config.pop("conditions", ())
        hp = cls(**config)
        hp.conditions = [(p, list(v)) for p, v in conditions]
        return hp

    def grid_values(self):
        """Every value, in order, that `GridSearch` tries."""
        raise NotImplementedError

    def random_sample(self, rng):
        """A value drawn with the NumPy Generator `rng`."""
        raise NotImplementedError

    def to_unit(self, value):
        """`value` mapped into [0, 1] (for the Gaussian process)."""
        raise NotImplementedError

    def from_unit(self, u):
        """The value at `u` in [0, 1]: the inverse of `to_unit`, snapped to a legal value."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "conditions")
        return f"{type(self).__name__}({args})"


class Choice(HyperParameter):
    """One of a list of values of one type (int, float, str or bool)."""

    def __init__(self, name, values, ordered=None, default=None, conditions=()):
        _check_name(name)
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"Choice '{name}' needs a non-empty list of values. Received: values={values!r}")
        kinds = {type(v) for v in values}
        if len(kinds) > 1 or not kinds <= {int, float, str, bool}:
            raise TypeError(
                f"Choice '{name}' needs values of one type among int, float, str and bool. "
                f"Received types: {sorted(k.__name__ for k in kinds)}"
            )
        values = list(values)
        if default is None:
            default = values[0]
        elif default not in values:
            raise ValueError(f"Choice '{name}': default must be one of {values}. Received: default={default!r}")
        super().__init__(name, default, conditions)
        self.values = values
        self.ordered = bool(kinds <= {int, float}) if ordered is None else bool(ordered)

    def get_config(self):
        return {**super().get_config(), "values": self.values, "ordered": self.ordered}

    def grid_values(self):
        return list(self.values)

    def random_sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def to_unit(self, value):
        return (self.values.index(value) + 0.5) / len(self.values)

    def from_unit(self, u):
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]


class _Numeric(HyperParameter):
    """Int and Float: a range, an optional step, linear or log sampling."""

    _cast = float

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None, conditions=()):
        _check_name(name)
        kind = type(self).__name__
        if not min_value <= max_value:
            raise ValueError(
                f"{kind} '{name}' needs min_value <= max_value. Received: min_value={min_value}, max_value={max_value}"
            )
        _check_sampling(name, sampling, min_value)
        if step is not None and (step <= 0 or (sampling == "log" and step <= 1)):
            raise ValueError(
                f"{kind} '{name}': step must be > 0 (> 1 with sampling='log', where it is a factor). "
                f"Received: step={step}"
            )
        self.min_value, self.max_value = self._cast(min_value), self._cast(max_value)
        self.step, self.sampling = step, sampling
        if default is None:
            default = self.min_value
        elif not self.min_value <= default <= self.max_value:
            raise ValueError(
                f"{kind} '{name}': default must be in [{min_value}, {max_value}]. Received: default={default}"
            )
        super().__init__(name, self._cast(default), conditions)

    def get_config(self):
        return {
            **super().get_config(),
            "min_value": self.min_value,
            "max_value": self.max_value,
            "step": self.step,
            "sampling": self.sampling,
        }

    def _steps(self):
        """The legal values when there is a step (None when the range is continuous)."""
        if self.step is None:
            return None
        out, v, k = [], self.min_value, 0
        while v <= self.max_value * (1 + 1e-12) and len(out) <= 1_000_000:
            out.append(self._cast(v))
            k += 1
            v = self.min_value * self.step**k if self.sampling == "log" else self.min_value + k * self.step
        return out

    def _from_continuous(self, u):
        lo, hi = self.min_value, self.max_value
        if self.sampling == "log":
            return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        return lo + u * (hi - lo)

    def random_sample(self, rng):
        return self.from_unit(float(rng.random()))

    def to_unit(self, value):
        steps = self._steps()
        if steps is not None:
            return (steps.index(value) + 0.5) / len(steps) if value in steps else 0.5
        lo, hi = self.min_value, self.max_value
        if hi == lo:
            return 0.5
        if self.sampling == "log":
            return (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (value - lo) / (hi - lo)

    def from_unit(self, u):
        steps = self._steps()
        if steps is not None:
            return steps[min(int(u * len(steps)), len(steps) - 1)]
        return self._snap(self._from_continuous(u))

    def _snap(self, v):
        return min(max(self._cast(v), self.min_value), self.max_value)


class Int(_Numeric):
    """An integer in [min_value, max_value] (both included)."""

    _cast = int

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None, conditions=()):
        for arg, v in (("min_value", min_value), ("max_value", max_value)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Int '{name}': {arg} must be an int. Received: {arg}={v!r}")
        if step is None and sampling == "linear":
            step = 1
        super().__init__(name, min_value, max_value, step, sampling, default, conditions)

    def grid_values(self):
        steps = self._steps()
        if steps is None:  # log sampling without a factor: every integer
            return list(range(self.min_value, self.max_value + 1))
        return steps

    def _snap(self, v):
        return min(max(int(round(v)), self.min_value), self.max_value)


class Float(_Numeric):
    """A float in [min_value, max_value]."""

    def grid_values(self):
        steps = self._steps()
        if steps is None:
            raise ValueError(
                f"GridSearch needs a step for Float '{self.name}' (a grid of a continuous range is "
                "not defined). Pass step=..., or use hp.Choice."
            )
        return steps


class Boolean(HyperParameter):
    """True or False."""

    def __init__(self, name, default=False, conditions=()):
        super().__init__(name, bool(default), conditions)

    def grid_values(self):
        return [False, True]

    def random_sample(self, rng):
        return bool(rng.integers(2))

    def to_unit(self, value):
        return 0.75 if value else 0.25

    def from_unit(self, u):
        return bool(u >= 0.5)


class Fixed(HyperParameter):
    """A value that is not tuned, recorded with the trial."""

    def __init__(self, name, value, conditions=()):
        super().__init__(name, value, conditions)
        self.value = value

    def get_config(self):
        config = super().get_config()
        del config["default"]
        return {**config, "value": self.value}

    def grid_values(self):
        return [self.value]

    def random_sample(self, rng):
        return self.value

    def to_unit(self, value):
        return 0.5

    def from_unit(self, u):
        return self.value


_KINDS = {c.__name__: c for c in (Choice, Int, Float, Boolean, Fixed)}


def hp_from_config(config):
    """A hyperparameter from `{"class_name": ..., "config": ...}` (as `HyperParameters.get_config` writes)."""
    cls = _KINDS.get(config.get("class_name")) if isinstance(config, dict) else None
    if cls is None:
        raise ValueError(f"Unknown hyperparameter kind. Expected one of {list(_KINDS)}. Received: {config!r}")
    return cls.from_config(config["config"])


class RandomSampler:
    """Draws each unassigned value from a generator seeded by (seed, trial_id, name)."""

    def __init__(self, seed, trial_id):
        self.seed, self.trial_id = int(seed), int(trial_id)

    def __call__(self, hp):
        rng = np.random.default_rng([self.seed, self.trial_id, zlib.crc32(hp.name.encode())])
        return hp.random_sample(rng)


def _numeric_method(kind, doc):
    """`HyperParameters.Int` or `.Float`: registers (or finds) a hyperparameter of `kind`, returns its value."""

    def method(
        self,
        name,
        min_value,
        max_value,
        step=None,
        sampling="linear",
        default=None,
        parent_name=None,
        parent_values=None,
    ):
        conditions = self._conditions(parent_name, parent_values)
        return self._retrieve(kind(name, min_value, max_value, step, sampling, default, conditions))

    method.__name__, method.__qualname__, method.__doc__ = kind.__name__, f"HyperParameters.{kind.__name__}", doc
    return method


class HyperParameters:
    """A set of hyperparameters: the search space and the values of one trial.

    A `build_model(hp)` (or `HyperModel.build`) calls the methods below; each
    returns the value of the trial being run, or `None` when its condition is
    not met. Values set by the tuner are in `values`; the first call with a
    name registers the hyperparameter in `space`, and a second call with the
    same name returns the same value (the first definition wins).

    Args:
        values: Optional dict of name to value, assigned before the
            hyperparameters are defined. Defaults to `None`.

    Example:

    >>> from pytrainc.tuning import HyperParameters
    >>> hp = HyperParameters()
    >>> hp.Int("units", 8, 64, step=8)
    8
    >>> hp.Choice("activation", ["relu", "tanh"])
    'relu'
    >>> with hp.conditional_scope("activation", ["tanh"]):
    ...     hp.Float("scale", 0.1, 1.0) is None
    True
    >>> sorted(hp.values)
    ['activation', 'units']
    """

    def __init__(self, values=None):
        self._space = {}
        self._values = dict(values or {})
        self._scopes = []
        self._sampler = None

    # -- the space and the values
    @property
    def space(self):
        """The registered hyperparameters, in the order they were first defined."""
        return list(self._space.values())

    @property
    def values(self):
        """Dict of the active hyperparameters' values."""
        return {n: v for n, v in self._values.items() if n in self._space and self.is_active(n)}

    def get(self, name):
        """The value of the hyperparameter `name`.

        Raises:
            KeyError: if `name` is not defined or has no value.
        """
        if name not in self._values:
            raise KeyError(f"HyperParameter named '{name}' not defined. Defined: {sorted(self._space)}")
        return self._values[name]

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name in self._space

    def is_active(self, hp):
        """Whether the conditions of `hp` (a name or a hyperparameter) hold for the current values."""
        name = hp if isinstance(hp, str) else hp.name
        if name not in self._space:
            return False
        for parent, allowed in self._space[name].conditions:
            if not self.is_active(parent) or self._values.get(parent) not in allowed:
                return False
        return True

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters defined inside are active only when `parent_name` is in `parent_values`.

        Args:
            parent_name: Name of a hyperparameter defined before.
            parent_values: A value or a list of values of the parent.

        Raises:
            ValueError: if the parent is not defined.
        """
        if parent_name not in self._space:
            raise ValueError(
                f"`HyperParameter` named: {parent_name} not defined. Define the parent before its conditional_scope."
            )
        if not isinstance(parent_values, (list, tuple)):
            parent_values = [parent_values]
        self._scopes.append((parent_name, list(parent_values)))
        try:
            yield
        finally:
            self._scopes.pop()

    def _conditions(self, parent_name, parent_values):
        conditions = list(self._scopes)
        if parent_name is not None:
            if parent_name not in self._space:
                raise ValueError(f"`HyperParameter` named: {parent_name} not defined.")
            if not isinstance(parent_values, (list, tuple)):
                parent_values = [parent_values]
            conditions.append((parent_name, list(parent_values)))
        return conditions

    def _retrieve(self, hp):
        if hp.name not in self._space:
            self._space[hp.name] = hp
        hp = self._space[hp.name]
        if not self.is_active(hp):
            return None
        if hp.name not in self._values:
            self._values[hp.name] = self._sampler(hp) if self._sampler is not None else hp.default
        return self._values[hp.name]

    # -- the kinds, as in Keras Tuner
    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        """One of `values`; `default` defaults to the first."""
        return self._retrieve(Choice(name, values, ordered, default, self._conditions(parent_name, parent_values)))

    Int = _numeric_method(Int, "An int in [min_value, max_value]; `step` defaults to 1 (a factor with sampling='log').")
    Float = _numeric_method(Float, "A float in [min_value, max_value]; continuous unless `step` is given.")

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        """True or False."""
        return self._retrieve(Boolean(name, default, self._conditions(parent_name, parent_values)))

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        """A value that is not tuned."""
        return self._retrieve(Fixed(name, value, self._conditions(parent_name, parent_values)))

    # -- configuration
    def get_config(self):
        """A JSON-able dict: the space and the values."""
        return {
            "space": [{"class_name": type(hp).__name__, "config": hp.get_config()} for hp in self.space],
            "values": dict(self.values),
        }

    @classmethod
    def from_config(cls, config):
        hp = cls(values=config.get("values"))
        for entry in config.get("space", ()):
            item = hp_from_config(entry)
            hp._space[item.name] = item
        return hp

    def copy(self):
        return HyperParameters.from_config(self.get_config())

    def __repr__(self):
        return f"HyperParameters({self.values!r})"
