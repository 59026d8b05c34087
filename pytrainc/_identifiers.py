"""Resolving Keras-style identifiers: an instance, a name, or a `{"class_name", "config"}` dict.

`losses.get`, `metrics.get`, `initializers.get`, `regularizers.get` and
`optimizers.get` handle their own special cases (a loss function, 'accuracy',
None, ...) and share the rest here, so every family refuses an unknown name the
same way and lists what it accepts.
"""


def from_identifier(identifier, *, what, base, names, classes, make=None, hint=""):
    """The object `identifier` names.

    Args:
        identifier: An instance of `base` (returned as is), a name, or a config dict.
        what: The family's name for messages, e.g. "loss".
        base: The family's base class.
        names: Dict of accepted names (Keras's string forms) to classes.
        classes: Dict of class names to classes, for config dicts (and as names too).
        make: Optional `make(cls, name)` building an object from a name; default `cls()`.
        hint: Appended to the message for an identifier of no known form.

    Returns:
        An instance of `base`.

    Raises:
        ValueError: for an unknown name or class, or an identifier of another form.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        cls = names.get(identifier) or classes.get(identifier)
        if cls is None:
            custom = _custom(base, what, [identifier], identifier)
            if custom is not None:
                return custom if isinstance(custom, base) else custom()
            raise ValueError(f"Unknown {what}: '{identifier}'. Expected one of {sorted(names)}. {_hint()}")
        return make(cls, identifier) if make else cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name, registered = identifier["class_name"], identifier.get("registered_name")
        cls = (_custom(base, what, [registered], name) if registered else None) or classes.get(name)
        cls = cls or _custom(base, what, [name], name) or _wrapper_class(base, name)
        if cls is None:
            raise ValueError(f"Unknown {what} class: {name!r}. Expected one of {sorted(classes)}. {_hint()}")
        if isinstance(cls, base):  # a custom function, wrapped
            return cls
        return cls.from_config(dict(identifier.get("config", {})))
    raise ValueError(f"Could not interpret {what}: {identifier!r}{hint}")


def _hint():
    from pytrainc.saving import object_registration

    return object_registration.LOAD_HINT


def _wrapper_class(base, name):
    """The family's wrapper of functions (LossFunctionWrapper, MeanMetricWrapper) if it is called `name`."""
    from pytrainc.ops._trace import FunctionWrapper

    for sub in base.__subclasses__():
        if issubclass(sub, FunctionWrapper) and sub.__name__ == name:
            return sub
    return None


def _custom(base, what, names, label):
    """A custom object registered or in scope under one of `names`: a subclass of `base`, or a
    function wrapped by the family's wrapper (a loss or metric function). None if there is none."""
    import inspect

    from pytrainc.saving import object_registration

    obj = object_registration.find(names)
    if obj is None or (isinstance(obj, type) and issubclass(obj, base)):
        return obj
    from pytrainc.ops._trace import FunctionWrapper

    wrapper = next((sub for sub in base.__subclasses__() if issubclass(sub, FunctionWrapper)), None)
    if (inspect.isfunction(obj) or inspect.isbuiltin(obj)) and wrapper:
        return wrapper(obj)
    raise TypeError(
        f"The custom object {label!r} is {obj!r:.80}; expected a subclass of {base.__module__}.{base.__name__}"
        + (" or a function" if wrapper else "")
        + f" for a {what}"
    )
