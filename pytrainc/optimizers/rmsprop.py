"""Optimizers that scale by accumulated squared gradients: Keras 3's rmsprop.py, adagrad.py and adadelta.py."""

from pytrainc import _C
from pytrainc.optimizers.base import Optimizer, _common, _number


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
        name: Defaults to "rmsprop".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `v` (Keras's "velocity"), `m` ("momentum", when momentum > 0), `u`
    ("average_gradient", when centered).

    Example:

    >>> opt = pytrainc.optimizers.RMSprop(learning_rate=1e-3, centered=True)
    """

    _kind = _C.OPTIMIZERS["rmsprop"]
    _config_args = ("rho", "momentum", "epsilon", "centered")

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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        self.rho = _number("rho", rho, high=1.0, high_open=True)
        self.momentum = _number("momentum", momentum)
        self.epsilon = _number("epsilon", epsilon)
        self.centered = bool(centered)
        self._slots = ("v",) + (("m",) if self.momentum else ()) + (("u",) if self.centered else ())


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011) with Keras's formula.

    `accumulator += g**2`, `w -= lr * g / sqrt(accumulator + epsilon)`, the
    accumulator starting at `initial_accumulator_value`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        initial_accumulator_value: Float >= 0. Defaults to 0.1.
        epsilon: Float >= 0. Defaults to 1e-7.
        name: Defaults to "adagrad".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `v` (Keras's "accumulator").

    Example:

    >>> opt = pytrainc.optimizers.Adagrad(learning_rate=0.1)
    """

    _kind = _C.OPTIMIZERS["adagrad"]
    _config_args = ("initial_accumulator_value", "epsilon")
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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        self.initial_accumulator_value = _number("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _number("epsilon", epsilon)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012) with Keras 3's formula.

    `a = rho * a + (1 - rho) * g**2`, `delta = -sqrt(d + epsilon) * g / sqrt(a + epsilon)`,
    `d = rho * d + (1 - rho) * delta**2`, `w += lr * delta`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        rho: Float in [0, 1]. Defaults to 0.95.
        epsilon: Float >= 0. Defaults to 1e-7.
        name: Defaults to "adadelta".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `v` (Keras's "accumulated_grad"), `u` ("accumulated_delta_var").

    Example:

    >>> opt = pytrainc.optimizers.Adadelta(learning_rate=1.0)
    """

    _kind = _C.OPTIMIZERS["adadelta"]
    _config_args = ("rho", "epsilon")
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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        self.rho = _number("rho", rho, high=1.0)
        self.epsilon = _number("epsilon", epsilon)
