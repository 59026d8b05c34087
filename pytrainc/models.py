"""Models, as `keras.Model` and `keras.Sequential`, with PyTorch-style state dicts.

A model is a graph of layer calls. Compiling it for the engine gives a plan:
an ordered list of ops over buffers, run by the C core. Parameters live in one
flat float32 array (trainable ones first) and every weight is a view into it,
so the engine, `get_weights` and `state_dict` all see the same memory.
"""

import collections
import json
import math
import threading
import time

import numpy as np

from pytrainc import _C
from pytrainc import callbacks as callbacks_module
from pytrainc import layers as layers_module
from pytrainc import losses as losses_module
from pytrainc import metrics as metrics_module
from pytrainc import optimizers as optimizers_module
from pytrainc import h5, saving, utils
from pytrainc._plan import PlanBuilder
from pytrainc.layers import InputLayer, KerasTensor, Layer

_MODEL_FORMAT = "pytrainc.model"

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(ValueError, RuntimeError):
    """A state dict does not fit the model (a RuntimeError, as in PyTorch, and a ValueError)."""


# ---------------------------------------------------------------------------
# Data checks: once per call, never per batch


def _as_array(data, what):
    if data is None:
        raise ValueError(f"{what} is required. Received: None")
    if isinstance(data, (list, tuple)):
        try:
            data = np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"{what} must be a rectangular array. Received a ragged list ({exc})") from None
    if not isinstance(data, np.ndarray):
        if hasattr(data, "__array__"):
            data = np.asarray(data)
        else:
            raise TypeError(f"{what} must be a NumPy array or a list. Received: {type(data).__name__}")
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{what} must hold numbers (a float, int or bool dtype). Received: dtype={data.dtype}")
    if data.ndim == 0:
        raise ValueError(f"{what} must have a batch axis. Received a scalar")
    if data.shape[0] == 0:
        raise ValueError(f"{what} is empty: expected at least one sample. Received: shape={data.shape}")
    return data


def _check_finite(arr, what):
    """Refuse NaN and inf, checking a block of rows at a time so that the
    boolean temporary stays small (a whole-array isfinite doubles peak memory)."""
    if arr.dtype.kind != "f":
        return
    flat = arr.reshape(arr.shape[0], -1)
    rows = max(1, (1 << 20) // max(1, flat.shape[1]))
    for start in range(0, flat.shape[0], rows):
        block = flat[start:start + rows]
        if not np.isfinite(block).all():
            bad = int(np.size(arr) - sum(np.isfinite(flat[i:i + rows]).sum() for i in range(0, flat.shape[0], rows)))
            raise ValueError(f"{what} contains {bad} NaN or infinite value(s); expected finite numbers")


def _to_float32(arr, what, checked=False):
    """C-contiguous float32 copy (or view) of arr, refusing NaN, inf (unless the
    caller already checked) and values that overflow float32."""
    if not checked:
        _check_finite(arr, what)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if out.dtype.kind == "f" and arr.dtype.itemsize > 4 and not np.isfinite(out).all():
        raise ValueError(f"{what} holds values outside the float32 range (|x| > 3.4e38); pytrainc computes "
                         "in float32")
    return out


def _prepare_weights(sample_weight, class_weight, y32, n, what="sample_weight"):
    """Per-sample float32 weights from sample_weight and/or class_weight (Keras's
    rules: a missing class weighs 1, both multiply), or None."""
    w = None
    if sample_weight is not None:
        w = _as_array(sample_weight, what)
        if w.ndim == 2 and w.shape[1] == 1:
            w = w[:, 0]
        if w.ndim != 1 or w.shape[0] != n:
            raise ValueError(f"{what} must have shape ({n},), one weight per sample. Received: shape={w.shape}")
        w = _to_float32(w, what)
        if (w < 0).any():
            raise ValueError(f"{what} must be >= 0. Received a minimum of {w.min()}")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(f"class_weight must be a dict {{class index: weight}}. Received: {type(class_weight).__name__}")
        for k, v in class_weight.items():
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
                raise ValueError(f"class_weight keys must be class indices (ints). Received: {k!r}")
            if not math.isfinite(float(v)) or float(v) < 0:
                raise ValueError(f"class_weight values must be finite and >= 0. Received: {k}: {v!r}")
        ids = np.argmax(y32, axis=1) if y32.shape[1] > 1 else np.round(y32[:, 0]).astype(np.int64)
        cw = np.array([class_weight.get(int(c), 1.0) for c in range(int(ids.max()) + 1)], dtype=np.float32)
        cw = cw[ids]
        w = cw if w is None else w * cw
    return None if w is None else np.ascontiguousarray(w, dtype=np.float32)


def _engine_batch(batch_size, n):
    """The rows the engine reserves for a batch: never more than the n samples present."""
    return max(1, min(int(batch_size), int(n)))

def _interruptible():
    return threading.current_thread() is threading.main_thread()


# ---------------------------------------------------------------------------


class Model:
    """A model: a graph of layers from an input to an output, as `keras.Model`.

    Build one with the functional API, `Model(inputs=x, outputs=y)`, or use
    `Sequential`. Then `compile`, `fit`, `evaluate`, `predict`.

    Args:
        inputs: The KerasTensor returned by `pytrainc.layers.Input`.
        outputs: The KerasTensor returned by the last layer call.
        name: Optional name.

    Example:

    >>> x = Input(shape=(8,))
    >>> h = Dense(16, activation="relu")(x)
    >>> model = Model(inputs=x, outputs=Dense(1)(h))
    >>> model.compile(optimizer="adam", loss="mse")
    """

    _default_name = "functional"

    def __init__(self, inputs=None, outputs=None, name=None):
        self.name = name or layers_module._unique_name(self._default_name)
        self.stop_training = False
        self.history = None
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self._metric_specs = []
        self._metrics = None  # resolved metric objects, fixed at the first fit/evaluate
        self._graph = None
        self._params = np.zeros(0, dtype=np.float32)
        self._grads = np.zeros(0, dtype=np.float32)
        self._pack_key = None
        self._plan = None
        if inputs is None and outputs is None:
            if type(self) is Model:
                raise ValueError("Model needs inputs and outputs, e.g. Model(inputs=x, outputs=y).")
            return
        self._set_graph(inputs, outputs)

    # -- graph -------------------------------------------------------------
    def _set_graph(self, inputs, outputs):
        inputs = self._single(inputs, "inputs")
        outputs = self._single(outputs, "outputs")
        order, seen = [], set()

        def visit(t):  # depth-first post-order: parents before children
            stack = [(t, False)]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    order.append(node)
                    continue
                if id(node) in seen:
                    continue
                seen.add(id(node))
                stack.append((node, True))
                for parent in reversed(node._inputs):
                    stack.append((parent, False))

        visit(outputs)
        sources = [t for t in order if not t._inputs]
        if any(t is not inputs for t in sources):
            raise ValueError("Graph disconnected: the outputs depend on an Input that is not the model's "
                             f"`inputs`. Received inputs={inputs}")
        if inputs not in sources:
            raise ValueError(f"The outputs do not depend on the model's inputs {inputs}.")
        layers, seen_layers = [], set()
        for t in order:
            layer = t._layer
            if t._inputs and id(layer) not in seen_layers:
                seen_layers.add(id(layer))
                layers.append(layer)
        self._graph = {"input": inputs, "output": outputs, "order": order, "layers": layers}
        self._plan = None
        self._pack_key = None
        self._pack()

    @staticmethod
    def _single(tensors, what):
        if isinstance(tensors, (list, tuple)):
            if len(tensors) != 1:
                raise ValueError(f"pytrainc models take one input and one output for now. "
                                 f"Received {len(tensors)} {what}")
            tensors = tensors[0]
        if not isinstance(tensors, KerasTensor):
            raise TypeError(f"`{what}` must be a KerasTensor from pytrainc.layers.Input or a layer call. "
                            f"Received: {type(tensors).__name__}")
        return tensors

    @property
    def built(self):
        return self._graph is not None

    @property
    def layers(self):
        return list(self._graph["layers"]) if self._graph else []

    @property
    def input_shape(self):
        return self._graph["input"].shape if self._graph else None

    @property
    def output_shape(self):
        return self._graph["output"].shape if self._graph else None

    @property
    def inputs(self):
        return [self._graph["input"]] if self._graph else []

    @property
    def outputs(self):
        return [self._graph["output"]] if self._graph else []

    def _variables(self):
        out, seen = [], set()
        for layer in self.layers:
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    def _pack(self):
        """Move every weight into one flat array, trainable weights first."""
        variables = self._variables()
        trainable = [v for v in variables if v.trainable]
        frozen = [v for v in variables if not v.trainable]
        key = tuple((id(v), v.trainable) for v in trainable + frozen)
        # Repack also when another model sharing these layers took the weights
        # into its own buffer: the values then live there, and move back here.
        if key == self._pack_key and all(v._value.base is self._params for v in variables):
            return
        total = sum(v._value.size for v in variables)
        params = np.zeros(total, dtype=np.float32)
        offsets, off = {}, 0
        for v in trainable + frozen:
            n = v._value.size
            params[off:off + n] = v._value.reshape(-1)
            v._value = params[off:off + n].reshape(v._value.shape)
            offsets[id(v)] = off
            off += n
        self._params = params
        self._grads = np.zeros(total, dtype=np.float32)
        self._offsets = offsets
        self._n_trainable = sum(v._value.size for v in trainable)
        self._pack_key = key
        self._plan = None

    def _trainable_slices(self):
        """(n, 2) int64 [offset, size] of each trainable weight in the flat array."""
        rows = [(self._offsets[id(v)], v._value.size) for v in self._variables() if v.trainable]
        return np.array(rows, dtype=np.int64).reshape(-1, 2)

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: the model has no input shape yet. Give the first layer an "
                             "`input_shape`, start with `Input(shape)`, call `model.build(input_shape)` "
                             "or fit it on data first.")

    # -- weights -----------------------------------------------------------
    @property
    def weights(self):
        return self._variables()

    @property
    def trainable_weights(self):
        return [v for v in self._variables() if v.trainable]

    @property
    def non_trainable_weights(self):
        return [v for v in self._variables() if not v.trainable]

    def count_params(self):
        """Total number of weights (trainable and not)."""
        self._require_built("count_params")
        return int(sum(v._value.size for v in self._variables()))

    def get_weights(self):
        """Copies of all weights in Keras order (per Dense layer: kernel (in, out), then bias)."""
        return [v.numpy() for v in self._variables()]

    def set_weights(self, weights):
        """Set all weights from a list in the order of `get_weights()`.

        Raises:
            ValueError: for a wrong number of arrays or a wrong shape (nothing is changed then).
        """
        variables = self._variables()
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(f"set_weights expects a list of {len(variables)} arrays. Received: {len(weights)}")
        arrays = []
        for v, w in zip(variables, weights):
            w = np.asarray(w)
            if w.shape != v.shape:
                raise ValueError(f"Weight {v.name} has shape {v.shape}. Received: shape={w.shape}")
            if w.dtype.kind not in "fiub":
                raise TypeError(f"Weight {v.name} must hold numbers. Received: dtype={w.dtype}")
            arrays.append(w.astype(np.float32))
        for v, w in zip(variables, arrays):
            v._value[...] = w

    def _state_names(self):
        names = []
        for i, layer in enumerate(self.layers):
            for v in layer.weights:
                names.append((f"{i}.{v.name.rsplit('/', 1)[-1]}", v))
        return names

    def state_dict(self):
        """Return an ordered dict of name -> NumPy array copy, as `torch.nn.Module.state_dict`.

        Names are `'{layer index}.{weight name}'`, e.g. `'0.kernel'`, `'0.bias'`,
        indexing `model.layers`, so two models with the same architecture share names.
        """
        return collections.OrderedDict((name, v.numpy()) for name, v in self._state_names())

    def load_state_dict(self, state_dict, strict=True):
        """Copy weights from a state dict, as `torch.nn.Module.load_state_dict`.

        Args:
            state_dict: A mapping of name -> array, e.g. from `state_dict()` or `pytrainc.load`.
            strict: If True, missing and unexpected keys are errors. Defaults to True.

        Returns:
            `IncompatibleKeys(missing_keys, unexpected_keys)`.

        Raises:
            StateDictError: (a RuntimeError and ValueError) listing missing keys,
                unexpected keys (with strict=True) and shape mismatches (always).
                Nothing is changed when it raises.
        """
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(f"load_state_dict expects a mapping of name -> array. Received: {type(state_dict).__name__}")
        expected = self._state_names()
        names = {n for n, _ in expected}
        missing = [n for n, _ in expected if n not in state_dict]
        unexpected = [k for k in state_dict if k not in names]
        errors, updates = [], []
        for name, v in expected:
            if name not in state_dict:
                continue
            value = np.asarray(state_dict[name])
            if value.shape != v.shape:
                errors.append(f"size mismatch for {name}: the model has shape {v.shape}, "
                              f"the state dict has shape {value.shape}")
            elif value.dtype.kind not in "fiub":
                errors.append(f"{name} has dtype {value.dtype}; expected numbers")
            else:
                updates.append((v, value))
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                errors.insert(1 if missing else 0,
                              "Unexpected key(s) in state_dict: " + ", ".join(repr(k) for k in unexpected))
        if errors:
            raise StateDictError(f"Error(s) in loading state_dict for {self.name}:\n\t" + "\n\t".join(errors))
        for v, value in updates:
            v._value[...] = value
        return IncompatibleKeys(missing, unexpected)

    # -- compile -----------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Configure training, as `keras.Model.compile`.

        Args:
            optimizer: Name ('sgd', 'adam', 'rmsprop') or Optimizer. Defaults to 'rmsprop'.
            loss: Name ('mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy',
                'sparse_categorical_crossentropy') or Loss. Required.
            metrics: Optional list of names ('accuracy', 'mse', 'mae', ...) or Metric objects.

        Raises:
            ValueError: for unknown names or a missing loss.
        """
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mse'.")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, metrics_module.Metric)):
            metrics = [metrics]
        self._metric_specs = [metrics_module.get(m) for m in metrics]
        if len(self._metric_specs) > _C.MAX_METRICS:
            raise ValueError(f"At most {_C.MAX_METRICS} metrics. Received: {len(self._metric_specs)}")
        names = [m.name for m in self._metric_specs]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"Metric names must be unique and not 'loss'. Received: {names}")
        self._metrics = None
        self.compiled = True
        self._plan = None

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in (self._metrics or self._metric_specs)]

    @property
    def metrics(self):
        return list(self._metrics or self._metric_specs)

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() before {what}.")

    # -- the plan ----------------------------------------------------------
    def _loss_setup(self, builder, out_buf):
        """Choose the loss kind and buffer, fusing a final sigmoid/softmax into it."""
        loss = self.loss
        if loss.from_logits:
            if loss._fused is None:
                raise ValueError(f"Loss {loss.name!r} does not take logits (from_logits=True).")
            return loss._fused, out_buf, None
        op_index = builder.producer.get(out_buf)
        if op_index is not None and loss._fused:
            op = builder.row(op_index)
            wants = "sigmoid" if isinstance(loss, losses_module.BinaryCrossentropy) else "softmax"
            # Only when the activation's rows are the loss's rows: a Flatten or Reshape
            # after a softmax reuses its buffer with another last axis.
            if (op.name == "activation" and op.iarg("kind") == _C.ACTIVATIONS[wants]
                    and op.iarg("width") == self._graph["output"].sample_shape[-1]):
                return loss._fused, op.inputs[0], op_index
        return loss._kind, out_buf, None

    def _ensure_plan(self, batch_size):
        self._pack()
        if self._plan is None:
            g = self._graph
            builder = PlanBuilder(self._offsets)
            in_buf = builder.buffer(math.prod(g["input"].sample_shape))
            bufs = {id(g["input"]): in_buf}
            for t in g["order"]:
                if t._inputs:
                    bufs[id(t)] = t._layer._emit(builder, [bufs[id(p)] for p in t._inputs],
                                                 [p.sample_shape for p in t._inputs])
            out_buf = bufs[id(g["output"])]
            loss_setup = None
            if self.compiled:
                loss_setup = self._loss_setup(builder, out_buf)
                if loss_setup[2] is not None:
                    builder.set_flag(loss_setup[2], "no_backward")
            ops, fargs, sizes = builder.tables()
            plan = _C.Plan(ops, fargs, sizes, in_buf, out_buf, self._params, self._grads,
                           max(int(batch_size), 1), self._n_trainable)
            # Dropout layers' generators move into one table the engine advances in
            # place; each layer keeps a view of its row (saved for exact resume).
            rngs = np.zeros((len(builder.rng_layers), 4), dtype=np.uint64)
            for i, layer in enumerate(builder.rng_layers):
                rngs[i] = layer.rng_state
                layer.rng_state = rngs[i]
            plan.set_rngs(rngs)
            if loss_setup is not None:
                plan.set_loss(loss_setup[0], loss_setup[1], g["output"].sample_shape[-1])
                regs = [(self._offsets[id(v)], v._value.size, v.regularizer.l1, v.regularizer.l2)
                        for v in self._variables() if v.regularizer is not None]
                plan.set_regularizers(np.array([r[:2] for r in regs], dtype=np.int64).reshape(-1, 2),
                                      np.array([r[2:] for r in regs], dtype=np.float64).reshape(-1, 2))
                self.optimizer._attach(plan, self._n_trainable, self._trainable_slices())
            self._plan = plan
            self._plan_metrics = None
        self._plan.reserve(int(batch_size))
        if self.compiled and self._metrics is not None and self._plan_metrics is not self._metrics:
            self._plan.set_metrics(np.array([[m._kind, m._k] for m in self._metrics], dtype=np.int64).reshape(-1, 2),
                                   np.array([m._threshold for m in self._metrics], dtype=np.float64))
            self._plan_metrics = self._metrics
        return self._plan

    def _logs(self, sums):
        """Keras's logs from a pass's sums: [loss * samples, samples, weight sum, metric slots...]."""
        logs = {"loss": float(sums[0] / sums[1])}
        width = self._graph["output"].sample_shape[-1]
        offset = 3
        for m in self._metrics:
            slots = m._slots(width)
            logs[m.name] = m.result(sums[offset:offset + slots], sums[2])
            offset += slots
        return logs

    # -- data --------------------------------------------------------------
    def _prepare_x(self, x, what="x"):
        x = _as_array(x, what)
        if not self.built:
            self._build_from_data(x.shape[1:])
        expected = self._graph["input"].sample_shape
        if tuple(x.shape[1:]) != tuple(expected):
            raise ValueError(f"Model '{self.name}' expects input of shape {(None,) + tuple(expected)}. "
                             f"Received: {what}.shape={x.shape}")
        return _to_float32(x.reshape(x.shape[0], -1), what)

    def _build_from_data(self, sample_shape):
        raise ValueError(f"Model '{self.name}' is not built: it has no input shape.")

    def _prepare_y(self, y, n, what="y", x_name="x"):
        y = _as_array(y, what)
        _check_finite(y, what)
        if y.shape[0] != n:
            raise ValueError(f"{x_name} and {what} must have the same number of samples. "
                             f"Received: {x_name} has {n}, {what} has {y.shape[0]}")
        out_shape = self._graph["output"].sample_shape
        if self.loss.sparse:
            expected = out_shape[:-1]
            shape = y.shape[1:]
            if shape and shape[-1] == 1 and len(shape) == len(expected) + 1:
                shape = shape[:-1]
            if tuple(shape) != tuple(expected):
                raise ValueError(f"{self.loss.name} expects integer labels of shape {(None,) + expected} "
                                 f"(or with a trailing 1) for outputs of shape {(None,) + out_shape}. "
                                 f"Received: {what}.shape={y.shape}")
            classes = out_shape[-1]
            if y.dtype.kind == "f" and not np.all(y == np.floor(y)):
                raise ValueError(f"{self.loss.name} expects integer class ids in {what}. Received non-integer values")
            if y.min() < 0 or y.max() >= classes:
                raise ValueError(f"{self.loss.name} expects class ids in [0, {classes}). "
                                 f"Received values in [{y.min()}, {y.max()}]")
        else:
            shape = tuple(y.shape[1:])
            if shape != tuple(out_shape) and not (out_shape[-1] == 1 and shape == tuple(out_shape[:-1])):
                hint = ""
                if isinstance(self.loss, losses_module.CategoricalCrossentropy) and shape in ((), (1,)):
                    hint = (" Integer labels need loss='sparse_categorical_crossentropy' or "
                            "pytrainc.utils.to_categorical(y).")
                raise ValueError(f"{what} must have shape {(None,) + out_shape} to match the model's output. "
                                 f"Received: {what}.shape={y.shape}.{hint}")
        return _to_float32(y.reshape(n, -1), what, checked=True), y.shape  # checked on entry

    def _resolve_metrics(self, y_shape):
        if self._metrics is None:
            out_shape = self._graph["output"].shape
            self._metrics = [m.resolve(y_shape, out_shape, self.loss) if isinstance(m, metrics_module._Accuracy)
                             else m for m in self._metric_specs]

    def _prepare_xy(self, x, y):
        x32 = self._prepare_x(x)
        y32, y_shape = self._prepare_y(y, x32.shape[0])
        self._resolve_metrics(y_shape)
        return x32, y32

    @staticmethod
    def _batch_size(batch_size):
        if batch_size is None:
            return 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        return int(batch_size)

    # -- training ----------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0):
        """Train the model, as `keras.Model.fit`.

        Each epoch runs in one C call (shuffle, batches, forward, backward,
        optimizer step, loss and metrics); Python runs once per epoch, or per
        batch only when a callback overrides a batch hook.

        Args:
            x: Inputs, an array (any numeric dtype and layout) or a list.
            y: Targets: one-hot or integer class ids as the loss expects.
            batch_size: Defaults to 32.
            epochs: Index of the last epoch. Defaults to 1.
            verbose: 'auto' (= 1), 0 silent, 1 or 2 one line per epoch. Defaults to 'auto'.
            callbacks: List of `pytrainc.callbacks.Callback`.
            validation_split: Fraction in [0, 1) of the data, taken from the end
                before shuffling, used for validation. Defaults to 0.0.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, val_sample_weight)`,
                used instead of validation_split.
            shuffle: Whether to shuffle the training data each epoch. Defaults to True.
            class_weight: Optional dict {class index: weight} scaling each sample's
                loss and metrics by its class's weight (classes not listed weigh 1).
            sample_weight: Optional (n,) array of per-sample weights (multiplied by
                class_weight's). The loss is sum(w * loss) / batch size, metrics
                are weighted means, as in Keras.
            initial_epoch: Epoch at which to start. Defaults to 0.

        Returns:
            A `History` whose `.history` maps 'loss', metric names and their
            'val_' versions to per-epoch lists.

        Raises:
            RuntimeError: if the model is not compiled.
            ValueError: for data of the wrong shape, NaN values, empty data,
                bad labels or bad arguments.
        """
        self._require_compiled("fit")
        batch_size = self._batch_size(batch_size)
        verbose = self._verbose(verbose)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int. Received: epochs={epochs!r}")
        if not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
            raise ValueError(f"initial_epoch must be a non-negative int. Received: {initial_epoch!r}")
        if not (0.0 <= float(validation_split) < 1.0):
            raise ValueError(f"validation_split must be in [0, 1). Received: {validation_split}")
        x32, y32 = self._prepare_xy(x, y)
        w32 = _prepare_weights(sample_weight, class_weight, y32, x32.shape[0])
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight). "
                                 f"Received: {type(validation_data).__name__} of length "
                                 f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}")
            xv = self._prepare_x(validation_data[0], "x_val")
            yv, _ = self._prepare_y(validation_data[1], xv.shape[0], "y_val", "x_val")
            wv = (_prepare_weights(validation_data[2], None, yv, xv.shape[0], "val_sample_weight")
                  if len(validation_data) == 3 else None)
            val = (xv, yv, wv)
        elif validation_split:
            # Keras takes the last fraction, before any shuffling.
            split = int(math.floor(x32.shape[0] * (1.0 - validation_split)))
            if split == 0 or split == x32.shape[0]:
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation "
                                 f"samples out of {x32.shape[0]}")
            val = (x32[split:], y32[split:], None if w32 is None else w32[split:])
            x32, y32 = x32[:split], y32[:split]
            w32 = None if w32 is None else w32[:split]
        n = x32.shape[0]
        self._train_batch_size = batch_size
        plan = self._ensure_plan(_engine_batch(batch_size, n))
        cbs = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=int(epochs), steps=-(-n // batch_size))
        self.stop_training = False
        rng = utils.global_rng()
        ordered = np.arange(n, dtype=np.int64)
        cbs.on_train_begin()
        # BackupAndRestore may have restored an interrupted run: start where it stopped.
        resume = cbs.resume_point()
        start_epoch = int(initial_epoch) if resume is None else resume.epoch
        logs = {}
        for epoch in range(start_epoch, int(epochs)):
            mid_epoch = resume is not None and epoch == resume.epoch and resume.batch > 0
            if mid_epoch:
                # The interrupted run already began this epoch (and its callbacks saw it):
                # replay its shuffle from the saved generator state, then skip the batches done.
                rng[...] = resume.epoch_rng
                start_batch, sums = resume.batch, resume.sums.copy()
            else:
                cbs.on_epoch_begin(epoch)
                start_batch, sums = 0, None
            # A callback (BatchSizeScheduler) may have changed the batch size.
            # A batch larger than the data is one batch of all samples, as in Keras:
            # the engine never reserves more rows than there are samples.
            batch_size = _engine_batch(self._batch_size(self._train_batch_size), n)
            plan = self._ensure_plan(batch_size)
            cbs.params["steps"] = -(-n // batch_size)
            if mid_epoch:
                resume.check_epoch(cbs.params["steps"], plan.n_sums)
            epoch_rng = rng.copy()
            perm = _C.permutation(rng, n) if shuffle else ordered
            logs = self._train_epoch(plan, x32, y32, w32, perm, batch_size, cbs, epoch, start_batch, sums,
                                     epoch_rng)
            if val is not None:
                vb = _engine_batch(batch_size, val[0].shape[0])
                vs = self._ensure_plan(vb).evaluate(val[0], val[1], vb, _interruptible(), val[2])
                logs.update({"val_" + k: v for k, v in self._logs(vs).items()})
            cbs.on_epoch_end(epoch, logs)
            cbs.on_backup_point(epoch + 1, 0)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    def _train_epoch(self, plan, x, y, w, perm, batch_size, cbs, epoch=0, start_batch=0, sums=None,
                     epoch_rng=None):
        """One epoch: one C call, or C calls per batch / per chunk when callbacks ask."""
        n = x.shape[0]
        steps = -(-n // batch_size)
        interruptible = _interruptible()
        stop_nonfinite = "nonfinite_loss" in cbs.engine_batch_hooks
        if sums is None:
            sums = np.zeros(plan.n_sums)
        interval = cbs.backup_interval

        def checkpoint(done):
            if interval and done % interval == 0 and done < steps:
                cbs.on_backup_point(epoch, done, sums, epoch_rng)

        if cbs.has_train_batch_hooks:
            for b in range(start_batch, steps):
                cbs.on_train_batch_begin(b)
                _, _, last, bad = plan.train(x, y, perm, batch_size, b, b + 1, interruptible, stop_nonfinite, w,
                                             sums)
                logs = self._logs(sums)
                if bad:
                    cbs.on_engine_batch_end("nonfinite_loss", b, {**logs, "loss": last})
                cbs.on_train_batch_end(b, logs)
                checkpoint(b + 1)
                if self.stop_training:
                    break
            return self._logs(sums)
        progress = cbs.has_train_progress_hooks
        # Without progress output or backups the whole epoch is one C call; with
        # progress, chunks of batches sized to take about 0.15 s, so the bar
        # updates but costs nothing; with backups, chunks end at their boundaries.
        b, chunk = start_batch, (1 if progress else steps)
        while b < steps:
            end = min(steps, b + chunk)
            if interval:
                end = min(end, (b // interval + 1) * interval)
            t0 = time.perf_counter()
            _, done, last, bad = plan.train(x, y, perm, batch_size, b, end, interruptible, stop_nonfinite, w, sums)
            elapsed = time.perf_counter() - t0
            b += done
            if bad:
                if progress:
                    cbs.on_train_progress(b, self._logs(sums))
                cbs.on_engine_batch_end("nonfinite_loss", b - 1, {**self._logs(sums), "loss": last})
                break
            checkpoint(b)
            if progress:
                cbs.on_train_progress(b, self._logs(sums))
                chunk = max(1, min(chunk * 4, int(chunk * 0.15 / max(elapsed, 1e-6))))
        return self._logs(sums)

    @staticmethod
    def _verbose(verbose):
        if verbose == "auto":
            return 1
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
        return int(verbose)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False,
                 callbacks=None):
        """Loss and metrics on data, as `keras.Model.evaluate` (weighted by sample_weight when given).

        Returns:
            The loss (a float) when there are no metrics, else `[loss, *metrics]`;
            a dict with `return_dict=True`.
        """
        self._require_compiled("evaluate")
        batch_size = self._batch_size(batch_size)
        self._verbose(verbose)
        x32, y32 = self._prepare_xy(x, y)
        batch_size = _engine_batch(batch_size, x32.shape[0])
        plan = self._ensure_plan(batch_size)
        cbs = callbacks_module.CallbackList(callbacks, model=self)
        cbs.on_test_begin()
        w32 = _prepare_weights(sample_weight, None, y32, x32.shape[0])
        logs = self._logs(plan.evaluate(x32, y32, batch_size, _interruptible(), w32))
        cbs.on_test_end(logs)
        return self._format_logs(logs, return_dict)

    def _format_logs(self, logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """Outputs for inputs x, computed in C in batches, as `keras.Model.predict`.

        Returns:
            A float32 array of shape `(len(x),) + output shape`.
        """
        self._require_built("predict")
        batch_size = self._batch_size(batch_size)
        self._verbose(verbose)
        x32 = self._prepare_x(x)
        batch_size = _engine_batch(batch_size, x32.shape[0])
        plan = self._ensure_plan(batch_size)
        cbs = callbacks_module.CallbackList(callbacks, model=self)
        cbs.on_predict_begin()
        out = plan.predict(x32, batch_size, _interruptible())
        cbs.on_predict_end()
        return out.reshape((x32.shape[0],) + tuple(self._graph["output"].sample_shape))

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch (all of x). Returns that batch's loss
        (and metrics), as Keras 2's train_on_batch with reset_metrics=True."""
        self._require_compiled("train_on_batch")
        x32, y32 = self._prepare_xy(x, y)
        n = x32.shape[0]
        w32 = _prepare_weights(sample_weight, class_weight, y32, n)
        plan = self._ensure_plan(n)
        sums, _, _, _ = plan.train(x32, y32, np.arange(n, dtype=np.int64), n, 0, 1, _interruptible(), False, w32)
        return self._format_logs(self._logs(sums), return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch, without training."""
        self._require_compiled("test_on_batch")
        x32, y32 = self._prepare_xy(x, y)
        w32 = _prepare_weights(sample_weight, None, y32, x32.shape[0])
        plan = self._ensure_plan(x32.shape[0])
        sums = plan.evaluate(x32, y32, x32.shape[0], _interruptible(), w32)
        return self._format_logs(self._logs(sums), return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch (all of x)."""
        x = _as_array(x, "x")
        return self.predict(x, batch_size=x.shape[0], verbose=0)

    # -- description -------------------------------------------------------
    def summary(self, print_fn=None):
        """Print a table of layers, output shapes and parameter counts, as Keras."""
        print_fn = print_fn or print
        self._require_built("summary")
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for t in self._graph["order"]:
            if t._inputs:
                layer = t._layer
                rows.append((f"{layer.name} ({type(layer).__name__})", str(t.shape), str(layer.count_params())))
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "-" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        for i, r in enumerate(rows):
            print_fn("".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            print_fn("=" * sum(widths) if i == 0 else line)
        trainable = sum(v._value.size for v in self.trainable_weights)
        total = self.count_params()
        print_fn(f" Total params: {total}")
        print_fn(f" Trainable params: {trainable}")
        print_fn(f" Non-trainable params: {total - trainable}")

    # -- config and saving -------------------------------------------------
    def get_config(self):
        self._require_built("get_config")
        order = self._graph["order"]
        index = {id(t): i for i, t in enumerate(order)}
        layer_index, layer_configs = {}, []
        nodes = []
        for t in order:
            layer = t._layer
            if id(layer) not in layer_index:
                layer_index[id(layer)] = len(layer_configs)
                layer_configs.append(layers_module.serialize(layer))
            nodes.append([layer_index[id(layer)], [index[id(p)] for p in t._inputs]])
        return {"name": self.name, "layers": layer_configs, "nodes": nodes,
                "input": index[id(self._graph["input"])], "output": index[id(self._graph["output"])]}

    @classmethod
    def from_config(cls, config):
        layers = [layers_module.deserialize(c) for c in config["layers"]]
        tensors = []
        for layer_i, parents in config["nodes"]:
            layer = layers[layer_i]
            if not parents:
                if not isinstance(layer, InputLayer):
                    raise ValueError("model config: a node without inputs must be an InputLayer")
                tensors.append(layer.output)
            else:
                inputs = [tensors[i] for i in parents]
                tensors.append(layer(inputs if layer._multi_input else inputs[0]))
        return Model(inputs=tensors[config["input"]], outputs=tensors[config["output"]], name=config["name"])

    def _compile_config(self):
        if not self.compiled:
            return None
        return {"optimizer": optimizers_module.serialize(self.optimizer),
                "loss": losses_module.serialize(self.loss),
                "metrics": [metrics_module.serialize(m) for m in self._metric_specs]}

    def save(self, filepath):
        """Save architecture, weights and optimizer state to one file (see `save_model`)."""
        save_model(self, filepath)

    def save_weights(self, filepath):
        """Save the weights atomically: `.h5` / `.hdf5` in Keras's legacy HDF5 layout and
        `.weights.h5` in Keras 3's (both load into Keras with `load_weights`; see
        `pytrainc.h5`, needs h5py), `.npz` as NumPy's format, any other extension in
        the safetensors layout (the state dict).

        Raises:
            ValueError: for `.keras` paths, which are not supported yet.
            ImportError: for an HDF5 path when h5py is not installed.
        """
        _refuse_keras_formats(filepath)
        self._require_built("save_weights")
        if h5.is_h5_path(filepath):
            h5.save_weights(self, filepath)
        else:
            saving.save(self.state_dict(), filepath)

    def load_weights(self, filepath):
        """Load weights saved by `save_weights` (or `pytrainc.save(model.state_dict(), ...)`),
        or saved by Keras in HDF5 (`.h5` / `.hdf5` / `.weights.h5`; layers with weights are
        matched by order, see `pytrainc.h5.load_weights`).

        Raises:
            StateDictError: if the file's names or shapes do not fit this model.
        """
        _refuse_keras_formats(filepath)
        self._require_built("load_weights")
        if h5.is_h5_path(filepath):
            h5.load_weights(self, filepath)
        else:
            self.load_state_dict(saving.load(filepath), strict=True)

    def __call__(self, inputs):
        raise TypeError("Calling a model on tensors is not supported yet; use model.predict(x) for data.")


class Sequential(Model):
    """A linear stack of layers, as `keras.Sequential`.

    Args:
        layers: Optional list of layers; it may start with `Input(shape)`.
        name: Optional name.

    Example:

    >>> model = Sequential()
    >>> model.add(Dense(10, input_dim=8, activation="relu"))
    >>> model.add(Dense(1, activation="sigmoid"))
    >>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    """

    _default_name = "sequential"

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._stack = []
        self._input = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (or set the input with `Input(shape)` / `InputLayer`)."""
        if isinstance(layer, KerasTensor):
            if layer._inputs or not isinstance(layer._layer, InputLayer):
                raise ValueError("Sequential accepts Input(shape) tensors, not outputs of other layers.")
            layer = layer._layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input is not None:
                raise ValueError("An InputLayer must come first in a Sequential model.")
            self._input = layer
        elif isinstance(layer, Layer):
            if any(layer is l for l in self._stack):
                raise ValueError(f"Layer '{layer.name}' is already in this model.")
            if not self._stack and self._input is None and layer._input_shape_arg is not None:
                self._input = InputLayer(shape=layer._input_shape_arg)
            self._stack.append(layer)
        else:
            raise TypeError(f"Sequential.add expects a pytrainc layer. Received: {type(layer).__name__}")
        self._rebuild()

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._rebuild()
        return layer

    def _rebuild(self):
        if self._input is None or not self._stack:
            self._graph = None
            self._plan = None
            return
        t = self._input.output
        for layer in self._stack:
            t = layer(t)
        self._set_graph(self._input.output, t)

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape` (with or without the batch axis None)."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            self._build_from_data(shape)

    def _build_from_data(self, sample_shape):
        if self._input is not None:
            return
        self._input = InputLayer(shape=tuple(sample_shape))
        self._rebuild()
        if self._graph is None:
            raise ValueError("Sequential model has no layers.")

    @property
    def layers(self):
        return list(self._stack)

    def get_config(self):
        config = {"name": self.name, "layers": [layers_module.serialize(l) for l in self._stack]}
        if self._input is not None:
            config["layers"].insert(0, layers_module.serialize(self._input))
        return config

    @classmethod
    def from_config(cls, config):
        return cls([layers_module.deserialize(c) for c in config["layers"]], name=config.get("name"))


# The model file lives in pytrainc.saving.model_file; these names stay importable from here.
from pytrainc.saving.model_file import _refuse_keras_formats, load_model, save_model  # noqa: E402
