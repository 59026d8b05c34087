"""Export a model to ONNX for serving: `pytrainc.onnx.export(model, path)` or `model.export(path, format="onnx")`.

The graph is built with the `onnx` package (an optional dependency:
`pip install "pytrainc[onnx]"`), checked with `onnx.checker` and written
atomically. Its inputs are named after the model's InputLayers, with a dynamic
batch dimension `batch`; one output is named `output`, several outputs (in the
model's output order) by the model's `output_names`. Tensors stay channels
last between layers, as in pytrainc; convolutions and poolings, which ONNX
defines channels first, are wrapped in two `Transpose` nodes each.

The layers below have an ONNX equivalent (the table `ONNX_LAYERS`):
Dense (MatMul, Add), Conv1D/Conv2D (Conv, with TensorFlow's 'same' padding as
explicit pads), Max/AveragePooling1D/2D (MaxPool, AveragePool without the
padded cells), the global poolings (ReduceMean / ReduceMax), Flatten and
Reshape (Reshape), BatchNormalization at inference (Sub, Mul, Add with the
moving statistics), Activation, ReLU, LeakyReLU, ELU and Softmax, the merge
layers (Sum, Sub, Mul, Mean, Max, Min, Concat); Dropout and
ActivityRegularization are the identity at inference. So is every activation
(gelu through Erf, swish as x * Sigmoid(x)). The sequence layers (`_onnx_sequence`):
Embedding (Gather), SimpleRNN, LSTM and GRU (ONNX's RNN, LSTM and GRU nodes, with
go_backwards, return_sequences, return_state and initial_state), Bidirectional (every
merge mode but None) and LayerNormalization. Keras masks do not carry: a layer that reads
an Embedding(mask_zero=True)'s mask is refused by name. A layer of any other class (a
subclass of your own) is refused with a ValueError that names it.
"""

import math

import numpy as np

from pytrainc import _onnx_sequence, activations
from pytrainc import layers as layers_module
from pytrainc.layers import _outputs
from pytrainc.saving._common import fspath
from pytrainc.saving.atomic import atomic_write_bytes

__all__ = ["export", "ONNX_LAYERS", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17  # ReduceMean/ReduceMax take `axes` as an attribute up to 17; onnxruntime runs 7 to 21+
_SELU_ALPHA, _SELU_GAMMA = 1.6732632423543772, 1.0507009873554805  # Keras's constants, as pytrainc's selu


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the optional dependency onnx. Install it with `pip install onnx` "
            '(or `pip install "pytrainc[onnx]"`).'
        ) from None
    return onnx


class _Graph:
    """Nodes and initializers being collected, with unique value names."""

    def __init__(self, onnx, reserved=()):
        self.onnx, self.nodes, self.initializers, self._count = onnx, [], [], 0
        self._reserved = set(reserved)  # the graph's input and output names

    def _name(self, base):
        self._count += 1
        while f"{base}_{self._count}" in self._reserved:
            self._count += 1
        return f"{base}_{self._count}"

    def const(self, base, value, dtype=np.float32):
        name = self._name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type, inputs, base, **attrs):
        out = self._name(base)
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


def _activation(g, x, activation, base, alpha=None):
    _, default_alpha = activations.kind_and_alpha(activations.get(activation))
    name = activations._KINDS[activations.get(activation)][0]  # the kernel's name: "silu" is "swish"
    alpha = default_alpha if alpha is None else alpha
    if name == "linear":
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign"}
    if name in simple:
        return g.op(simple[name], [x], f"{base}_{name}")
    if name in ("softmax", "log_softmax"):
        return g.op("Softmax" if name == "softmax" else "LogSoftmax", [x], f"{base}_{name}", axis=-1)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], f"{base}_{name}", alpha=float(alpha))
    if name == "elu":
        return g.op("Elu", [x], f"{base}_{name}", alpha=float(alpha))
    if name == "selu":
        return g.op("Selu", [x], f"{base}_{name}", alpha=_SELU_ALPHA, gamma=_SELU_GAMMA)
    if name == "hard_sigmoid":  # Keras 3's relu6(x + 3) / 6
        return g.op("HardSigmoid", [x], f"{base}_{name}", alpha=1.0 / 6.0, beta=0.5)
    if name == "swish":
        return g.op("Mul", [x, g.op("Sigmoid", [x], f"{base}_sigmoid")], f"{base}_swish")
    if name == "gelu":  # the exact form: x * (1 + erf(x / sqrt(2))) / 2
        erf = g.op("Erf", [g.op("Div", [x, g.const("sqrt2", math.sqrt(2.0))], f"{base}_scaled")], f"{base}_erf")
        one_plus = g.op("Add", [erf, g.const("one", 1.0)], f"{base}_erf1")
        return g.op("Mul", [g.op("Mul", [x, one_plus], f"{base}_xerf"), g.const("half", 0.5)], f"{base}_gelu")
    return _composed_activation(g, x, name, base, float(alpha))


def _composed_activation(g, x, name, base, alpha):
    """The activations ONNX has no single op for at opsets 13-17, from its elementwise ops."""
    out = f"{base}_{name}"
    if name in ("relu6", "hard_tanh"):
        lo, hi = (0.0, 6.0) if name == "relu6" else (-1.0, 1.0)
        return g.op("Clip", [x, g.const(f"{name}_lo", lo), g.const(f"{name}_hi", hi)], out)
    if name == "exponential":
        return g.op("Exp", [x], out)
    if name == "celu":
        return g.op("Celu", [x], out, alpha=alpha)
    if name in ("hard_shrink", "soft_shrink"):  # Shrink: x -+ bias beyond +-lambd, else 0
        return g.op("Shrink", [x], out, lambd=alpha, bias=alpha if name == "soft_shrink" else 0.0)
    if name == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x], f"{base}_sp")], f"{base}_tsp")], out)
    if name == "log_sigmoid":
        neg = g.op("Neg", [x], f"{base}_neg")
        return g.op("Neg", [g.op("Softplus", [neg], f"{base}_spneg")], out)
    if name == "tanh_shrink":
        return g.op("Sub", [x, g.op("Tanh", [x], f"{base}_tanh")], out)
    if name == "hard_silu":
        return g.op("Mul", [x, g.op("HardSigmoid", [x], f"{base}_hs", alpha=1.0 / 6.0, beta=0.5)], out)
    if name == "squareplus":
        root = g.op(
            "Sqrt",
            [g.op("Add", [g.op("Mul", [x, x], f"{base}_sq"), g.const("b", alpha)], f"{base}_sqb")],
            f"{base}_root",
        )
        return g.op("Mul", [g.op("Add", [x, root], f"{base}_sum"), g.const("half", 0.5)], out)
    if name == "sparse_plus":  # 0 below -1, x above 1, (x + 1)^2 / 4 between
        x1 = g.op("Add", [x, g.const("one", 1.0)], f"{base}_x1")
        quad = g.op("Mul", [g.op("Mul", [x1, x1], f"{base}_x1sq"), g.const("quarter", 0.25)], f"{base}_quad")
        upper = g.op("Where", [g.op("GreaterOrEqual", [x, g.const("one", 1.0)], f"{base}_ge1"), x, quad], f"{base}_up")
        low = g.op("LessOrEqual", [x, g.const("minus_one", -1.0)], f"{base}_le")
        return g.op("Where", [low, g.const("zero", 0.0), upper], out)
    if name == "sparse_sigmoid":  # 0 below -1, 1 above 1, (x + 1) / 2 between
        half = g.op("Mul", [g.op("Add", [x, g.const("one", 1.0)], f"{base}_x1"), g.const("half", 0.5)], f"{base}_h")
        return g.op("Clip", [half, g.const("zero", 0.0), g.const("one", 1.0)], out)
    if name == "sparsemax":
        return _sparsemax(g, x, base, out)
    raise ValueError(f"The activation {name!r} has no ONNX form in pytrainc")


def _sparsemax(g, x, base, out):
    """Sparsemax over the last axis (Martins & Astudillo, 2016) from ONNX ops: sort descending,
    k(z) = the largest k with 1 + k z_(k) > sum of the k largest, tau = (that sum - 1) / k(z),
    out = max(x - tau, 0)."""
    helper = g.onnx.helper
    shape = g.op("Shape", [x], f"{base}_shape")
    last = g.op("Slice", [shape, g.const("minus1", [-1], np.int64), g.const("big", [2**62], np.int64)], f"{base}_n")
    zs = g._name(f"{base}_sorted")
    g.nodes.append(helper.make_node("TopK", [x, last], [zs, g._name(f"{base}_order")], axis=-1, largest=1, sorted=1))
    axis = g.const("axis_last", -1, np.int64)
    cs = g.op("CumSum", [zs, axis], f"{base}_cumsum")
    ones = g.op("ConstantOfShape", [shape], f"{base}_ones", value=helper.make_tensor("one", 1, [1], [1.0]))
    k = g.op("CumSum", [ones, axis], f"{base}_k")
    bound = g.op("Add", [g.op("Mul", [k, zs], f"{base}_kz"), g.const("one", 1.0)], f"{base}_bound")
    support = g.op("Cast", [g.op("Greater", [bound, cs], f"{base}_gt")], f"{base}_support", to=1)
    kz = g.op("ReduceSum", [support, g.const("axes_last", [-1], np.int64)], f"{base}_kzsum", keepdims=1)
    idx = g.op("Cast", [g.op("Sub", [kz, g.const("one", 1.0)], f"{base}_km1")], f"{base}_idx", to=7)
    top = g.op("GatherElements", [cs, idx], f"{base}_top", axis=-1)
    tau = g.op("Div", [g.op("Sub", [top, g.const("one", 1.0)], f"{base}_top1"), kz], f"{base}_tau")
    return g.op("Relu", [g.op("Sub", [x, tau], f"{base}_shift")], out)


def _channels_first(g, x, rank, base):
    return g.op("Transpose", [x], f"{base}_nchw", perm=[0, rank + 1] + list(range(1, rank + 1)))


def _channels_last(g, x, rank, base):
    return g.op("Transpose", [x], f"{base}_nhwc", perm=[0] + list(range(2, rank + 2)) + [1])


def _pads(before, out, stride, span, length):
    """Explicit (before, after) padding of one axis: TensorFlow puts the odd cell after."""
    return before, max((out - 1) * stride + span - length - before, 0)


def _dense(g, layer, xs, shapes):
    y = g.op("MatMul", [xs[0], g.const(f"{layer.name}_kernel", layer.kernel.numpy())], layer.name)
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(f"{layer.name}_bias", layer.bias.numpy())], f"{layer.name}_bias")
    return _activation(g, y, layer.activation, layer.name)


def _conv(g, layer, xs, shapes):
    H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = layer._geometry((None,) + tuple(shapes[0]))
    rank = layer._rank
    top, bottom = _pads(PT, OH, SH, (KH - 1) * DH + 1, H)
    left, right = _pads(PL, OW, SW, (KW - 1) * DW + 1, W)
    kernel = layer.kernel.numpy()  # (KH, KW, C, F) or (K, C, F)
    kernel = kernel.transpose(3, 2, 0, 1) if rank == 2 else kernel.transpose(2, 1, 0)
    inputs = [_channels_first(g, xs[0], rank, layer.name), g.const(f"{layer.name}_kernel", kernel)]
    if layer.bias is not None:
        inputs.append(g.const(f"{layer.name}_bias", layer.bias.numpy()))
    if rank == 2:
        attrs = dict(kernel_shape=[KH, KW], strides=[SH, SW], dilations=[DH, DW], pads=[top, left, bottom, right])
    else:
        attrs = dict(kernel_shape=[KW], strides=[SW], dilations=[DW], pads=[left, right])
    if layer.groups > 1:
        attrs["group"] = layer.groups
    y = _channels_last(g, g.op("Conv", inputs, layer.name, **attrs), rank, layer.name)
    return _activation(g, y, layer.activation, layer.name)


def _pool(g, layer, xs, shapes):
    H, W, C, KH, KW, SH, SW, PT, PL, OH, OW = layer._geometry((None,) + tuple(shapes[0]))
    rank = layer._rank
    top, bottom = _pads(PT, OH, SH, KH, H)
    left, right = _pads(PL, OW, SW, KW, W)
    if rank == 2:
        attrs = dict(kernel_shape=[KH, KW], strides=[SH, SW], pads=[top, left, bottom, right])
    else:
        attrs = dict(kernel_shape=[KW], strides=[SW], pads=[left, right])
    if layer._op == "maxpool2d":
        op = "MaxPool"
    else:
        op, attrs["count_include_pad"] = "AveragePool", 0  # Keras averages the real cells only
    return _channels_last(
        g, g.op(op, [_channels_first(g, xs[0], rank, layer.name)], layer.name, **attrs), rank, layer.name
    )


def _global_pool(g, layer, xs, shapes):
    op = "ReduceMax" if layer._op == "global_maxpool" else "ReduceMean"
    return g.op(op, xs, layer.name, axes=list(range(1, len(shapes[0]))), keepdims=int(layer.keepdims))


def _reshape_to(g, layer, x, sample_shape):
    # 0 keeps the batch dimension as it is.
    return g.op("Reshape", [x, g.const(f"{layer.name}_shape", [0, *sample_shape], np.int64)], layer.name)


def _flatten(g, layer, xs, shapes):
    return _reshape_to(g, layer, xs[0], [-1])


def _reshape(g, layer, xs, shapes):
    return _reshape_to(g, layer, xs[0], list(layer.target_shape))


def _batchnorm(g, layer, xs, shapes):
    # As csrc/norm.c: (x - mean) * float32(1 / sqrt(var + epsilon)) * gamma + beta, each (C,)
    # vector shaped to broadcast along the normalized axis.
    shape = tuple(shapes[0])
    trailing = (1,) * (len(shape) - 1 - layer._channel_axis((None, *shape)))

    def const(suffix, values):
        return g.const(f"{layer.name}_{suffix}", np.asarray(values).reshape((-1, *trailing)))

    var = layer.moving_variance.numpy().astype(np.float64)
    y = g.op("Sub", [xs[0], const("mean", layer.moving_mean.numpy())], f"{layer.name}_centered")
    y = g.op("Mul", [y, const("invstd", 1.0 / np.sqrt(var + layer.epsilon))], f"{layer.name}_normed")
    if layer.gamma is not None:
        y = g.op("Mul", [y, const("gamma", layer.gamma.numpy())], f"{layer.name}_scaled")
    if layer.beta is not None:
        y = g.op("Add", [y, const("beta", layer.beta.numpy())], layer.name)
    return y


def _param_activation(g, layer, xs, shapes):
    if layer._activation is None:
        raise ValueError(
            f"ONNX export: layer '{layer.name}' is a ReLU with threshold={layer.threshold} or "
            f"max_value={layer.max_value}, which has no ONNX export yet"
        )
    return _activation(g, xs[0], layer._activation, layer.name, layer._alpha())


def _softmax(g, layer, xs, shapes):
    return g.op("Softmax", [xs[0]], layer.name, axis=layer.axis)


def _merge(op_type):
    def emit(g, layer, xs, shapes):
        return g.op(op_type, xs, layer.name)

    return emit


def _chain(op_type):
    def emit(g, layer, xs, shapes):  # Mul takes two inputs: a chain for more
        y = xs[0]
        for x in xs[1:]:
            y = g.op(op_type, [y, x], layer.name)
        return y

    return emit


def _identity(g, layer, xs, shapes):
    return xs[0]


ONNX_LAYERS = {
    "Dense": _dense,
    "Conv1D": _conv,
    "Conv2D": _conv,
    "MaxPooling1D": _pool,
    "MaxPooling2D": _pool,
    "AveragePooling1D": _pool,
    "AveragePooling2D": _pool,
    "GlobalAveragePooling1D": _global_pool,
    "GlobalAveragePooling2D": _global_pool,
    "GlobalMaxPooling1D": _global_pool,
    "GlobalMaxPooling2D": _global_pool,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "BatchNormalization": _batchnorm,
    "Activation": lambda g, layer, xs, shapes: _activation(g, xs[0], layer.activation, layer.name),
    "ReLU": _param_activation,
    "LeakyReLU": _param_activation,
    "ELU": _param_activation,
    "Softmax": _softmax,
    "Dropout": _identity,
    "ActivityRegularization": _identity,
    "Add": _merge("Sum"),
    "Subtract": _merge("Sub"),
    "Multiply": _chain("Mul"),
    "Average": _merge("Mean"),
    "Maximum": _merge("Max"),
    "Minimum": _merge("Min"),
    "Concatenate": lambda g, layer, xs, shapes: g.op("Concat", xs, layer.name, axis=layer.axis),
    **_onnx_sequence.LAYERS,
}


def _refuse_mask_reader(tensor, masked):
    from pytrainc.interop.torch_export import _mask_reader  # the mask propagation to_torch checks

    reader = _mask_reader(tensor, masked)
    if reader is not None:
        raise ValueError(
            f"ONNX export does not carry Keras masks: layer '{reader.name}' ({type(reader).__name__}) skips the "
            "steps an Embedding(mask_zero=True) masks, and ONNX's node would count them"
        )


def export(model, filepath, opset_version=None):
    """Export a built model to an ONNX file for inference (onnxruntime, ...).

    The exported graph computes what `model.predict` computes (inference:
    Dropout off, BatchNormalization with its moving statistics), in float32,
    for any batch size.

    Args:
        model: A built pytrainc Model.
        filepath: Destination path (str or PathLike), e.g. 'model.onnx'.
        opset_version: The ONNX opset to declare, 13 to 17. Defaults to None (17).

    Returns:
        The `onnx.ModelProto` that was written.

    Raises:
        ImportError: if onnx is not installed.
        TypeError: if `model` is not a pytrainc Model.
        ValueError: for an unbuilt model, a layer with no ONNX form (named),
            or an opset outside 13 to 17.

    Example:

    >>> proto = pytrainc.onnx.export(model, "model.onnx")
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession("model.onnx")
    >>> session.run(None, {session.get_inputs()[0].name: x[:2]})[0].shape
    (2, 1)
    """
    from pytrainc.models import Model

    onnx = _onnx()
    path = fspath(filepath, "filepath")
    if not isinstance(model, Model):
        raise TypeError(f"export expects a pytrainc Model. Received: {type(model).__name__}")
    model._require_built("export")
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if isinstance(opset, bool) or not isinstance(opset, int) or not 13 <= opset <= 17:
        raise ValueError(f"opset_version must be an int from 13 to 17. Received: opset_version={opset_version!r}")
    missing = sorted(
        {
            f"{layer.name} ({type(layer).__name__})"
            for layer in model._own_layers
            if ONNX_LAYERS.get(type(layer).__name__) is None
            or layers_module._LAYER_CLASSES.get(type(layer).__name__) is not type(layer)
        }
    )
    if missing:
        raise ValueError(
            f"These layers have no ONNX form in pytrainc: {missing}. Layers that export: {sorted(ONNX_LAYERS)}"
        )
    graph = model._graph
    input_names = [t._layer.name for t in graph["inputs"]]
    output_names = ["output"] if len(graph["outputs"]) == 1 else list(graph["output_names"])
    if set(input_names) & set(output_names):
        raise ValueError(
            f"ONNX names a graph's inputs and outputs apart: the model's input names {input_names} and output "
            f"names {output_names} share {sorted(set(input_names) & set(output_names))}"
        )
    g = _Graph(onnx, input_names + output_names)
    values = {id(t): name for t, name in zip(graph["inputs"], input_names)}
    masked = {}
    for tensor in graph["order"]:
        if not tensor._inputs:
            continue
        _refuse_mask_reader(tensor, masked)
        if _outputs.is_call_output(tensor):  # output k of a call with several: the emitter's list
            values[id(tensor)] = values[id(tensor._inputs[0])][tensor._layer.index]
            continue
        layer = tensor._layer
        values[id(tensor)] = ONNX_LAYERS[type(layer).__name__](
            g, layer, [values[id(t)] for t in tensor._inputs], [t.sample_shape for t in tensor._inputs]
        )
    for tensor, name in zip(graph["outputs"], output_names):
        g.nodes.append(onnx.helper.make_node("Identity", [values[id(tensor)]], [name], name=name))
    float32 = onnx.TensorProto.FLOAT
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            g.nodes,
            model.name,
            [
                onnx.helper.make_tensor_value_info(name, float32, ["batch", *t.sample_shape])
                for t, name in zip(graph["inputs"], input_names)
            ],
            [
                onnx.helper.make_tensor_value_info(name, float32, ["batch", *t.sample_shape])
                for t, name in zip(graph["outputs"], output_names)
            ],
            g.initializers,
        ),
        producer_name="pytrainc",
        opset_imports=[onnx.helper.make_opsetid("", opset)],
    )
    proto.ir_version = min(proto.ir_version, 8)  # readable by onnxruntime releases since 1.14
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    atomic_write_bytes(path, data)
    return proto
