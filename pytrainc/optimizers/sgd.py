"""Gradient descent with momentum, and Lion (the sign of a momentum), as Keras 3's sgd.py and lion.py."""

from pytrainc import _C
from pytrainc.optimizers.base import Optimizer, _common, _number


class SGD(Optimizer):
    """Gradient descent with optional momentum and Nesterov momentum.

    Keras's update: `v = momentum * v - learning_rate * g`, then `w += v`
    (Nesterov: `w += momentum * v - learning_rate * g`); without momentum
    `w -= learning_rate * g`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.01.
        momentum: Float in [0, 1]. Defaults to 0.0.
        nesterov: Whether to use Nesterov momentum. Defaults to False.
        name: Defaults to "SGD".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `m` (Keras's "momentum", the velocity v), only when momentum > 0.

    Example:

    >>> opt = pytrainc.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    """

    _kind = _C.OPTIMIZERS["sgd"]
    _default_name = "SGD"
    _config_args = ("momentum", "nesterov")

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
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
        self.momentum = _number("momentum", momentum, high=1.0)
        self.nesterov = bool(nesterov)
        self._slots = ("m",) if self.momentum else ()


class Lion(Optimizer):
    """Lion (Chen et al., 2023), the sign of an interpolated momentum, as Keras 3.

    `w -= lr * sign(beta_1 * m + (1 - beta_1) * g)`, then `m = beta_2 * m + (1 - beta_2) * g`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in (0, 1]. Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.99.
        name: Defaults to "lion".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `m` (Keras's "momentum").

    Raises:
        ValueError: if beta_1 is not in (0, 1], as Keras.

    Example:

    >>> opt = pytrainc.optimizers.Lion(learning_rate=1e-4)
    """

    _kind = _C.OPTIMIZERS["lion"]
    _config_args = ("beta_1", "beta_2")
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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        if isinstance(beta_1, (int, float)) and not isinstance(beta_1, bool) and (beta_1 <= 0 or beta_1 > 1):
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = _number("beta_1", beta_1, low_open=True, high=1.0)
        self.beta_2 = _number("beta_2", beta_2, high=1.0, high_open=True)
