"""Variable-length axes (Keras's `None` in `Input(shape=(None, 16))`).

A graph may hold `None` axes; the plan is compiled for the concrete shapes of the data that arrives
(`Model._concrete_graph`). A layer's shape arithmetic is written for concrete sizes, so a shape with
`None` axes is computed on two probe sizes instead: the axes that come out equal are known, the ones
that differ are `None` (a Conv1D's steps, an LSTM's sequence), as Keras's symbolic shapes say.
"""

_PROBES = (29, 43)  # two sizes no kernel, stride or pool is likely to map to one output size


def has_none(shape):
    """Whether a shape (or a list of shapes) has a None axis."""
    if isinstance(shape, list):
        return any(has_none(s) for s in shape)
    return any(d is None for d in shape)


def _probe(shape, size):
    if isinstance(shape, list):
        return [_probe(s, size) for s in shape]
    return tuple(size if d is None else d for d in shape)


def _merge(a, b):
    if isinstance(a, list):
        return [_merge(x, y) for x, y in zip(a, b)]
    return tuple(x if x == y else None for x, y in zip(a, b))


def output_shape(fn, shape):
    """fn(shape) (a compute_output_shape taking the shape with its batch axis) for a shape that may
    hold None axes: fn's own answer when its arithmetic takes None, else from two probe sizes."""
    if not has_none(shape[1:] if not isinstance(shape, list) else [s[1:] for s in shape]):
        return fn(shape)
    try:
        return fn(shape)
    except TypeError:  # None in the layer's arithmetic
        pass
    return _merge(fn(_probe_batchless(shape, _PROBES[0])), fn(_probe_batchless(shape, _PROBES[1])))


def _probe_batchless(shape, size):
    """The shape with its None feature axes (not the batch axis) replaced by `size`."""
    if isinstance(shape, list):
        return [_probe_batchless(s, size) for s in shape]
    return (shape[0],) + _probe(tuple(shape[1:]), size)


def build(layer, batch_shape):
    """layer.build(batch_shape); for None axes its arithmetic cannot take, built on a probe size (the
    weights never depend on those axes: a weight with a None axis is refused by add_weight)."""
    count = len(layer._variables)
    try:
        return layer.build(batch_shape)
    except TypeError:
        samples = batch_shape[1:] if not isinstance(batch_shape, list) else [s[1:] for s in batch_shape]
        if not has_none(samples):
            raise
    del layer._variables[count:]  # the weights the failed build made before it stopped
    return layer.build(_probe_batchless(batch_shape, _PROBES[0]))


def compatible(shape, built):
    """Whether a per-sample shape (or list of them) fits the one a layer was built for (None: any size)."""
    if isinstance(built, list) or isinstance(shape, list):
        return (
            isinstance(built, list)
            and isinstance(shape, list)
            and len(shape) == len(built)
            and all(compatible(s, b) for s, b in zip(shape, built))
        )
    return len(shape) == len(built) and all(b is None or s == b for s, b in zip(shape, built))


def check_weight_shape(shape, path):
    """Keras's error for a weight whose shape depends on a None axis (a Dense on a None last axis)."""
    if any(d is None for d in shape):
        raise ValueError(
            "Shapes used to initialize variables must be fully-defined (no `None` dimensions). "
            f"Received: shape={tuple(shape)} for variable path='{path}'"
        )
