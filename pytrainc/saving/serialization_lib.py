"""`serialize_keras_object` and `deserialize_keras_object`, as Keras 3's serialization_lib.

An object becomes Keras's nested dict `{"module", "class_name", "config", "registered_name"}`
(a function `{"class_name": "function", "config": <name>}`), and back. Deserializing builds
only pytrainc's own classes (looked up in its tables by the Keras module and class name) and
the custom objects the program registered or passed (`pytrainc.saving.object_registration`):
nothing named by the config is imported, and a lambda is refused.
"""

import inspect

import numpy as np

from pytrainc.saving import keras_custom, object_registration

__all__ = ["serialize_keras_object", "deserialize_keras_object"]

_PLAIN = (str, int, float, bool)


def _families():
    """(Keras module, pytrainc base class, how a `{"class_name", "config"}` dict is built)."""
    from pytrainc import initializers, layers, losses, metrics, optimizers, regularizers
    from pytrainc.optimizers import schedules

    return (
        ("keras.layers", layers.Layer, layers.deserialize),
        ("keras.losses", losses.Loss, losses.get),
        ("keras.metrics", metrics.Metric, metrics.get),
        ("keras.optimizers.schedules", schedules.LearningRateSchedule, schedules.deserialize),
        ("keras.optimizers", optimizers.Optimizer, optimizers.get),
        ("keras.initializers", initializers.Initializer, initializers.get),
        ("keras.regularizers", regularizers.Regularizer, regularizers.get),
    )


def _own_functions():
    """pytrainc's built-in functions by Keras module: {module: {name: function}}."""
    from pytrainc import activations, losses

    return {
        "keras.losses": {fn.__name__: fn for fn in losses._FUNCTIONS},
        "keras.activations": dict(activations._FUNCTIONS),
    }


def serialize_keras_object(obj):
    """The Keras 3 serialization of `obj`, as `keras.saving.serialize_keras_object`.

    Args:
        obj: None, a plain value, a list, tuple or dict of them, a NumPy array, a function, or an
            object with `get_config` (a layer, loss, metric, optimizer, initializer, regularizer,
            or a custom class).

    Returns:
        A JSON-friendly structure: plain values as they are, an object as
        `{"module", "class_name", "config", "registered_name"}`.

    Raises:
        ValueError: for a lambda (it cannot be loaded again: pytrainc runs no code from files).
        TypeError: for an object without `get_config`.

    Example:

    >>> pytrainc.saving.serialize_keras_object(pytrainc.losses.MeanSquaredError())["class_name"]
    'MeanSquaredError'
    """
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        out = [serialize_keras_object(x) for x in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
        return obj.item()
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        if obj.__name__ == "<lambda>":
            raise ValueError(
                "Cannot serialize a lambda: pytrainc never loads code from a file. Use a named function "
                "decorated with @pytrainc.saving.register_keras_serializable()."
            )
        for module, functions in _own_functions().items():
            if functions.get(obj.__name__) is obj:
                return {"module": module, "class_name": "function", "config": obj.__name__, "registered_name": None}
        return keras_custom.function_to_keras(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize object {obj!r:.80} of type {type(obj).__name__}: to be serializable, a class "
            "must implement the get_config() method."
        )
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"The get_config() method of {obj!r:.80} should return a dict. It returned: {config!r:.80}")
    custom = keras_custom.registered(type(obj))
    module = next((m for m, base, _ in _families() if isinstance(obj, base)), None)
    module, registered = custom or (module, None)
    out = {
        "module": module,
        "class_name": type(obj).__name__,
        "config": serialize_keras_object(config),
        "registered_name": registered,
    }
    build_shape = getattr(obj, "_build_shape", None)
    if build_shape is not None and not isinstance(build_shape, list):
        out["build_config"] = {"input_shape": [None, *build_shape]}
    return out


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a Keras 3 serialization describes, as `keras.saving.deserialize_keras_object`.

    Args:
        config: What `serialize_keras_object` returned (or Keras wrote).
        custom_objects: Optional dict of name to class or function, besides the registered
            objects and the current `custom_object_scope`. Defaults to None.
        safe_mode: Keras's argument; lambdas are refused whatever its value. Defaults to True.
        **kwargs: `module_objects` (a dict of name to object, as Keras's) only.

    Returns:
        The object: a new instance (its class's `from_config`), a function, or the plain structure.

    Raises:
        TypeError: for a class or function that is neither pytrainc's own, nor registered, nor
            in `custom_objects` (the message names it), or a config of the wrong form.
        ValueError: for a lambda.

    Example:

    >>> class Double(pytrainc.layers.Layer):
    ...     def call(self, x):
    ...         return 2.0 * x
    >>> config = pytrainc.saving.serialize_keras_object(Double(name="double"))
    >>> layer = pytrainc.saving.deserialize_keras_object(config, custom_objects={"Double": Double})
    >>> layer.name
    'double'
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object got unexpected keyword argument(s): {sorted(kwargs)}")
    with object_registration.loading_scope({**(module_objects or {}), **(custom_objects or {})}):
        return _deserialize(config, safe_mode)


def deserialize_in(module, config, custom_objects=None):
    """What a module's `deserialize(config, custom_objects)` returns (`keras.initializers.deserialize`,
    ...): `config` read as an object of Keras module `module` unless it names another. A name is
    returned as it is (after custom objects) for the module's `get` to resolve."""
    if isinstance(config, dict) and "class_name" in config:
        given = config.get("module")
        own = config.get("class_name") == "function" and config.get("config") in _own_functions().get(module, {})
        # Keras looks a module's own names up whatever "module" says, e.g. a torch-backend Adam's
        # 'keras.src.backend.torch.optimizers.torch_adam'.
        keras_internal = isinstance(given, str) and given.split(".")[0] == "keras" and given != module
        if own or given is None or (keras_internal and not any(given == f[0] for f in _families())):
            config = {**config, "module": module, "config": config.get("config")}
    return deserialize_keras_object(config, custom_objects=custom_objects)


def _deserialize(config, safe_mode):
    if config is None:
        return None
    if isinstance(config, str):
        found = object_registration.get_registered_object(config)
        return config if found is None else found
    if isinstance(config, (list, tuple)):
        return [_deserialize(x, safe_mode) for x in config]
    if isinstance(config, _PLAIN):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r:.100}")
    if "class_name" not in config or "config" not in config:
        return {key: _deserialize(value, safe_mode) for key, value in config.items()}
    class_name, inner = config["class_name"], config["config"] if config["config"] is not None else {}
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__lambda__":
        raise ValueError(
            "Requested the deserialization of a Python lambda. pytrainc never runs code from a config, "
            f"whatever safe_mode says (safe_mode={safe_mode!r}); register a named function instead."
        )
    module = config.get("module")
    if class_name == "function":
        if not isinstance(inner, str):
            raise TypeError(f"Expected 'config' to be a str for a function. Received: {config!r:.100}")
        found = keras_custom.find(config)
        found = found or _own_functions().get(module, {}).get(inner)
        if found is None:
            raise TypeError(f"Could not locate function '{inner}'. {object_registration.LOAD_HINT}")
        return found
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name}. Received: {config!r:.100}")
    found = keras_custom.find(config)
    if inspect.isfunction(found):
        return found
    if found is not None:
        instance = found.from_config(inner)
    else:
        family = next((f for f in _families() if module == f[0]), None)
        if family is None:
            raise TypeError(
                f"Could not locate class '{class_name}' (module {module!r:.80}). {object_registration.LOAD_HINT}"
            )
        inner = {k: v for k, v in inner.items() if not (k == "dtype" and isinstance(v, dict))}  # Keras's policy
        instance = family[2]({"class_name": class_name, "config": inner})
    build = config.get("build_config") or {}
    shape = build.get("input_shape")
    if isinstance(shape, list) and shape and not getattr(instance, "built", True):
        instance._build_for(tuple(shape[1:]))
    return instance
