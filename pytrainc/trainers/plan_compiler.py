"""Compiling a model into its C plan: the ops its layers emit, the loss heads (with a final
sigmoid/softmax fused into the loss when nothing else reads it), traced losses and metrics,
regularizers, the optimizer's state, and the logs read back from a pass's sums.

`Trainer` inherits `PlanCompiler`; fit/evaluate/predict call `_ensure_plan(batch_size)` before
each engine call.
"""

import math

import numpy as np

from pytrainc import _C, _loss_formulas, constraints
from pytrainc import metrics as metrics_module
from pytrainc._plan import PlanBuilder
from pytrainc.trainers.data import _engine_batch, _interruptible
from pytrainc.trainers.data_prep import target_layout


# Metric kernels that are a MeanMetricWrapper in Keras 3, the metrics that take a masked output's
# mask as sample weights (metrics/reduction_metrics.py); the others never see the mask.
_MASKED_METRIC_KINDS = {
    _C.METRICS[k]
    for k in (
        "accuracy",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k",
        "sparse_top_k",
        "sparse_top_k_ids",
        "mse",
        "mae",
        "correlation",
        "loss_mean",
        "loss_mean_ignore",
    )
}


def _keras_masked(metric):
    """Whether Keras 3 weighs `metric` by its output's mask: MeanMetricWrapper metrics do (a
    function metric, accuracy, mse, crossentropy...); RootMeanSquaredError (a Mean with its own
    update_state), confusion counts, AUC, IoU, R2 and stateful subclasses do not."""
    if isinstance(metric, metrics_module.MeanMetricWrapper):
        return True
    if metric._stateful() or isinstance(metric, metrics_module.RootMeanSquaredError):
        return False
    return metric._kind in _MASKED_METRIC_KINDS


def _width(sample_shape):
    """The last axis the loss reduces over: 1 for outputs of one value per sample (shape ())."""
    return sample_shape[-1] if sample_shape else 1


def _repeat_to(builder, buf, shape, joint):
    """buf (per-sample `shape`) repeated along its axes of extent 1 to `joint`: Keras's broadcast of
    predictions against wider targets, as concat ops of copies whose backward sums the copies."""
    shape = list(shape)
    for axis, extent in enumerate(joint):
        if shape[axis] != extent:
            buf = _copies(builder, buf, math.prod(shape), math.prod(shape[:axis]), extent)
            shape[axis] = extent
    return buf


def _copies(builder, buf, size, outer, r):
    """r copies of buf (size floats per sample) side by side in each of its `outer` blocks (a concat
    joins at most _C.MAX_IN inputs)."""
    if r <= _C.MAX_IN:
        out = builder.buffer(size * r)
        builder.op("concat", [buf] * r, out, outer=outer)
        return out
    q, rest = divmod(r, _C.MAX_IN)
    parts = [_copies(builder, _copies(builder, buf, size, outer, _C.MAX_IN), size * _C.MAX_IN, outer, q)]
    if rest:
        parts.append(_copies(builder, buf, size, outer, rest))
    if len(parts) == 1:
        return parts[0]
    out = builder.buffer(size * r)
    builder.op("concat", parts, out, outer=outer)
    return out


class PlanCompiler:
    """The model -> plan half of `Trainer` (needs the graph, `_heads` and the flat weights).

    A model with variable-length axes (`Input(shape=(None, 16))`) has one plan per concrete
    input shape that arrives, at most `_PLAN_CACHE` of them (the least recently used goes first).
    They share the flat weights and gradients, the optimizer's state, the metrics' state and the
    generators' table, so training on batches of several lengths is one training, as in Keras.
    Setting `_plan = None` (a new graph, compile, repacked weights) drops every one of them.
    """

    _PLAN_CACHE = 8

    @property
    def _plan(self):
        return self.__dict__.get("_plan_current")

    @_plan.setter
    def _plan(self, plan):
        if plan is None:
            self.__dict__["_plan_cache"] = {}
            self.__dict__["_predict_state"] = None  # nor keeps predict's shortcut the dropped plan alive
        self.__dict__["_plan_current"] = plan

    def _switch_plan(self, key):
        """Makes the plan for input shapes `key` current: the cached one (its optimizer and
        metrics bound again) or None to compile it; the current one joins the cache."""
        cache = self.__dict__.setdefault("_plan_cache", {})
        current = self.__dict__.get("_plan_current")
        if current is not None:
            cache[self.__dict__.get("_plan_key")] = (current, self._op_layers, self._metric_ks())
        entry = cache.pop(key, None)
        while len(cache) >= self._PLAN_CACHE:
            cache.pop(next(iter(cache)))  # the least recently used
        self.__dict__["_plan_current"] = None if entry is None else entry[0]
        self.__dict__["_plan_key"] = key
        self._plan_metrics = None  # set again on the plan made current
        if entry is not None:
            self._op_layers = entry[1]
            for m, k in entry[2]:
                m._k = k
            if self.compiled:
                self.optimizer._attach(entry[0], self._n_trainable, self._trainable_slices())

    def _metric_ks(self):
        """(metric, its `_k` in the current plan) of every traced metric (their rows in the plan)."""
        found = []
        for head in self._heads if self.compiled else ():
            found += [(m, m._k) for m in self._traced_metrics(head) + self._state_metrics(head) if hasattr(m, "_k")]
        return found

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

    def _target_layouts(self, g, heads):
        """Per head, `data_prep.target_layout` of the targets fit or evaluate last prepared (None for
        targets of the output's shape, and before any)."""
        shapes = getattr(self, "_y_sample_shapes", None)
        if shapes is None:
            return tuple(None for _ in heads)
        return tuple(
            None if h.loss.sparse else target_layout(shapes[h.index], g["outputs"][h.index].sample_shape) for h in heads
        )

    def _loss_call(self, head, layout):
        """What the plan traces for head's loss: a traced loss's `call`, for targets of another shape
        the formula of a built-in loss whose kernel cannot take them (`_loss_formulas`), else None."""
        loss = head.loss
        if loss._traced:
            return loss.call
        if layout is None or layout[2] is None:
            return None
        y_shape, pred_shape, joint = layout
        kernel = (joint == pred_shape or loss._broadcasts_predictions) and (
            joint == y_shape or loss._broadcasts_targets
        )
        return None if kernel else _loss_formulas.formula(loss)

    def _builtin_metrics(self, head):
        """A head's metrics computed by C kernels from its predictions and targets side by side."""
        traced = {id(m) for m in self._traced_metrics(head)}
        return [m for m in head.metric_specs + head.weighted_specs if id(m) not in traced and not m._stateful()]

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

    def _remember_predict(self, plan, key):
        """After a predict's `_ensure_plan`: what `_predict_again` checks to serve the next predict of
        a model with one input and no variable-length axes by this plan without re-deriving anything."""
        g = self._graph
        self.__dict__["_predict_state"] = None
        if key is not None or g["variable"] or len(g["inputs"]) != 1:
            return
        variables = self._variables() + self._constant_variables()
        out_shape = (tuple(g["output"].sample_shape),) if len(g["outputs"]) == 1 else None
        self.__dict__["_predict_state"] = (
            plan,
            g,
            self._params,
            self._pack_key,
            variables,
            tuple(v.trainable for v in variables),
            tuple(g["inputs"][0].sample_shape),
            out_shape,
        )

    def _predict_again(self, x, batch_size):
        """predict's outputs for x (batch_size already checked) by the last predict's plan, or None
        when x is not already what the engine reads (a float32 C-contiguous array of the one input's
        shape) or anything the plan depends on may have changed since: the current plan, the graph
        (Sequential.add), compile, the flat weights and their layout (a trainable flag, a model
        sharing the layers moving the weights into its buffer, a weight not a view of them). The
        caller then takes the full path. Weights written in place (set_weights, load_weights,
        assign, fit) are read by the plan as they are. Only the finiteness check remains: at batch
        1 the layout's re-derivation and the input's conversions are most of a predict's time."""
        state = self.__dict__.get("_predict_state")
        if state is None or type(x) is not np.ndarray or x.dtype != np.float32 or not x.flags.c_contiguous:
            return None
        plan, graph, params, pack_key, variables, flags, in_shape, out_shape = state
        n = x.shape[0]
        if (
            n == 0
            or x.shape[1:] != in_shape
            or self.__dict__.get("_plan_current") is not plan
            or self._graph is not graph
            or self._params is not params
            or self._pack_key is not pack_key
        ):
            return None
        batch_size = _engine_batch(batch_size, n)
        if batch_size > plan.max_batch:
            return None
        for v, trainable in zip(variables, flags):
            if v._value.base is not params or v.trainable != trainable:
                return None
        # Ctrl-C stops the engine between batches; a single batch needs no handler of its own
        # (Python's raises KeyboardInterrupt when the call returns). NaN and inf are refused in C.
        out = plan.predict(x.reshape(n, -1), batch_size, n > batch_size and _interruptible(), True)
        if out_shape is None:
            return self._outputs_of(out)
        return out.reshape((n,) + out_shape[0])

    def _ensure_plan(self, batch_size, key=None):
        """The plan, compiled if needed, for batches of up to `batch_size` samples whose inputs have
        the per-sample shapes `key` (None for a model without variable-length axes)."""
        from pytrainc import _metric_state
        from pytrainc.layers import _tracing

        if self._graph["variable"] and key is None:
            raise ValueError(
                f"Model '{self.name}' has variable-length axes ({self.input_shape}): its plan is compiled for "
                "the shapes of the data, and none was given"
            )
        g = self._concrete_graph(key)
        heads = self._heads if self.compiled else []
        for head in heads:  # a reduction the plan cannot run ('none') fails before any tracing
            head.loss._param_array()
        layouts = self._target_layouts(g, heads)
        if self.__dict__.get("_plan_layouts") != layouts:  # targets of another shape: other ops
            self._plan = None
            self.__dict__["_plan_layouts"] = layouts
        for head, layout in zip(heads, layouts):  # traced first: their constants join the flat parameters
            out_shape = g["outputs"][head.index].sample_shape
            y_shape, pred_shape = (None, out_shape) if layout is None else layout[:2]
            for m in self._state_metrics(head):
                _metric_state.trace_update(m, self._state_y_shape(m, head), out_shape)
            call = self._loss_call(head, layout)
            if call is not None:
                _tracing.trace_loss(head.loss, pred_shape, "Loss", y_shape, call)
            for m in self._traced_metrics(head):
                if head.loss.sparse:
                    raise ValueError(
                        f"Metric function {m.name!r}: with a sparse loss ({head.loss.name}) the targets are "
                        "class ids; metric functions need targets of the output's shape"
                    )
                _tracing.trace_loss(m, pred_shape, "Metric", y_shape)
        self._pack()
        if self._plan is None or self.__dict__.get("_plan_key") != key:
            self._switch_plan(key)
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
            setups, fused_logits, widths = [], set(), {}
            for head, layout in zip(heads, layouts):
                out_buf, out_shape = out_bufs[head.index], g["outputs"][head.index].sample_shape
                y_shape, pred_shape = (None, out_shape) if layout is None else layout[:2]
                traced = y_buf = setup = None
                call = self._loss_call(head, layout)
                # Keras broadcasts y_pred against y_true: a built-in loss and the C metrics read the
                # predictions repeated to the targets' wider shape (a traced loss broadcasts itself)
                sides = layout is not None and (call is None or bool(self._builtin_metrics(head)))
                loss_shape = layout[2] if sides else out_shape
                pred_buf = _repeat_to(builder, out_buf, pred_shape, loss_shape) if sides else out_buf
                pred_buf = -1 if pred_buf == out_buf else pred_buf
                widths[head.index] = _width(loss_shape)
                metric_y = -1
                if call is not None:
                    traced = _tracing.emit_loss(head.loss, builder, out_buf, pred_shape, y_shape=y_shape, call=call)
                    y_buf = traced[1]
                    if sides and y_shape != loss_shape:  # the C metrics' targets: the narrower ones repeated
                        first = builder.n_ops
                        metric_y = _repeat_to(builder, y_buf, y_shape, loss_shape)
                        for i in range(first, builder.n_ops):
                            builder.set_flag(i, "no_backward")
                for m in self._traced_metrics(head):
                    m._k, y_buf = _tracing.emit_loss(m, builder, out_buf, pred_shape, y_buf, "Metric", y_shape)
                for m in self._state_metrics(head):
                    y_shape = self._state_y_shape(m, head)
                    m._k, y_buf = _metric_state.emit(m, builder, out_buf, y_shape, out_shape, y_buf)
                if traced is None and pred_buf >= 0:  # on the repeated predictions, never fused
                    setup = (head.loss._kind, pred_buf, None)
                elif traced is None:
                    setup = self._loss_setup(builder, head, out_buf, consumed, fused_logits)
                    if setup[2] is not None:
                        builder.set_flag(setup[2], "no_backward")
                        fused_logits.add(setup[1])
                setups.append((traced, setup, y_buf, pred_buf, loss_shape, metric_y))
            # buffers the engine reads besides the ops: a ReLU folded into a max pool is not computed
            keep = set(in_bufs + out_bufs) | set(builder._masks.values())
            for head, (traced, setup, y_buf, pred_buf, _, metric_y) in zip(heads, setups):
                keep |= {pred_buf, metric_y, y_buf} | set(traced or ()) | ({setup[1]} if setup else set())
                for m in self._traced_metrics(head) + self._state_metrics(head):
                    keep |= set(np.ravel(m._k).tolist())  # a state metric's buffers are a list
            builder.fold_relus(keep)
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
            rngs = self._rng_table(builder.rng_layers)
            plan.set_rngs(rngs)
            masked_heads = {}
            for head, (traced, setup, y_buf, pred_buf, loss_shape, metric_y) in zip(heads, setups):
                width = widths[head.index]
                if traced is not None:
                    plan.set_traced_loss(traced[0], traced[1], width, head.index, head.loss_weight, pred_buf)
                    plan.set_loss_params(head.loss._param_array(), head.index)  # its reduction
                    if metric_y >= 0:
                        plan.set_metric_targets(metric_y, head.index)
                else:
                    plan.set_loss(setup[0], setup[1], width, head.index, head.loss_weight, pred_buf)
                    extra = {} if pred_buf < 0 else head.loss._repeat_params(layouts[head.index][1], loss_shape)
                    plan.set_loss_params(head.loss._param_array(extra), head.index)
                    if y_buf is not None:
                        plan.set_targets_buf(y_buf, head.index)
                mask_buf = builder._masks.get(id(g["outputs"][head.index]))
                if mask_buf is not None:
                    values = None if traced is None else builder.sizes[traced[0]]
                    self._check_mask(head, builder.sizes[mask_buf], loss_shape, values)
                    for m in self._traced_metrics(head):
                        self._check_mask(head, builder.sizes[mask_buf], (), builder.sizes[m._k], m.name)
                    plan.set_mask(mask_buf, head.index)
                    masked_heads[head.index] = True
            self.__dict__["_masked_heads"] = masked_heads
            self.__dict__["_metric_widths"] = widths
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
                # Keras applies the constraints of the trainable weights after each update.
                plan.set_constraints(
                    *constraints._plan_tables(
                        [
                            (v, self._offsets[id(v)])
                            for v in self._variables()
                            if v.constraint is not None and v.trainable
                        ]
                    )
                )
            self._plan = plan
            self._plan_metrics = None
        self._plan.reserve(int(batch_size))
        if self.compiled and self._metrics is not None and self._plan_metrics is not self._metrics:
            rows, row_heads = [], []
            for m, (h, unweighted, _) in zip(self._metrics, self._metric_info):
                for row in m._plan_rows():  # a Metric subclass has one row per state element
                    rows.append(row)
                    masked = h in self.__dict__.get("_masked_heads", {}) and _keras_masked(m)
                    row_heads.append((h, int(bool(unweighted)) | int(masked) << 1))
            if len(rows) > _C.MAX_METRICS:
                raise ValueError(
                    f"At most {_C.MAX_METRICS} metric slots (a state element takes one). Received: {len(rows)}"
                )
            table, starts = [], []  # a THRESHOLD_TABLE row (kind, k, _, thresholds) reads its part of one table
            for r in rows:
                starts.append(float(len(table)) if len(r) > 3 else r[2])
                table.extend(r[3] if len(r) > 3 else ())
            self._plan.set_metrics(
                np.array([r[:2] for r in rows], dtype=np.int64).reshape(-1, 2),
                np.array(starts, dtype=np.float64),
                np.array(row_heads, dtype=np.int64).reshape(-1, 2),
                np.array(table, dtype=np.float32),
            )
            self._plan_metrics = self._metrics
        return self._plan

    def _check_mask(self, head, steps, out_shape, traced_values, metric=None):
        """Refuses a masked output whose loss (or function metric) pytrainc cannot weigh as Keras 3
        does: one mask value per row of the loss (an output (T, D) with the mask of its T steps),
        one traced value per step."""
        rows = math.prod(out_shape[:-1]) if len(out_shape) > 1 else 1
        what = f"Output '{head.name}' carries a mask of {steps} steps"
        if metric is not None:
            if traced_values != steps:
                raise ValueError(
                    f"{what}: Keras weighs each value of metric {metric!r} by the mask, so it must return one "
                    f"value per step ({steps}). Received: {traced_values} values per sample"
                )
            return
        if rows != steps:
            raise ValueError(
                f"{what}: Keras weighs each of the loss's values by the mask, so the loss needs one value "
                f"per step (an output of shape (None, {steps}, units)). Received: {rows} values per sample"
            )
        if getattr(head.loss, "ignore_class", None) is not None:
            raise ValueError(
                f"{what}: loss {head.loss.name!r} with ignore_class on a masked output is not supported by "
                "pytrainc; remove ignore_class (masked steps are already left out) or the mask"
            )
        if traced_values is not None and traced_values != steps:
            raise ValueError(
                f"{what}: Keras weighs each value of loss {head.loss.name!r} by the mask, so it must return one "
                f"value per step ({steps}). Received: {traced_values} values per sample"
            )

    def _rng_table(self, rng_layers):
        """The generators' table: the one the cached plans of other input shapes advance (one stream
        per layer across shapes), or a new one holding each layer's state."""
        ids = tuple(id(layer) for layer in rng_layers)
        shared = self.__dict__.get("_plan_rngs")
        if shared is not None and shared[0] == ids and self.__dict__.get("_plan_cache"):
            return shared[1]
        rngs = np.zeros((len(rng_layers), 4), dtype=np.uint64)
        for i, layer in enumerate(rng_layers):
            rngs[i] = layer.rng_state
            layer.rng_state = rngs[i]
        self.__dict__["_plan_rngs"] = (ids, rngs)
        return rngs

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
            masked = head.index in self.__dict__.get("_masked_heads", {})
            if masked:  # the masked weights' and the mask's sums (csrc/heads.c)
                mwsum, msum = sums[slot], sums[slot + 1]
                slot += 2
            width = self.__dict__.get("_metric_widths", {}).get(head.index)
            if width is None:
                width = _width(self._graph["outputs"][head.index].sample_shape)
            for m, (h, unweighted, name) in zip(self._metrics, self._metric_info):
                if h == head.index:
                    slots = m._slots(width)
                    if masked and _keras_masked(m):
                        divisor = msum if unweighted else mwsum
                    else:
                        divisor = samples if unweighted else wsum
                    metric_logs[name] = m._epoch_result(sums[slot : slot + slots], divisor)
                    slot += slots
        logs.update(metric_logs)
        return logs
