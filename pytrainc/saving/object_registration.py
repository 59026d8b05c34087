"""Custom objects: the classes and functions that loading may build besides pytrainc's own.

As Keras 3's `keras/src/saving/object_registration.py`: `register_keras_serializable` puts a
class or function in a global table under `"package>name"`; `CustomObjectScope` (and the
`custom_objects=` argument of every loader, which opens one) makes more names known for a
while, in the current thread. A saved file only names classes; loading builds a class
named by the file only when it is pytrainc's own or one of these objects, which the user's
program gave. Nothing from the file is imported or executed.
"""

import inspect
import threading

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
]

GLOBAL_CUSTOM_OBJECTS = {}  # "package>name" -> class or function
GLOBAL_CUSTOM_NAMES = {}  # class or function -> "package>name"
_SCOPE = threading.local()  # .objects: the innermost CustomObjectScope's dict (Keras's is thread-local too)

LOAD_HINT = (
    "Loading builds only pytrainc's own classes and the custom objects your program names: "
    "decorate the class or function with @pytrainc.saving.register_keras_serializable(), or pass "
    "custom_objects={name: object} to the loading function (nothing is imported from the file)"
)


def _scope_objects():
    return getattr(_SCOPE, "objects", {})


class CustomObjectScope:
    """Exposes custom classes and functions to deserialization, as `keras.saving.CustomObjectScope`.

    Inside `with CustomObjectScope({"MyLayer": MyLayer}):`, `load_model`, `model_from_json`,
    `deserialize_keras_object` and the `get` functions of layers, losses, metrics and
    activations find the objects by name. As in Keras, a scope replaces the enclosing
    scope's objects until it exits, and holds for the current thread only.

    Args:
        custom_objects: Dict of `{name: class or function}`, or None.

    Example:

    >>> def squares(y_true, y_pred):
    ...     return pytrainc.ops.mean(pytrainc.ops.square(y_true - y_pred), axis=-1)
    >>> model.compile(optimizer="adam", loss=squares)
    >>> model.save("model.keras")
    >>> with pytrainc.saving.custom_object_scope({"squares": squares}):
    ...     restored = pytrainc.models.load_model("model.keras")
    >>> restored.loss.fn is squares
    True
    """

    def __init__(self, custom_objects):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(
                f"custom_objects must be a dict of name to class or function. Received: {type(custom_objects).__name__}"
            )
        for key in custom_objects or {}:
            if not isinstance(key, str):
                raise TypeError(f"custom_objects keys must be str names. Received: {key!r}")
        self.custom_objects = dict(custom_objects or {})
        self.backup = None

    def __enter__(self):
        self.backup = _scope_objects()
        _SCOPE.objects = dict(self.custom_objects)
        return self

    def __exit__(self, *args, **kwargs):
        _SCOPE.objects = self.backup


custom_object_scope = CustomObjectScope  # Keras's alias


def get_custom_objects():
    """The live global dict of registered custom objects (`"package>name"` -> object), as Keras's.

    Objects of a `custom_object_scope` are not in it.

    Example:

    >>> def halve(y_true, y_pred):
    ...     return 0.5 * pytrainc.ops.mean(y_true - y_pred, axis=-1)
    >>> pytrainc.saving.get_custom_objects()["halve"] = halve
    >>> pytrainc.losses.get("halve").fn is halve
    True
    """
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Registers a class or function for saving and loading, as `keras.saving.register_keras_serializable`.

    The object is registered under `"package>name"`; files name it so, and loading finds
    it without `custom_objects`.

    Args:
        package: str, the first part of the key. Defaults to "Custom".
        name: str, the second part. Defaults to None (the object's `__name__`).

    Returns:
        A decorator that registers its argument and returns it unchanged.

    Raises:
        ValueError: for a class without `get_config`.

    Example:

    >>> @pytrainc.saving.register_keras_serializable("my_package")
    ... class MyLayer(pytrainc.layers.Layer):
    ...     def call(self, x):
    ...         return pytrainc.ops.relu(x)
    >>> pytrainc.saving.get_registered_name(MyLayer)
    'my_package>MyLayer'
    """

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj):
    """The name `obj` is registered under, else its `__name__`, as `keras.saving.get_registered_name`."""
    if obj in GLOBAL_CUSTOM_NAMES:
        return GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function known as `name`, or None, as `keras.saving.get_registered_object`.

    Looked up, in Keras's order, in the current `custom_object_scope`, the registered objects,
    `custom_objects` and `module_objects`.
    """
    scope = _scope_objects()
    if name in scope:
        return scope[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def saved_name(owner):
    """The `registered_name` a file gives the class or function `owner`: None for pytrainc's own."""
    if owner.__module__.startswith("pytrainc.") and owner not in GLOBAL_CUSTOM_NAMES:
        return None
    return get_registered_name(owner)


def find(names, base=None):
    """The first custom object found under one of `names` (None entries skipped), or None.

    With `base`, an object that is neither a subclass of `base` nor a function is refused.
    """
    for name in names:
        if not isinstance(name, str):
            continue
        obj = get_registered_object(name)
        if obj is None:
            continue
        if base is not None and not (
            (isinstance(obj, type) and issubclass(obj, base)) or inspect.isfunction(obj) or inspect.isbuiltin(obj)
        ):
            raise TypeError(
                f"The custom object {name!r} is {obj!r:.80}; expected a subclass of {base.__module__}.{base.__name__}"
            )
        return obj
    return None


def loading_scope(custom_objects):
    """The scope a loader's `custom_objects=` opens: the enclosing scope's objects and these."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            f"custom_objects must be a dict of name to class or function. Received: {type(custom_objects).__name__}"
        )
    return CustomObjectScope({**_scope_objects(), **(custom_objects or {})})


def tagged(serialized, obj):
    """`{"class_name", "config"}` of `obj`, with the `registered_name` that loading finds a custom class by."""
    name = saved_name(type(obj))
    if name is not None and isinstance(serialized, dict):
        serialized["registered_name"] = name
    return serialized
