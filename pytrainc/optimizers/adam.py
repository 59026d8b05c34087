"""The Adam family, as Keras 3's adam.py, adamw.py, nadam.py, adamax.py and lamb.py."""

from pytrainc import _C
from pytrainc.optimizers.base import Optimizer, _common, _betas, _number


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
        name: Defaults to "adam".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `m` (Keras's "momentum"), `v` ("velocity"), and with amsgrad `u` ("velocity_hat").

    Example:

    >>> model.compile(optimizer=pytrainc.optimizers.Adam(learning_rate=1e-3), loss="mse")
    """

    _kind = _C.OPTIMIZERS["adam"]
    _config_args = ("beta_1", "beta_2", "epsilon", "amsgrad")

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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        self.beta_1, self.beta_2 = _betas(beta_1, beta_2)
        self.epsilon = _number("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)
        self._slots = ("m", "v", "u") if self.amsgrad else ("m", "v")


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as Keras 3.

    The Adam update of `Adam`, preceded every step by `w -= w * weight_decay * lr`
    (the same order as PyTorch's AdamW).

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        weight_decay: Float >= 0. Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: As `Adam`. Default to 0.9, 0.999, 1e-7, False.
        name: Defaults to "adamw".
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name=name, **_common(locals()), **kwargs)


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
        name: Defaults to "nadam".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `m` (Keras's "momentum"), `v` ("velocity") and the scalar `u_product`.

    Example:

    >>> opt = pytrainc.optimizers.Nadam(learning_rate=2e-3)
    """

    _kind = _C.OPTIMIZERS["nadam"]
    _config_args = ("beta_1", "beta_2", "epsilon")
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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        self.beta_1, self.beta_2 = _betas(beta_1, beta_2)
        self.epsilon = _number("epsilon", epsilon)

    def _engine_slots(self):
        return self._state["m"], self._state["v"], self._state["u_product"]


class Adamax(Optimizer):
    """Adamax (Kingma and Ba, 2014, section 7), Adam with the infinity norm, as Keras 3.

    `m += (g - m) * (1 - beta_1)`, `u = max(beta_2 * u, |g|)`,
    `w -= lr * m / ((1 - beta_1**t) * (u + epsilon))`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float >= 0. Defaults to 1e-7.
        name: Defaults to "adamax".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `m` (Keras's "momentum"), `v` ("norm").

    Example:

    >>> opt = pytrainc.optimizers.Adamax(learning_rate=2e-3)
    """

    _kind = _C.OPTIMIZERS["adamax"]
    _config_args = ("beta_1", "beta_2", "epsilon")
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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
        self.beta_1, self.beta_2 = _betas(beta_1, beta_2)
        self.epsilon = _number("epsilon", epsilon)


class Lamb(Adamax):
    """LAMB (You et al., 2019), Adam with a per-weight trust ratio, as Keras 3.

    Adam's moments, `r = m_hat / (sqrt(v_hat) + epsilon)` with both bias-corrected, then
    `w -= lr * ratio * r` with `ratio = ||w|| / ||r||` over each weight (1 when either is 0).

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_1: Float in [0, 1). Defaults to 0.9.
        beta_2: Float in [0, 1). Defaults to 0.999.
        epsilon: Float >= 0. Defaults to 1e-7.
        name: Defaults to "lamb".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `m` (Keras's "momentum"), `v` ("velocity").

    Example:

    >>> opt = pytrainc.optimizers.Lamb(learning_rate=1e-3)
    """

    _kind = _C.OPTIMIZERS["lamb"]
    # Adamax's constructor: the same Keras 3 arguments and defaults.
