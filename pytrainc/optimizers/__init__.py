"""Optimizers, as `keras.optimizers`. The update steps run in C over the flat
parameter array (csrc/optim.c), with Keras 3's formulas and defaults."""

import math

import numpy as np

from pytrainc.optimizers import schedules
from pytrainc.optimizers.schedules import LearningRateSchedule

_SGD, _ADAM, _RMSPROP = 1, 2, 3


def _positive(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"Argument `{name}` must be a finite number {bound}. Received: {name}={value}")
    return value


def _unit(name, value):
    value = _positive(name, value, allow_zero=True)
    if value >= 1:
        raise ValueError(f"Argument `{name}` must be in [0, 1). Received: {name}={value}")
    return value


class Optimizer:
    """Base class. Holds hyperparameters and, once bound to a model, the state
    slots (flat float32 arrays the size of the model's parameters) and the
    `iterations` counter that the C engine updates in place."""

    _kind = 0
    _slots = ()  # names of the per-parameter state arrays this optimizer uses

    def __init__(self, learning_rate, name):
        if isinstance(learning_rate, dict):
            learning_rate = schedules.deserialize(learning_rate)
        if isinstance(learning_rate, LearningRateSchedule):
            self._learning_rate = learning_rate
        else:
            self._learning_rate = _positive("learning_rate", learning_rate)
        self.name = name
        self._iterations = np.zeros(1, dtype=np.int64)
        self._state = {}
        self._plan = None  # set by the model: learning-rate changes reach the engine

    # -- public state
    @property
    def learning_rate(self):
        """The current learning rate (a schedule's value at the current iteration)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a LearningRateSchedule object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable.")
        self._learning_rate = _positive("learning_rate", value)
        if self._plan is not None:
            self._plan.set_learning_rate(self._learning_rate)

    def _lr0(self):
        """The constant rate handed to the engine (a schedule's own rate overrides it)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return float(self._learning_rate(0))
        return self._learning_rate

    @property
    def iterations(self):
        """Number of update steps taken so far."""
        return int(self._iterations[0])

    def variables(self):
        """The optimizer state as an ordered dict: 'iterations' and each slot."""
        out = {"iterations": self._iterations.copy()}
        for name in self._slots:
            if name in self._state:
                out[name] = self._state[name].copy()
        return out

    # -- engine wiring
    def _hyper(self):
        raise NotImplementedError

    def _build(self, n_params):
        """Allocate (or keep, when sizes match) the state slots for n_params parameters."""
        for name in self._slots:
            cur = self._state.get(name)
            if cur is None or cur.shape != (n_params,):
                self._state[name] = np.zeros(n_params, dtype=np.float32)

    def _attach(self, plan, n_params, slices=None):
        self._build(n_params)
        empty = np.zeros(0, dtype=np.float32)
        get = lambda k: self._state.get(k, empty)  # noqa: E731
        plan.set_optimizer(self._kind, self._hyper(), get("m"), get("v"), get("u"), self._iterations)
        if isinstance(self._learning_rate, LearningRateSchedule):
            sched = self._learning_rate
            plan.set_schedule(sched._kind, sched._params(), sched._table())
        self._plan = plan

    def _load_variables(self, values):
        """Restore state saved by `variables()`; sizes are checked by the caller's model."""
        if "iterations" in values:
            self._iterations[...] = np.asarray(values["iterations"], dtype=np.int64).reshape(1)
        for name in self._slots:
            if name in values:
                arr = np.ascontiguousarray(values[name], dtype=np.float32).reshape(-1)
                if name in self._state and self._state[name].shape == arr.shape:
                    self._state[name][...] = arr  # in place: the plan holds this array
                else:
                    self._state[name] = arr.copy()

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {"name": self.name, "learning_rate": lr}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional momentum and Nesterov momentum.

    Keras's update: `v = momentum * v - learning_rate * g`, then `w += v`
    (Nesterov: `w += momentum * v - learning_rate * g`); without momentum
    `w -= learning_rate * g`.

    Args:
        learning_rate: Float > 0 or a `schedules.LearningRateSchedule`. Defaults to 0.01.
        momentum: Float >= 0. Defaults to 0.0.
        nesterov: Whether to use Nesterov momentum. Defaults to False.
        name: Defaults to "SGD".

    Example:

    >>> opt = pytrainc.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    """

    _kind = _SGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD"):
        super().__init__(learning_rate, name)
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        if self.momentum > 1:
            raise ValueError(f"`momentum` must be in [0, 1]. Received: momentum={momentum}")
        self.nesterov = bool(nesterov)
        self._slots = ("m",) if self.momentum else ()

    def _hyper(self):
        return np.array([self._lr0(), self.momentum, float(self.nesterov), 0, 0, 0, 0, 0], dtype=np.float64)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2014) with Keras's formula.

    `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`, `m += (g - m) * (1 - beta_1)`,
    `v += (g**2 - v) * (1 - beta_2)`, `w -= alpha * m / (sqrt(v) + epsilon)`.

    Args:
        learning_rate: Float > 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float > 0. Defaults to 1e-7.
        name: Defaults to "adam".

    Example:

    >>> model.compile(optimizer=pytrainc.optimizers.Adam(learning_rate=1e-3), loss="mse")
    """

    _kind = _ADAM
    _slots = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="adam"):
        super().__init__(learning_rate, name)
        self.beta_1 = _unit("beta_1", beta_1)
        self.beta_2 = _unit("beta_2", beta_2)
        self.epsilon = _positive("epsilon", epsilon)

    def _hyper(self):
        return np.array([self._lr0(), 0, 0, self.beta_1, self.beta_2, self.epsilon, 0, 0], dtype=np.float64)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop with Keras's formula (Keras's default optimizer in `compile`).

    Args:
        learning_rate: Float > 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        rho: Float in [0, 1). Defaults to 0.9.
        momentum: Float >= 0. Defaults to 0.0.
        epsilon: Float > 0. Defaults to 1e-7.
        centered: Whether to normalize by the gradient's running variance. Defaults to False.
        name: Defaults to "rmsprop".
    """

    _kind = _RMSPROP

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop"):
        super().__init__(learning_rate, name)
        self.rho = _unit("rho", rho)
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        self.epsilon = _positive("epsilon", epsilon)
        self.centered = bool(centered)
        self._slots = ("v",) + (("m",) if self.momentum else ()) + (("u",) if self.centered else ())

    def _hyper(self):
        return np.array([self._lr0(), self.momentum, 0, 0, 0, self.epsilon, self.rho, float(self.centered)],
                        dtype=np.float64)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}
_CLASSES = {"SGD": SGD, "Adam": Adam, "RMSprop": RMSprop}


def get(identifier):
    """Return an Optimizer from a name ('sgd', 'adam', 'rmsprop'), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: '{identifier}'. Expected one of {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret optimizer: {identifier!r}")


def serialize(opt):
    return {"class_name": type(opt).__name__, "config": opt.get_config()}
