"""Adafactor, as Keras 3's adafactor.py: second moments factored over each weight's last two axes."""

from pytrainc import _C
from pytrainc._checks import number
from pytrainc.optimizers.base import Optimizer, _common, _number


class Adafactor(Optimizer):
    """Adafactor (Shazeer and Stern, 2018) with Keras 3's formula.

    At step t: `rho_t = min(lr, 1 / sqrt(t))`, `beta_2_t = 1 - t**beta_2_decay`,
    `alpha_t = max(epsilon_2, rms(w)) * rho_t`. A weight of rank >= 2 keeps the running
    means of `g**2 + epsilon_1` over its last axis (`r`) and its second-to-last axis (`c`)
    and uses `v = r / mean(r) (outer) c`; a weight of lower rank keeps `v` itself. Then
    `u = g / sqrt(v)` and `w -= alpha_t * u / max(1, rms(u) / clip_threshold)`.

    Args:
        learning_rate: Float >= 0 or a `schedules.LearningRateSchedule`. Defaults to 0.001.
        beta_2_decay: Float, the decay exponent of the second moments. Defaults to -0.8.
        epsilon_1: Float >= 0, added to `g**2`. Defaults to 1e-30.
        epsilon_2: Float >= 0, the least relative step scale. Defaults to 1e-3.
        clip_threshold: Float > 0, the update's RMS bound. Defaults to 1.0.
        relative_step: Bool. Keras's `min(lr, 1 / sqrt(t))` for a constant rate; its formula
            applies the same bound in `rho_t` either way, so it changes nothing. Defaults to True.
        name: Defaults to "adafactor".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `v` (Keras's "velocity"); for a weight of shape (..., R, C), `m` holds its `r`
    (..., R) and `u` its `c` (..., C), each from the weight's offset in the flat order.

    Example:

    >>> opt = pytrainc.optimizers.Adafactor(learning_rate=1e-2)
    """

    _kind = _C.OPTIMIZERS["adafactor"]
    _config_args = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step")
    _slots = ("m", "v", "u")

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
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
        self.beta_2_decay = number("beta_2_decay", beta_2_decay)
        self.epsilon_1 = _number("epsilon_1", epsilon_1)
        self.epsilon_2 = _number("epsilon_2", epsilon_2)
        self.clip_threshold = _number("clip_threshold", clip_threshold, low_open=True)
        self.relative_step = bool(relative_step)
