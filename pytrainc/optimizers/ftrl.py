"""FTRL-Proximal, as Keras 3's ftrl.py."""

from pytrainc import _C
from pytrainc._checks import number
from pytrainc.optimizers.base import Optimizer, _common, _number


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
        name: Defaults to "ftrl".
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps:
            as `Optimizer`.

    State: `v` (Keras's "accumulator"), `m` ("linear").

    Example:

    >>> opt = pytrainc.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    _kind = _C.OPTIMIZERS["ftrl"]
    _config_args = (
        "learning_rate_power",
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
        "beta",
    )
    _hyper_alias = {
        "l1_regularization_strength": "l1",
        "l2_regularization_strength": "l2",
        "l2_shrinkage_regularization_strength": "l2_shrinkage",
        "beta": "ftrl_beta",
    }
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
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, name=name, **_common(locals()), **kwargs)
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
