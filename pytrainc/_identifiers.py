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
            raise ValueError(f"Unknown {what}: '{identifier}'. Expected one of {sorted(names)}")
        return make(cls, identifier) if make else cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = classes.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown {what} class: {identifier['class_name']!r}. Expected one of {sorted(classes)}")
        return cls.from_config(dict(identifier.get("config", {})))
    raise ValueError(f"Could not interpret {what}: {identifier!r}{hint}")
