"""The optimizers' base class, as `keras.optimizers.Optimizer`. The update steps run in C over the
flat parameter array (csrc/optim.c), with Keras 3's formulas and defaults.

Every optimizer takes Keras's common arguments `weight_decay` (decoupled:
`w -= w * weight_decay * learning_rate` before the update), `clipnorm` (each
weight's gradient clipped to that norm), `clipvalue` and `global_clipnorm`
(all gradients together clipped to that norm); at most one of the three
clipping arguments may be set.
"""

import copyreg
import re

import numpy as np

from pytrainc import _C
from pytrainc._checks import number
from pytrainc.optimizers import schedules
from pytrainc.optimizers.schedules import LearningRateSchedule

_EMPTY = np.zeros(0, dtype=np.float32)


def _betas(beta_1, beta_2):
    """Adam-style moment decays, each in [0, 1)."""
    return _number("beta_1", beta_1, high=1.0, high_open=True), _number("beta_2", beta_2, high=1.0, high_open=True)


def _whole(name, value, low):
    """None (off), or an int >= low, as Keras checks ema_overwrite_frequency and gradient_accumulation_steps."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low} or None. Received: {name}={value!r}")
    return int(value)


def _number(name, value, **bounds):
    """A finite number >= 0 unless `bounds` say otherwise: no optimizer argument is negative."""
    return number(name, value, **{"low": 0.0, **bounds})


# Keras 3's arguments common to every optimizer, in its order (each subclass lists them after its own).
_COMMON = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)


def _common(scope):
    """The common arguments from a subclass constructor's locals(), to pass on to Optimizer."""
    return {k: scope[k] for k in _COMMON}


def _unexpected(kwargs):
    """Keras's handling of constructor keywords it no longer takes or never took."""
    if "lr" in kwargs:
        raise ValueError("Argument `lr` is no longer supported: use `learning_rate` instead.")
    if kwargs.pop("decay", None) not in (None, 0, 0.0):
        raise ValueError(
            "Argument `decay` is no longer supported: use a learning-rate schedule from "
            "pytrainc.optimizers.schedules (e.g. InverseTimeDecay) instead."
        )
    if kwargs:
        raise ValueError(f"Argument(s) not recognized: {kwargs}")


def _learning_rate(value):
    if isinstance(value, dict):
        value = schedules.deserialize(value)
    if isinstance(value, LearningRateSchedule):
        return value
    if callable(value):  # Keras 3: a callable taking no arguments; see Optimizer's learning_rate
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            "Argument `learning_rate` should be a float, an instance of LearningRateSchedule or a callable. "
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
        use_ema: Whether to keep an exponential moving average of the weights (in C, after
            each step: `ema = m * ema + (1 - m) * w`, m = 0 at the first step), which
            `fit` copies over the weights at its end and `callbacks.SwapEMAWeights` swaps
            in for evaluation. Defaults to False.
        ema_momentum: Float in [0, 1], m above. Defaults to 0.99.
        ema_overwrite_frequency: Int >= 1 or None: every this many steps the weights are
            overwritten by their average. Defaults to None.
        loss_scale_factor: Float > 0 or None, accepted for Keras (pytrainc does not scale
            the loss: in float32 the scaling cancels out). Defaults to None.
        gradient_accumulation_steps: Int >= 2 or None: the gradients of this many batches
            are summed in C and the weights updated with their mean once per that many
            batches; `iterations` counts updates, schedules see the batch count, as
            Keras. Defaults to None.
        name: The optimizer's name.

    Raises:
        ValueError: for a negative or non-finite number, or more than one of
            `clipnorm`, `clipvalue` and `global_clipnorm`.
    """

    _kind = None  # the C kernel, from _C.OPTIMIZERS; set by each subclass
    _slots = ()  # names of the (P,) float32 state arrays this optimizer uses
    _scalars = {}  # names and start values of its (1,) float32 scalar state
    _config_args = ()  # the subclass's own constructor arguments, stored as attributes of the same names
    _default_name = None  # the name when none is given; else the class name in lower case
    _hyper_alias = {}  # an argument's name in _C.OPTIMIZER_HYPER when it differs from the argument's

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        _unexpected(kwargs)
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
        self.use_ema = bool(use_ema)
        self.ema_momentum = _number("ema_momentum", ema_momentum, high=1.0)
        self.ema_overwrite_frequency = _whole("ema_overwrite_frequency", ema_overwrite_frequency, 1)
        # pytrainc trains in float32 without a scaled loss: Keras's loss scaling cancels out.
        self.loss_scale_factor = _number("loss_scale_factor", loss_scale_factor, low_open=True, optional=True)
        self.gradient_accumulation_steps = _whole("gradient_accumulation_steps", gradient_accumulation_steps, 2)
        self.name = (
            name if name is not None else (type(self).__dict__.get("_default_name") or type(self).__name__.lower())
        )
        self._iterations = np.zeros(1, dtype=np.int64)
        self._state = {}
        self._plan = None  # set by the model: learning-rate changes reach the engine
        self._exclude_ids, self._exclude_pattern = set(), None  # see exclude_from_weight_decay

    # -- public state
    def _rate_of_callable(self):
        """A callable rate's value now, checked (Keras calls it with no arguments)."""
        fn = self._learning_rate
        try:
            value = fn()
        except TypeError as e:
            raise TypeError(
                f"A callable learning_rate is called with no arguments (as Keras 3 does). Received: {fn!r}: {e}"
            ) from e
        return _number(f"the value of learning_rate {fn!r}", float(value))

    def _evaluate_callable_rate(self):
        """Before each C call (an epoch, or a chunk or batch of one when callbacks ask): a callable
        rate is called once and the engine uses its value for every step of the call."""
        if callable(self._learning_rate) and not isinstance(self._learning_rate, LearningRateSchedule):
            value = self._rate_of_callable()
            if self._plan is not None:
                self._plan.set_learning_rate(value)

    @property
    def learning_rate(self):
        """The current learning rate: a float, a schedule's value at the current iteration, or a
        callable's value (called now).

        A callable (taking no arguments, as Keras 3's) is called at the start of each C call of
        the engine: once per epoch (`fit` without per-batch callbacks), per chunk of batches
        (with a progress bar or backups) or per batch (with batch callbacks), and in
        `train_on_batch`. Keras calls it at every step; a callable whose value changes between
        those calls (e.g. from a callback's `on_epoch_begin`) trains as Keras does.

        Settable between epochs (or batches, from a callback) with a float >= 0 or a
        `LearningRateSchedule`; the engine uses the new rate from the next step on.
        An optimizer built with a schedule cannot be given a float (as in Keras).
        """
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(int(self._iterations[0]))  # Keras: at the batch count
        if callable(self._learning_rate):
            return self._rate_of_callable()
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
                self._plan.set_learning_rate(self._lr0())

    @property
    def iterations(self):
        """Number of update steps taken so far (Keras: batches // gradient_accumulation_steps)."""
        return int(self._iterations[0]) // (self.gradient_accumulation_steps or 1)

    def _state_slots(self):
        """The (P,) state arrays: the kind's `_slots`, then `ema` (Keras's "average") with
        use_ema and `acc` ("accumulated_gradient") with gradient accumulation."""
        return self._slots + (("ema",) if self.use_ema else ()) + (("acc",) if self.gradient_accumulation_steps else ())

    def variables(self):
        """The optimizer state as a dict of copies: 'iterations', then each slot and scalar.

        Slot names are stable (they key the saved state): see each class's `State:`.
        Slots exist once a model has bound the optimizer (compile, then fit or
        train_on_batch).
        """
        out = {"iterations": self._iterations.copy()}
        for name in self._state_slots() + tuple(self._scalars):
            if name in self._state:
                out[name] = self._state[name].copy()
        return out

    def finalize_variable_values(self, var_list):
        """Keras's end-of-fit hook: with use_ema, the weights take their moving average.

        Args:
            var_list: The model's trainable variables, in the flat order.
        """
        if self.use_ema and "ema" in self._state:
            ema, off = self._state["ema"], 0
            for var in var_list:
                n = var._value.size
                var.assign(ema[off : off + n].reshape(var.shape))
                off += n

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables from weight decay, as Keras: call it before the model trains.

        Args:
            var_list: Variables (e.g. `model.layers[0].bias`) to exclude. Defaults to None.
            var_names: Strings: a variable whose name contains a match of any of them (as
                `re.search`) is excluded, e.g. `var_names=["bias"]`. Defaults to None.

        Raises:
            ValueError: if the optimizer is already bound to a model's plan (Keras: built).
        """
        if self._plan is not None:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        """Whether `variable` decays (Keras's `_use_weight_decay`)."""
        if id(variable) in self._exclude_ids:
            return False
        return self._exclude_pattern is None or self._exclude_pattern.search(variable.name) is None

    # -- engine wiring
    def _hyper(self):
        """The hyper-parameters by their names in `_C.OPTIMIZER_HYPER`; absent ones are off (0).

        The common ones, then each of `_config_args` that the engine reads (by its name or
        `_hyper_alias`), booleans as 0/1.
        """
        out = {
            "learning_rate": self._lr0(),
            "weight_decay": self.weight_decay or 0.0,
            "clipnorm": self.clipnorm or 0.0,
            "clipvalue": self.clipvalue or 0.0,
            "global_clipnorm": self.global_clipnorm or 0.0,
            "use_ema": float(self.use_ema),
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency or 0.0,
            "gradient_accumulation_steps": self.gradient_accumulation_steps or 0.0,
        }
        for arg in self._config_args:
            name = self._hyper_alias.get(arg, arg)
            if name in _C.OPTIMIZER_HYPER:
                out[name] = float(getattr(self, arg))
        return out

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
        if callable(self._learning_rate):
            return self._rate_of_callable()
        return self._learning_rate

    def _slot_initial_value(self, name):
        return 0.0

    def _build(self, n_params):
        """Allocate (or keep, when sizes match) the state for n_params parameters."""
        for name in self._state_slots():
            cur = self._state.get(name)
            if cur is None or cur.shape != (n_params,):
                start = 0.0 if name in ("ema", "acc") else self._slot_initial_value(name)
                self._state[name] = np.full(n_params, start, dtype=np.float32)
        for name, start in self._scalars.items():
            if name not in self._state:
                self._state[name] = np.full(1, start, dtype=np.float32)

    def _engine_slots(self):
        """The arrays passed to the engine as its m, v and u."""
        return tuple(self._state.get(k, _EMPTY) for k in ("m", "v", "u"))

    def _base_slots(self):
        """The arrays passed to the engine as its ema and acc (None when off)."""
        return self._state.get("ema") if self.use_ema else None, self._state.get("acc")

    def _attach(self, plan, n_params, slices=None):
        """Bind to a plan: the engine updates the state arrays in place.

        Args:
            plan: A `_C.Plan`.
            n_params: Number of trainable parameters (the plan's flat prefix).
            slices: int64 rows [offset, size] or [offset, size, R, C, flags]
                (`Model._trainable_slices`) of each trainable weight in the flat order
                (the units of `clipnorm`), or None for one weight.
        """
        self._build(n_params)
        if slices is not None:
            slices = np.ascontiguousarray(slices, dtype=np.int64)
        plan.set_optimizer(
            self._kind, self._hyper_array(), *self._engine_slots(), self._iterations, slices, *self._base_slots()
        )
        if isinstance(self._learning_rate, LearningRateSchedule):
            sched = self._learning_rate
            plan.set_schedule(sched._kind, sched._params(), sched._table())
        self._plan = plan

    def _load_variables(self, values):
        """Restore state saved by `variables()`; sizes are checked by the caller's model."""
        if "iterations" in values:
            self._iterations[...] = np.asarray(values["iterations"], dtype=np.int64).reshape(1)
        for name in self._state_slots() + tuple(self._scalars):
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
        elif callable(lr):
            lr = _serialize_rate_function(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            **{arg: getattr(self, arg) for arg in self._config_args},
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict) and config["learning_rate"].get("class_name") == "function":
            config["learning_rate"] = _deserialize_rate_function(config["learning_rate"], custom_objects)
        return cls(**config)

    def __reduce__(self):
        """Pickling, `copy.copy` and `copy.deepcopy` go through the config and `variables()`.

        The copy has the same hyper-parameters, iteration count and slots (as
        copies), bound to no model: the model it is compiled into next uses them
        if their sizes fit. Classes outside pytrainc's optimizers are copied
        attribute by attribute.
        """
        from pytrainc.optimizers import _CLASSES, serialize  # the registry imports this module

        if _CLASSES.get(type(self).__name__) is not type(self):
            return copyreg.__newobj__, (type(self),), {**self.__dict__, "_plan": None}
        return _restore_optimizer, (serialize(self), self.variables())

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate!r}>"


def _restore_optimizer(config, variables):
    from pytrainc.optimizers import get

    optimizer = get(config)
    optimizer._load_variables(variables)
    return optimizer


def _serialize_rate_function(fn):
    """Keras's serialize_keras_object of a named function; a lambda's code is not saved (pytrainc
    never executes code while loading)."""
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>" or not isinstance(name, str):
        raise ValueError(
            "pytrainc cannot serialize a lambda (or unnamed callable) learning_rate: Keras saves its code, "
            "and loading it would execute code. Use a named function (loaded through custom_objects) or a "
            f"LearningRateSchedule. Received: learning_rate={fn!r}"
        )
    return {  # Keras 3.15.1 names a plain function's module "builtins", wherever it is defined
        "module": "builtins",
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def _deserialize_rate_function(config, custom_objects):
    """A saved function rate, found by its name in custom_objects (no module is imported)."""
    name = config.get("config")
    fn = (custom_objects or {}).get(name)
    if not callable(fn):
        raise ValueError(
            f"The learning_rate was the function {name!r}: pass it in custom_objects={{{name!r}: ...}} "
            f"(pytrainc imports no module while loading). Received: custom_objects={sorted(custom_objects or {})}"
        )
    return fn
