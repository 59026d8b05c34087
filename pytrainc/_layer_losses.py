"""`Layer.add_loss(value)` inside a traced `call` (issue #9), as an op of the plan.

Keras 3 adds `ops.sum(value)` of every loss a layer added to the batch's total loss
(`Model.compute_loss`): the sum over the batch and all other axes. Traced ops work per sample,
so inside a layer's `call` a reduction over the batch axis, `ops.sum(x)` or `ops.mean(x)`,
gives the per-sample reduction over the other axes, marked as still to be summed (or averaged)
over the batch; a product with a number or a division by one keeps the mark. `add_loss` takes
such a value, or any per-sample tensor, and the plan's `add_loss` op (csrc/penalty.c) adds its
sum over the batch (divided by the batch size for a mean) to the loss, with the gradient.
Any other use of a batch reduction is refused with a message naming the layer and the op.
"""

import numpy as np

from pytrainc.ops import _trace

MARK = "_batch_reduced"  # attribute of a KerasTensor: "sum" or "mean" over the batch axis still to do


def in_layer_call():
    """Whether a layer's `call` (not a loss or a metric) is being traced."""
    from pytrainc.layers.core import Layer

    return isinstance(_trace.tracing_layer(), Layer)


def batch_reduced(op, per_sample, kind):
    """The per-sample part of a reduction over the batch axis, marked (`kind`: 'sum' or 'mean')."""
    out = _trace.symbolic(op, tuple(per_sample.sample_shape), [per_sample], lambda builder, bufs: bufs[0])
    setattr(out, MARK, kind)
    return out


def keep_mark(result, x, linear):
    """`result` of a scalar op on `x`: marked as `x` is when the op is linear (a product, or a division
    by a number)."""
    kind = getattr(x, MARK, None)
    if kind is not None and linear:
        setattr(result, MARK, kind)
    return result


def add(layer, value):
    """`layer.add_loss(value)`: records a traced value, or keeps an eager one in `layer.losses`."""
    if not _trace.is_symbolic(value):
        layer.__dict__.setdefault("_eager_losses", []).append(np.float32(np.sum(np.asarray(value, np.float32))))
        return
    if getattr(value, "_loss_part", None) is not None:
        value = value._loss_part  # a batch reduction: its add_loss form
    pending = layer.__dict__.get("_pending_losses")
    if pending is None or _trace.tracing_layer() is not layer:
        raise ValueError(
            f"Layer '{layer.name}': add_loss takes a tensor computed in this layer's call from its inputs. "
            f"Received one outside its call: {value}"
        )
    pending.append(value)


def check(layer, placeholders, out, order, losses):
    """Refuses a batch reduction used other than through numbers into add_loss; returns the losses as
    [(value, its graph, per_batch)]."""
    from pytrainc.layers import _tracing

    def refuse(reduced):
        return ValueError(
            f"{reduced._layer.name} (in layer '{layer.name}') reduces over the batch axis: traced ops work per "
            "sample, and a sum or mean over the batch can only be passed to self.add_loss, scaled by a number "
            "(e.g. self.add_loss(0.1 * ops.sum(x))). Reduce over the sample axes, e.g. axis=-1."
        )

    def marked_input(node):
        return next((p for p in node._inputs if getattr(p, MARK, None) is not None), None)

    if getattr(out, MARK, None) is not None:
        raise refuse(out)
    for node in order:
        if marked_input(node) is not None:
            raise refuse(marked_input(node))
    traced = []
    for value in losses:
        graph = _tracing._graph(layer, value, placeholders)
        for node in graph:
            if getattr(node, MARK, None) is None and marked_input(node) is not None:
                raise refuse(marked_input(node))
        # A per-batch value (e.g. ops.square(ops.mean(x))) fills every row: its mean over them, once.
        traced.append((value, graph, getattr(value, MARK, None) == "mean" or value._per_batch))
    return traced


def emit(builder, losses, bufs):
    """The add_loss ops, after the layer's graph (bufs: buffers of the tensors emitted so far)."""
    for value, graph, per_batch in losses:
        _trace.emit_nodes(builder, graph, bufs)
        buf = bufs[id(value)]
        builder.op("add_loss", [buf], buf, per_batch=int(per_batch), scale=1.0)
