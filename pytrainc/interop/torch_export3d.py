"""to_torch for the 3-D layers and Identity (issue #11): channels-first torch modules wrapped in
ChannelsLast, pads in F.pad's order (left, right, top, bottom, front, back)."""

import math

from pytrainc.interop import _modules, _torch
from pytrainc.interop.torch_export import _pads, _t, _with_activation


def _pad3d(before, sizes, outs, strides, spans):
    """F.pad's (left, right, top, bottom, front, back) from the (depth, height, width) amounts before."""
    pairs = [_pads(b, n, o, s, k) for b, n, o, s, k in zip(before, sizes, outs, strides, spans)]
    return pairs[2] + pairs[1] + pairs[0]


def convert_volumetric(layer, shape):
    """The torch module of a 3-D layer or Identity called on sample shape `shape`, or None."""
    from pytrainc import layers as L

    nn = _torch().nn
    M = _modules()
    if isinstance(layer, L.Identity):
        return nn.Identity()
    if isinstance(layer, (L.GlobalAveragePooling3D, L.GlobalMaxPooling3D)):
        return M.GlobalPool("max" if isinstance(layer, L.GlobalMaxPooling3D) else "avg", layer.keepdims)
    if isinstance(layer, L.Conv3D):
        g = layer._geometry((None,) + shape)
        kernel, strides, dilation = layer.kernel_size, layer.strides, layer.dilation_rate
        conv = nn.Conv3d(g["c"], layer.filters, kernel, stride=strides, dilation=dilation, bias=layer.use_bias)
        conv.weight = _t(layer.kernel.numpy().transpose(4, 3, 0, 1, 2))  # (kd, kh, kw, in, out) -> (out, in, k...)
        if layer.use_bias:
            conv.bias = _t(layer.bias.numpy())
        spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        pad = _pad3d((g["pf"], g["pt"], g["pl"]), shape[:3], (g["od"], g["oh"], g["ow"]), strides, spans)
        return _with_activation(M.ChannelsLast(nn.Sequential(nn.ZeroPad3d(pad), conv)), layer.activation)
    if isinstance(layer, (L.MaxPooling3D, L.AveragePooling3D)):
        _, outs, before = layer._geometry((None,) + shape)
        pad = _pad3d(before, shape[:3], outs, layer.strides, layer.pool_size)
        if isinstance(layer, L.AveragePooling3D):
            if any(pad):
                raise ValueError(
                    f"to_torch: AveragePooling3D '{layer.name}' with padding='same' averages real cells only; "
                    "torch's AvgPool3d has no such padding here. Use padding='valid'"
                )
            return M.ChannelsLast(nn.AvgPool3d(layer.pool_size, layer.strides))
        pool = nn.MaxPool3d(layer.pool_size, layer.strides)
        return M.ChannelsLast(nn.Sequential(nn.ConstantPad3d(pad, -math.inf), pool) if any(pad) else pool)
    if isinstance(layer, L.UpSampling3D):
        return M.ChannelsLast(nn.Upsample(scale_factor=tuple(float(s) for s in layer.size), mode="nearest"))
    if isinstance(layer, (L.ZeroPadding3D, L.Cropping3D)):
        _, _, (f, t, left) = layer._geometry((None,) + shape)
        (_, b), (_, bo), (_, r) = layer._amounts()
        return M.ChannelsLast(nn.ZeroPad3d((left, r, t, bo, f, b)))  # negative amounts crop
    return None
