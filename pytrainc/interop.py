"""Conversion between pytrainc models and PyTorch modules.

`to_torch(model)` returns a `torch.nn.Module` with the model's weights that
computes what `model.predict` computes; `from_torch(module, input_shape)`
builds a pytrainc model from an `nn.Sequential`. PyTorch is an optional
dependency, imported when these functions run.

Layouts. pytrainc, like Keras, is channels-last: images are (N, H, W, C),
sequences (N, steps, C). PyTorch is channels-first: (N, C, H, W).

- The module from `to_torch` takes pytrainc's layout (NHWC inputs, the same
  arrays you give `predict`) and returns pytrainc's layout, so
  `module(torch.from_numpy(x))` matches `model.predict(x)`. Inside, each
  convolution, pooling and batch normalization permutes to NCHW and back.
- The model from `from_torch` takes pytrainc's layout too: for a module that
  takes (N, C, H, W), pass `input_shape=(H, W, C)` and feed
  `x.transpose(0, 2, 3, 1)` to `predict`. Flatten orders values (H, W, C)
  in pytrainc and (C, H, W) in PyTorch, so the first Linear after a Flatten
  gets its input columns permuted: predictions agree, weights are reordered.

Weights: Dense kernels (in, out) are Linear weights (out, in) transposed;
Conv2D kernels (kh, kw, in, out) are Conv2d weights (out, in, kh, kw)
permuted; BatchNormalization's gamma, beta, moving mean and variance are
BatchNorm's weight, bias, running mean and variance, with
`torch_momentum = 1 - keras_momentum` (Keras's 0.99 is PyTorch's 0.01) and the
same epsilon (Keras's default 1e-3; PyTorch's is 1e-5). In training, PyTorch
updates its running variance with the unbiased batch variance and Keras with
the biased one, so the statistics drift apart slightly if you train both;
predictions in inference mode agree. `to_torch` also converts Embedding
(nn.Embedding on the float ids cast to int64), LayerNormalization
(nn.LayerNorm) and SimpleRNN/LSTM/GRU (nn.RNN/LSTM/GRU: Keras's LSTM gates are
torch's order, the GRU's z, r, h are torch's rows r, z, n reordered, and Keras's
single bias is torch's bias_ih with bias_hh zero; the GRU's two bias rows are
torch's two biases); `from_torch` does not read them yet.
"""

import math
import types

import numpy as np

__all__ = ["to_torch", "from_torch"]


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "pytrainc.interop needs PyTorch, an optional dependency. Install it with `pip install torch`."
        ) from None
    return torch


# ---------------------------------------------------------------------------
# The channels-last torch modules that to_torch builds. They are created on
# first use (so importing this module does not import torch) and published as
# attributes of this module, so `torch.save(module)` can pickle them.

_MODULE_NAMES = (
    "Conv2dNHWC",
    "Conv1dNLC",
    "Pool2dNHWC",
    "Pool1dNLC",
    "GlobalPool",
    "BatchNormNHWC",
    "Reshape",
    "Merge",
    "PytraincGraph",
    "EmbeddingIds",
    "Recurrent",
)
_classes = None


def _modules():
    global _classes
    if _classes is not None:
        return _classes
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class Conv2dNHWC(nn.Module):
        """`nn.Conv2d` on (N, H, W, C) inputs, with TensorFlow's 'same' padding (extra cells after)."""

        def __init__(self, conv, pad):
            super().__init__()
            self.conv = conv
            self.pad = tuple(pad)  # (left, right, top, bottom), as F.pad takes them

        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            if any(self.pad):
                x = F.pad(x, self.pad)
            return self.conv(x).permute(0, 2, 3, 1)

    class Conv1dNLC(nn.Module):
        """`nn.Conv1d` on (N, steps, C) inputs, with 'same' / 'causal' padding as Keras."""

        def __init__(self, conv, pad):
            super().__init__()
            self.conv = conv
            self.pad = tuple(pad)  # (left, right)

        def forward(self, x):
            x = x.permute(0, 2, 1)
            if any(self.pad):
                x = F.pad(x, self.pad)
            return self.conv(x).permute(0, 2, 1)

    class Pool2dNHWC(nn.Module):
        """Max or average pooling on (N, H, W, C); padded cells never win a max and are not
        counted in an average, as in Keras."""

        def __init__(self, kind, kernel_size, stride, pad):
            super().__init__()
            self.kind, self.kernel_size, self.stride, self.pad = kind, tuple(kernel_size), tuple(stride), tuple(pad)

        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            if self.kind == "max":
                if any(self.pad):
                    x = F.pad(x, self.pad, value=-math.inf)
                y = F.max_pool2d(x, self.kernel_size, self.stride)
            elif any(self.pad):
                ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
                y = F.avg_pool2d(F.pad(x, self.pad), self.kernel_size, self.stride) / F.avg_pool2d(
                    F.pad(ones, self.pad), self.kernel_size, self.stride
                )
            else:
                y = F.avg_pool2d(x, self.kernel_size, self.stride)
            return y.permute(0, 2, 3, 1)

        def extra_repr(self):
            return f"kind={self.kind!r}, kernel_size={self.kernel_size}, stride={self.stride}, pad={self.pad}"

    class Pool1dNLC(Pool2dNHWC):
        """Pool2dNHWC over (N, steps, C), as a height-1 image."""

        def forward(self, x):
            return super().forward(x.unsqueeze(1)).squeeze(1)

    class GlobalPool(nn.Module):
        """Mean or max over every axis between the batch and the channels."""

        def __init__(self, kind, keepdims):
            super().__init__()
            self.kind, self.keepdims = kind, bool(keepdims)

        def forward(self, x):
            dims = tuple(range(1, x.dim() - 1))
            if self.kind == "max":
                return torch.amax(x, dim=dims, keepdim=self.keepdims)
            return torch.mean(x, dim=dims, keepdim=self.keepdims)

        def extra_repr(self):
            return f"kind={self.kind!r}, keepdims={self.keepdims}"

    class BatchNormNHWC(nn.Module):
        """`nn.BatchNorm1d`/`2d` over the last axis of a channels-last tensor."""

        def __init__(self, bn):
            super().__init__()
            self.bn = bn

        def forward(self, x):
            if x.dim() == 2:
                return self.bn(x)
            order = (0, x.dim() - 1) + tuple(range(1, x.dim() - 1))
            back = (0,) + tuple(range(2, x.dim())) + (1,)
            return self.bn(x.permute(*order)).permute(*back)

    class Reshape(nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.shape = tuple(shape)

        def forward(self, x):
            return x.reshape((x.shape[0],) + self.shape)

        def extra_repr(self):
            return f"shape={self.shape}"

    class Merge(nn.Module):
        """Add, Subtract, Multiply, Average or Concatenate of a model's branches."""

        def __init__(self, kind, axis=-1):
            super().__init__()
            self.kind, self.axis = kind, axis

        def forward(self, *xs):
            if self.kind == "concatenate":
                return torch.cat(xs, dim=self.axis)
            if self.kind == "subtract":
                return xs[0] - xs[1]
            out = xs[0]
            for x in xs[1:]:
                out = out * x if self.kind == "multiply" else out + x
            return out / len(xs) if self.kind == "average" else out

        def extra_repr(self):
            return f"kind={self.kind!r}" + (f", axis={self.axis}" if self.kind == "concatenate" else "")

    class EmbeddingIds(nn.Embedding):
        """`nn.Embedding` on pytrainc's float ids (its buffers are float32): cast to int64 first."""

        def forward(self, x):
            return super().forward(x.long())

    class Recurrent(nn.Module):
        """`nn.RNN`/`nn.LSTM`/`nn.GRU` (batch_first) as Keras runs it: reversed input for go_backwards,
        every step or the last one."""

        def __init__(self, rnn, return_sequences, go_backwards):
            super().__init__()
            self.rnn, self.return_sequences, self.go_backwards = rnn, return_sequences, go_backwards

        def forward(self, x):
            y = self.rnn(torch.flip(x, [1]) if self.go_backwards else x)[0]
            return y if self.return_sequences else y[:, -1]

    class PytraincGraph(nn.Module):
        """A functional pytrainc model as a module: `layers[i]` runs pytrainc's layer i, and
        `nodes` lists each call as (layer index, indices of its input values); value 0 is the input."""

        def __init__(self, layers, nodes, output):
            super().__init__()
            self.layers = nn.ModuleList(layers)
            self.nodes = [(int(i), tuple(int(p) for p in parents)) for i, parents in nodes]
            self.output = int(output)

        def forward(self, x):
            values = [x]
            for i, parents in self.nodes:
                values.append(self.layers[i](*[values[p] for p in parents]))
            return values[self.output]

    _classes = types.SimpleNamespace(**{name: obj for name, obj in locals().items() if name in _MODULE_NAMES})
    for name in _MODULE_NAMES:
        cls = getattr(_classes, name)
        cls.__module__, cls.__qualname__ = __name__, name
    return _classes


def __getattr__(name):  # PEP 562: `pytrainc.interop.Conv2dNHWC` builds the classes on demand
    if name in _MODULE_NAMES:
        return getattr(_modules(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# pytrainc -> torch


def _t(array):
    torch = _torch()
    return torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))


class _ByName(dict):
    """A table keyed by torch.nn class names, looked up by class (torch is imported lazily)."""

    def __contains__(self, kind):
        return dict.__contains__(self, kind.__name__)

    def __getitem__(self, kind):
        return dict.__getitem__(self, kind.__name__)


# from_torch: torch activations and pytrainc's names for them.
_SIMPLE_ACTIVATIONS = _ByName(
    Sigmoid="sigmoid",
    Tanh="tanh",
    SELU="selu",
    SiLU="swish",
    Softsign="softsign",
    Hardsigmoid="hard_sigmoid",
    ReLU6="relu6",
    Mish="mish",
    LogSigmoid="log_sigmoid",
    Tanhshrink="tanh_shrink",
    Hardswish="hard_silu",
)
# ... and those with parameters: (attributes, Keras's default values, name).
_KERAS_DEFAULTS = _ByName(
    Hardtanh=(("min_val", "max_val"), (-1.0, 1.0), "hard_tanh"),
    CELU=(("alpha",), (1.0,), "celu"),
    Hardshrink=(("lambd",), (0.5,), "hard_shrink"),
    Softshrink=(("lambd",), (0.5,), "soft_shrink"),
)


def _torch_activation(name, alpha=None):
    """A torch module for a pytrainc activation name (None for linear)."""
    nn = _torch().nn
    simple = {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "selu": nn.SELU,
        "gelu": nn.GELU,
        "hard_sigmoid": nn.Hardsigmoid,
        "softsign": nn.Softsign,
        "swish": nn.SiLU,
        "silu": nn.SiLU,
        "relu6": nn.ReLU6,
        "mish": nn.Mish,
        "hard_tanh": nn.Hardtanh,
        "log_sigmoid": nn.LogSigmoid,
        "tanh_shrink": nn.Tanhshrink,
        "hard_silu": nn.Hardswish,
        "hard_swish": nn.Hardswish,
    }
    if name == "linear":
        return None
    if name in simple:
        return simple[name]()
    if name == "softmax":
        return nn.Softmax(dim=-1)
    if name == "log_softmax":
        return nn.LogSoftmax(dim=-1)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2 if alpha is None else alpha)
    if name == "elu":
        return nn.ELU(1.0 if alpha is None else alpha)
    if name == "celu":
        return nn.CELU(1.0 if alpha is None else alpha)
    if name == "hard_shrink":
        return nn.Hardshrink(0.5 if alpha is None else alpha)
    if name == "soft_shrink":
        return nn.Softshrink(0.5 if alpha is None else alpha)
    if name == "softplus":
        # PyTorch returns x itself above `threshold`; at 20 that differs from log(1 + e^x) by 2e-9.
        return nn.Softplus()
    raise ValueError(f"to_torch: no PyTorch equivalent for the activation {name!r}")


def _with_activation(module, activation):
    act = _torch_activation(activation)
    if act is None:
        return module
    return _torch().nn.Sequential(module, act)


def _pads(before, length, out, stride, span):
    after = max((out - 1) * stride + span - length - before, 0)
    return before, after


def _convert_layer(layer, in_shapes):
    """The torch module for one pytrainc layer called on inputs of `in_shapes` (sample shapes)."""
    from pytrainc import layers as L

    torch = _torch()
    nn = torch.nn
    M = _modules()
    shape = tuple(in_shapes[0])
    if isinstance(layer, L.Dense):
        linear = nn.Linear(shape[-1], layer.units, bias=layer.use_bias)
        with torch.no_grad():
            linear.weight = _t(layer.kernel.numpy().T)
            if layer.use_bias:
                linear.bias = _t(layer.bias.numpy())
        return _with_activation(linear, layer.activation)
    if isinstance(layer, L.Conv2D):
        H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = layer._geometry((None,) + shape)
        conv = nn.Conv2d(C, layer.filters, (KH, KW), stride=(SH, SW), dilation=(DH, DW), bias=layer.use_bias)
        with torch.no_grad():
            conv.weight = _t(layer.kernel.numpy().transpose(3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)
            if layer.use_bias:
                conv.bias = _t(layer.bias.numpy())
        top, bottom = _pads(PT, H, OH, SH, (KH - 1) * DH + 1)
        left, right = _pads(PL, W, OW, SW, (KW - 1) * DW + 1)
        return _with_activation(M.Conv2dNHWC(conv, (left, right, top, bottom)), layer.activation)
    if isinstance(layer, L.Conv1D):
        H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = layer._geometry((None,) + shape)
        conv = nn.Conv1d(C, layer.filters, KW, stride=SW, dilation=DW, bias=layer.use_bias)
        with torch.no_grad():
            conv.weight = _t(layer.kernel.numpy().transpose(2, 1, 0))  # (k, in, out) -> (out, in, k)
            if layer.use_bias:
                conv.bias = _t(layer.bias.numpy())
        return _with_activation(M.Conv1dNLC(conv, _pads(PL, W, OW, SW, (KW - 1) * DW + 1)), layer.activation)
    if isinstance(layer, (L.MaxPooling2D, L.MaxPooling1D)):
        H, W, C, KH, KW, SH, SW, PT, PL, OH, OW = layer._geometry((None,) + shape)
        kind = "avg" if isinstance(layer, (L.AveragePooling2D, L.AveragePooling1D)) else "max"
        pad = _pads(PL, W, OW, SW, KW) + _pads(PT, H, OH, SH, KH)
        if isinstance(layer, L.MaxPooling1D):
            return M.Pool1dNLC(kind, (1, KW), (1, SW), pad[:2] + (0, 0))
        return M.Pool2dNHWC(kind, (KH, KW), (SH, SW), pad)
    if isinstance(
        layer, (L.GlobalAveragePooling2D, L.GlobalAveragePooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling1D)
    ):
        kind = "max" if isinstance(layer, (L.GlobalMaxPooling2D, L.GlobalMaxPooling1D)) else "avg"
        return M.GlobalPool(kind, layer.keepdims)
    if isinstance(layer, L.BatchNormalization):
        if layer._channel_axis((None, *shape)) != len(shape) - 1:
            raise ValueError(
                f"to_torch: layer '{layer.name}' normalizes axis {layer.axis}; only the last axis (channels "
                "last) converts to torch"
            )
        channels = shape[-1]
        bn_class = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        # Keras: moving = moving * momentum + batch * (1 - momentum); PyTorch: the other way round.
        bn = bn_class(channels, eps=layer.epsilon, momentum=1.0 - layer.momentum)
        with torch.no_grad():
            bn.weight = _t(layer.gamma.numpy() if layer.scale else np.ones(channels))
            bn.bias = _t(layer.beta.numpy() if layer.center else np.zeros(channels))
            bn.weight.requires_grad_(layer.scale)
            bn.bias.requires_grad_(layer.center)
            bn.running_mean.copy_(torch.from_numpy(layer.moving_mean.numpy()))
            bn.running_var.copy_(torch.from_numpy(layer.moving_variance.numpy()))
        return M.BatchNormNHWC(bn)
    if isinstance(layer, L.Dropout):
        return nn.Dropout(layer.rate)
    if isinstance(layer, L.Flatten):
        return nn.Flatten()  # the tensor is channels-last here, so this is pytrainc's order
    if isinstance(layer, L.Reshape):
        return M.Reshape(layer.compute_output_shape((None,) + shape)[1:])
    if isinstance(layer, L.ActivityRegularization):
        return nn.Identity()  # it only adds to the training loss
    if isinstance(layer, L.Activation):
        return _torch_activation(layer.activation) or nn.Identity()
    if isinstance(layer, L.ReLU):
        if layer._activation is None:
            raise ValueError(
                f"to_torch: layer '{layer.name}' is a ReLU with threshold={layer.threshold} or "
                f"max_value={layer.max_value}, which has no torch module"
            )
        if layer._activation == "relu6":
            return nn.ReLU6()
        return nn.LeakyReLU(layer.negative_slope) if layer.negative_slope else nn.ReLU()
    if isinstance(layer, L.LeakyReLU):
        return nn.LeakyReLU(layer.negative_slope)
    if isinstance(layer, L.ELU):
        return nn.ELU(layer.alpha)
    if isinstance(layer, L.Softmax):
        return nn.Softmax(dim=layer.axis)
    if isinstance(layer, L.Embedding):
        emb = M.EmbeddingIds(layer.input_dim, layer.output_dim)
        emb.weight = _t(layer.embeddings.numpy())
        return emb
    if isinstance(layer, L.LayerNormalization):
        norm = nn.LayerNorm(shape[-1], eps=layer.epsilon, elementwise_affine=layer.scale, bias=layer.center)
        if layer.scale:
            norm.weight = _t(layer.gamma.numpy())
        if layer.center:
            norm.bias = _t(layer.beta.numpy())
        return norm
    if isinstance(layer, (L.SimpleRNN, L.LSTM, L.GRU)):
        return _convert_recurrent(layer, shape)
    merges = {
        L.Add: "add",
        L.Subtract: "subtract",
        L.Multiply: "multiply",
        L.Average: "average",
        L.Concatenate: "concatenate",
    }
    for cls, kind in merges.items():
        if type(layer) is cls:
            return M.Merge(kind, getattr(layer, "axis", -1))
    raise ValueError(
        f"to_torch: layer '{layer.name}' ({type(layer).__name__}) has no PyTorch equivalent here. "
        "Supported: Dense, Conv1D, Conv2D, pooling, BatchNormalization, Dropout, Flatten, Reshape, "
        "activations, ActivityRegularization, the merge layers, Embedding, SimpleRNN, LSTM, GRU and "
        "LayerNormalization"
    )


def _convert_recurrent(layer, shape):
    """Keras's gates (LSTM i, f, c, o: torch's order; GRU z, r, h: torch's rows r, z, n reordered) and its
    one bias (torch's bias_ih, bias_hh at 0; the GRU's two rows are torch's two biases)."""
    from pytrainc import layers as L

    nn = _torch().nn
    u, acts = layer.units, (layer.activation, getattr(layer, "recurrent_activation", "sigmoid"))
    if isinstance(layer, L.SimpleRNN):
        if layer.activation not in ("tanh", "relu"):
            raise ValueError(f"to_torch: nn.RNN computes tanh or relu. Received: activation={layer.activation!r}")
        rnn, perm = nn.RNN(shape[-1], u, nonlinearity=layer.activation, bias=layer.use_bias, batch_first=True), None
    else:
        if acts != ("tanh", "sigmoid"):
            raise ValueError(
                f"to_torch: nn.{type(layer).__name__} computes activation='tanh', recurrent_activation='sigmoid'. "
                f"Received: {acts}"
            )
        cls = nn.LSTM if isinstance(layer, L.LSTM) else nn.GRU
        rnn = cls(shape[-1], u, bias=layer.use_bias, batch_first=True)
        perm = np.r_[u : 2 * u, 0:u, 2 * u : 3 * u] if isinstance(layer, L.GRU) else None  # its own inverse
    order = (lambda a: a[perm]) if perm is not None else (lambda a: a)
    rnn.weight_ih_l0 = _t(order(layer.kernel.numpy().T))
    rnn.weight_hh_l0 = _t(order(layer.recurrent_kernel.numpy().T))
    if layer.use_bias:
        bias = layer.bias.numpy()
        b_ih, b_hh = (bias[0], bias[1]) if isinstance(layer, L.GRU) else (bias, np.zeros_like(bias))
        rnn.bias_ih_l0, rnn.bias_hh_l0 = _t(order(b_ih)), _t(order(b_hh))
    return _modules().Recurrent(rnn, layer.return_sequences, layer.go_backwards)


def to_torch(model):
    """Return a `torch.nn.Module` that computes what `model.predict` computes, with copies of its weights.

    A `Sequential` model becomes an `nn.Sequential`; a functional model a
    `pytrainc.interop.PytraincGraph`, whose `layers` hold one module per
    pytrainc layer (a shared layer is one module called twice). The module
    takes and returns pytrainc's channels-last layout (e.g. (N, H, W, C)
    images), and is returned in eval mode, as `predict` runs; call `.train()`
    to train it in PyTorch.

    Args:
        model: A built pytrainc Model.

    Returns:
        A `torch.nn.Module` (float32 parameters).

    Raises:
        ImportError: if PyTorch is not installed.
        ValueError: for a layer without a PyTorch equivalent (the message names it).

    Example:

    >>> import torch
    >>> module = pytrainc.interop.to_torch(model)
    >>> y = module(torch.from_numpy(x)).detach().numpy()   # == model.predict(x) within 1e-5
    """
    from pytrainc.models import Model, Sequential

    torch = _torch()
    if not isinstance(model, Model):
        raise TypeError(f"to_torch expects a pytrainc Model. Received: {type(model).__name__}")
    model._require_built("to_torch")
    graph = model._graph
    layer_index = {id(layer): i for i, layer in enumerate(model.layers)}
    modules, nodes, value_of = [None] * len(layer_index), [], {id(graph["input"]): 0}
    for t in graph["order"]:
        if not t._inputs:
            continue
        i = layer_index[id(t._layer)]
        if modules[i] is None:
            modules[i] = _convert_layer(t._layer, [p.sample_shape for p in t._inputs])
        nodes.append((i, [value_of[id(p)] for p in t._inputs]))
        value_of[id(t)] = len(nodes)
    if isinstance(model, Sequential):
        flat = []
        for m in modules:
            flat.extend(m.children() if type(m) is torch.nn.Sequential else [m])
        module = torch.nn.Sequential(*flat)
    else:
        module = _modules().PytraincGraph(modules, nodes, value_of[id(graph["output"])])
    return module.eval()


# ---------------------------------------------------------------------------
# torch -> pytrainc


def _pair(value):
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) == 1:
        return value * 2
    return value


def _keras_padding(where, length, kernel, stride, dilation, torch_pad):
    """'valid' or 'same' if pytrainc's padding of that name covers the input exactly as
    PyTorch's symmetric padding `torch_pad` does, else None."""
    from pytrainc.layers.convolutional import conv_output_length

    span = (kernel - 1) * dilation + 1
    torch_out = (length + 2 * torch_pad - span) // stride + 1
    if torch_pad == 0:
        return "valid"
    out, before = conv_output_length(length, kernel, stride, dilation, "same", where)
    # The same first window and the same number of windows: the same cells are read.
    if out == torch_out and before == torch_pad:
        return "same"
    return None


def _padding_for(where, module, spatial, kernel, stride, dilation):
    pad = module.padding
    if isinstance(pad, str):
        if pad == "valid":
            return "valid"
        # PyTorch's 'same' (stride 1 only) puts the odd cell after, as TensorFlow does.
        return "same"
    pad = _pair(pad)
    choices = {_keras_padding(where, spatial[a], kernel[a], stride[a], dilation[a], pad[a]) for a in (0, 1)}
    if len(choices) == 1 and None not in choices:
        return choices.pop()
    raise ValueError(
        f"from_torch: {where} pads {pad} with stride {stride} on a {spatial[0]}x{spatial[1]} input; "
        "pytrainc pads as Keras ('valid', or 'same' with the extra cell after) and that reads "
        "other cells. Use padding=0, or the padding 'same' gives for this size"
    )


def _flatten(module, nn):
    for child in module:
        if type(child) is nn.Sequential:
            yield from _flatten(child, nn)
        else:
            yield child


def from_torch(module, input_shape):
    """Build a pytrainc `Sequential` model from an `nn.Sequential`, with copies of its weights.

    Supported: Linear, Conv2d (groups=1, zero padding that Keras's 'valid' or
    'same' reproduces), MaxPool2d / AvgPool2d (no ceil_mode; padded average
    pooling with count_include_pad=False), AdaptiveAvgPool2d(1) /
    AdaptiveMaxPool2d(1), BatchNorm1d / BatchNorm2d (with running statistics),
    Dropout, Flatten, Identity, nested Sequential, and the activations ReLU,
    LeakyReLU, ELU, SELU, GELU (exact), Sigmoid, Tanh, Softmax and LogSoftmax
    (over the features or channels), SiLU, Softplus (beta=1), Softsign,
    Hardsigmoid, ReLU6, Mish, Hardtanh (-1, 1), LogSigmoid, Tanhshrink,
    Hardswish, CELU (alpha=1), Hardshrink and Softshrink (lambd=0.5).

    Args:
        module: A `torch.nn.Sequential`.
        input_shape: The per-sample input shape in pytrainc's channels-last
            convention: `(features,)`, or `(H, W, C)` for a module that takes
            (N, C, H, W) images (feed the pytrainc model `x.transpose(0, 2, 3, 1)`).

    Returns:
        A pytrainc `Sequential` model (not compiled) whose `predict` matches the module in eval mode.

    Raises:
        ImportError: if PyTorch is not installed.
        TypeError: if `module` is not an `nn.Sequential`.
        ValueError: for an unsupported layer or setting (the message names the
            layer and its position) or shapes that do not fit.

    Example:

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    >>> model = pytrainc.interop.from_torch(net, input_shape=(8,))
    """
    from pytrainc import layers as L
    from pytrainc.layers.core import _shape_tuple
    from pytrainc.models import Sequential

    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(
            f"from_torch expects a torch.nn.Sequential. Received: {type(module).__name__}. Wrap "
            "the layers in nn.Sequential, or convert a custom module's parts one by one"
        )
    shape = _shape_tuple(input_shape, "input_shape")
    if len(shape) not in (1, 3):
        raise ValueError(f"from_torch: input_shape must be (features,) or (H, W, C). Received: {shape}")
    image = len(shape) == 3  # pytrainc (H, W, C) <-> torch (C, H, W)
    perm = None  # after a Flatten of an image: pytrainc feature j is torch feature perm[j]
    out_layers, assignments = [], []

    def numpy(tensor):
        return tensor.detach().cpu().to(torch.float32).numpy()

    def add(layer, values=()):
        out_layers.append(layer)
        assignments.append(values)

    for index, child in enumerate(_flatten(module, nn)):
        what = f"layer #{index} ({child!r})"
        kind = type(child)
        if kind is nn.Identity:
            continue
        if kind is nn.Linear:
            if image:
                raise ValueError(
                    f"from_torch: {what} is applied to a (N, C, H, W) tensor, where it acts on the "
                    "width axis; pytrainc's Dense acts on channels. Add nn.Flatten() before it"
                )
            if child.in_features != shape[-1]:
                raise ValueError(
                    f"from_torch: {what} expects {child.in_features} input features. Received: {shape[-1]}"
                )
            w = numpy(child.weight)
            if perm is not None:
                w = w[:, perm]
                perm = None
            values = [w.T] + ([numpy(child.bias)] if child.bias is not None else [])
            add(L.Dense(child.out_features, use_bias=child.bias is not None), values)
            shape = shape[:-1] + (child.out_features,)
        elif kind is nn.Conv2d:
            if not image or perm is not None:
                raise ValueError(f"from_torch: {what} needs (N, C, H, W) input; give input_shape=(H, W, C)")
            if child.groups != 1 or child.padding_mode != "zeros":
                raise ValueError(
                    f"from_torch: {what} is not supported: pytrainc's Conv2D has groups=1 and zero "
                    f"padding. Received: groups={child.groups}, padding_mode={child.padding_mode!r}"
                )
            if child.in_channels != shape[-1]:
                raise ValueError(
                    f"from_torch: {what} expects {child.in_channels} channels. Received input shape (H, W, C)={shape}"
                )
            kernel, stride, dilation = child.kernel_size, child.stride, child.dilation
            padding = _padding_for(what, child, shape[:2], kernel, stride, dilation)
            values = [numpy(child.weight).transpose(2, 3, 1, 0)] + (
                [numpy(child.bias)] if child.bias is not None else []
            )  # (out, in, kh, kw) -> (kh, kw, in, out)
            layer = L.Conv2D(
                child.out_channels,
                tuple(kernel),
                strides=tuple(stride),
                padding=padding,
                dilation_rate=tuple(dilation),
                use_bias=child.bias is not None,
            )
            add(layer, values)
            shape = layer.compute_output_shape((None,) + shape)[1:]
        elif kind in (nn.MaxPool2d, nn.AvgPool2d):
            if not image or perm is not None:
                raise ValueError(f"from_torch: {what} needs (N, C, H, W) input; give input_shape=(H, W, C)")
            kernel = _pair(child.kernel_size)
            stride = _pair(child.stride if child.stride is not None else kernel)
            problems = []
            if child.ceil_mode:
                problems.append("ceil_mode=True")
            if kind is nn.MaxPool2d and (child.return_indices or _pair(child.dilation) != (1, 1)):
                problems.append("return_indices or dilation")
            if kind is nn.AvgPool2d and child.divisor_override is not None:
                problems.append("divisor_override")
            if kind is nn.AvgPool2d and child.count_include_pad and _pair(child.padding) != (0, 0):
                problems.append("count_include_pad=True with padding (pytrainc averages real cells only)")
            if problems:
                raise ValueError(f"from_torch: {what} is not supported: {', '.join(problems)}")
            padding = _padding_for(what, child, shape[:2], kernel, stride, (1, 1))
            cls = L.MaxPooling2D if kind is nn.MaxPool2d else L.AveragePooling2D
            layer = cls(kernel, strides=stride, padding=padding)
            add(layer)
            shape = layer.compute_output_shape((None,) + shape)[1:]
        elif kind in (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d):
            if not image or perm is not None or _pair(child.output_size) != (1, 1):
                raise ValueError(f"from_torch: {what} is supported with output_size=1 on (N, C, H, W) input only")
            cls = L.GlobalAveragePooling2D if kind is nn.AdaptiveAvgPool2d else L.GlobalMaxPooling2D
            add(cls(keepdims=True))
            shape = (1, 1, shape[-1])
        elif kind in (nn.BatchNorm1d, nn.BatchNorm2d):
            if (kind is nn.BatchNorm2d) != image or (kind is nn.BatchNorm1d and len(shape) != 1):
                raise ValueError(
                    f"from_torch: {what} does not fit its input of pytrainc shape {shape} "
                    "(BatchNorm1d on (N, C) features, BatchNorm2d on images)"
                )
            if not child.track_running_stats or child.running_mean is None or child.momentum is None:
                raise ValueError(
                    f"from_torch: {what} is not supported: it needs track_running_stats=True and a "
                    "momentum (pytrainc keeps an exponential moving average)"
                )
            if child.num_features != shape[-1]:
                raise ValueError(f"from_torch: {what} expects {child.num_features} channels. Received: {shape[-1]}")
            order = perm if perm is not None else slice(None)
            values = []
            if child.affine:
                values += [numpy(child.weight)[order], numpy(child.bias)[order]]
            values += [numpy(child.running_mean)[order], numpy(child.running_var)[order]]
            add(
                L.BatchNormalization(
                    momentum=1.0 - child.momentum, epsilon=child.eps, center=child.affine, scale=child.affine
                ),
                values,
            )
        elif kind is nn.Dropout:
            add(L.Dropout(child.p))
        elif kind is nn.Flatten:
            if child.start_dim != 1 or child.end_dim != -1:
                raise ValueError(f"from_torch: {what} is supported with start_dim=1, end_dim=-1 only")
            if image:
                H, W, C = shape
                if H * W > 1 and C > 1:
                    perm = np.arange(C * H * W).reshape(C, H, W).transpose(1, 2, 0).reshape(-1)
                image = False
            add(L.Flatten())
            shape = (math.prod(shape),)
        elif kind in (nn.Softmax, nn.LogSoftmax):
            rank = len(shape) + 1
            dim = child.dim
            ok = dim is not None and ((image and dim in (1, -3)) or (not image and dim in (-1, rank - 1)))
            if not ok:
                raise ValueError(
                    f"from_torch: {what} must normalize the features or channels (dim=1 for "
                    f"(N, C) and (N, C, H, W)). Received: dim={dim}"
                )
            add(L.Activation("softmax" if kind is nn.Softmax else "log_softmax"))
        elif kind is nn.ReLU:
            add(L.Activation("relu"))
        elif kind is nn.LeakyReLU:
            add(L.LeakyReLU(negative_slope=child.negative_slope))
        elif kind is nn.ELU:
            add(L.ELU(alpha=child.alpha))
        elif kind is nn.GELU:
            if child.approximate != "none":
                raise ValueError(
                    f"from_torch: {what} is not supported: pytrainc's 'gelu' is the exact (erf) form. "
                    f"Received: approximate={child.approximate!r}"
                )
            add(L.Activation("gelu"))
        elif kind is nn.Softplus:
            if child.beta != 1:
                raise ValueError(f"from_torch: {what} is not supported: pytrainc's softplus has beta=1")
            add(L.Activation("softplus"))
        elif kind in _KERAS_DEFAULTS:
            # Keras's activation names carry their default parameters only.
            attr, value, name = _KERAS_DEFAULTS[kind]
            if any(getattr(child, a) != v for a, v in zip(attr, value)):
                raise ValueError(
                    f"from_torch: {what} is not supported: pytrainc's {name!r} has "
                    + ", ".join(f"{a}={v}" for a, v in zip(attr, value))
                )
            add(L.Activation(name))
        elif kind in _SIMPLE_ACTIVATIONS:
            add(L.Activation(_SIMPLE_ACTIVATIONS[kind]))
        else:
            raise ValueError(
                f"from_torch: {what} is not supported. Supported: Linear, Conv2d, MaxPool2d, "
                "AvgPool2d, AdaptiveAvgPool2d(1), AdaptiveMaxPool2d(1), BatchNorm1d, BatchNorm2d, "
                "Dropout, Flatten, Identity, Sequential, ReLU, LeakyReLU, ELU, SELU, GELU, Sigmoid, "
                "Tanh, Softmax, LogSoftmax, SiLU, Softplus, Softsign, Hardsigmoid, ReLU6, Mish, Hardtanh, "
                "LogSigmoid, Tanhshrink, Hardswish, CELU, Hardshrink, Softshrink"
            )
    if perm is not None:
        raise ValueError(
            "from_torch: the module ends with flattened (C, H, W) values without a Linear after "
            "them; pytrainc flattens in (H, W, C) order, so its outputs would come in another order"
        )
    if not out_layers:
        raise ValueError("from_torch: the module has no layers to convert")
    model = Sequential([L.Input(tuple(_shape_tuple(input_shape, "input_shape")))] + out_layers)
    for layer, values in zip(out_layers, assignments):
        if values:
            layer.set_weights(values)
    return model
