"""Subclassed models (`class M(keras.Model)` whose `__init__` creates layers and whose `call`
composes them), as Keras 3's.

The model is built on first use (fit, evaluate, predict, build, or a call on an array) from the
data's per-sample shape: `call` runs once on a symbolic `Input` of that shape, the layers and
`pytrainc.ops` it uses record the same graph the functional API does, and the model then
compiles into a plan like a functional model (weights in one flat array, the epoch in C).
"""

import inspect

import numpy as np

from pytrainc.layers import _tracing
from pytrainc.layers.tensors import KerasTensor
from pytrainc.ops import _trace


def has_call(model):
    """True for a Model subclass that defines `call`."""
    from pytrainc.models.model import Model

    return getattr(type(model), "call", None) is not None and type(model).call is not getattr(Model, "call", None)


class _ModelContext:
    """The tracing context of a model's call (for error messages)."""

    def __init__(self, model):
        self.name = model.name
        self._trace_label = f"model '{model.name}'"


def _training_kwargs(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {"training": None} if "training" in params else {}


def build(model, sample_shape):
    """Traces model.call on an Input of per-sample shape sample_shape and sets the model's graph."""
    from pytrainc.layers import Input

    if model.built:
        return
    inp = Input(shape=tuple(int(d) for d in sample_shape))
    context = _ModelContext(model)
    _trace._TRACING.append(context)
    _trace._INPUTS.append([inp])
    kwargs = _training_kwargs(model.call)
    if kwargs:
        kwargs["training"] = flag = _tracing._Training()
    try:
        out = model.call(inp, **kwargs)
        if kwargs and flag.used:  # `if training:` in the call: its inference trace too
            context._tracing_inference = True  # layers may be given training=False in it
            out = _both_modes(model, inp, out, model.call(inp, training=False))
    finally:
        _trace._TRACING.pop()
        _trace._INPUTS.pop()
    if isinstance(out, (list, tuple)) and len(out) == 1:
        out = out[0]
    if not isinstance(out, KerasTensor):
        raise TypeError(
            f"The call of model '{model.name}' must return a tensor computed from its input with layers and "
            f"pytrainc.ops. Received: {type(out).__name__}"
        )
    if out is inp:
        raise ValueError(f"The call of model '{model.name}' returns its input unchanged: it has no layers to train")
    model._set_graph(inp, out)


def _nodes(out, stop):
    found, stack = {}, [out]
    while stack:
        t = stack.pop()
        if id(t) in found or t is stop or not isinstance(t, KerasTensor):
            continue
        found[id(t)] = t
        stack += list(t._inputs)
    return found


def _both_modes(model, inp, train, infer):
    """A call traced in both modes (it looks at `training`): the nodes of each trace run only in
    their mode (ops flagged train_only / infer_only, as a custom layer's two traces), and a
    `mode_select` picks the output, so fit trains the training branch and predict and evaluate
    run the inference branch, as Keras runs the Python call in each mode."""
    if not isinstance(train, KerasTensor) or not isinstance(infer, KerasTensor):
        return train  # the caller's check names what was returned
    if tuple(train.sample_shape) != tuple(infer.sample_shape):
        raise ValueError(
            f"The call of model '{model.name}' returns shape {train.shape} in training and {infer.shape} in "
            "inference: pytrainc needs one output shape in both modes"
        )
    a, b = _nodes(train, inp), _nodes(infer, inp)
    for nodes, other, mode in ((a, b, "train_only"), (b, a, "infer_only")):
        for key, t in nodes.items():
            if key not in other:
                t._mode_only = mode

    def emit(builder, in_bufs):
        out = builder.buffer(builder.sizes[in_bufs[0]])
        builder.op("mode_select", in_bufs, out)
        return out

    return _trace.symbolic("mode_select", tuple(train.sample_shape), [train, infer], emit)


def build_from_shape(model, input_shape):
    """model.build(input_shape), with or without the batch axis None."""
    if input_shape is None:
        raise ValueError(f"Model '{model.name}'.build needs an input_shape, e.g. (None, 8)")
    shape = tuple(input_shape)
    build(model, shape[1:] if shape and shape[0] is None else shape)


def call(model, inputs, training=None):
    """model(x) on an array: the predictions, as predict returns them (built from x if needed)."""

    if isinstance(inputs, KerasTensor):
        raise TypeError(
            f"Model '{model.name}' was called on a symbolic tensor: nesting a subclassed model in another "
            "model is not supported yet; call its layers there instead"
        )
    return call_on_data(model, inputs, training)


def call_on_data(model, inputs, training=None):
    """model(x) on arrays, as Keras 3's: the predictions (as predict returns them), built from x if needed."""
    single = not isinstance(inputs, (list, tuple, dict))
    x = np.asarray(inputs) if single else inputs
    if not model.built:
        if not single:
            raise ValueError(
                f"Model '{model.name}' is not built: build it (or fit it) before calling it on several inputs"
            )
        model._build_from_data(x.shape[1:])
    return model._call_on_arrays(x, training)
