"""Optimizers, as `keras.optimizers`. The update steps run in C over the flat
parameter array (csrc/optim.c), with Keras 3's formulas and defaults.

Every optimizer takes Keras's common arguments `weight_decay` (decoupled:
`w -= w * weight_decay * learning_rate` before the update), `clipnorm` (each
weight's gradient clipped to that norm), `clipvalue` and `global_clipnorm`
(all gradients together clipped to that norm); at most one of the three
clipping arguments may be set.
"""

import copyreg
import math

import numpy as np

from pytrainc import _C
from pytrainc._checks import number
from pytrainc._identifiers import from_identifier
from pytrainc.optimizers import schedules
from pytrainc.optimizers.schedules import LearningRateSchedule

_EMPTY = np.zeros(0, dtype=np.float32)


def _number(name, value, **bounds):
    """A finite number >= 0 unless `bounds` say otherwise: no optimizer argument is negative."""
    return number(name, value, **{"low": 0.0, **bounds})


def _learning_rate(value):
    if isinstance(value, dict):
        value = schedules.deserialize(value)
    if isinstance(value, LearningRateSchedule):
        return value
    if callable(value):
        # Keras calls a callable rate at every step; the C engine cannot call Python per batch, and
        # evaluating it once per epoch would train differently, so it is refused.
        raise TypeError(
            "pytrainc cannot call a Python function for the learning rate: Keras calls it at every step, "
            "inside the C engine's epoch. Use a pytrainc.optimizers.schedules.LearningRateSchedule, or set "
            "optimizer.learning_rate between epochs (callbacks.LearningRateScheduler). "
            f"Received: learning_rate={value!r}"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            "Argument `learning_rate` should be a float or an instance of LearningRateSchedule. "
            f"Received: learning_rate={value!r}"
        )
    return _number("learning_rate", value)


class Optimizer:
    """Base class of the optimizers.

    Holds the hyperparameters and, once a model binds it, the state: flat float32
    slots the size of the model's trainable parameters (names in `_slots`), scalar
    state (`_scalars`) and the `iterations` counter, all updated in place by the C
    engine. `variables()` returns them by name; models save and restore them.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`.
        weight_decay: Float >= 0 or None. If set, every trainable weight decays as
            `w -= w * weight_decay * learning_rate` before each update. Defaults to None.
        clipnorm: Float > 0 or None. If set, the gradient of each weight is clipped so
            that its norm is at most this value. Defaults to None.
        clipvalue: Float > 0 or None. If set, gradients are clipped to
            `[-clipvalue, clipvalue]`. Defaults to None.
        global_clipnorm: Float > 0 or None. If set, all gradients are scaled together
            so that their global norm is at most this value. Defaults to None.
        name: The optimizer's name.

    Raises:
        ValueError: for a negative or non-finite number, or more than one of
            `clipnorm`, `clipvalue` and `global_clipnorm`.
    """

    _kind = None  # the C kernel, from _C.OPTIMIZERS; set by each subclass
    _slots = ()  # names of the (P,) float32 state arrays this optimizer uses
    _scalars = {}  # names and start values of its (1,) float32 scalar state

    def __init__(
        self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None
    ):
        self._learning_rate = _learning_rate(learning_rate)
        self.weight_decay = _number("weight_decay", weight_decay, optional=True)
        self.clipnorm = _number("clipnorm", clipnorm, low_open=True, optional=True)
        self.clipvalue = _number("clipvalue", clipvalue, low_open=True, optional=True)
        self.global_clipnorm = _number("global_clipnorm", global_clipnorm, low_open=True, optional=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.name = name if name is not None else type(self).__name__.lower()
        self._iterations = np.zeros(1, dtype=np.int64)
        self._state = {}
        self._plan = None  # set by the model: learning-rate changes reach the engine

    # -- public state
    @property
    def learning_rate(self):
        """The current learning rate: a float, or a schedule's value at the current iteration.

        Settable between epochs (or batches, from a callback) with a float >= 0 or a
        `LearningRateSchedule`; the engine uses the new rate from the next step on.
        An optimizer built with a schedule cannot be given a float (as in Keras).
        """
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        value = _learning_rate(value)
        if isinstance(self._learning_rate, LearningRateSchedule) and not isinstance(value, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument."
            )
        self._learning_rate = value
        if self._plan is not None:
            if isinstance(value, LearningRateSchedule):
                self._plan.set_schedule(value._kind, value._params(), value._table())
            else:
                self._plan.set_learning_rate(value)

    @property
    def iterations(self):
        """Number of update steps taken so far."""
        return int(self._iterations[0])

    def variables(self):
        """The optimizer state as a dict of copies: 'iterations', then each slot and scalar.

        Slot names are stable (they key the saved state): see each class's `State:`.
        Slots exist once a model has bound the optimizer (compile, then fit or
        train_on_batch).
        """
        out = {"iterations": self._iterations.copy()}
        for name in self._slots + tuple(self._scalars):
            if name in self._state:
                out[name] = self._state[name].copy()
        return out

    # -- engine wiring
    def _hyper(self):
        """The hyper-parameters by their names in `_C.OPTIMIZER_HYPER`; absent ones are off (0)."""
        return {
            "learning_rate": self._lr0(),
            "weight_decay": self.weight_decay or 0.0,
            "clipnorm": self.clipnorm or 0.0,
            "clipvalue": self.clipvalue or 0.0,
            "global_clipnorm": self.global_clipnorm or 0.0,
        }

    def _hyper_array(self):
        """The hyper-parameters as the engine reads them: float64 in `_C.OPTIMIZER_HYPER` order, 0 for off."""
        values = self._hyper()
        unknown = sorted(set(values) - set(_C.OPTIMIZER_HYPER))
        if unknown:
            raise ValueError(f"Unknown optimizer hyper-parameters {unknown}. Expected: {_C.OPTIMIZER_HYPER}")
        return np.array([float(values.get(name, 0.0)) for name in _C.OPTIMIZER_HYPER], dtype=np.float64)

    def _lr0(self):
        """The constant rate handed to the engine (a schedule's own rate overrides it)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return float(self._learning_rate(0))
        return self._learning_rate

    def _slot_initial_value(self, name):
        return 0.0

    def _build(self, n_params):
        """Allocate (or keep, when sizes match) the state for n_params parameters."""
        for name in self._slots:
            cur = self._state.get(name)
            if cur is None or cur.shape != (n_params,):
                self._state[name] = np.full(n_params, self._slot_initial_value(name), dtype=np.float32)
        for name, start in self._scalars.items():
            if name not in self._state:
                self._state[name] = np.full(1, start, dtype=np.float32)

    def _engine_slots(self):
        """The arrays passed to the engine as its m, v and u."""
        return tuple(self._state.get(k, _EMPTY) for k in ("m", "v", "u"))

    def _attach(self, plan, n_params, slices=None):
        """Bind to a plan: the engine updates the state arrays in place.

        Args:
            plan: A `_C.Plan`.
            n_params: Number of trainable parameters (the plan's flat prefix).
            slices: int64 (n_vars, 2) [offset, size] of each trainable weight in
                the flat order (the units of `clipnorm`), or None for one weight.
        """
        self._build(n_params)
        if slices is not None:
            slices = np.ascontiguousarray(slices, dtype=np.int64).reshape(-1, 2)
        plan.set_optimizer(self._kind, self._hyper_array(), *self._engine_slots(), self._iterations, slices)
        if isinstance(self._learning_rate, LearningRateSchedule):
            sched = self._learning_rate
            plan.set_schedule(sched._kind, sched._params(), sched._table())
        self._plan = plan

    def _load_variables(self, values):
        """Restore state saved by `variables()`; sizes are checked by the caller's model."""
        if "iterations" in values:
            self._iterations[...] = np.asarray(values["iterations"], dtype=np.int64).reshape(1)
        for name in self._slots + tuple(self._scalars):
            if name in values:
                arr = np.ascontiguousarray(values[name], dtype=np.float32).reshape(-1)
                if name in self._state and self._state[name].shape == arr.shape:
                    self._state[name][...] = arr  # in place: the plan holds this array
                else:
                    self._state[name] = arr.copy()

    def get_config(self):
        """The arguments that rebuild this optimizer with `from_config` (JSON-serializable)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __reduce__(self):
        """Pickling, `copy.copy` and `copy.deepcopy` go through the config and `variables()`.

        The copy has the same hyper-parameters, iteration count and slots (as
        copies), bound to no model: the model it is compiled into next uses them
        if their sizes fit. Classes outside pytrainc's optimizers are copied
        attribute by attribute.
        """
        if _CLASSES.get(type(self).__name__) is not type(self):
            return copyreg.__newobj__, (type(self),), {**self.__dict__, "_plan": None}
        return _restore_optimizer, (serialize(self), self.variables())

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate!r}>"


def _restore_optimizer(config, variables):
    optimizer = get(config)
    optimizer._load_variables(variables)
    return optimizer


class SGD(Optimizer):
    """Gradient descent with optional momentum and Nesterov momentum.

    Keras's update: `v = momentum * v - learning_rate * g`, then `w += v`
    (Nesterov: `w += momentum * v - learning_rate * g`); without momentum
    `w -= learning_rate * g`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.01.
        momentum: Float in [0, 1]. Defaults to 0.0.
        nesterov: Whether to use Nesterov momentum. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "SGD".

    State: `m` (Keras's "momentum", the velocity v), only when momentum > 0.

    Example:

    >>> opt = pytrainc.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    """

    _kind = _C.OPTIMIZERS["sgd"]

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="SGD",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.momentum = _number("momentum", momentum, high=1.0)
        self.nesterov = bool(nesterov)
        self._slots = ("m",) if self.momentum else ()

    def _hyper(self):
        return {**super()._hyper(), "momentum": self.momentum, "nesterov": float(self.nesterov)}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2014) with Keras's formula, optionally AMSGrad.

    `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`, `m += (g - m) * (1 - beta_1)`,
    `v += (g**2 - v) * (1 - beta_2)`, `w -= alpha * m / (sqrt(v) + epsilon)`; with
    `amsgrad`, `v_hat = max(v_hat, v)` replaces v in the last step.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float >= 0, added to sqrt(v) (Keras's "epsilon hat"). Defaults to 1e-7.
        amsgrad: Whether to apply AMSGrad (Reddi et al., 2018). Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "adam".

    State: `m` (Keras's "momentum"), `v` ("velocity"), and with amsgrad `u` ("velocity_hat").

    Example:

    >>> model.compile(optimizer=pytrainc.optimizers.Adam(learning_rate=1e-3), loss="mse")
    """

    _kind = _C.OPTIMIZERS["adam"]

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adam",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = _number("beta_1", beta_1, high=1.0, high_open=True)
        self.beta_2 = _number("beta_2", beta_2, high=1.0, high_open=True)
        self.epsilon = _number("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)
        self._slots = ("m", "v", "u") if self.amsgrad else ("m", "v")

    def _hyper(self):
        return {
            **super()._hyper(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": float(self.amsgrad),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as Keras 3.

    The Adam update of `Adam`, preceded every step by `w -= w * weight_decay * lr`
    (the same order as PyTorch's AdamW).

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        weight_decay: Float >= 0. Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: As `Adam`. Default to 0.9, 0.999, 1e-7, False.
        clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "adamw".

    Raises:
        ValueError: if weight_decay is None.

    Example:

    >>> opt = pytrainc.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01)
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adamw",
    ):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm, clipvalue, global_clipnorm, name
        )


class RMSprop(Optimizer):
    """RMSprop with Keras's formula (Keras's default optimizer in `compile`).

    `v = rho * v + (1 - rho) * g**2`; centered: `a = rho * a + (1 - rho) * g` and the
    denominator is `v - a**2`; `increment = lr * g / sqrt(denominator + epsilon)`;
    with momentum `m = momentum * m + increment, w -= m`, else `w -= increment`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        rho: Float in [0, 1). Defaults to 0.9.
        momentum: Float >= 0. Defaults to 0.0.
        epsilon: Float >= 0. Defaults to 1e-7.
        centered: Whether to normalize by the gradient's running variance. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "rmsprop".

    State: `v` (Keras's "velocity"), `m` ("momentum", when momentum > 0), `u`
    ("average_gradient", when centered).

    Example:

    >>> opt = pytrainc.optimizers.RMSprop(learning_rate=1e-3, centered=True)
    """

    _kind = _C.OPTIMIZERS["rmsprop"]

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="rmsprop",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = _number("rho", rho, high=1.0, high_open=True)
        self.momentum = _number("momentum", momentum)
        self.epsilon = _number("epsilon", epsilon)
        self.centered = bool(centered)
        self._slots = ("v",) + (("m",) if self.momentum else ()) + (("u",) if self.centered else ())

    def _hyper(self):
        return {
            **super()._hyper(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "rho": self.rho,
            "centered": float(self.centered),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011) with Keras's formula.

    `accumulator += g**2`, `w -= lr * g / sqrt(accumulator + epsilon)`, the
    accumulator starting at `initial_accumulator_value`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        initial_accumulator_value: Float >= 0. Defaults to 0.1.
        epsilon: Float >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "adagrad".

    State: `v` (Keras's "accumulator").

    Example:

    >>> opt = pytrainc.optimizers.Adagrad(learning_rate=0.1)
    """

    _kind = _C.OPTIMIZERS["adagrad"]
    _slots = ("v",)

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adagrad",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.initial_accumulator_value = _number("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _number("epsilon", epsilon)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value

    def _hyper(self):
        return {**super()._hyper(), "epsilon": self.epsilon}

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Nadam(Optimizer):
    """Nadam (Dozat, 2015): Adam with Nesterov momentum, with Keras's formula.

    With `u_t = beta_1 * (1 - 0.5 * 0.96**t)` and `u_product` the running product of
    the `u_t`: `m += (g - m) * (1 - beta_1)`, `v += (g**2 - v) * (1 - beta_2)`,
    `m_hat = u_{t+1} * m / (1 - u_product * u_{t+1}) + (1 - u_t) * g / (1 - u_product)`,
    `v_hat = v / (1 - beta_2**t)`, `w -= lr * m_hat / (sqrt(v_hat) + epsilon)`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "nadam".

    State: `m` (Keras's "momentum"), `v` ("velocity") and the scalar `u_product`.

    Example:

    >>> opt = pytrainc.optimizers.Nadam(learning_rate=2e-3)
    """

    _kind = _C.OPTIMIZERS["nadam"]
    _slots = ("m", "v")
    _scalars = {"u_product": 1.0}

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="nadam",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = _number("beta_1", beta_1, high=1.0, high_open=True)
        self.beta_2 = _number("beta_2", beta_2, high=1.0, high_open=True)
        self.epsilon = _number("epsilon", epsilon)

    def _engine_slots(self):
        return self._state["m"], self._state["v"], self._state["u_product"]

    def _hyper(self):
        return {**super()._hyper(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax (Kingma and Ba, 2014, section 7), Adam with the infinity norm, as Keras 3.

    `m += (g - m) * (1 - beta_1)`, `u = max(beta_2 * u, |g|)`,
    `w -= lr * m / ((1 - beta_1**t) * (u + epsilon))`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "adamax".

    State: `m` (Keras's "momentum"), `v` ("norm").

    Example:

    >>> opt = pytrainc.optimizers.Adamax(learning_rate=2e-3)
    """

    _kind = _C.OPTIMIZERS["adamax"]
    _slots = ("m", "v")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adamax",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = _number("beta_1", beta_1, high=1.0, high_open=True)
        self.beta_2 = _number("beta_2", beta_2, high=1.0, high_open=True)
        self.epsilon = _number("epsilon", epsilon)

    def _hyper(self):
        return {**super()._hyper(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Lamb(Adamax):
    """LAMB (You et al., 2019), Adam with a per-weight trust ratio, as Keras 3.

    Adam's moments, `r = m_hat / (sqrt(v_hat) + epsilon)` with both bias-corrected, then
    `w -= lr * ratio * r` with `ratio = ||w|| / ||r||` over each weight (1 when either is 0).

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "lamb".

    State: `m` (Keras's "momentum"), `v` ("velocity").

    Example:

    >>> opt = pytrainc.optimizers.Lamb(learning_rate=1e-3)
    """

    _kind = _C.OPTIMIZERS["lamb"]

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="lamb",
    ):
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, weight_decay, clipnorm, clipvalue, global_clipnorm, name
        )


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012) with Keras 3's formula.

    `a = rho * a + (1 - rho) * g**2`, `delta = -sqrt(d + epsilon) * g / sqrt(a + epsilon)`,
    `d = rho * d + (1 - rho) * delta**2`, `w += lr * delta`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        rho: Float in [0, 1]. Defaults to 0.95.
        epsilon: Float >= 0. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "adadelta".

    State: `v` (Keras's "accumulated_grad"), `u` ("accumulated_delta_var").

    Example:

    >>> opt = pytrainc.optimizers.Adadelta(learning_rate=1.0)
    """

    _kind = _C.OPTIMIZERS["adadelta"]
    _slots = ("v", "u")

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.95,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adadelta",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = _number("rho", rho, high=1.0)
        self.epsilon = _number("epsilon", epsilon)

    def _hyper(self):
        return {**super()._hyper(), "rho": self.rho, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (Chen et al., 2023), the sign of an interpolated momentum, as Keras 3.

    `w -= lr * sign(beta_1 * m + (1 - beta_1) * g)`, then `m = beta_2 * m + (1 - beta_2) * g`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in (0, 1]. Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.99.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "lion".

    State: `m` (Keras's "momentum").

    Raises:
        ValueError: if beta_1 is not in (0, 1], as Keras.

    Example:

    >>> opt = pytrainc.optimizers.Lion(learning_rate=1e-4)
    """

    _kind = _C.OPTIMIZERS["lion"]
    _slots = ("m",)

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.99,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="lion",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        if isinstance(beta_1, (int, float)) and not isinstance(beta_1, bool) and (beta_1 <= 0 or beta_1 > 1):
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = _number("beta_1", beta_1, low_open=True, high=1.0)
        self.beta_2 = _number("beta_2", beta_2, high=1.0, high_open=True)

    def _hyper(self):
        return {**super()._hyper(), "beta_1": self.beta_1, "beta_2": self.beta_2}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013) with Keras 3's formula.

    With `p = learning_rate_power` and `l2 = l2_regularization_strength + beta / (2 lr)`:
    `n_new = n + g**2`, `z += g + 2 * l2_shrinkage * w - (n_new**-p - n**-p) / lr * w`,
    `w = (clip(z, -l1, l1) - z) / (n_new**-p / lr + 2 * l2)`, `n = n_new`.

    Args:
        learning_rate: Float > 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        learning_rate_power: Float <= 0. Defaults to -0.5.
        initial_accumulator_value: Float >= 0. Defaults to 0.1.
        l1_regularization_strength: Float >= 0. Defaults to 0.0.
        l2_regularization_strength: Float >= 0. Defaults to 0.0.
        l2_shrinkage_regularization_strength: Float >= 0. Defaults to 0.0.
        beta: Float >= 0. Defaults to 0.0.
        weight_decay, clipnorm, clipvalue, global_clipnorm: See `Optimizer`. Default to None.
        name: Defaults to "ftrl".

    State: `v` (Keras's "accumulator"), `m` ("linear").

    Example:

    >>> opt = pytrainc.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    _kind = _C.OPTIMIZERS["ftrl"]
    _slots = ("v", "m")

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="ftrl",
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.learning_rate_power = number("learning_rate_power", learning_rate_power, high=0.0)
        self.initial_accumulator_value = _number("initial_accumulator_value", initial_accumulator_value)
        self.l1_regularization_strength = _number("l1_regularization_strength", l1_regularization_strength)
        self.l2_regularization_strength = _number("l2_regularization_strength", l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = _number(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength
        )
        self.beta = _number("beta", beta)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value if name == "v" else 0.0

    def _hyper(self):
        return {
            **super()._hyper(),
            "learning_rate_power": self.learning_rate_power,
            "l1": self.l1_regularization_strength,
            "l2": self.l2_regularization_strength,
            "l2_shrinkage": self.l2_shrinkage_regularization_strength,
            "ftrl_beta": self.beta,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }


_CLASSES = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Adadelta, Lion, Ftrl, Lamb)}
_BY_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier):
    """Return an Optimizer from a name, a serialized dict or an instance.

    Args:
        identifier: An `Optimizer`, a name ('sgd', 'adam', 'adamw', 'rmsprop',
            'adagrad', 'nadam', any case) for the defaults, or a dict from `serialize`.

    Returns:
        An Optimizer (the same object when given one).

    Raises:
        ValueError: for an unknown name or class.

    Example:

    >>> pytrainc.optimizers.get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:  # names in any case, as Keras
        identifier = identifier.lower()
    if isinstance(identifier, dict) and "class_name" not in identifier:
        identifier = {"class_name": None, **identifier}
    return from_identifier(
        identifier,
        what="optimizer",
        base=Optimizer,
        names=_BY_NAME,
        classes=_CLASSES,
        hint=". Expected a name such as 'adam', a dict from `serialize` or a pytrainc.optimizers.Optimizer",
    )


def serialize(optimizer):
    """`{"class_name": ..., "config": ...}` of an optimizer, JSON-serializable."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """The optimizer described by a dict from `serialize`."""
    return get(config)
