"""Keras arguments the layers share: the ones pytrainc accepts only at their default, Keras's
`batch_shape`, and the normalization layers' gamma and beta with their initializers,
regularizers and constraints."""

from pytrainc import constraints, initializers, regularizers


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
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)
    layer.gamma = layer.beta = None


def _build_scale_offset(layer, shape):
    """gamma then beta of `shape` when the layer's scale / center ask for them, as Keras orders them."""
    for name, on in (("gamma", layer.scale), ("beta", layer.center)):
        if on:
            setattr(layer, name, layer.add_weight(
                name, shape, getattr(layer, f"{name}_initializer"), regularizer=getattr(layer, f"{name}_regularizer"),
                constraint=getattr(layer, f"{name}_constraint"),
            ))  # fmt: skip


def _scale_offset_config(layer):
    return {
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
        "beta_regularizer": regularizers.serialize(layer.beta_regularizer),
        "gamma_regularizer": regularizers.serialize(layer.gamma_regularizer),
        "beta_constraint": constraints.serialize(layer.beta_constraint),
        "gamma_constraint": constraints.serialize(layer.gamma_constraint),
    }
