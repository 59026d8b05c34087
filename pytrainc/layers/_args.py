"""Keras arguments the layers share: the ones pytrainc accepts only at their default, Keras's
`batch_shape`, and each weight's initializer, regularizer and constraint (`<weight>_initializer`,
`<weight>_regularizer`, `<weight>_constraint`), as the normalization layers' gamma and beta."""

from pytrainc import constraints, initializers, regularizers

# A weight argument's module by its name's last word, in the order Keras's configs list them.
_WEIGHT_ARGS = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}


def set_weight_args(layer, **args):
    """Stores Keras's weight arguments on the layer, each read by its module's `get`, in the order
    given (`kernel_initializer=...` sets `layer.kernel_initializer`)."""
    for name, value in args.items():
        setattr(layer, name, _WEIGHT_ARGS[name.rsplit("_", 1)[1]].get(value))


def weight_arg_names(weights):
    """The weights' Keras arguments (`kernel_initializer`, ..., `bias_constraint`), in Keras's config order."""
    return tuple(f"{w}_{kind}" for kind in _WEIGHT_ARGS for w in weights)


def weight_args_config(layer, weights, attrs=None):
    """Keras's config entries of the weights' initializers, then regularizers, then constraints:
    `weights` names the keys, `attrs` (defaults to `weights`) the layer's attributes they serialize."""
    pairs = list(zip(weights, attrs or weights))
    return {
        f"{key}_{kind}": module.serialize(getattr(layer, f"{attr}_{kind}"))
        for kind, module in _WEIGHT_ARGS.items()
        for key, attr in pairs
    }


def add_weight_of(layer, name, shape, args=None):
    """`layer.add_weight` with the initializer, regularizer and constraint stored for `args`
    (defaults to `name`): the `<args>_initializer`, ... attributes `set_weight_args` sets."""
    args = args or name
    return layer.add_weight(
        name, shape, getattr(layer, f"{args}_initializer"), regularizer=getattr(layer, f"{args}_regularizer"),
        constraint=getattr(layer, f"{args}_constraint"),
    )  # fmt: skip


def _from_batch_shape(shape, batch_size, batch_shape):
    """(shape, batch_size) from Keras's `batch_shape` (the shape with the batch axis), if given."""
    if batch_shape is None:
        return shape, batch_size
    if shape is not None:
        raise ValueError(
            "You cannot pass both `shape` and `batch_shape` at the same time. "
            f"Received: shape={shape!r}, batch_shape={batch_shape!r}"
        )
    batch_shape = tuple(batch_shape)
    if not batch_shape:
        raise ValueError(f"batch_shape must start with the batch axis. Received: batch_shape={batch_shape!r}")
    return batch_shape[1:], batch_shape[0]


def init_args(args):
    """A subclass constructor's arguments (its `locals()`), by name, for its base class's `__init__`:
    Keras's layers spell out their whole signature with their own defaults (so positional
    arguments land where Keras puts them), the base class checks them once."""
    named = {k: v for k, v in args.items() if k not in ("self", "__class__", "kwargs")}
    return {**named, **args.get("kwargs", {})}


def _unsupported(layer, **args):
    """Refuses a Keras argument pytrainc does not implement when it is on (not None, False or 0)."""
    for arg, value in args.items():
        if value is not None and value is not False and not (isinstance(value, (int, float)) and value == 0):
            raise ValueError(
                f"{layer}: `{arg}` is not supported by pytrainc; leave it at its default. Received: {arg}={value!r}"
            )


def _init_scale_offset(layer, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                       beta_constraint, gamma_constraint):  # fmt: skip
    """The normalization layers' gamma (scale) and beta (center) arguments."""
    set_weight_args(
        layer, beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
        gamma_constraint=gamma_constraint,
    )  # fmt: skip
    layer.gamma = layer.beta = None


def _build_scale_offset(layer, shape):
    """gamma then beta of `shape` when the layer's scale / center ask for them, as Keras orders them."""
    for name, on in (("gamma", layer.scale), ("beta", layer.center)):
        if on:
            setattr(layer, name, add_weight_of(layer, name, shape))


def _scale_offset_config(layer):
    return weight_args_config(layer, ("beta", "gamma"))
