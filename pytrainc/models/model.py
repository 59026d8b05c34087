"""`keras.Model`: a graph of layer calls, with PyTorch-style state dicts.

A model is a graph of layer calls. Compiling it for the engine gives a plan:
an ordered list of ops over buffers, run by the C core. Parameters live in one
flat float32 array (trainable ones first) and every weight is a view into it,
so the engine, `get_weights` and `state_dict` all see the same memory. The
training methods come from `pytrainc.trainers.Trainer`.
"""

import collections
import threading

import numpy as np

from pytrainc import _C, summary_utils, utils
from pytrainc import layers as layers_module
from pytrainc.layers import KerasTensor, _outputs, _shapes
from pytrainc.models import subclassed as _subclassed
from pytrainc.saving import model_file
from pytrainc.models.model_saving import ModelSaving
from pytrainc.trainers import Trainer

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _value_problem(name, value):
    """Why the weights `value` cannot be loaded as float32 (NaN, inf, overflow), or None."""
    if value.dtype.kind != "f":
        return None
    bad = value.size - int(np.count_nonzero(np.isfinite(value)))
    if bad:
        return f"{name} holds {bad} NaN or infinite value(s); expected finite numbers"
    if value.dtype.itemsize > 4:
        with np.errstate(over="ignore"):
            over = value.size - int(np.count_nonzero(np.isfinite(value.astype(np.float32))))
        if over:
            return f"{name} holds {over} value(s) outside the float32 range (|x| > 3.4e38)"
    return None


class StateDictError(ValueError, RuntimeError):
    """A state dict does not fit the model (a RuntimeError, as in PyTorch, and a ValueError)."""


class Model(ModelSaving, Trainer):
    """A model: a graph of layers from its inputs to its outputs, as `keras.Model`.

    Build one with the functional API, `Model(inputs=x, outputs=y)`, or use
    `Sequential`. Then `compile`, `fit`, `evaluate`, `predict`. A model with
    several inputs takes its data as a list in input order or a dict keyed by
    input name (`input_names`, the `Input` names); with several outputs each
    output has its own loss (see `compile`), its targets come as a list or a
    dict keyed by output name (`output_names`, the names of the layers
    computing them), and `predict` returns a list (a dict when the outputs
    were given as a dict).

    Args:
        inputs: The KerasTensor returned by `pytrainc.layers.Input`, or a list
            or dict of them.
        outputs: The KerasTensor returned by the last layer call, or a list or
            dict of them.
        name: Optional name.

    Example:

    >>> x = Input(shape=(8,))
    >>> h = Dense(16, activation="relu")(x)
    >>> model = Model(inputs=x, outputs=Dense(1)(h))
    >>> model.compile(optimizer="adam", loss="mse")

    Several inputs and outputs:

    >>> num, cat = Input(shape=(4,), name="num"), Input(shape=(3,), name="cat")
    >>> h = Dense(8, activation="relu")(Concatenate()([num, cat]))
    >>> model = Model([num, cat], [Dense(1, name="price")(h), Dense(3, activation="softmax", name="kind")(h)])
    >>> model.compile(loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
    ...               loss_weights={"price": 0.5, "kind": 1.0}, metrics={"kind": ["accuracy"]})
    """

    _default_name = "functional"

    @classmethod
    def _auto_name(cls):
        """Keras's default name: "functional" for Model itself, "sequential" for Sequential, else
        the snake-case class name (a subclassed `MyModel` is "my_model")."""
        if "_default_name" in cls.__dict__:
            return cls._default_name
        from pytrainc.utils import snake_case

        return snake_case(cls.__name__)

    def __init__(self, inputs=None, outputs=None, name=None):
        self.name = name or layers_module._unique_name(self._auto_name())
        self.stop_training = False
        self.history = None
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self._metric_specs = []
        self._heads = []  # per output, its loss head (compile_utils.Head)
        self._metrics = None  # resolved metric objects, fixed at the first fit/evaluate
        self._metric_info = None  # per resolved metric: (head, unweighted, log name)
        self._graph = None
        self._params = np.zeros(0, dtype=np.float32)
        self._grads = np.zeros(0, dtype=np.float32)
        self._pack_key = None
        self._plan = None
        self._shuffle_rng = None
        self._shuffle_seedings = None  # utils._SEEDINGS when _shuffle_rng was copied
        # fit, evaluate and predict hold it for the whole call: one model used
        # from several threads runs one call at a time (reentrant, so a callback
        # may call predict on its own model).
        self._call_lock = threading.RLock()
        if inputs is None and outputs is None:
            if type(self) is Model:
                raise ValueError(
                    "Model needs inputs and outputs, e.g. Model(inputs=x, outputs=y). "
                    f"Received: inputs={inputs!r}, outputs={outputs!r}"
                )
            return
        self._set_graph(inputs, outputs)

    # -- graph -------------------------------------------------------------
    def _set_graph(self, inputs, outputs):
        input_list, input_names, input_struct = self._tensors(inputs, "inputs")
        output_list, output_names, output_struct = self._tensors(outputs, "outputs")
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

        for t in output_list:
            visit(t)
        sources = [t for t in order if not t._inputs]
        if any(all(t is not i for i in input_list) for t in sources):
            raise ValueError(
                "Graph disconnected: the outputs depend on an Input that is not among the model's "
                f"`inputs`. Received inputs={input_list}"
            )
        unused = [i for i in input_list if all(i is not t for t in sources)]
        if unused:
            raise ValueError(f"The outputs do not depend on the model's input(s) {unused}.")
        if len({id(t) for t in input_list}) != len(input_list) or len({id(t) for t in output_list}) != len(output_list):
            raise ValueError(
                "A model's inputs, and its outputs, must be distinct tensors: one is listed more than once. "
                f"Received: inputs={input_list}, outputs={output_list}"
            )
        for what, names in (("input", input_names), ("output", output_names)):
            if len(set(names)) != len(names):
                raise ValueError(f"The model's {what} names must be unique. Received: {names}")
        layers, seen_layers = [], set()
        for t in order:
            layer = t._layer
            if t._inputs and id(layer) not in seen_layers and not getattr(layer, "_is_op_node", False):
                seen_layers.add(id(layer))
                layers.append(layer)
        self._graph = {
            "input": input_list[0],
            "output": output_list[0],
            "inputs": input_list,
            "outputs": output_list,
            "input_names": input_names,
            "output_names": output_names,
            "input_struct": input_struct,
            "output_struct": output_struct,
            "order": order,
            "layers": layers,
        }
        self._graph["variable"] = _shapes.has_none([tuple(t.sample_shape) for t in input_list])
        self._concrete_graphs = collections.OrderedDict()
        self._plan = None
        self._pack_key = None
        self._pack()
        self._copy_global_rng()

    def _concrete_graph(self, key):
        """The graph for inputs of the concrete per-sample shapes `key` (a tuple, one per input):
        every layer call made again on them (`_outputs.recall`), so the plan of a model with
        variable-length axes is compiled for the data that arrives. The model's own graph for
        key None. Kept per shape, as many as the plans (`PlanCompiler._PLAN_CACHE`)."""
        g = self._graph
        if key is None or not g["variable"]:
            return g
        graphs = self._concrete_graphs
        if key in graphs:
            graphs.move_to_end(key)
            return graphs[key]
        inputs = [KerasTensor(shape, layer=t._layer) for t, shape in zip(g["inputs"], key)]
        values = {id(t): c for t, c in zip(g["inputs"], inputs)}
        order = list(inputs)
        for t in g["order"]:
            if t._inputs:
                values[id(t)] = _outputs.recall_node(t, [values[id(p)] for p in t._inputs])
                order.append(values[id(t)])
        # recall's tensors come in the graph's order: parents before children, as _set_graph's
        concrete = dict(g, inputs=inputs, input=inputs[0], order=order, variable=False)
        concrete["outputs"] = [values[id(t)] for t in g["outputs"]]
        concrete["output"] = concrete["outputs"][0]
        while len(graphs) >= self._PLAN_CACHE:
            graphs.popitem(last=False)
        graphs[key] = concrete
        return concrete

    @property
    def shuffle_rng(self):
        """The generator state (uint64, shape (4,)) from which `fit` draws its shuffles.

        A copy of the global generator taken when the model is built (once its
        weights are drawn) and again at the first `fit` after each
        `pytrainc.utils.set_random_seed`; each shuffled epoch advances it in place.
        So a model's shuffles do not depend on what other models draw, in this
        thread or another, and `set_random_seed` still reseeds them. `None` until
        the model is built.
        """
        return self._shuffle_rng

    def _copy_global_rng(self):
        # Right after building, the copy continues the stream the weights came from:
        # a fit right after building shuffles as a fit from the global generator would.
        if self._shuffle_rng is None:
            self._shuffle_rng = utils.global_rng().copy()
        else:
            self._shuffle_rng[...] = utils.global_rng()  # in place: callers may hold it
        self._shuffle_seedings = utils._SEEDINGS

    def _fit_shuffle_rng(self):
        """The shuffle generator for a fit, copied anew if set_random_seed ran since."""
        if self._shuffle_seedings != utils._SEEDINGS:
            self._copy_global_rng()
        return self._shuffle_rng

    @staticmethod
    def _tensors(tensors, what):
        """(tensors as a list, their names, how they were given: 'single', 'list' or 'dict').

        An input's name is its InputLayer's, an output's the layer that computed it (Keras 3's
        `output_names`); dict keys name them when given as a dict."""
        struct = "single"
        if isinstance(tensors, dict):
            struct = "dict"
            names, tensors = [str(k) for k in tensors], list(tensors.values())
        elif isinstance(tensors, (list, tuple)):
            struct = "list"
            tensors, names = list(tensors), None
        else:
            tensors, names = [tensors], None
        if not tensors:
            raise ValueError(f"`{what}` must hold at least one tensor. Received: an empty {struct}")
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"`{what}` must be KerasTensors from pytrainc.layers.Input or layer calls (one, a list or "
                    f"a dict). Received: {type(t).__name__}"
                )
        if len(tensors) > _C.MAX_IO:
            raise ValueError(f"A pytrainc model takes at most {_C.MAX_IO} {what}. Received: {len(tensors)}")
        if names is None:
            names = [t._layer.name for t in tensors]
            # Outputs of one call with several outputs share its layer's name in Keras; here they
            # are told apart by their index after the first (an encoder's [h, c]: encoder_1, encoder_2).
            names = [
                f"{n}_{t._layer.index}" if names.count(n) > 1 and _outputs.is_call_output(t) and t._layer.index else n
                for n, t in zip(names, tensors)
            ]
        return tensors, names, struct

    @property
    def built(self):
        return self._graph is not None

    @property
    def layers(self):
        """The model's layers as Keras 3's functional `model.layers`: its InputLayers first, then
        each layer once in call order (a model called inside contributing its own layers). Weights'
        names in `state_dict` index the layers without the InputLayers (`_own_layers`)."""
        if not self._graph or _subclassed.has_call(self):  # a subclassed model's: the layers it tracks
            return self._own_layers
        return [t._layer for t in self._graph["inputs"]] + list(self._graph["layers"])

    @property
    def _own_layers(self):
        """The layers that compute (no InputLayer), which saving, state dicts and interop index."""
        return list(self._graph["layers"]) if self._graph else []

    @property
    def input_shape(self):
        """The input's shape, or a list of shapes for several inputs (as Keras)."""
        if not self._graph:
            return None
        shapes = [t.shape for t in self._graph["inputs"]]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The output's shape, or a list of shapes for several outputs (as Keras)."""
        if not self._graph:
            return None
        shapes = [t.shape for t in self._graph["outputs"]]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def inputs(self):
        return list(self._graph["inputs"]) if self._graph else []

    @property
    def outputs(self):
        return list(self._graph["outputs"]) if self._graph else []

    @property
    def input_names(self):
        """The names keying dict inputs: the InputLayers' names (or the keys of a dict of inputs)."""
        return list(self._graph["input_names"]) if self._graph else []

    @property
    def output_names(self):
        """Keras 3's output names: the layers computing the outputs (or the keys of a dict of outputs)."""
        return list(self._graph["output_names"]) if self._graph else []

    def get_layer(self, name=None, index=None):
        """A layer of the model by name or by index in `model.layers`, as `keras.Model.get_layer`
        (the model's InputLayers are found by name too).

        Raises:
            ValueError: for both or neither argument, an index out of range or an unknown name.
        """
        if (name is None) == (index is None):
            raise ValueError(
                f"Provide either a layer name or layer index at `get_layer`. Received: name={name!r}, index={index!r}"
            )
        layers = self.layers
        if index is not None:
            if (
                isinstance(index, bool)
                or not isinstance(index, (int, np.integer))
                or not -len(layers) <= index < len(layers)
            ):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index!r} but model only has {len(layers)} layers."
                )
            return layers[index]
        inputs = [t._layer for t in self._graph["inputs"]] if self._graph else []
        for layer in layers + [i for i in inputs if all(i is not layer for layer in layers)]:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}.")

    def _variables(self):
        out, seen = [], set()
        for layer in self._own_layers:
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    def _constant_variables(self):
        """Constant operands of traced ops (layers, op nodes, the loss): hidden non-trainable
        parameters, not in weights or state_dict."""
        found = []
        if self.compiled:
            for f in self._compiled_functions():
                found += getattr(f, "_constants", ())
        for t in self._graph["order"] if self._graph else ():
            node = t._layer
            if getattr(node, "_is_op_node", False):
                found += node._constants
            elif node is not None:
                found += node._hidden_constants()
        return list({id(c): c for c in found}.values())

    def _pack(self):
        """Move every weight into one flat array, trainable weights first (then frozen ones and constants)."""
        variables = self._variables() + self._constant_variables()
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
            params[off : off + n] = v._value.reshape(-1)
            v._value = params[off : off + n].reshape(v._value.shape)
            offsets[id(v)] = off
            off += n
        self._params = params
        self._grads = np.zeros(total, dtype=np.float32)
        self._offsets = offsets
        self._n_trainable = sum(v._value.size for v in trainable)
        self._pack_key = key
        self._plan = None

    def _trainable_slices(self):
        """(n, 5) int64 rows [offset, size, R, C, flags] of each trainable weight in the flat array.

        R, C: the weight's last two axes (0, 0 below rank 2; Adafactor factors them); flags:
        `_C.OPTIMIZER_SLICE["no_decay"]` when the optimizer excludes it from weight decay.
        """
        no_decay = _C.OPTIMIZER_SLICE["no_decay"]
        rows = []
        for v in self._variables():
            if v.trainable:
                shape = v._value.shape
                r, c = shape[-2:] if len(shape) >= 2 else (0, 0)
                flags = no_decay if self.optimizer is not None and not self.optimizer._use_weight_decay(v) else 0
                rows.append((self._offsets[id(v)], v._value.size, r, c, flags))
        return np.array(rows, dtype=np.int64).reshape(-1, _C.OPTIMIZER_SLICE["width"])

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"{what}: the model has no input shape yet. Give the first layer an "
                "`input_shape`, start with `Input(shape)`, call `model.build(input_shape)` "
                "or fit it on data first."
            )

    # -- weights -----------------------------------------------------------
    @property
    def weights(self):
        return self._variables()

    @property
    def trainable(self):
        """Whether the model's layers train; setting it sets every layer's `trainable`, as Keras
        does (`base_model.trainable = False` freezes a pretrained base inside a new model)."""
        return self.__dict__.get("_model_trainable", True)

    @trainable.setter
    def trainable(self, value):
        self.__dict__["_model_trainable"] = bool(value)
        for layer in self.layers:
            layer.trainable = bool(value)

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
        for i, layer in enumerate(self._own_layers):
            for v in layer.weights:
                owner = v._layer  # a sublayer of a traced layer: its name tells its weights apart
                prefix = "" if owner is None or owner is layer else f"{owner.name}."
                names.append((f"{i}.{prefix}{v.name.rsplit('/', 1)[-1]}", v))
        return names

    def state_dict(self):
        """Return an ordered dict of name -> NumPy array copy, as `torch.nn.Module.state_dict`.

        Names are `'{layer index}.{weight name}'`, e.g. `'0.kernel'`, `'0.bias'`, indexing
        `model.layers` without its InputLayers, so two models with the same architecture share names.
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
                unexpected keys (with strict=True), and always shape mismatches,
                non-numeric arrays and values that are NaN, infinite or beyond
                float32's range. Nothing is changed when it raises.
        """
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(
                f"load_state_dict expects a mapping of name -> array. Received: {type(state_dict).__name__}"
            )
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
                errors.append(
                    f"size mismatch for {name}: the model has shape {v.shape}, the state dict has shape {value.shape}"
                )
            elif value.dtype.kind not in "fiub":
                errors.append(f"{name} has dtype {value.dtype}; expected numbers")
            elif _value_problem(name, value):
                errors.append(_value_problem(name, value))
            else:
                updates.append((v, value))
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                errors.insert(
                    1 if missing else 0, "Unexpected key(s) in state_dict: " + ", ".join(repr(k) for k in unexpected)
                )
        if errors:
            raise StateDictError(f"Error(s) in loading state_dict for {self.name}:\n\t" + "\n\t".join(errors))
        for v, value in updates:
            v._value[...] = value
        return IncompatibleKeys(missing, unexpected)

    # -- description -------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print a table of layers, output shapes and parameter counts in Keras 3's layout
        (with "Connected to" for a graph that is not a chain), then the totals with their sizes.

        Args:
            line_length: Width of the table. Defaults to Keras's (88, or 108 with
                connections, at most the terminal's width - 4).
            positions: Right edges of the columns as fractions of line_length. Defaults to Keras's.
            print_fn: Function called with the whole text. Defaults to printing to stdout.
        """
        if getattr(self, "_stack", None) is None:  # an unbuilt Sequential prints Keras's "? / 0 (unbuilt)" rows
            self._require_built("summary")
        summary_utils.print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def _repr_html_(self):
        """Jupyter's rich display: the summary as an HTML table (the repr only, while unbuilt)."""
        if not self.built:
            return None  # Jupyter then shows repr()
        return summary_utils.summary_html(self)

    def __repr__(self):
        # Keras 3's Layer.__repr__; a graph model built from inputs and outputs is Keras's "Functional".
        kind = "Functional" if type(self) is Model else type(self).__name__
        return f"<{kind} name={self.name}, built={self.built}>"

    def __call__(self, inputs, training=None):
        """Call the model on KerasTensors, as a layer of another model: each of its layer calls
        is made again on the new inputs, so the new graph shares this model's layers and
        weights (training either trains both).

        Unlike Keras, the outer model lists the inner model's layers themselves in its
        `layers` (not the model as one layer).

        Args:
            inputs: A KerasTensor, or a list (in input order) or dict (keyed by input name)
                of them, one per input of this model.

        Returns:
            The output KerasTensor, or a list or dict of them as the model's outputs.

        Called on arrays, it returns the predictions, as `predict` (building a Sequential without
        an `Input` from their shape, as Keras does on the first call).

        Raises:
            ValueError: for the wrong number or shapes of inputs.
        """
        if _subclassed.has_call(self):
            return _subclassed.call(self, inputs, training)
        from pytrainc.layers import _eager

        if _eager.is_data(inputs):
            return _eager.call_model(self, inputs, training)  # model(x) on arrays, as Keras runs it
        if not self.built and isinstance(inputs, KerasTensor):
            self._build_from_data(tuple(inputs.sample_shape))  # a Sequential without Input: built on first call
        self._require_built("Calling a model")
        g = self._graph
        names = g["input_names"]
        if isinstance(inputs, dict):
            if set(inputs) != set(names):
                raise ValueError(f"Model '{self.name}' takes inputs named {names}. Received: keys {list(inputs)}")
            tensors = [inputs[n] for n in names]
        else:
            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(tensors) != len(names):
            raise ValueError(f"Model '{self.name}' takes {len(names)} input(s) {names}. Received: {len(tensors)}")
        for t, inp in zip(tensors, g["inputs"]):
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"Model '{self.name}' can be called on KerasTensors only (to use it as a layer). "
                    f"Received: {type(t).__name__}. To run a model on data, use model.predict(x)."
                )
            if not _shapes.compatible(tuple(t.sample_shape), tuple(inp.sample_shape)):
                raise ValueError(
                    f"Model '{self.name}' expects input '{inp._layer.name}' of shape {inp.shape}. "
                    f"Received: shape={t.shape}"
                )
        values = {id(inp): t for inp, t in zip(g["inputs"], tensors)}
        for t in g["order"]:
            if t._inputs:
                values[id(t)] = _outputs.recall_node(t, [values[id(p)] for p in t._inputs])
        outputs = [values[id(t)] for t in g["outputs"]]
        if g["output_struct"] == "dict":
            return dict(zip(g["output_names"], outputs))
        return outputs if g["output_struct"] == "list" else outputs[0]

    def to_json(self, **kwargs):
        """The model's architecture as Keras 3's JSON (what `keras.models.model_from_json` and
        `pytrainc.models.model_from_json` read), as `keras.Model.to_json`.

        Args:
            **kwargs: Passed to `json.dumps`.
        """
        import json

        from pytrainc.saving import keras_config

        self._require_built("to_json")
        return json.dumps(keras_config.model_to_keras(self)[0], **kwargs)

    # -- subclassed models (`call` composes layers created in __init__): models/subclassed.py
    def _build_from_data(self, sample_shape):
        if _subclassed.has_call(self):
            return _subclassed.build(self, sample_shape)
        return super()._build_from_data(sample_shape)

    def build(self, input_shape=None):
        """Builds a subclassed model for inputs of `input_shape` (with or without the batch axis None)."""
        if _subclassed.has_call(self):
            return _subclassed.build_from_shape(self, input_shape)
        if not self.built:
            raise ValueError(f"Model '{self.name}' has no call to build from; give it inputs and outputs")


def _restore_model(tensors, meta):
    from pytrainc import utils

    with utils._global_rng_kept():
        return model_file.model_from_state("a pickled model", tensors, meta)


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) from the JSON of `to_json`, or of Keras's `model.to_json()`.

    Args:
        json_string: The JSON text.
        custom_objects: Optional dict of name to class or function, for the custom classes the
            JSON names (see `pytrainc.saving.CustomObjectScope`). Defaults to None.

    Raises:
        ValueError: for a JSON text pytrainc cannot build (the message names the problem).

    Example:

    >>> clone = pytrainc.models.model_from_json(model.to_json())
    """
    import json

    from pytrainc.models.sequential import Sequential
    from pytrainc.saving import keras_config

    from pytrainc.saving import object_registration

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_from_json expects a JSON text. Received: {str(json_string)[:60]!r} ({err})") from None
    with object_registration.loading_scope(custom_objects):
        info = keras_config.model_from_keras("the JSON model", config)
        return (Sequential if info["sequential"] else Model).from_config(info["config"])
