"""Keras 3 configurations: pytrainc models as Keras's `config.json` describes them, and back.

Keras 3 writes a model as nested `{"module", "class_name", "config",
"registered_name"}` objects (keras/src/saving/serialization_lib.py): layers
with `module` "keras.layers", initializers "keras.initializers", and so on, a
functional model's layers with their `inbound_nodes` naming the layer calls
they take their inputs from. pytrainc's layers have Keras's class names and
config keys; this module adds what only Keras has (the dtype policy, the
quantization keys at their defaults) on the way out, and on the way in
refuses what pytrainc does not implement (`quantization_config`, `groups=2`,
a custom class) with a message naming the layer and the key.

Nothing in a configuration is executed or imported: class names are looked
up in pytrainc's own tables, and Keras's serialized lambdas (`__lambda__`) are
refused whatever `safe_mode` says (pytrainc has no Lambda layer; with the
default `safe_mode=True` the message is Keras's).

`keras_layer_order` repeats Keras's `map_graph` (keras/src/ops/function.py):
the order of a functional model's `layers` that Keras computes when it
rebuilds the model, which names the groups of `model.weights.h5`.
"""

from pytrainc import layers as layers_module
from pytrainc.layers import _outputs
from pytrainc.saving import keras_custom
from pytrainc.saving._common import bad_file

KERAS_VERSION = "3.15.1"  # the Keras release whose layout the files follow (and that the tests load them with)
_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
_CHANNELS_LAST = {"data_format": "channels_last"}
_CONV = _CHANNELS_LAST
# Keras config keys that pytrainc's layers do not have, with the one value pytrainc implements. Written
# into every file; a Keras file with another value is refused.
_LAYER_EXTRAS = {
    "Dense": {
        "quantization_config": None,
        "lora_rank": None,
        "lora_alpha": None,
    },
    "Conv1D": _CONV,
    "Conv2D": _CONV,
    "BatchNormalization": {
        "synchronized": False,
        "renorm": False,
        "renorm_clipping": None,
    },
    "Dropout": {"noise_shape": None},
    "Embedding": {"quantization_config": None},
    **{name: {"zero_output_for_mask": False} for name in ("SimpleRNN", "LSTM", "GRU")},
    "LayerNormalization": {"rms_scaling": False},
    "Flatten": _CHANNELS_LAST,
    **{
        name: _CHANNELS_LAST
        for name in (
            "MaxPooling1D",
            "MaxPooling2D",
            "AveragePooling1D",
            "AveragePooling2D",
            "GlobalAveragePooling1D",
            "GlobalAveragePooling2D",
            "GlobalMaxPooling1D",
            "GlobalMaxPooling2D",
        )
    },
    # Convolution variants and resampling (issue #11)
    "Conv1DTranspose": _CHANNELS_LAST,
    "Conv2DTranspose": _CHANNELS_LAST,
    **{name: _CHANNELS_LAST for name in ("UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping2D")},
    **{name: _CHANNELS_LAST for name in ("DepthwiseConv1D", "DepthwiseConv2D")},
    **{name: _CHANNELS_LAST for name in ("SeparableConv1D", "SeparableConv2D")},
    "AlphaDropout": {"noise_shape": None},
    **{name: _CHANNELS_LAST for name in ("SpatialDropout2D", "SpatialDropout3D")},
}
# Keras config keys whose value has no effect given the extras above (renorm is off).
_LAYER_IGNORED = {"BatchNormalization": {"renorm_momentum"}}
_WRITTEN_ONLY = {"lora_rank", "lora_alpha"}  # Keras writes these only when set; so do we (never)
_INITIALIZER_EXTRAS = {"input_axes": None, "output_axes": None}
_OPTIMIZER_EXTRAS = {"use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None}
_OPTIMIZER_IGNORED = {"ema_momentum", "ema_overwrite_frequency"}  # no effect without use_ema
_OPTIMIZER_WRITTEN = {**_OPTIMIZER_EXTRAS, "ema_momentum": 0.99, "ema_overwrite_frequency": None}
# The losses' own configs carry label_smoothing, axis and ignore_class (losses.py).
_LOSS_EXTRAS = {"reduction": "sum_over_batch_size"}
_LOSS_WRITTEN = {}
_METRIC_EXTRAS = {"top_k": None, "multi_label": False, "num_labels": None, "label_weights": None, "from_logits": False}
_MODULES = {
    "initializer": "keras.initializers",
    "regularizer": "keras.regularizers",
    "constraint": "keras.constraints",
    "schedule": "keras.optimizers.schedules",
}
_MODEL_MODULES = {"Sequential": "keras", "Functional": "keras.src.models.functional"}


# ---------------------------------------------------------------------------
# pytrainc -> Keras


def _keras_object(module, serialized, owner=None):
    """pytrainc's `{"class_name", "config"}` as Keras's nested object (of the object `owner`, whose
    class, if custom, gives its module and registered name)."""
    if serialized is None or isinstance(serialized, str):
        return serialized
    custom = None if owner is None else keras_custom.registered(type(owner))
    module, registered = custom or (module, None)
    return {
        "module": module,
        "class_name": serialized["class_name"],
        "config": serialized["config"],
        "registered_name": registered,
    }


def _nested_to_keras(key, value):
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    family = "initializer" if key.endswith("_initializer") else "regularizer"
    family = "constraint" if key.endswith("_constraint") else family
    return _keras_object(_MODULES[family], value)


def _shape_list(shape):
    if isinstance(shape, list):  # a merge layer's inputs
        return [[None, *s] for s in shape]
    return [None, *shape]


def layer_to_keras(layer):
    """The Keras 3 serialization of a pytrainc layer (without a functional model's `inbound_nodes`).

    Raises:
        ValueError: for a layer class that is not one of pytrainc's own.
    """
    name = type(layer).__name__
    custom = keras_custom.registered(type(layer))
    if layers_module._LAYER_CLASSES.get(name) is not type(layer) and custom is None:
        raise ValueError(
            f"Only pytrainc's own layers can be written to a .keras file. Received: layer "
            f"'{layer.name}' of class {type(layer).__module__}.{type(layer).__qualname__}"
        )
    if isinstance(layer, layers_module.InputLayer):
        config = {
            "batch_shape": [None, *layer.shape],
            "dtype": layer.input_dtype,
            "sparse": False,
            "ragged": False,
            "name": layer.name,
            "optional": False,
        }
        return {"module": "keras.layers", "class_name": name, "config": config, "registered_name": None}
    config = {k: _nested_to_keras(k, v) for k, v in layer.get_config().items() if k != "input_shape"}
    for key, attr in _WRAPPED.items():  # a wrapper's layers, serialized as Keras nests them
        if isinstance(config.get(key), dict):
            inner = getattr(layer, attr[type(layer).__name__])
            config[key] = layer_to_keras(inner)
    config["dtype"] = dict(_POLICY)
    for key, value in _LAYER_EXTRAS.get(name, {}).items():
        if key not in _WRITTEN_ONLY:
            config.setdefault(key, value)
    module, registered = custom or ("keras.layers", None)
    out = {"module": module, "class_name": name, "config": config, "registered_name": registered}
    if layer._build_shape is not None:
        out["build_config"] = {"input_shape": _shape_list(layer._build_shape)}
    return out


def keras_layer_order(model):
    """`(layers, nodes)`: a functional model's layers (InputLayer first) in the order Keras gives them, and
    its layer calls (KerasTensors) from the input on, as `keras.src.ops.function.map_graph` orders them."""
    g = model._graph
    nodes, op_index, finished = [], {}, set()
    outputs = [_call_of(t) for t in g["outputs"]]
    if g["output_struct"] == "dict":  # Keras flattens a dict in sorted key order (keras.tree)
        outputs = [t for _, t in sorted(zip(g["output_names"], outputs), key=lambda p: p[0])]
    stack = [(t, False) for t in reversed(outputs)]  # Keras maps the first output's graph first
    while stack:  # _build_map: depth first from the output, each node after its inputs
        tensor, done = stack.pop()
        if done:
            finished.add(id(tensor))
            nodes.append(tensor)
            continue
        if id(tensor) in finished:
            continue
        op_index.setdefault(id(tensor._layer), len(op_index))
        stack.append((tensor, True))
        stack.extend((_call_of(parent), False) for parent in reversed(tensor._inputs))
    node_depth, op_depth, by_id = {}, {}, {}
    for tensor in reversed(nodes):
        layer = tensor._layer
        by_id[id(layer)] = layer
        depth = max(node_depth.setdefault(id(tensor), 0), op_depth.get(id(layer), 0))
        op_depth[id(layer)] = node_depth[id(tensor)] = depth
        for parent in map(_call_of, tensor._inputs):
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    order = sorted(op_depth, key=lambda i: (-op_depth[i], op_index[i]))
    return [by_id[i] for i in order], nodes


def _call_of(tensor):
    """The layer call a tensor comes from: itself, or for an output of a call with several outputs
    (layers/_outputs.py) the call's node."""
    return tensor._inputs[0] if getattr(tensor._layer, "_is_call_output", False) else tensor


def model_to_keras(model):
    """`(config, layers)`: Keras 3's serialization of a built model (without its compile configuration), and
    its layers in the order of Keras's `model.layers` (which names the groups of `model.weights.h5`)."""
    from pytrainc.models import Sequential

    if isinstance(model, Sequential):
        input_layer = model._input
        layer_configs = [layer_to_keras(input_layer)] + [layer_to_keras(layer) for layer in model._own_layers]
        shape = [None, *input_layer.shape]
        config = {
            "name": model.name,
            "trainable": True,
            "dtype": dict(_POLICY),
            "layers": layer_configs,
            "build_input_shape": shape,
        }
        out = {
            "module": _MODEL_MODULES["Sequential"],
            "class_name": "Sequential",
            "config": config,
            "registered_name": None,
            "build_config": {"input_shape": shape},
        }
        return out, model._own_layers
    layers, nodes = keras_layer_order(model)
    node_index = {}  # id(tensor) -> its index among its layer's calls
    calls = {}
    for tensor in nodes:
        node_index[id(tensor)] = calls.get(id(tensor._layer), 0)
        calls[id(tensor._layer)] = node_index[id(tensor)] + 1

    def history(tensor):  # a call's output i of several is [layer, node, i], as Keras's keras_history
        call = _call_of(tensor)
        return [call._layer.name, node_index[id(call)], tensor._layer.index if call is not tensor else 0]

    def keras_tensor(tensor):
        dtype = getattr(tensor._layer, "input_dtype", "float32")  # an Input's own (a bool mask's), else float32
        return {
            "class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": dtype, "keras_history": history(tensor)},
        }

    layer_configs = []
    for layer in layers:
        entry = layer_to_keras(layer)
        entry["name"] = layer.name
        inbound = []
        for tensor in nodes:
            if tensor._layer is layer and tensor._inputs:
                args = [keras_tensor(t) for t in tensor._inputs]
                kwargs = {}
                if getattr(tensor, "_mask_parent", False):  # a call given mask=: Keras's kwargs "mask"
                    *args, kwargs["mask"] = args
                if len(args) > 1 and not layer._multi_input:  # a recurrent layer's initial_state
                    inbound.append({"args": args[:1], "kwargs": {**kwargs, "initial_state": args[1:]}})
                    continue
                inbound.append({"args": [args] if layer._multi_input else args, "kwargs": kwargs})
        entry["inbound_nodes"] = inbound
        layer_configs.append(entry)

    def io(key):
        g = model._graph
        tensors, struct = g[key + "s"], g[key + "_struct"]
        if struct == "single":
            return history(tensors[0])
        if struct == "dict":
            return {n: history(t) for n, t in zip(g[key + "_names"], tensors)}
        return [history(t) for t in tensors]

    config = {
        "name": model.name,
        "trainable": True,
        "layers": layer_configs,
        "input_layers": io("input"),
        "output_layers": io("output"),
    }
    out = {
        "module": _MODEL_MODULES["Functional"],
        "class_name": "Functional",
        "config": config,
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }
    return out, layers  # Keras's Functional.layers holds the InputLayer too


def _with_extras(config, extras):
    return {**config, **{k: v for k, v in extras.items() if k not in config}}


def compile_to_keras(model):
    """Keras 3's `compile_config` of a compiled model."""
    from pytrainc import losses, metrics, optimizers

    opt = optimizers.serialize(model.optimizer)
    config = {
        k: _keras_object(_MODULES["schedule"], v) if k == "learning_rate" and isinstance(v, dict) else v
        for k, v in opt["config"].items()
    }
    optimizer = _keras_object(
        "keras.optimizers", {"class_name": opt["class_name"], "config": _with_extras(config, _OPTIMIZER_WRITTEN)}
    )

    def keras_loss(loss):
        if keras_custom.wrapped_function(loss) is not None:
            return keras_custom.function_to_keras(loss.fn)
        owner, loss = loss, losses.serialize(loss)
        extras = {
            "reduction": "sum_over_batch_size",
            **{k: _LOSS_EXTRAS[k] for k in _LOSS_WRITTEN.get(loss["class_name"], ())},
        }
        return _keras_object(
            "keras.losses", {"class_name": loss["class_name"], "config": _with_extras(loss["config"], extras)}, owner
        )

    def metric_list(specs):
        return [
            keras_custom.function_to_keras(m.fn)
            if keras_custom.wrapped_function(m) is not None
            else _keras_object("keras.metrics", metrics.serialize(m), m)
            for m in specs
        ]

    heads = model._heads
    if len(heads) == 1:  # Keras's single-output layout
        loss, weights = keras_loss(heads[0].loss), heads[0].weight
        plain = metric_list(heads[0].metric_specs)
        weighted = metric_list(heads[0].weighted_specs) or None
    else:  # keyed by output name, as Keras writes a compile given dicts
        loss = {h.name: keras_loss(h.loss) for h in heads}
        weights = {h.name: h.loss_weight for h in heads}
        plain = {h.name: metric_list(h.metric_specs) for h in heads if h.metric_specs}
        weighted = {h.name: metric_list(h.weighted_specs) for h in heads if h.weighted_specs} or None
    return {
        "optimizer": optimizer,
        "loss": loss,
        "loss_weights": weights,
        "metrics": plain,
        "weighted_metrics": weighted,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


# ---------------------------------------------------------------------------
# Keras -> pytrainc


class _In:
    """Reading one configuration: the label errors name, and `safe_mode`."""

    def __init__(self, label, safe_mode):
        self.label, self.safe_mode = label, safe_mode

    def refuse(self, problem):
        return bad_file(self.label, problem)

    def check_dict(self, value, what):
        if not isinstance(value, dict):
            raise self.refuse(f"{what} is {type(value).__name__} {value!r:.100}; expected an object")
        return value

    def check_object(self, obj, what):
        """A Keras nested object's class name and config, after checking that it names no code."""
        self.check_dict(obj, what)
        cls = obj.get("class_name")
        if cls == "__lambda__":
            if self.safe_mode:
                raise self.refuse(
                    f"{what} is a Python lambda. Requested the deserialization of a Python lambda. "
                    "This carries a potential risk of arbitrary code execution and thus it is "
                    "disallowed by default (Keras's safe_mode=True)"
                )
            raise self.refuse(
                f"{what} is a Python lambda, which pytrainc never runs (it has no Lambda layer and "
                "executes no code from files, whatever safe_mode says)"
            )
        if not isinstance(cls, str):
            raise self.refuse(f"{what} has class_name {cls!r:.60}; expected a string")
        module = obj.get("module")
        registered = obj.get("registered_name")
        if keras_custom.names_custom(obj) and keras_custom.find(obj) is None:
            kind = f"function {obj.get('config')!r:.80}" if cls == "function" else f"class {cls!r}"
            raise self.refuse(
                f"{what} is the custom {kind} (module {module!r:.80}, registered_name "
                f"{registered!r:.80}), which is neither registered nor in custom_objects. "
                + keras_custom.object_registration.LOAD_HINT
            )
        return cls, obj.get("config", {})

    def strip(self, config, extras, ignored, what):
        """`config` without the keys of `extras` (which must hold their value) and `ignored`."""
        out = {}
        for key, value in self.check_dict(config, f"the config of {what}").items():
            if key in ignored:
                continue
            if key in extras:
                if value != extras[key] and not (extras[key] is None and value in ([], {})):
                    raise self.refuse(
                        f"{what} has {key}={value!r:.100}; pytrainc implements only {key}={extras[key]!r}"
                    )
                continue
            out[key] = value
        return out

    def dtype(self, value, what):
        if isinstance(value, dict):
            cls, config = self.check_object(value, f"the dtype of {what}")
            value = (
                config.get("name") if cls in ("DTypePolicy", "FloatDTypePolicy") and isinstance(config, dict) else value
            )
        if value not in (None, "float32"):
            raise self.refuse(f"{what} computes in dtype {value!r:.100}; pytrainc computes in float32 only")

    def nested(self, value, family, what):
        """An initializer, regularizer or schedule: pytrainc's `{"class_name", "config"}`, a name or None."""
        if value is None or isinstance(value, str):
            return value
        cls, config = self.check_object(value, what)
        if family == "initializer":
            config = self.strip(config, _INITIALIZER_EXTRAS, (), what)
        return {"class_name": cls, "config": self.check_dict(config, f"the config of {what}")}


# Wrappers' nested layers: config key -> {wrapper class: the attribute holding that layer}.
_WRAPPED = {
    "layer": {"TimeDistributed": "layer", "Bidirectional": "forward_layer"},
    "backward_layer": {"Bidirectional": "backward_layer"},
    "cell": {"RNN": "cell"},  # read only: pytrainc's RNN(cell) is the fused layer, saved as such
}


def _layer_from_keras(r, entry, index):
    what = f"layer {index}"
    cls, config = r.check_object(entry, what)
    name = r.check_dict(config, f"the config of {what}").get("name", entry.get("name"))
    what = f"layer {index} ('{name}', {cls})" if isinstance(name, str) else what
    custom = keras_custom.layer_from_keras(r, entry, cls, config, what)
    if custom is not None:
        return custom
    if cls not in layers_module._LAYER_CLASSES:
        raise r.refuse(
            f"{what}: unknown layer class {cls!r}. {keras_custom.object_registration.LOAD_HINT}. pytrainc "
            f"reads the layers {sorted(layers_module._LAYER_CLASSES)}"
        )
    if cls == "InputLayer":
        config = dict(config)
        shape = config.pop("batch_shape", config.pop("batch_input_shape", None))
        dtype = config.pop("dtype", None)
        if dtype in layers_module.core._INT_INPUT_DTYPES:
            config["dtype"] = dtype  # ids, fed to the float32 plan
        else:
            r.dtype(dtype, what)
        config = r.strip(config, {"sparse": False, "ragged": False, "optional": False}, ("batch_size",), what)
        if (
            not isinstance(shape, list)
            or len(shape) < 2
            or any(d is not None and (not isinstance(d, int) or isinstance(d, bool)) for d in shape[1:])
        ):
            raise r.refuse(
                f"{what} has batch_shape {shape!r:.100}; pytrainc needs a list [batch, d1, ...] of ints "
                "(None for a variable-length axis)"
            )
        return {"class_name": cls, "config": {**config, "shape": shape[1:]}}
    config = dict(config)
    r.dtype(config.pop("dtype", None), what)
    config = r.strip(config, _LAYER_EXTRAS.get(cls, {}), _LAYER_IGNORED.get(cls, ()), what)
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = r.nested(value, "initializer", f"the {key} of {what}")
        elif key.endswith("_regularizer"):
            config[key] = r.nested(value, "regularizer", f"the {key} of {what}")
        elif key.endswith("_constraint"):
            config[key] = r.nested(value, "constraint", f"the {key} of {what}")
        elif isinstance(value, dict) and cls in _WRAPPED.get(key, {}):  # checked as any layer
            config[key] = _layer_from_keras(r, _forced_zero_output(cls, value), f"{index}'s {key}")
        elif isinstance(value, dict):
            r.check_object(value, f"the {key} of {what}")  # a serialized function or object: refused below
            raise r.refuse(f"{what} has {key}={value!r:.120}; pytrainc reads only built-in names here")
    return {"class_name": cls, "config": config}


def _forced_zero_output(cls, layer):
    """A Bidirectional's recurrent layer without Keras's `zero_output_for_mask`, which Bidirectional
    forces to its return_sequences (pytrainc's Bidirectional sets it the same way)."""
    config = layer.get("config")
    if cls != "Bidirectional" or not isinstance(config, dict):
        return layer
    if config.get("zero_output_for_mask") != config.get("return_sequences", False):
        return layer
    return {**layer, "config": {k: v for k, v in config.items() if k != "zero_output_for_mask"}}


def _tensor_history(r, arg, what):
    if not (isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__"):
        raise r.refuse(f"{what} takes {arg!r:.100}; expected a Keras tensor")
    hist = r.check_dict(arg.get("config"), what).get("keras_history")
    if not (
        isinstance(hist, list)
        and len(hist) == 3
        and isinstance(hist[0], str)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in hist[1:])
    ):
        raise r.refuse(f"{what} has keras_history {hist!r:.100}; expected [layer name, node index, tensor index]")
    return hist[0], hist[1], hist[2]


def _io_layer(r, value, key):
    """(how the inputs or outputs are given: 'single', 'list' or 'dict', their names or None,
    [(layer name, node index)]) of a functional model: [name, node, 0], a list or a dict of them."""

    def ref(v):
        if not (
            isinstance(v, list)
            and len(v) == 3
            and isinstance(v[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in v[1:])
        ):
            raise r.refuse(
                f"the model's {key} is {value!r:.120}; expected [layer name, node index, tensor index], "
                "or a list or a dict of them"
            )
        return v[0], v[1], v[2]

    if isinstance(value, dict) and value:
        return "dict", [str(k) for k in value], [ref(v) for v in value.values()]
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return "list", None, [ref(v) for v in value]
    return "single", None, [ref(value)]


def _functional_from_keras(r, config, layer_entries, pt_layers):
    """pytrainc's `nodes`, `input` and `output` for a Keras functional model's layer calls."""
    names = [c["config"]["name"] for c in pt_layers]  # unique strings, checked by the caller
    for entry, name in zip(layer_entries, names):
        if entry.get("name", name) != name:
            raise r.refuse(f"layer '{name}' is listed under the name {entry.get('name')!r:.100}")
    # (layer index, node index within the layer, [(name, node index) of its inputs], given mask=)
    pending = []
    for i, entry in enumerate(layer_entries):
        inbound = entry.get("inbound_nodes", [])
        if not isinstance(inbound, list):
            raise r.refuse(f"layer '{names[i]}' has inbound_nodes {inbound!r:.100}; expected a list")
        if pt_layers[i]["class_name"] == "InputLayer":
            if inbound:
                raise r.refuse(f"the InputLayer '{names[i]}' has inbound nodes")
            pending.append((i, 0, [], False))
            continue
        for k, node in enumerate(inbound):
            what = f"call {k} of layer '{names[i]}'"
            node = r.check_dict(node, what)
            args, kwargs = node.get("args"), node.get("kwargs", {})
            states = []  # a recurrent layer's initial_state=, tensors after its sequence
            if isinstance(kwargs, dict) and "initial_state" in kwargs:
                kwargs = dict(kwargs)
                states = kwargs.pop("initial_state")
                states = states if isinstance(states, list) else [states]
            mask = []  # a mask tensor given as mask=: the call's last parent (layers/_outputs.py MASK)
            if isinstance(kwargs, dict) and isinstance(kwargs.get("mask"), dict):
                kwargs = dict(kwargs)
                mask = [kwargs.pop("mask")]
                if states:
                    raise r.refuse(f"{what} takes mask= and initial_state=; pytrainc takes one of them")
            # Keras passes `mask=None` to layers that take a mask (their input's own mask).
            if (
                not (
                    kwargs is None
                    or (
                        isinstance(kwargs, dict)
                        and set(kwargs) <= {"mask", "training"}
                        and kwargs.get("mask") is None
                        and kwargs.get("training") in (None, False)
                    )
                )
                or not isinstance(args, list)
                or len(args) != 1
            ):
                raise r.refuse(
                    f"{what} has args {args!r:.100} and kwargs {kwargs!r:.100}; pytrainc's layers "
                    "take one argument (a tensor, or a list of tensors for merge layers)"
                )
            args = (args[0] if isinstance(args[0], list) else [args[0]]) + states + mask
            pending.append((i, k, [_tensor_history(r, a, what) for a in args], bool(mask)))
    index_of = {name: i for i, name in enumerate(names)}
    resolved, nodes, outputs = {}, [], {}

    def tensor_node(ref):  # the node of a call's output: the call's own, or (several outputs) its slice
        name, k, t = ref
        i = index_of[name]
        config = pt_layers[i]["config"]
        wrapped = config.get("layer") if isinstance(config.get("layer"), dict) else {}
        if not (config.get("return_state") or wrapped.get("config", {}).get("return_state")):  # Bidirectional's
            if t != 0:
                raise r.refuse(f"the model takes output {t} of layer '{name}', which has one output")
            return resolved[(name, k)]
        if (name, k, t) not in outputs:
            outputs[(name, k, t)] = len(nodes)
            nodes.append([i, [resolved[(name, k)]], t])
        return outputs[(name, k, t)]

    while pending:  # in Keras's order; a call waits for the calls it takes its inputs from
        waiting = []
        for i, k, parents, masked in pending:
            if all(p[:2] in resolved for p in parents):
                inputs = [tensor_node(p) for p in parents]
                resolved[(names[i], k)] = len(nodes)
                nodes.append([i, inputs, _outputs.MASK] if masked else [i, inputs])
            else:
                waiting.append((i, k, parents, masked))
        if len(waiting) == len(pending):
            missing = sorted({p[:2] for _, _, ps, _ in waiting for p in ps if p[:2] not in resolved})
            raise r.refuse(
                f"the layer calls take inputs from calls that do not exist or form a cycle: {missing[:5]!r:.200}"
            )
        pending = waiting
    io = {}
    for key in ("input_layers", "output_layers"):
        struct, keys, refs = _io_layer(r, config.get(key), key)
        for ref in refs:
            if ref[:2] not in resolved:
                raise r.refuse(f"the model's {key} names {list(ref)!r:.100}, which is no layer call of the model")
        found = [tensor_node(ref) for ref in refs]
        # A one-entry list is Keras's usual way to write a single input or output.
        io[key] = dict(zip(keys, found)) if struct == "dict" else found if len(found) > 1 else found[0]
        if key == "input_layers" and any(pt_layers[nodes[i][0]]["class_name"] != "InputLayer" for i in found):
            raise r.refuse("an input of the model is not an InputLayer")
    return {
        "name": config.get("name"),
        "layers": pt_layers,
        "nodes": nodes,
        "input": io["input_layers"],
        "output": io["output_layers"],
    }


def model_from_keras(label, config, safe_mode=True):
    """pytrainc's view of a Keras 3 `config.json`.

    Args:
        label: What errors name, e.g. `"m.keras' entry 'config.json"`.
        config: The parsed JSON.
        safe_mode: Keras's argument; lambdas are refused either way.

    Returns:
        A dict: `sequential` (bool), `config` (pytrainc's model configuration),
        `groups` (layer name -> its group under `layers/` in `model.weights.h5`),
        `trainable` (the model's flag) and `compile_config` (Keras's, or None).

    Raises:
        ValueError: naming `label` and the layer or key, for anything pytrainc
            does not build.
    """
    r = _In(label, safe_mode)
    cls, model_config = r.check_object(config, "the model")
    if cls not in ("Sequential", "Functional", "Model"):
        raise r.refuse(f"the model is of class {cls!r:.60}; pytrainc reads Sequential and Functional models")
    model_config = r.check_dict(model_config, "the model's config")
    entries = model_config.get("layers")
    if not isinstance(entries, list):
        raise r.refuse("the model's config has no 'layers' list")
    pt_layers = [_layer_from_keras(r, entry, i) for i, entry in enumerate(entries)]
    layer_names = [c["config"].get("name") for c in pt_layers]
    if not all(isinstance(n, str) and n for n in layer_names) or len(set(layer_names)) != len(layer_names):
        raise r.refuse(f"the model's layer names are not unique, non-empty strings: {layer_names!r:.200}")
    sequential = cls == "Sequential"
    if sequential:
        if any(c["class_name"] == "InputLayer" for c in pt_layers[1:]):
            raise r.refuse("an InputLayer of the Sequential model is not its first layer")
        named = [n for n, c in zip(layer_names, pt_layers) if c["class_name"] != "InputLayer"]
        pt_config = {"name": model_config.get("name"), "layers": pt_layers}
    else:
        named = layer_names
        pt_config = _functional_from_keras(r, model_config, entries, pt_layers)
    groups, used = {}, {}
    for name, c in zip(layer_names, pt_layers):
        if name in named:
            groups[name] = _group_name(c["class_name"], used)
    compile_config = config.get("compile_config")
    return {
        "sequential": sequential,
        "config": pt_config,
        "groups": groups,
        "trainable": model_config.get("trainable", True) is not False,
        "compile_config": compile_config or None,
    }


def _group_name(class_name, used):
    from pytrainc.utils import snake_case

    base = snake_case(class_name)
    used[base] = used.get(base, -1) + 1
    return base if used[base] == 0 else f"{base}_{used[base]}"


def compile_from_keras(label, cc, safe_mode=True):
    """`(optimizer, loss, metrics, extras)` identifiers for pytrainc's `get` functions from a Keras
    `compile_config`; loss and metrics may be per output (lists or dicts), extras holds compile's
    `loss_weights` and `weighted_metrics`."""
    r = _In(label, safe_mode)
    r.check_dict(cc, "the compile configuration")
    optimizer = cc.get("optimizer", "rmsprop")
    if not isinstance(optimizer, str):
        cls, config = r.check_object(optimizer, "the optimizer")
        config = r.strip(config, _OPTIMIZER_EXTRAS, _OPTIMIZER_IGNORED, f"the optimizer ({cls})")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = r.nested(config["learning_rate"], "schedule", "the learning rate schedule")
        optimizer = {"class_name": cls, "config": config}
    loss = _per_output(r, cc.get("loss"), "the loss", _LOSS_EXTRAS, 1)
    metrics = _per_output(r, cc.get("metrics") or [], "metrics", _METRIC_EXTRAS, 2)
    extras = {
        "weighted_metrics": _per_output(r, cc.get("weighted_metrics") or None, "weighted metrics", _METRIC_EXTRAS, 2)
    }
    weights = cc.get("loss_weights")
    numbers = (int, float)
    if not (
        weights is None
        or isinstance(weights, numbers)
        or (isinstance(weights, list) and all(isinstance(w, numbers) for w in weights))
        or (isinstance(weights, dict) and all(isinstance(w, numbers) for w in weights.values()))
    ):
        raise r.refuse(f"the compile configuration has loss_weights={weights!r:.100}; expected numbers")
    extras["loss_weights"] = weights
    return optimizer, loss, metrics, extras


def _per_output(r, value, what, extras, depth):
    """A loss (depth 1) or a list of metrics (depth 2), or a list or dict of them per output."""
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {str(k): _per_output(r, v, f"{what}[{k!r}]", extras, depth) for k, v in value.items()}
    if depth == 1:
        if isinstance(value, list):
            return [_per_output(r, v, f"{what}[{i}]", extras, 1) for i, v in enumerate(value)]
        return _loss_or_metric(r, value, what, extras)
    if isinstance(value, list) and any(v is None or isinstance(v, list) for v in value):  # a list per output
        return [_per_output(r, v, f"{what}[{i}]", extras, 2) for i, v in enumerate(value)]
    return [
        _loss_or_metric(r, m, f"{what} {i}", extras)
        for i, m in enumerate(value if isinstance(value, list) else [value])
    ]


def _loss_or_metric(r, value, what, extras):
    if isinstance(value, str):
        return value
    cls, config = r.check_object(value, what)
    if cls == "function" and isinstance(config, str):  # a Keras function such as keras.losses.mse, by name
        return config
    config = dict(r.check_dict(config, f"the config of {what}"))
    r.dtype(config.pop("dtype", None), what)
    out = {"class_name": cls, "config": r.strip(config, extras, (), f"{what} ({cls})")}
    if keras_custom.names_custom(value):  # a custom class the program gave (check_object found it)
        out["registered_name"] = value.get("registered_name") or cls
    return out


__all__ = [
    "KERAS_VERSION",
    "layer_to_keras",
    "keras_layer_order",
    "model_to_keras",
    "compile_to_keras",
    "model_from_keras",
    "compile_from_keras",
]
