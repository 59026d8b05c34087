"""Dense, as `keras.layers.Dense`, and the kernel-and-bias base it shares with the convolutions."""

import math

import numpy as np

from pytrainc import _activation_trace, activations
from pytrainc.layers._args import _unsupported, add_weight_of, set_weight_args, weight_arg_names, weight_args_config
from pytrainc.layers.core import Layer, _emit_activation
from pytrainc.layers.tensors import KerasTensor


_KERNEL_ARGS = weight_arg_names(("kernel", "bias"))


class _KernelLayer(Layer):
    """Shared by Dense and the convolutions: an activation, a kernel and an
    optional bias, with their initializers, regularizers and constraints."""

    def _init_kernel(self, args):
        """The activation, use_bias and the kernel's and bias's initializers, regularizers and
        constraints, from the subclass constructor's `locals()` (Keras's argument names)."""
        self.activation = activations.get(args["activation"])
        self.use_bias = bool(args["use_bias"])
        set_weight_args(self, **{name: args[name] for name in _KERNEL_ARGS})
        self.kernel = self.bias = None

    def _build_kernel(self, kernel_shape, units):
        self.kernel = add_weight_of(self, "kernel", kernel_shape)
        if self.use_bias:
            self.bias = add_weight_of(self, "bias", (units,))
        self.built = True

    def _note_call(self, inputs, outputs):
        if callable(self.activation) and isinstance(outputs, KerasTensor):  # traced once per shape
            _activation_trace.trace(self.activation, outputs.sample_shape, f" of layer '{self.name}'")
        return super()._note_call(inputs, outputs)

    def _hidden_constants(self):
        return super()._hidden_constants() + _activation_trace.constants(self.activation)

    def _kernel_config(self):
        return {
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_args_config(self, ("kernel", "bias")),
        }


class Dense(_KernelLayer):
    """Densely connected layer: `activation(inputs @ kernel + bias)`.

    The kernel has shape (input features, units) as in Keras. Inputs of rank > 1
    per sample are transformed along their last axis.

    Args:
        units: Positive int, output features.
        activation: Name or pytrainc.activations function. Defaults to None (linear).
        use_bias: Defaults to True.
        kernel_initializer: Defaults to 'glorot_uniform'.
        bias_initializer: Defaults to 'zeros'.
        kernel_regularizer: Optional regularizer. Defaults to None.
        bias_regularizer: Optional regularizer. Defaults to None.
        activity_regularizer: Optional regularizer of the output. Defaults to None.
        kernel_constraint: Optional constraint (pytrainc.constraints). Defaults to None.
        bias_constraint: Optional constraint. Defaults to None.
        lora_rank, lora_alpha, quantization_config: Keras's LoRA and quantization, not
            supported: lora_rank and quantization_config must be None. Default to None.

    Example:

    >>> model = Sequential([Input((8,)), Dense(10, activation="relu"), Dense(1)])
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive integer. Received: units={units!r}"
            )
        _unsupported("Dense", lora_rank=lora_rank, quantization_config=quantization_config)
        self.units = int(units)
        self._init_kernel(locals())

    def build(self, input_shape):
        self._build_kernel((input_shape[-1], self.units), self.units)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _emit(self, builder, in_bufs, in_shapes):
        shape = in_shapes[0]
        rows = math.prod(shape[:-1])
        out = builder.buffer(rows * self.units)
        builder.op(
            "dense",
            in_bufs,
            out,
            params={"kernel": self.kernel, "bias": self.bias},
            rows=rows,
            units_in=shape[-1],
            units_out=self.units,
        )
        return self._emit_activity(
            builder, _emit_activation(builder, out, tuple(shape[:-1]) + (self.units,), self.activation)
        )

    def get_config(self):
        return {**super().get_config(), "units": self.units, **self._kernel_config(), "quantization_config": None}
