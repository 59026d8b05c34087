"""Data preparation for fit/evaluate/predict: inputs and targets checked against the model's
shapes and losses and packed as the engine reads them (one float32 row per sample, several
inputs or outputs side by side), sample and class weights, and predict's results split back
into one array per output.

`Trainer` inherits `DataPreparer`.
"""

import math

import numpy as np

from pytrainc import _loss_formulas
from pytrainc import losses as losses_module
from pytrainc import metrics as metrics_module
from pytrainc.layers import _shapes
from pytrainc.trainers import compile_utils
from pytrainc.trainers.data import (
    _adjust_input_rank,
    _as_array,
    _check_finite,
    _check_probability_targets,
    _prepare_weights,
    _to_float32,
)


class DataPreparer:
    """The data half of `Trainer`: arrays in, engine-ready float32 arrays out."""

    def _prepare_x(self, x, what="x"):
        """The inputs as one C-contiguous float32 (n, sum of input sizes) array: each input's
        rows side by side, as the engine gathers them."""
        return self._prepare_x_key(x, what)[0]

    def _prepare_x_key(self, x, what="x"):
        """(`_prepare_x`'s array, the key of its input shapes for `_ensure_plan`: None, or for a model
        with variable-length axes the tuple of each input's concrete per-sample shape)."""
        if not self.built:
            x = _as_array(compile_utils.single(x, None), what)
            self._build_from_data(x.shape[1:])
        g = self._graph
        names = g["input_names"]
        if len(names) == 1:
            x32, shape = self._prepare_input(compile_utils.single(x, names[0]), g["inputs"][0], what)
            return x32, ((shape,) if g["variable"] else None)
        arrays = compile_utils.per_name(x, names, what, "input")
        parts = [self._prepare_input(a, t, f"{what}[{n!r}]") for a, n, t in zip(arrays, names, g["inputs"])]
        counts = [p[0].shape[0] for p in parts]
        if len(set(counts)) > 1:
            raise ValueError(
                f"{what}: every input must have the same number of samples. Received: "
                + ", ".join(f"{n!r} has {c}" for n, c in zip(names, counts))
            )
        key = tuple(p[1] for p in parts) if g["variable"] else None
        return np.concatenate([p[0] for p in parts], axis=1), key

    def _prepare_input(self, x, tensor, what):
        """(one input as float32 rows, its per-sample shape)."""
        x = _adjust_input_rank(_as_array(x, what), tensor.sample_shape)  # Keras 3's rule (a Series, a (n,) array)
        expected = tensor.sample_shape
        if not _shapes.compatible(tuple(x.shape[1:]), tuple(expected)):
            input_name = "" if len(self._graph["inputs"]) == 1 else f" {tensor._layer.name!r}"
            raise ValueError(
                f"Model '{self.name}' expects input{input_name} of shape {(None,) + tuple(expected)}. "
                f"Received: {what}.shape={x.shape}"
            )
        if 0 in x.shape[1:]:
            raise ValueError(f"{what} has an axis of length 0. Received: {what}.shape={x.shape}")
        return _to_float32(x.reshape(x.shape[0], -1), what), tuple(int(d) for d in x.shape[1:])

    def _build_from_data(self, sample_shape):
        raise ValueError(f"Model '{self.name}' is not built: it has no input shape.")

    def _prepare_y(self, y, n, what="y", x_name="x", key=None):
        """The targets as one float32 (n, sum of the heads' target sizes) array, and each
        output's target shape (for metrics that resolve from them); `key`: the inputs' shapes
        (`_prepare_x_key`), which fix the outputs' variable-length axes."""
        g = self._concrete_graph(key)
        names = g["output_names"]
        if len(names) == 1:
            y32, shape = self._prepare_target(self._heads[0], compile_utils.single(y, names[0]), n, what, x_name, g)
            return y32, [shape]
        arrays = compile_utils.per_name(y, names, what, "output")
        parts = [
            self._prepare_target(head, a, n, f"{what}[{head.name!r}]", x_name, g)
            for head, a in zip(self._heads, arrays)
        ]
        return np.concatenate([p[0] for p in parts], axis=1), [p[1] for p in parts]

    def _check_batch_broadcast(self, batch_size, n):
        """Targets of lower rank than the outputs broadcast over the batch axis in Keras, which
        means one target per sample only in batches of one sample."""
        what = getattr(self, "_batch_broadcast_targets", None)
        if what is not None and min(int(batch_size), int(n)) > 1:
            raise ValueError(
                f"{what} has fewer axes than the model's output: Keras broadcasts it against the whole batch "
                "(squeeze_or_expand_to_same_rank, then broadcasting), which gives one target per sample only "
                f"with batch_size=1. Received: batch_size={batch_size}. Give {what} the output's shape"
            )

    def _prepare_target(self, head, y, n, what, x_name, g):
        self._batch_broadcast_targets = None
        loss = head.loss
        y = _as_array(y, what)
        _check_finite(y, what)
        if y.shape[0] != n:
            raise ValueError(
                f"{x_name} and {what} must have the same number of samples. "
                f"Received: {x_name} has {n}, {what} has {y.shape[0]}"
            )
        out_shape = g["outputs"][head.index].sample_shape
        if loss.sparse:
            expected = out_shape[:-1]
            shape = y.shape[1:]
            if shape and shape[-1] == 1 and len(shape) == len(expected) + 1:
                shape = shape[:-1]
            if tuple(shape) != tuple(expected):
                raise ValueError(
                    f"{loss.name} expects integer labels of shape {(None,) + expected} "
                    f"(or with a trailing 1) for outputs of shape {(None,) + out_shape}. "
                    f"Received: {what}.shape={y.shape}"
                )
            classes = out_shape[-1]
            if y.dtype.kind == "f" and not np.all(y == np.floor(y)):
                raise ValueError(f"{loss.name} expects integer class ids in {what}. Received non-integer values")
            ignore = getattr(loss, "ignore_class", None)
            ids = y if ignore is None else y[y != ignore]
            if ids.size and (ids.min() < 0 or ids.max() >= classes):
                also = "" if ignore is None else f" (or ignore_class={ignore})"
                raise ValueError(
                    f"{loss.name} expects class ids in [0, {classes}){also}. "
                    f"Received values in [{ids.min()}, {ids.max()}]"
                )
        else:
            shape = tuple(y.shape[1:])
            y_in, (y, per_batch) = y, _keras_rank_rule(y, tuple(out_shape), loss)
            if per_batch:
                self._batch_broadcast_targets = what
            if y is None:
                y = y_in
                hint = _broadcast_hint(loss, shape, tuple(out_shape))
                if isinstance(loss, losses_module.CategoricalCrossentropy) and shape in ((), (1,)):
                    hint = (
                        " Integer labels need loss='sparse_categorical_crossentropy' or "
                        "pytrainc.utils.to_categorical(y)."
                    )
                raise ValueError(
                    f"{what} must have shape {(None,) + out_shape} to match the model's output. "
                    f"Received: {what}.shape={y.shape}.{hint}"
                )
        _check_probability_targets(loss, y, what)
        return _to_float32(y.reshape(n, -1), what, checked=True), y.shape  # checked on entry

    def _prepare_sample_weights(self, sample_weight, class_weight, y32, n, what="sample_weight"):
        """Per-sample weights for the engine: None, (n,) shared by every output, or (n, outputs)
        from a list or dict of one array per output (None in it: weights of 1)."""
        names = self._graph["output_names"]
        if len(names) == 1:
            single = compile_utils.single(sample_weight, names[0])
            rows = _loss_rows(self._graph["outputs"][0].sample_shape)
            if rows > 1 and np.ndim(single) == 2 and np.shape(single) == (n, rows):
                # Keras's temporal weights: one per row of the loss (per step of an output (steps, units))
                if class_weight is not None:
                    raise ValueError(f"class_weight cannot be combined with {what} of one weight per step {(n, rows)}")
                flat = _prepare_weights(np.reshape(single, -1), None, None, n * rows, what)
                return np.ascontiguousarray(flat.reshape(n, rows))
            return _prepare_weights(single, class_weight, y32, n, what)
        if class_weight is not None:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        if sample_weight is None:
            return None
        scalars = isinstance(sample_weight, (list, tuple)) and all(np.ndim(w) == 0 for w in sample_weight)
        if not isinstance(sample_weight, (list, tuple, dict)) or scalars:
            return _prepare_weights(sample_weight, None, None, n, what)
        per = compile_utils.per_name(sample_weight, names, what, "output")
        rows = [_loss_rows(t.sample_shape) for t in self._graph["outputs"]]
        if any(r > 1 and np.ndim(w) == 2 and np.shape(w) == (n, r) for w, r in zip(per, rows)):
            # Keras's temporal weights on some outputs: one weight per row of each output's loss,
            # output by output; an output given (n,) weights (or None: 1) repeats them on its rows
            blocks = []
            for name, w, r in zip(names, per, rows):
                if w is None:
                    blocks.append(np.ones((n, r), np.float32))
                elif r > 1 and np.ndim(w) == 2 and np.shape(w) == (n, r):
                    flat = _prepare_weights(np.reshape(w, -1), None, None, n * r, f"{what}[{name!r}]")
                    blocks.append(flat.reshape(n, r))
                else:
                    one = _prepare_weights(w, None, None, n, f"{what}[{name!r}]")
                    blocks.append(np.repeat(one[:, None], r, axis=1))
            return np.ascontiguousarray(np.concatenate(blocks, axis=1))
        cols = [
            np.ones(n, dtype=np.float32) if w is None else _prepare_weights(w, None, None, n, f"{what}[{name!r}]")
            for name, w in zip(names, per)
        ]
        return np.ascontiguousarray(np.stack(cols, axis=1))

    def _resolve_metrics(self, y_shapes):
        # a Metric subclass's update_state is traced on its head's per-sample target shape
        self._y_sample_shapes = [tuple(s[1:]) for s in y_shapes]
        if self._metrics is None:
            table = []
            for head in self._heads:
                out_shape = self._graph["outputs"][head.index].shape
                for unweighted, specs in ((1, head.metric_specs), (0, head.weighted_specs)):
                    for m in specs:
                        if isinstance(m, metrics_module._Accuracy):
                            m = m.resolve(y_shapes[head.index], out_shape, head.loss)
                        table.append((m, head.index, unweighted))
            names = compile_utils.metric_names(self._heads)
            self._metric_info = [(h, unweighted, name) for (_, h, unweighted), name in zip(table, names)]
            self._metrics = [t[0] for t in table]

    def _check_targets_like(self, y_shapes, what):
        """Targets of a second data set (validation data, a later batch) reach the plan as those of
        the training data did: targets that broadcast against the outputs make other plan ops."""
        known = getattr(self, "_y_sample_shapes", None)
        if known is None or self._graph["variable"]:
            return
        for head, shape in zip(self._heads, y_shapes):
            out = tuple(self._graph["outputs"][head.index].sample_shape)
            mine, theirs = tuple(shape[1:]), known[head.index]
            if not head.loss.sparse and target_layout(mine, out) != target_layout(theirs, out):
                name = what if len(self._heads) == 1 else f"{what}[{head.name!r}]"
                raise ValueError(
                    f"{name} must broadcast against the model's output {(None,) + out} as the training targets "
                    f"{(None,) + theirs} do. Received: {name} of shape {(None,) + mine}"
                )

    def _prepare_xy(self, x, y):
        """(x32, y32, the key of the inputs' shapes for `_ensure_plan`)."""
        x32, key = self._prepare_x_key(x)
        y32, y_shapes = self._prepare_y(y, x32.shape[0], key=key)
        self._resolve_metrics(y_shapes)
        return x32, y32, key

    def _outputs_of(self, out, key=None):
        """predict's result from the engine's (n, sum of output sizes): one array, or a list
        (a dict when the model's outputs were a dict) of one array per output."""
        g = self._concrete_graph(key)
        n = out.shape[0]
        if len(g["outputs"]) == 1:
            return out.reshape((n,) + tuple(g["output"].sample_shape))
        parts, off = [], 0
        for t in g["outputs"]:
            size = math.prod(t.sample_shape)
            parts.append(np.ascontiguousarray(out[:, off : off + size]).reshape((n,) + tuple(t.sample_shape)))
            off += size
        return dict(zip(g["output_names"], parts)) if g["output_struct"] == "dict" else parts

    @staticmethod
    def _batch_size(batch_size):
        if batch_size is None:
            return 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        return int(batch_size)


def _loss_rows(out_shape):
    """Rows of an output's loss per sample: the steps of an output (steps, units), else 1."""
    return math.prod(out_shape[:-1]) if len(out_shape) > 1 and None not in out_shape else 1


def _same_rank(shape, out_shape):
    """Keras's squeeze_or_expand_to_same_rank on per-sample shapes: a trailing 1 of the targets
    goes when they have one axis more than the outputs, or the outputs' in the other case."""
    if len(shape) == len(out_shape) + 1 and shape[-1] == 1:
        return shape[:-1], out_shape
    if len(out_shape) == len(shape) + 1 and out_shape[-1] == 1:
        return shape, out_shape[:-1]
    return shape, out_shape


def _broadcast(shape, out_shape):
    try:
        return tuple(np.broadcast_shapes(shape, out_shape))
    except ValueError:
        return None


def target_layout(shape, out_shape):
    """For targets of per-sample shape `shape` as the plan receives them (`_prepare_target`) and
    outputs of `out_shape`: None when they are the output's values (the common case), else
    (the targets' shape, the outputs' shape after Keras's rank rule, their broadcast shape), for
    targets that broadcast against narrower predictions or a traced loss's own-shaped targets."""
    shape, out = _same_rank(tuple(shape), tuple(out_shape))
    if shape == out or len(shape) != len(out):
        return None
    return shape, out, _broadcast(shape, out)


def _broadcast_hint(loss, shape, out_shape):
    """Why targets of per-sample `shape` were refused for outputs of `out_shape`, when a reason
    beyond the shapes applies."""
    shape, out = _same_rank(shape, out_shape)
    if len(shape) != len(out):
        return ""
    if _broadcast(shape, out) is None:
        return f" Their shapes do not broadcast (Keras fails on them too: {shape} against {out} per sample)."
    what = f" Loss '{loss.name}' ({type(loss).__name__}) takes only targets of the output's shape"
    if isinstance(loss, (losses_module.BinaryCrossentropy, losses_module.BinaryFocalCrossentropy)):
        return what + ", as in Keras on torch, whose cross-entropies require one shape."
    if getattr(loss, "axis", -1) is None:
        return what + " or wider in pytrainc with axis=None (one value over the whole batch); axis=-1 takes them."
    return what + " in pytrainc: it reduces the predictions or the targets alone, so neither can be repeated."


def _keras_rank_rule(y, out_shape, loss):
    """Keras's rule for targets (n, *shape) against outputs (n, *out_shape) (keras/src/losses/loss.py
    squeeze_or_expand_to_same_rank, then broadcasting), per sample: the targets as the plan reads
    them, or None when Keras's rule does not give targets `loss` can take; and whether the broadcast
    spans the batch axis (targets of lower rank, one per sample with batches of 1).

    The plan reads the targets at the output's shape, tiled when narrower (`loss._broadcasts_targets`,
    exact for losses element-wise before their reduction); at their broadcast shape with the
    predictions, which the plan repeats to it, when the predictions are narrower
    (`loss._broadcasts_predictions`); and at their own shape for a traced loss (Keras hands
    `call(y_true, y_pred)` the targets as they are) or a built-in loss the plan then traces from
    its formula (`_loss_formulas`)."""
    n, shape = y.shape[0], tuple(y.shape[1:])
    if shape == out_shape:
        return y, False
    shape, out = _same_rank(shape, out_shape)
    if shape == out:
        return y, False
    joint = _broadcast(shape, out)
    if len(shape) > len(out) or joint is None:
        return None, False
    kernel = (joint == out or loss._broadcasts_predictions) and (joint == shape or loss._broadcasts_targets)
    if len(shape) < len(out):  # over the batch axis: only targets the plan can tile to the output's shape
        if loss._traced or joint != out or not kernel:
            return None, False
    elif loss._traced or (not kernel and _loss_formulas.formula(loss) is not None):
        return y.reshape((n,) + shape), False
    if not kernel:
        return None, False
    lifted = y.reshape((n,) + (1,) * (len(out) - len(shape)) + shape)
    return np.broadcast_to(lifted, (n,) + joint), len(shape) < len(out)
