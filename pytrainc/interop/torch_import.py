"""PyTorch -> pytrainc: `from_torch(module, input_shape)` builds a pytrainc model from an
`nn.Sequential` (see `pytrainc.interop` for the layouts and weight conventions)."""

import math

import numpy as np

from pytrainc.interop import _KERAS_DEFAULTS, _SIMPLE_ACTIVATIONS, _torch


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
