"""Compiling a model into its C plan: the ops its layers emit, the loss heads (with a final
sigmoid/softmax fused into the loss when nothing else reads it), traced losses and metrics,
regularizers, the optimizer's state, and the logs read back from a pass's sums.

`Trainer` inherits `PlanCompiler`; fit/evaluate/predict call `_ensure_plan(batch_size)` before
each engine call.
"""

import math

import numpy as np

from pytrainc import _C
from pytrainc import metrics as metrics_module
from pytrainc._plan import PlanBuilder


def _width(sample_shape):
    """The last axis the loss reduces over: 1 for outputs of one value per sample (shape ())."""
    return sample_shape[-1] if sample_shape else 1


class PlanCompiler:
    """The model -> plan half of `Trainer` (needs the graph, `_heads` and the flat weights)."""

    def _loss_setup(self, builder, head, out_buf, consumed, fused_logits):
        """Choose the loss kind and buffer of one head, fusing a final sigmoid/softmax into it
        when nothing else in the model reads the activation's output."""
        loss = head.loss
        if loss.from_logits:
            if loss._fused is None:
                raise ValueError(f"Loss {loss.name!r} does not take logits (from_logits=True).")
            return loss._fused, out_buf, None
        op_index = builder.producer.get(out_buf)
        if op_index is not None and loss._fused and out_buf not in consumed:
            op = builder.row(op_index)
            wants = loss._fuses
            # Only when the activation's rows are the loss's rows: a Flatten or Reshape
            # after a softmax reuses its buffer with another last axis.
            if (
                op.name == "activation"
                and op.iarg("kind") == _C.ACTIVATIONS[wants]
                and op.iarg("width") == _width(self._graph["outputs"][head.index].sample_shape)
                and op.inputs[0] not in fused_logits
            ):
                return loss._fused, op.inputs[0], op_index
        return loss._kind, out_buf, None

    def _traced_metrics(self, head):
        """A head's compiled metric functions (MeanMetricWrapper), traced into the plan."""
        return [m for m in head.metric_specs + head.weighted_specs if isinstance(m, metrics_module.MeanMetricWrapper)]

    def _state_metrics(self, head):
        """A head's compiled Metric subclasses with state (update_state traced into the plan)."""
        return [m for m in head.metric_specs + head.weighted_specs if m._stateful()]

    def _state_y_shape(self, metric, head):
        y_shapes = getattr(self, "_y_sample_shapes", None)
        if y_shapes is None:
            raise ValueError(f"Metric '{metric.name}' traces update_state on the targets: call fit or evaluate first")
        return y_shapes[head.index]

    def _ensure_plan(self, batch_size):
        from pytrainc import _metric_state
        from pytrainc.layers import _tracing

        g = self._graph
        heads = self._heads if self.compiled else []
        for head in heads:  # a reduction the plan cannot run ('none') fails before any tracing
            head.loss._param_array()
        for head in heads:  # traced first: their constants join the flat parameters
            out_shape = g["outputs"][head.index].sample_shape
            for m in self._state_metrics(head):
                _metric_state.trace_update(m, self._state_y_shape(m, head), out_shape)
            if head.loss._traced:
                _tracing.trace_loss(head.loss, out_shape)
            for m in self._traced_metrics(head):
                if head.loss.sparse:
                    raise ValueError(
                        f"Metric function {m.name!r}: with a sparse loss ({head.loss.name}) the targets are "
                        "class ids; metric functions need targets of the output's shape"
                    )
                _tracing.trace_loss(m, out_shape, "Metric")
        self._pack()
        if self._plan is None:
            builder = PlanBuilder(self._offsets)
            in_bufs = [builder.buffer(math.prod(t.sample_shape)) for t in g["inputs"]]
            bufs = {id(t): b for t, b in zip(g["inputs"], in_bufs)}
            op_layers = []  # per op, the layer that emitted it (for errors the engine reports by op)
            for t in g["order"]:
                if t._inputs:
                    bufs[id(t)] = builder.emit(t, bufs)  # with Keras's mask propagation
                    op_layers += [t._layer] * (builder.n_ops - len(op_layers))
            self._op_layers = op_layers
            out_bufs = [bufs[id(t)] for t in g["outputs"]]
            if len(set(out_bufs)) != len(out_bufs):
                raise ValueError(
                    "Two outputs of the model hold the same values (an output that is a Reshape or Flatten "
                    "of another): pytrainc needs each output computed by its own layer"
                )
            consumed = {b for i in range(builder.n_ops) for b in builder.row(i).inputs}
            setups, fused_logits = [], set()
            for head in heads:
                out_buf, out_shape = out_bufs[head.index], g["outputs"][head.index].sample_shape
                traced = y_buf = setup = None
                if head.loss._traced:
                    traced = _tracing.emit_loss(head.loss, builder, out_buf, out_shape)
                    y_buf = traced[1]
                for m in self._traced_metrics(head):
                    m._k, y_buf = _tracing.emit_loss(m, builder, out_buf, out_shape, y_buf, "Metric")
                for m in self._state_metrics(head):
                    y_shape = self._state_y_shape(m, head)
                    m._k, y_buf = _metric_state.emit(m, builder, out_buf, y_shape, out_shape, y_buf)
                if traced is None:
                    setup = self._loss_setup(builder, head, out_buf, consumed, fused_logits)
                    if setup[2] is not None:
                        builder.set_flag(setup[2], "no_backward")
                        fused_logits.add(setup[1])
                setups.append((traced, setup, y_buf))
            ops, fargs, sizes = builder.tables()
            plan = _C.Plan(
                ops,
                fargs,
                sizes,
                in_bufs[0],
                out_bufs[0],
                self._params,
                self._grads,
                max(int(batch_size), 1),
                self._n_trainable,
            )
            if len(in_bufs) > 1:
                plan.set_inputs(np.array(in_bufs, dtype=np.int64))
            if len(out_bufs) > 1:
                plan.set_outputs(np.array(out_bufs, dtype=np.int64))
            # Dropout layers' generators move into one table the engine advances in
            # place; each layer keeps a view of its row (saved for exact resume).
            rngs = np.zeros((len(builder.rng_layers), 4), dtype=np.uint64)
            for i, layer in enumerate(builder.rng_layers):
                rngs[i] = layer.rng_state
                layer.rng_state = rngs[i]
            plan.set_rngs(rngs)
            for head, (traced, setup, y_buf) in zip(heads, setups):
                width = _width(g["outputs"][head.index].sample_shape)
                if traced is not None:
                    plan.set_traced_loss(traced[0], traced[1], width, head.index, head.loss_weight)
                    plan.set_loss_params(head.loss._param_array(), head.index)  # its reduction
                else:
                    plan.set_loss(setup[0], setup[1], width, head.index, head.loss_weight)
                    plan.set_loss_params(head.loss._param_array(), head.index)
                    if y_buf is not None:
                        plan.set_targets_buf(y_buf, head.index)
            if self.compiled:
                # Keras 3 counts the regularizers of trainable weights only (Layer.losses).
                regs = [
                    (self._offsets[id(v)], v._value.size, v.regularizer.l1, v.regularizer.l2)
                    for v in self._variables()
                    if v.regularizer is not None and v.trainable
                ]
                plan.set_regularizers(
                    np.array([r[:2] for r in regs], dtype=np.int64).reshape(-1, 2),
                    np.array([r[2:] for r in regs], dtype=np.float64).reshape(-1, 2),
                )
                self.optimizer._attach(plan, self._n_trainable, self._trainable_slices())
            self._plan = plan
            self._plan_metrics = None
        self._plan.reserve(int(batch_size))
        if self.compiled and self._metrics is not None and self._plan_metrics is not self._metrics:
            rows, row_heads = [], []
            for m, (h, unweighted, _) in zip(self._metrics, self._metric_info):
                for row in m._plan_rows():  # a Metric subclass has one row per state element
                    rows.append(row)
                    row_heads.append((h, unweighted))
            if len(rows) > _C.MAX_METRICS:
                raise ValueError(
                    f"At most {_C.MAX_METRICS} metric slots (a state element takes one). Received: {len(rows)}"
                )
            self._plan.set_metrics(
                np.array([r[:2] for r in rows], dtype=np.int64).reshape(-1, 2),
                np.array([r[2] for r in rows], dtype=np.float64),
                np.array(row_heads, dtype=np.int64).reshape(-1, 2),
            )
            self._plan_metrics = self._metrics
        return self._plan

    def _logs(self, sums):
        """Keras's logs from a pass's sums: [total loss * samples, samples, then per head:
        (its loss * samples with several heads), its weight sum, its metrics' slots...]."""
        samples = sums[1]
        logs = {"loss": float(sums[0] / samples)}
        metric_logs = {}
        slot = 2
        several = len(self._heads) > 1
        for head in self._heads:
            if several:
                logs[f"{head.name}_loss"] = float(sums[slot] / samples)
                slot += 1
            wsum = sums[slot]
            slot += 1
            width = _width(self._graph["outputs"][head.index].sample_shape)
            for m, (h, unweighted, name) in zip(self._metrics, self._metric_info):
                if h == head.index:
                    slots = m._slots(width)
                    metric_logs[name] = m._epoch_result(sums[slot : slot + slots], samples if unweighted else wsum)
                    slot += slots
        logs.update(metric_logs)
        return logs
