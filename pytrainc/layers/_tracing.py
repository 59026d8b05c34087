"""Tracing a layer's `call` once on symbolic inputs, and emitting the recorded ops into a plan.

A `Layer` subclass that defines `call` (and `Lambda`) is traced when it is first called on a
symbolic tensor: `call` runs once on placeholder `KerasTensor`s, every `pytrainc.ops` function
and every sublayer it uses records a node, and the layer keeps that graph. When the model's
plan is built, the layer emits the graph's nodes in order (primitive ops, fused ops of the
sublayers); the epoch then runs in C with no Python per batch.
"""

import inspect

from pytrainc import _layer_losses, _weight_updates
from pytrainc.layers import _shapes, _traced_masks
from pytrainc.layers.core import KerasTensor, Layer, _with_batch
from pytrainc.ops import _trace


def _key(shapes):
    return tuple(tuple(s) for s in shapes)


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class _Training:
    """The `training` argument of a traced call that was not given one: true (the training trace), and
    it notes whether the call looked at it, e.g. `if training:`. When it did, the call is traced again
    with training=False and the plan runs each trace in its mode (the `mode_select` op)."""

    def __init__(self):
        self.used = False

    def __bool__(self):
        self.used = True
        return True

    def __eq__(self, other):
        self.used = True
        return other is True or other == 1

    __hash__ = object.__hash__

    def __repr__(self):
        return "True"


def check_training(layer, tracer, training):
    """A built-in layer called inside a traced call runs in the plan's mode: `training=training`
    (the traced call's own argument) or None follow it; a fixed mode (e.g. Monte Carlo dropout's
    `training=True`) would be ignored silently, so it is refused."""
    inference = getattr(tracer, "_tracing_inference", False)
    if training is None or isinstance(training, _Training) or (inference and training is False):
        return
    raise NotImplementedError(
        f"Layer '{layer.name}' was called with training={training!r} inside the call of layer '{tracer.name}': "
        "in a traced call pytrainc runs built-in layers in the model's mode (pass the call's own `training` "
        "argument, or none); a fixed mode such as Monte Carlo dropout's training=True is not supported yet"
    )


def _run_call(layer, inputs, args, kwargs, training=None, compute_mask=False, mask=None):
    """layer.call traced on placeholders; with compute_mask, (output, the layer's compute_mask of the
    inputs and mask), both recorded in the same tracing context."""
    if _accepts(layer.call, "training") and isinstance(kwargs.get("training", training), (_Training, type(None))):
        kwargs = {**kwargs, "training": training}
    _trace._TRACING.append(layer)
    _trace._INPUTS.append(list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
    outer, layer._pending_losses = layer.__dict__.get("_pending_losses"), []  # what add_loss records
    outer_assigns, layer._pending_assigns = layer.__dict__.get("_pending_assigns"), []  # what assign records
    outer_assigned, layer._assigned = layer.__dict__.get("_assigned"), {}
    layer._tracing_inference = training is False
    try:
        out = layer.call(inputs, *args, **kwargs)
        return (out, layer.compute_mask(inputs, mask)) if compute_mask else out
    finally:
        _trace._TRACING.pop()
        _trace._INPUTS.pop()
        layer._added_losses, layer._pending_losses = layer._pending_losses, outer
        layer._recorded_assigns, layer._pending_assigns = layer._pending_assigns, outer_assigns
        layer._assigned, layer._tracing_inference = outer_assigned, False


def _graph(layer, out, placeholders):
    """Nodes from the placeholders to out, parents first; refuses tensors from outside the call."""
    order, seen, ph = [], set(), {id(p) for p in placeholders}
    stack = [(out, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in ph:
            continue
        if not node._inputs:
            label = getattr(layer, "_trace_label", f"layer '{layer.name}'")
            raise ValueError(
                f"The call of {label} uses a symbolic tensor {node} that is not one of its "
                "inputs (a tensor from outside the layer): pass it as an input instead."
            )
        stack.append((node, True))
        for parent in reversed(node._inputs):
            stack.append((parent, False))
    return order


def call(layer, inputs, args, kwargs):
    """`layer(inputs)` for a traced layer: records the trace once per input shape."""
    multi = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if multi else [inputs]
    symbolic = [isinstance(t, KerasTensor) for t in tensors]
    if not any(symbolic):  # eager: the ops run on the arrays through the C kernels
        import numpy as np

        shapes = [tuple(np.shape(t))[1:] for t in tensors]
        layer._build_for(shapes if multi else shapes[0])
        layer._eager_losses = []  # Keras clears a layer's losses at each call
        out = layer.call(inputs, *args, **kwargs)
        used = [v for v in _attribute_layers(layer) if v.built]  # Keras tracks the layers it holds
        layer._sublayers = list(dict.fromkeys(getattr(layer, "_sublayers", []) + used))
        return out
    if not all(symbolic):
        raise TypeError(f"Layer '{layer.name}' was called on a mix of symbolic tensors and arrays")
    for v in list(args) + list(kwargs.values()):
        if isinstance(v, KerasTensor):
            raise ValueError(
                f"Layer '{layer.name}': symbolic tensors must be passed as the inputs (the first argument), "
                "e.g. layer([x, y]). Received one as an extra argument."
            )
    shapes = [tuple(t.sample_shape) for t in tensors]
    layer._build_for(shapes if multi else shapes[0])
    if _shapes.has_none(shapes):  # traced on each concrete graph's shapes (Model._concrete_graph)
        out_shape = _probed_shape(layer, shapes, multi, args, kwargs)
    else:
        key = _key(shapes)
        if key not in layer.__dict__.get("_traces", {}):
            _traced_masks.record_forms(layer, key, shapes, multi, args, kwargs, record)
        out_shape = _traced_masks.any_trace(layer, key)[1].sample_shape
    return KerasTensor(out_shape, layer=layer, inputs=tensors)


def _attribute_layers(layer):
    """The layers held in layer's attributes (directly or in lists, tuples and dicts), in order."""
    found = []
    for value in vars(layer).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        found += [v for v in items if isinstance(v, Layer) and v is not layer]
    return found


def _probed_shape(layer, shapes, multi, args=(), kwargs=None):
    """The output's per-sample shape for input shapes with None axes (a variable-length sequence):
    the call traced on two probe sizes, the axes that differ None (layers/_shapes.py). The plan
    itself runs the trace of each concrete length, made when the model's concrete graph calls the
    layer again."""
    outs = []
    for size in _shapes._PROBES:
        probe = [_shapes._probe(s, size) for s in shapes]
        key = _key(probe)
        if key not in layer.__dict__.get("_traces", {}):
            _traced_masks.record_forms(layer, key, probe, multi, args, kwargs, record)
        outs.append(tuple(_traced_masks.any_trace(layer, key)[1].sample_shape))
    if len(outs[0]) != len(outs[1]):
        raise ValueError(
            f"The call of layer '{layer.name}' returns outputs of different ranks for inputs of different "
            f"lengths ({outs[0]} and {outs[1]}): pytrainc needs one output rank per input rank"
        )
    return _shapes._merge(outs[0], outs[1])


def record(layer, key, placeholders, multi=True, args=(), kwargs=None, masked=False):
    """Traces `layer.call` once on placeholders and keeps the graph as layer._traces[key]
    (with the sublayers and constants it uses, and the losses it adds); a layer with several call
    forms (e.g. with and without masks) records one trace per form under its own key."""
    traces = layer.__dict__.setdefault("_traces", {})
    flag = _Training()
    traces[key] = _record_one(layer, placeholders, multi, args, kwargs, flag, masked)
    if flag.used:  # the call depends on `training`: its inference trace too
        others = [KerasTensor(p.sample_shape) for p in placeholders]
        inference = _record_one(layer, others, multi, args, kwargs, False, masked)
        layer.__dict__.setdefault("_inference_traces", {})[key] = inference
    else:
        layer.__dict__.get("_inference_traces", {}).pop(key, None)
    return traces[key]


def _record_one(layer, placeholders, multi, args, kwargs, training, masked=False):
    """One trace of layer.call in one mode: (placeholders, out, order, losses, assigns, mask), where
    mask is the graph of compute_mask's output, (tensor, order), or None. In the masked form the
    call gets `mask=`, one more placeholder (layers/_traced_masks.py)."""
    kwargs, inputs, mask_in = dict(kwargs or {}), list(placeholders), None
    if masked:
        mask_in = _traced_masks.placeholder(placeholders[0])
        placeholders = inputs + [mask_in]
        if _traced_masks.takes_mask(layer):
            kwargs["mask"] = mask_in
    computes = _traced_masks.overrides_compute_mask(layer)
    out = _run_call(layer, inputs if multi else inputs[0], args, kwargs, training, computes, mask_in)
    out, mask_out = out if computes else (out, None)
    if isinstance(out, (list, tuple)):
        raise ValueError(f"The call of layer '{layer.name}' returned {len(out)} tensors: one output for now")
    if _trace.is_variable(out):
        raise ValueError(
            f"The call of layer '{layer.name}' returned its weight '{out.name}' of shape {tuple(out.shape)}: a "
            "layer's output keeps the batch axis, one value per sample (a weight is the same for every sample)"
        )
    if not isinstance(out, KerasTensor):
        raise TypeError(
            f"The call of layer '{layer.name}' must return a tensor computed from its inputs with "
            f"pytrainc.ops. Received: {type(out).__name__}"
        )
    if out._per_batch:
        raise ValueError(
            f"The call of layer '{layer.name}' returned a per-batch tensor of shape {out.shape} (a reduction over "
            "the batch axis, or a weight): a layer's output keeps the batch axis, one value per sample"
        )
    order = _graph(layer, out, placeholders)
    mask = _traced_masks.check_output(layer, mask_out, out)
    mask = None if mask is None else (mask, _graph(layer, mask, placeholders))
    losses = _layer_losses.check(layer, placeholders, out, order, layer._added_losses)
    assigns = [(v, value, _graph(layer, value, placeholders)) for v, value in layer._recorded_assigns]
    sublayers, constants = [], []
    graphs = [node for _, graph, _ in losses for node in graph] + [node for _, _, graph in assigns for node in graph]
    graphs += mask[1] if mask else []
    for t in order + graphs:
        node = t._layer
        if isinstance(node, Layer):
            if all(s is not node for s in sublayers):
                sublayers.append(node)
            constants += node._hidden_constants()
        else:
            constants += node._constants
    layer._sublayers = list(dict.fromkeys(getattr(layer, "_sublayers", []) + sublayers))
    layer._constants = list(dict.fromkeys(getattr(layer, "_constants", []) + constants))
    return (placeholders, out, order, losses, assigns, mask)


def output_shape(layer, input_shape):
    """compute_output_shape from the trace (input_shape with the batch axis)."""
    multi = isinstance(input_shape, list)
    shapes = [tuple(s)[1:] for s in input_shape] if multi else [tuple(input_shape)[1:]]
    if _shapes.has_none(shapes):
        layer._build_for(shapes if multi else shapes[0])
        return _with_batch(_probed_shape(layer, shapes, multi))
    trace = getattr(layer, "_traces", {}).get(_key(shapes))
    if trace is None:
        placeholders = [KerasTensor(s) for s in shapes]
        layer._build_for(shapes if multi else shapes[0])
        return _run_call(layer, placeholders if multi else placeholders[0], (), {}).shape
    return _with_batch(trace[1].sample_shape)


class _LossContext:
    """The tracing context of a loss or a metric function (for error messages)."""

    def __init__(self, loss, what="loss"):
        self.name = loss.name
        self._trace_label = f"{what} '{loss.name}'"


def trace_loss(loss, out_shape, what="Loss", y_shape=None, call=None):
    """Traces `loss.call(y_true, y_pred)` (or `call`) once for predictions of per-sample shape
    out_shape and targets of y_shape (None: out_shape) (a loss, or a metric function: what names it
    in messages)."""
    traces = loss.__dict__.setdefault("_traces", {})
    key = tuple(out_shape) if y_shape is None else (tuple(y_shape), tuple(out_shape))
    if key not in traces:
        y_true, y_pred = KerasTensor(out_shape if y_shape is None else y_shape), KerasTensor(out_shape)
        _trace._TRACING.append(_LossContext(loss, what.lower()))
        _trace._INPUTS.append([y_pred])
        try:
            out = (loss.call if call is None else call)(y_true, y_pred)
        finally:
            _trace._TRACING.pop()
            _trace._INPUTS.pop()
        if not isinstance(out, KerasTensor):
            raise TypeError(
                f"{what} '{loss.name}' must return per-sample values computed from y_true and y_pred "
                f"with pytrainc.ops. Received: {type(out).__name__}"
            )
        if len(out.shape) > len(y_pred.shape):
            raise ValueError(
                f"{what} '{loss.name}' returned shape {out.shape}, of higher rank than y_pred {y_pred.shape}: "
                "expected per-sample losses, e.g. (None,) from ops.mean(..., axis=-1)"
            )
        order = _graph(_LossContext(loss, what.lower()), out, [y_true, y_pred])
        loss._constants = [c for t in order for c in getattr(t._layer, "_constants", ())]
        traces[key] = ((y_true, y_pred), out, order)
    return traces[key]


def emit_loss(loss, builder, out_buf, out_shape, y_buf=None, what="Loss", y_shape=None, call=None):
    """The traced loss's (or metric's) ops after the model's: returns (buffer of its per-sample
    values, targets' buffer), with a new targets' buffer unless y_buf is given."""
    (y_true, y_pred), out, order = trace_loss(loss, out_shape, what, y_shape, call)
    import math

    if y_buf is None:
        y_buf = builder.buffer(math.prod(y_true.sample_shape))
    bufs = {id(y_true): y_buf, id(y_pred): out_buf}
    for t in order:
        bufs[id(t)] = t._layer._emit(builder, [bufs[id(p)] for p in t._inputs], [p.sample_shape for p in t._inputs])
    return bufs[id(out)], y_buf


def _emit_one(builder, trace, in_bufs):
    """The trace's ops; returns (output buffer, compute_mask's buffer or None, the mask the
    output tensor carries or None).

    Masks move inside the call as Keras 3 moves them between tensors: the call's inputs carry
    their masks, a layer called in it hands them on (PlanBuilder.emit), an op drops them. So an
    Embedding(mask_zero=True) inside the call masks the LSTM after it, and the call's output
    carries a mask when a layer that set one produced it."""
    placeholders, out, order, losses, assigns, mask = trace
    bufs = {id(p): b for p, b in zip(placeholders, in_bufs)}
    outer = builder.input_masks, builder.output_mask
    masks = {id(p): m for p, m in zip(placeholders, outer[0]) if m is not None}
    try:
        for t in order + (mask[1] if mask else []):
            if id(t) in bufs:
                continue
            if isinstance(t._layer, Layer):
                for p in t._inputs:  # a layer reads its inputs row by row
                    bufs[id(p)] = _trace.rows_of(builder, bufs[id(p)])
                bufs[id(t)] = builder.emit(t, bufs, masks)
            else:  # an op: its output carries no mask
                bufs[id(t)] = t._layer._emit(
                    builder, [bufs[id(p)] for p in t._inputs], [p.sample_shape for p in t._inputs]
                )
    finally:
        builder.input_masks, builder.output_mask = outer
    for value, graph, _ in losses:  # add_loss sums a value's rows
        _trace.emit_nodes(builder, graph, bufs)
        bufs[id(value)] = _trace.rows_of(builder, bufs[id(value)])
    _layer_losses.emit(builder, losses, bufs)
    _weight_updates.emit(builder, assigns, bufs)
    return bufs[id(out)], (bufs[id(mask[0])] if mask else None), masks.get(id(out))


def emit(layer, builder, in_bufs, in_shapes, key=None):
    """The traced graph's ops in order (the trace of in_shapes, or of key); returns the output buffer.
    A call that depends on `training` emits its training trace (ops flagged train_only) and its
    inference trace (infer_only), and a `mode_select` of their outputs."""
    if key is None:
        key, in_bufs = _traced_masks.form(layer, builder, _key(in_shapes), in_bufs)
    inference = layer.__dict__.get("_inference_traces", {}).get(key)
    start = builder.n_ops
    out, mask, carried = _emit_one(builder, layer._traces[key], in_bufs)
    if inference is not None:
        for i in range(start, builder.n_ops):
            builder.set_flag(i, "train_only")
        middle = builder.n_ops
        other, other_mask, other_carried = _emit_one(builder, inference, in_bufs)
        for i in range(middle, builder.n_ops):
            builder.set_flag(i, "infer_only")
        out = _select(builder, out, other)
        if (mask is None) != (other_mask is None) or (carried is None) != (other_carried is None):
            raise ValueError(
                f"The call of layer '{layer.name}' returns a masked output in one of training and inference only"
            )
        mask = None if mask is None else _select(builder, mask, other_mask)
        carried = None if carried is None else _select(builder, carried, other_carried)
    # Keras's Layer.__call__: an output that already carries a mask keeps it; else compute_mask's.
    if carried is not None:
        builder.output_mask = carried
    elif _traced_masks.overrides_compute_mask(layer):
        builder.output_mask = mask
    return out


def _select(builder, train, infer):
    selected = builder.buffer(builder.sizes[train])
    builder.op("mode_select", [train, infer], selected)
    return selected
