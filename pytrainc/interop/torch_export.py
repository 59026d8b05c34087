"""pytrainc -> PyTorch: `to_torch(model)` builds channels-last torch modules with the model's
weights (see `pytrainc.interop` for the layouts and weight conventions)."""

import numpy as np

from pytrainc.interop import _modules, _torch
from pytrainc.layers import _outputs


def _t(array):
    torch = _torch()
    return torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))


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
        conv = nn.Conv2d(
            C, layer.filters, (KH, KW), stride=(SH, SW), dilation=(DH, DW), groups=layer.groups, bias=layer.use_bias
        )
        with torch.no_grad():
            conv.weight = _t(layer.kernel.numpy().transpose(3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)
            if layer.use_bias:
                conv.bias = _t(layer.bias.numpy())
        top, bottom = _pads(PT, H, OH, SH, (KH - 1) * DH + 1)
        left, right = _pads(PL, W, OW, SW, (KW - 1) * DW + 1)
        return _with_activation(M.Conv2dNHWC(conv, (left, right, top, bottom)), layer.activation)
    if isinstance(layer, L.Conv1D):
        H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = layer._geometry((None,) + shape)
        conv = nn.Conv1d(C, layer.filters, KW, stride=SW, dilation=DW, groups=layer.groups, bias=layer.use_bias)
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
    if isinstance(layer, L.Bidirectional):
        directions = [_convert_recurrent(sub, shape) for sub in (layer.forward_layer, layer.backward_layer)]
        return M.BidirectionalRNN(*directions, layer.merge_mode, layer.return_state)
    converted = _convert_conv_variant(layer, shape)  # issue #11: transposed convs, resampling
    if converted is not None:
        return converted
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
        "activations, ActivityRegularization, the merge layers, Embedding, SimpleRNN, LSTM, GRU, "
        "Bidirectional and LayerNormalization"
    )


def _convert_conv_variant(layer, shape):
    """Transposed convolutions, upsampling, zero padding and cropping as channels-first torch modules, or None."""
    from pytrainc import layers as L

    nn = _torch().nn
    M = _modules()
    one_d = len(shape) == 2
    if isinstance(layer, (L.Conv2DTranspose, L.Conv1DTranspose)):
        H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = layer._geometry((None,) + shape)
        # torch's natural output, (in - 1) * stride + span, cropped (or padded) to Keras's window.
        after_h = (H - 1) * SH + (KH - 1) * DH + 1 - PT - OH
        after_w = (W - 1) * SW + (KW - 1) * DW + 1 - PL - OW
        # Cells past torch's natural output come from its output_padding (they hold the bias), the rest is cropped.
        extra_h, extra_w = max(-after_h, 0), max(-after_w, 0)
        if one_d:
            conv = nn.ConvTranspose1d(
                C, layer.filters, KW, stride=SW, dilation=DW, output_padding=extra_w, bias=layer.use_bias
            )
            weight, pad = layer.kernel.numpy().transpose(2, 1, 0), nn.ZeroPad1d((-PL, -(after_w + extra_w)))
        else:
            conv = nn.ConvTranspose2d(
                C, layer.filters, (KH, KW), (SH, SW), dilation=(DH, DW), output_padding=(extra_h, extra_w),
                bias=layer.use_bias,
            )  # fmt: skip
            weight = layer.kernel.numpy().transpose(3, 2, 0, 1)
            pad = nn.ZeroPad2d((-PL, -(after_w + extra_w), -PT, -(after_h + extra_h)))
        conv.weight = _t(weight)  # Keras (k..., filters, in) -> torch (in, filters, k...)
        if layer.use_bias:
            conv.bias = _t(layer.bias.numpy())
        return _with_activation(M.ChannelsLast(nn.Sequential(conv, pad)), layer.activation)
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D, L.SeparableConv1D, L.SeparableConv2D)):
        H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = layer._geometry((None,) + shape)
        separable, mid = isinstance(layer, L.SeparableConv2D), C * layer.depth_multiplier
        bias = None if separable else layer.bias
        kernel = (layer.depthwise_kernel if separable else layer.kernel).numpy().reshape(KH, KW, 1, mid)
        pad = _pads(PT, H, OH, SH, (KH - 1) * DH + 1), _pads(PL, W, OW, SW, (KW - 1) * DW + 1)
        if one_d:
            conv = nn.Conv1d(C, mid, KW, stride=SW, dilation=DW, groups=C, bias=bias is not None)
            conv.weight, module = _t(kernel[0].transpose(2, 1, 0)), M.Conv1dNLC(conv, pad[1])
        else:
            conv = nn.Conv2d(C, mid, (KH, KW), stride=(SH, SW), dilation=(DH, DW), groups=C, bias=bias is not None)
            conv.weight, module = _t(kernel.transpose(3, 2, 0, 1)), M.Conv2dNHWC(conv, pad[1] + pad[0])
        if bias is not None:
            conv.bias = _t(bias.numpy())
        if separable:
            point = nn.Linear(mid, layer.filters, bias=layer.use_bias)  # a 1x1 conv on channels-last pixels
            point.weight = _t(layer.pointwise_kernel.numpy().reshape(mid, layer.filters).T)
            if layer.use_bias:
                point.bias = _t(layer.bias.numpy())
            module = nn.Sequential(module, point)
        return _with_activation(module, layer.activation)
    if isinstance(layer, L.AlphaDropout):
        return nn.AlphaDropout(layer.rate)  # torch's formula is Keras's
    if isinstance(layer, (L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D)):
        return M.ChannelsLast({3: nn.Dropout1d, 4: nn.Dropout2d, 5: nn.Dropout3d}[len(shape) + 1](layer.rate))
    if isinstance(layer, (L.UpSampling1D, L.UpSampling2D)):
        mode = getattr(layer, "interpolation", "nearest")
        scale = layer.size if one_d else tuple(float(s) for s in layer.size)
        kwargs = {"align_corners": False} if mode == "bilinear" else {}
        return M.ChannelsLast(nn.Upsample(scale_factor=scale, mode=mode, **kwargs))
    if isinstance(layer, (L.ZeroPadding1D, L.ZeroPadding2D, L.Cropping1D, L.Cropping2D)):
        H, W, C, OH, OW, PT, PL = layer._geometry((None,) + shape)
        if one_d:
            return M.ChannelsLast(nn.ZeroPad1d((PL, OW - W - PL)))
        return M.ChannelsLast(nn.ZeroPad2d((PL, OW - W - PL, PT, OH - H - PT)))  # negative amounts crop
    from pytrainc.interop.torch_export3d import convert_volumetric  # 3-D layers, Identity (session 10)

    return convert_volumetric(layer, shape)


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
    return _modules().Recurrent(rnn, layer.return_sequences, layer.go_backwards, layer.return_state)


def _check_several(call):
    """A call with several outputs converts when its module returns pytrainc's whole-call value
    (the outputs flattened side by side): the recurrent layers' and Bidirectional's return_state,
    with fixed shapes."""
    from pytrainc import layers as L

    layer = call._layer
    what = f"layer '{layer.name}' ({type(layer).__name__}) with several outputs"
    if not isinstance(layer, (L.SimpleRNN, L.LSTM, L.GRU, L.Bidirectional)):
        raise ValueError(
            "to_torch converts the several outputs of SimpleRNN, LSTM, GRU and Bidirectional "
            f"(return_state=True) only. Received: {what}"
        )
    if any(d is None for shape in _outputs.layout(call) for d in shape):
        raise ValueError(f"to_torch: {what} on variable-length sequences; build the model with a fixed length")


def _mask_reader(t, masked):
    """Records in `masked` whether tensor t carries a Keras mask (as pytrainc's PlanBuilder moves
    them: Embedding(mask_zero=True) makes one, a layer that supports masking hands its first input's
    on); returns t's layer when it reads a mask to compute its values (torch's module would not)."""
    from pytrainc import layers as L

    layer = t._layer
    first = bool(t._inputs) and masked.get(id(t._inputs[0]), False)
    recurrent = isinstance(layer, (L.SimpleRNN, L.LSTM, L.GRU, L.Bidirectional))
    if isinstance(layer, L.Embedding):
        masked[id(t)] = bool(layer.mask_zero)
    elif recurrent:
        masked[id(t)] = first and layer.return_sequences
    elif _outputs.is_call_output(t):
        masked[id(t)] = first and t._layer.index == 0
    else:
        masked[id(t)] = first and getattr(layer, "supports_masking", False)
    reads = (recurrent and len(t._inputs) == 1) or isinstance(layer, L.GlobalAveragePooling1D)
    return layer if first and reads else None


def _call_slice(tensor):
    out = tensor._layer
    return _modules().CallSlice(out._start, out._shape)


def to_torch(model):
    """Return a `torch.nn.Module` that computes what `model.predict` computes, with copies of its weights.

    A `Sequential` model becomes an `nn.Sequential`; a functional model a
    `pytrainc.interop.PytraincGraph`, whose `layers` hold one module per
    pytrainc layer (a shared layer is one module called twice). The module
    takes and returns pytrainc's channels-last layout (e.g. (N, H, W, C)
    images), and is returned in eval mode, as `predict` runs; call `.train()`
    to train it in PyTorch. A model with several inputs takes them as
    separate arguments, in order; with several outputs it returns a list. A
    recurrent layer or Bidirectional with return_state=True converts too (its
    outputs as pytrainc computes them, each a `CallSlice` of the call's
    value), and so does a call with initial_state.

    Args:
        model: A built pytrainc Model.

    Returns:
        A `torch.nn.Module` (float32 parameters).

    Raises:
        ImportError: if PyTorch is not installed.
        ValueError: for a layer without a PyTorch equivalent (the message names it), or one
            that reads a Keras mask (a recurrent layer or GlobalAveragePooling1D after
            Embedding(mask_zero=True)): the torch modules do not skip masked steps.

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
    layer_index = {id(layer): i for i, layer in enumerate(model._own_layers)}
    modules, nodes = [None] * len(layer_index), []
    value_of = {id(t): k for k, t in enumerate(graph["inputs"])}
    masked = {}
    for t in graph["order"]:
        if not t._inputs:
            continue
        reader = _mask_reader(t, masked)
        if reader is not None:
            raise ValueError(
                f"to_torch does not carry Keras masks: layer '{reader.name}' ({type(reader).__name__}) skips "
                "the steps an Embedding(mask_zero=True) masks, and its torch module would count them"
            )
        if getattr(t, "_several", False):
            _check_several(t)
        if _outputs.is_call_output(t):  # one output of a call with several: its slice of the call's value
            i = len(modules)
            modules.append(_call_slice(t))
        else:
            i = layer_index[id(t._layer)]
        if modules[i] is None:
            modules[i] = _convert_layer(t._layer, [p.sample_shape for p in t._inputs])
        nodes.append((i, [value_of[id(p)] for p in t._inputs]))
        value_of[id(t)] = len(graph["inputs"]) + len(nodes) - 1
    if isinstance(model, Sequential):
        flat = []
        for m in modules:
            flat.extend(m.children() if type(m) is torch.nn.Sequential else [m])
        module = torch.nn.Sequential(*flat)
    else:
        outputs = [value_of[id(t)] for t in graph["outputs"]]
        module = _modules().PytraincGraph(
            modules, nodes, outputs if len(outputs) > 1 else outputs[0], len(graph["inputs"])
        )
    return module.eval()
