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
    "ChannelsLast",
    "CallSlice",
    "BidirectionalRNN",
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
        every step or the last one, from Keras's initial states ([h, c] or [h], each (N, units)) when
        given. With return_state it returns pytrainc's whole-call value: the output and the final
        states flattened side by side, (N, size); a `CallSlice` per output takes its part."""

        def __init__(self, rnn, return_sequences, go_backwards, return_state=False):
            super().__init__()
            self.rnn, self.return_sequences, self.go_backwards = rnn, return_sequences, go_backwards
            self.return_state = return_state

        def forward(self, x, *states):
            hx = None
            if states:  # torch's (layers, N, units) per state
                hx = tuple(s.unsqueeze(0) for s in states)
                hx = hx if isinstance(self.rnn, nn.LSTM) else hx[0]
            y, last = self.rnn(torch.flip(x, [1]) if self.go_backwards else x, hx)
            out = y if self.return_sequences else y[:, -1]
            if not getattr(self, "return_state", False):
                return out
            finals = list(last) if isinstance(self.rnn, nn.LSTM) else [last]
            return torch.cat([out.reshape(len(out), -1)] + [h[0] for h in finals], dim=1)

    class BidirectionalRNN(nn.Module):
        """Keras's Bidirectional: two `Recurrent` modules on the same input, the backward one's
        sequence flipped back to the input's order, merged ('concat', 'sum', 'mul', 'ave'); with
        return_state, pytrainc's whole-call value [merged output, forward states, backward states]."""

        def __init__(self, forward_rnn, backward_rnn, merge_mode, return_state):
            super().__init__()
            self.forward_rnn, self.backward_rnn = forward_rnn, backward_rnn
            self.merge_mode, self.return_state = merge_mode, return_state

        def _direction(self, module, x):
            y, last = module.rnn(torch.flip(x, [1]) if module.go_backwards else x)
            states = [h[0] for h in (last if isinstance(module.rnn, nn.LSTM) else [last])]
            return y, states

        def forward(self, x):
            (yf, sf), (yb, sb) = self._direction(self.forward_rnn, x), self._direction(self.backward_rnn, x)
            if self.forward_rnn.return_sequences:
                yb = torch.flip(yb, [1])
            else:
                yf, yb = yf[:, -1], yb[:, -1]
            if self.merge_mode == "concat":
                out = torch.cat([yf, yb], dim=-1)
            elif self.merge_mode == "sum":
                out = yf + yb
            elif self.merge_mode == "mul":
                out = yf * yb
            else:
                out = (yf + yb) / 2
            if not self.return_state:
                return out
            return torch.cat([out.reshape(len(out), -1)] + sf + sb, dim=1)

        def extra_repr(self):
            return f"merge_mode={self.merge_mode!r}, return_state={self.return_state}"

    class CallSlice(nn.Module):
        """Output `index` of a layer call with several outputs: columns [start, start + size) of the
        call's flat value, shaped (N, *shape) (pytrainc's CallOutput)."""

        def __init__(self, start, shape):
            super().__init__()
            self.start, self.shape = int(start), tuple(int(d) for d in shape)

        def forward(self, x):
            size = math.prod(self.shape)
            return x[:, self.start : self.start + size].reshape(len(x), *self.shape)

        def extra_repr(self):
            return f"start={self.start}, shape={self.shape}"

    class PytraincGraph(nn.Module):
        """A functional pytrainc model as a module: `layers[i]` runs pytrainc's layer i, and
        `nodes` lists each call as (layer index, indices of its input values); values 0 to
        n_inputs - 1 are the inputs (`forward(x0, x1, ...)`). `output` is one value's index, or
        a list of them: forward then returns a list of tensors, as the model's predict."""

        def __init__(self, layers, nodes, output, n_inputs=1):
            super().__init__()
            self.layers = nn.ModuleList(layers)
            self.nodes = [(int(i), tuple(int(p) for p in parents)) for i, parents in nodes]
            self.output = [int(o) for o in output] if isinstance(output, (list, tuple)) else int(output)
            self.n_inputs = int(n_inputs)

        def forward(self, *xs):
            if len(xs) != self.n_inputs:
                raise ValueError(f"This module takes {self.n_inputs} input tensor(s). Received: {len(xs)}")
            values = list(xs)
            for i, parents in self.nodes:
                values.append(self.layers[i](*[values[p] for p in parents]))
            if isinstance(self.output, list):
                return [values[o] for o in self.output]
            return values[self.output]

    class ChannelsLast(nn.Module):
        """A channels-first torch module (ConvTranspose2d, Upsample, ZeroPad2d, ...) on channels-last tensors."""

        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, x):
            order = (0, x.dim() - 1) + tuple(range(1, x.dim() - 1))
            back = (0,) + tuple(range(2, x.dim())) + (1,)
            return self.module(x.permute(*order)).permute(*back)

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


# The two directions live in their own modules; they import the helpers above.
from pytrainc.interop.torch_export import to_torch  # noqa: E402
from pytrainc.interop.torch_import import from_torch  # noqa: E402
