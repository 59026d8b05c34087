"""Custom classes and functions in Keras 3's `config.json`: written as Keras writes them, read
only when the program registered them or passed them in `custom_objects`.

Keras 3 names a custom class by its `class_name` and its `registered_name`
(`"package>Name"` for a class decorated with `register_keras_serializable`, else the
class name) and a custom function as `{"class_name": "function", "config": <its name>}`
(keras/src/saving/serialization_lib.py). Reading looks those names up in
`pytrainc.saving.object_registration`, never imports the `module` the file gives.
"""

from pytrainc.saving import object_registration


def registered(owner):
    """The `(module, registered_name)` Keras writes for a class or function, None for pytrainc's own."""
    name = object_registration.saved_name(owner)
    return None if name is None else (owner.__module__, name)


def function_to_keras(fn):
    """A custom function (a loss or metric) as Keras 3 serializes one."""
    return {
        "module": "builtins",
        "class_name": "function",
        "config": object_registration.get_registered_name(fn),
        "registered_name": "function",
    }


def wrapped_function(obj):
    """The user function of a LossFunctionWrapper or MeanMetricWrapper, else None."""
    from pytrainc.ops._trace import FunctionWrapper

    return obj.fn if isinstance(obj, FunctionWrapper) else None


def find(obj):
    """The custom object a Keras nested object names, or None (looked up by registered name first)."""
    names = [obj.get("registered_name"), obj.get("class_name")]
    if obj.get("class_name") == "function":
        names = [obj.get("config")]
    return object_registration.find([n for n in names if isinstance(n, str) and n != "function"])


def names_custom(obj):
    """Whether a Keras nested object names a class outside Keras (its module or registered name says so)."""
    module, name = obj.get("module"), obj.get("registered_name")
    return (module is not None and not (isinstance(module, str) and module.split(".")[0] == "keras")) or (
        isinstance(name, str) and ">" in name
    )


def layer_from_keras(r, entry, cls, config, what):
    """pytrainc's `{"class_name", "registered_name", "config"}` for a custom layer of the file, or None
    if `entry` names no custom layer the program gave."""
    from pytrainc import layers as layers_module

    registered_name = entry.get("registered_name")
    if not names_custom(entry) and cls in layers_module._LAYER_CLASSES:
        return None
    found = find(entry)
    if not (isinstance(found, type) and issubclass(found, layers_module.Layer)):
        return None
    config = dict(config)
    r.dtype(config.pop("dtype", None), what)
    return {"class_name": cls, "registered_name": registered_name or cls, "config": config}


def keras_order(layer):
    """A custom layer's own weights in Keras's order (`Layer.save_own_variables`: the trainable ones, then
    the others, each in creation order); None for pytrainc's own layers and those with sublayers."""
    if registered(type(layer)) is None or getattr(layer, "_sublayers", None):
        return None
    own = layer._variables
    return [v for v in own if v._trainable] + [v for v in own if not v._trainable]
