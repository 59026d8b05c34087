"""PReLU, as `keras.layers.PReLU`: `relu(x) - alpha * relu(-x)` with a learned `alpha`.

Written with `pytrainc.ops` as Keras writes it, so it is traced into the plan's elementwise and
broadcasting primitives (C forward and backward); `alpha` has the input's sample shape with the
`shared_axes` set to 1, and its gradient is summed over them by the broadcast's backward.
"""

from pytrainc import ops
from pytrainc.layers._args import add_weight_of, set_weight_args, weight_args_config
from pytrainc.layers.core import Layer


class PReLU(Layer):
    """Parametric ReLU: `x` for `x >= 0`, `alpha * x` otherwise, `alpha` learned per position and channel.

    Args:
        alpha_initializer: Defaults to 'Zeros'.
        alpha_regularizer: Defaults to None.
        alpha_constraint: Optional constraint (pytrainc.constraints). Defaults to None.
        shared_axes: Axes (1 = the first after the batch) along which alpha is shared, e.g. [1, 2]
            for one alpha per channel of an image. Defaults to None.

    Example:

    >>> y = PReLU(shared_axes=[1, 2])(Input((8, 8, 3)))   # alpha of shape (1, 1, 3)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        set_weight_args(
            self, alpha_constraint=alpha_constraint, alpha_initializer=alpha_initializer,
            alpha_regularizer=alpha_regularizer,
        )  # fmt: skip
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]
        self.alpha = None

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis <= len(shape):
                raise ValueError(
                    f"PReLU '{self.name}': shared_axes must be between 1 and {len(shape)} for inputs of shape "
                    f"{tuple(input_shape)}. Received: shared_axes={self.shared_axes}"
                )
            shape[axis - 1] = 1
        self.alpha = add_weight_of(self, "alpha", tuple(shape))
        self.built = True

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def get_config(self):
        return {
            **super().get_config(),
            **weight_args_config(self, ("alpha",)),
            "shared_axes": self.shared_axes,
        }


LAYERS = {"PReLU": PReLU}
