"""`keras.random` for pytrainc: normal, uniform and dropout drawn in C from a seeded generator.

In a layer's `call` (traced once) each function records an op that draws fresh values in
every batch from its own generator (a `SeedGenerator`'s state, which the plan advances in
place), so a training run is bitwise reproducible at a fixed seed. On arrays (or a shape
without a batch axis outside tracing) the functions run eagerly through the same kernels.

Example:

>>> from pytrainc import random
>>> random.uniform((2, 3), seed=1).shape
(2, 3)
"""

import math

import numpy as np

from pytrainc import _C, utils
from pytrainc.ops import _trace
from pytrainc.ops._trace import is_symbolic
from pytrainc.ops._trace import where as _at

random_op = "random"  # the registered op (tests/csrc/test_registry.py finds its emitter)


class SeedGenerator:
    """Keras's `keras.random.SeedGenerator`: the generator state that random calls draw from.

    Args:
        seed: Optional int >= 0; None draws one from pytrainc's global generator (set by
            `keras.utils.set_random_seed`). Defaults to None.
        name: Optional name. Defaults to None.

    Example:

    >>> from pytrainc import random
    >>> gen = random.SeedGenerator(42)
    >>> a, b = random.normal((2,), seed=gen), random.normal((2,), seed=gen)
    >>> bool((a != b).all())
    True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        self.seed = seed
        self.name = name or "seed_generator"
        self.rng_state = utils.make_rng(seed) if seed is not None else utils.make_rng(_C.rng_next(utils.global_rng()))

    def next(self):
        """Advances the state, so the next eager draw differs (as Keras's SeedGenerator.next)."""
        _C.rng_next(self.rng_state)

    def get_config(self):
        return {"seed": self.seed, "name": self.name}


class GeneratorStates(np.ndarray):
    """The states of a layer's several SeedGenerators as one (k, 4) uint64 array, in attribute
    order: a snapshot whose item assignment (`states[...] = saved`, as loaders restore a layer's
    `rng_state`) writes through to the generators (or the plan's table rows they point to)."""

    def __new__(cls, generators):
        obj = np.stack([np.asarray(g.rng_state, np.uint64) for g in generators]).view(cls)
        obj._generators = list(generators)
        return obj

    def __array_finalize__(self, obj):
        self._generators = None  # a view or a slice of it is a plain snapshot

    def __setitem__(self, key, value):
        if key is Ellipsis and self._generators and np.shape(value) != self.shape:
            raise ValueError(
                f"A layer with {len(self._generators)} SeedGenerators has generator states of shape {self.shape}. "
                f"Received: shape={np.shape(value)}"
            )
        super().__setitem__(key, value)
        for g, row in zip(self._generators or (), self.view(np.ndarray)):
            g.rng_state[...] = row


def layer_generators(layer):
    """A layer's SeedGenerator attributes, in the order its __init__ set them."""
    return [v for v in vars(layer).values() if isinstance(v, SeedGenerator)]


def _generator(op, seed):
    if isinstance(seed, SeedGenerator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return SeedGenerator(seed)
    raise ValueError(f"{_at(op)}: seed must be None, an int or a SeedGenerator. Received: {seed!r}")


def _eager(op, name, ins, size, gen, **args):
    state = gen.rng_state.copy()
    out = _trace.run_eager(name, ins, size, rng_state=state, **args)
    gen.next()
    return out


def _draw(op, shape, gen, uniform, a, b):
    shape = tuple(shape)
    if any(d is None for d in shape[1:]):
        raise ValueError(f"{_at(op)}: only the batch axis (axis 0) may be None. Received: shape={shape}")
    anchor = _trace.trace_input()
    if shape and shape[0] is None:
        if anchor is None:
            raise ValueError(
                f"{op}: a shape with a batch axis (None) draws per batch only inside a layer's call "
                f"(traced into the plan). Received: shape={shape}"
            )
        sample = tuple(int(d) for d in shape[1:])
        args = dict(uniform=uniform, low_or_mean=float(a), high_or_stddev=float(b))

        def emit(builder, bufs):
            out = builder.buffer(math.prod(sample))
            builder.op(random_op, bufs, out, rng=builder.rng(gen), **args)
            return out

        return _trace.symbolic(op, sample, [anchor], emit)
    if anchor is not None:
        raise ValueError(
            f"{_at(op)}: traced code draws per sample; give the batch axis as None, e.g. "
            f"shape=ops.shape(x) or (None,) + {shape[1:]}. Received: shape={shape}"
        )
    size = math.prod(shape)
    out = _eager(
        op,
        random_op,
        [np.zeros(1, np.float32)],
        max(size, 1),
        gen,
        rng=0,
        uniform=uniform,
        low_or_mean=float(a),
        high_or_stddev=float(b),
    )
    return out.reshape(-1)[:size].reshape(shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Values drawn from N(mean, stddev**2) (`keras.random.normal`).

    Args:
        shape: The shape; inside a layer's call its first entry is the batch axis, None
            (`ops.shape(x)` gives it).
        mean: Float. Defaults to 0.0.
        stddev: Float >= 0. Defaults to 1.0.
        dtype: Only float32 is supported. Defaults to None.
        seed: None, an int or a `SeedGenerator`. Defaults to None.

    Returns:
        A symbolic tensor while traced, else a float32 NumPy array.
    """
    op = "random.normal"
    if not stddev >= 0:
        raise ValueError(f"{_at(op)}: stddev must be >= 0. Received: stddev={stddev!r}")
    return _draw(op, shape, _generator(op, seed), 0, mean, stddev)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Values drawn uniformly from [minval, maxval) (`keras.random.uniform`); arguments as `normal`."""
    op = "random.uniform"
    if not minval < maxval:
        raise ValueError(f"{_at(op)}: expected minval < maxval. Received: minval={minval!r}, maxval={maxval!r}")
    return _draw(op, shape, _generator(op, seed), 1, minval, maxval)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each value with probability `rate` and scales the others by 1 / (1 - rate)
    (`keras.random.dropout`), with the mask from the seeded generator.

    Traced in a layer's call it is the Dropout layer's op: it drops in training only (write it
    under `if training:` as Keras code does; `training` is None while tracing, so the plan then
    decides). Eagerly on an array it always drops.
    """
    op = "random.dropout"
    if noise_shape is not None:
        raise ValueError(f"{_at(op)}: noise_shape is not supported yet. Received: noise_shape={noise_shape!r}")
    if not 0 <= rate < 1:
        raise ValueError(f"{_at(op)}: expected 0 <= rate < 1. Received: rate={rate!r}")
    gen = _generator(op, seed)
    if is_symbolic(inputs):
        size = math.prod(inputs.sample_shape)

        def emit(builder, bufs):
            out = builder.buffer(size)
            builder.op("dropout", bufs, out, rng=builder.rng(gen), rate=float(rate))
            return out

        return _trace.symbolic(op, inputs.sample_shape, [inputs], emit)
    x = _trace.as_array(inputs, op)
    return _eager(op, "dropout", [x], max(x.size, 1), gen, rng=0, rate=float(rate)).reshape(x.shape)


def shuffle(x, axis=0, seed=None):
    """Not supported: a per-batch permutation is not a plan op yet."""
    raise NotImplementedError("pytrainc.random.shuffle is not supported yet; shuffle the data with fit(shuffle=True)")
