"""Weight initializers, as `keras.initializers`, drawing from pytrainc's seeded C RNG."""

import math

import numpy as np

from pytrainc import _C, utils
from pytrainc._checks import number
from pytrainc._identifiers import from_identifier

_UNIFORM, _NORMAL, _TRUNCATED = 0, 1, 2


class Initializer:
    """Base class: `initializer(shape)` returns a float32 array of that shape."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Random(Initializer):
    def __init__(self, seed=None):
        if seed is not None:
            utils._check_seed(seed)
        self.seed = seed

    def _rng(self):
        if self.seed is None:
            return utils.global_rng()
        return utils.make_rng(self.seed)

    def _fill(self, shape, dist, a, b):
        out = np.empty(tuple(int(s) for s in shape), dtype=np.float32)
        _C.rng_fill(self._rng(), out, dist, float(a), float(b))
        return out

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    """Initializes to 0."""

    def __call__(self, shape, dtype=None):
        return np.zeros(tuple(shape), dtype=np.float32)


class Ones(Initializer):
    """Initializes to 1."""

    def __call__(self, shape, dtype=None):
        return np.ones(tuple(shape), dtype=np.float32)


class Constant(Initializer):
    """Initializes to a constant value.

    Args:
        value: The value, a float. Defaults to 0.0.
    """

    def __init__(self, value=0.0):
        self.value = number("value", value)

    def __call__(self, shape, dtype=None):
        return np.full(tuple(shape), self.value, dtype=np.float32)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(_Random):
    """Uniform in [minval, maxval). Defaults: minval=-0.05, maxval=0.05, seed=None."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = number("minval", minval), number("maxval", maxval)

    def __call__(self, shape, dtype=None):
        return self._fill(shape, _UNIFORM, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Random):
    """Normal with mean and stddev. Defaults: mean=0.0, stddev=0.05, seed=None."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = number("mean", mean), number("stddev", stddev, low=0.0)

    def __call__(self, shape, dtype=None):
        return self._fill(shape, _NORMAL, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal redrawn beyond two stddevs. Defaults: mean=0.0, stddev=0.05, seed=None."""

    def __call__(self, shape, dtype=None):
        return self._fill(shape, _TRUNCATED, self.mean, self.stddev)


def _fans(shape, input_axes=None, output_axes=None):
    # Keras's compute_fans: the given axes, else dense kernels (in, out), conv kernels (..., in, out).
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        try:
            return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
        except IndexError:
            raise ValueError(
                f"input_axes={list(input_axes)} and output_axes={list(output_axes)} must be axes of the "
                f"shape to initialize. Received: shape={shape}"
            ) from None
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(_Random):
    """Keras's VarianceScaling: scale / fan, uniform or truncated normal.

    Args:
        scale: Positive float. Defaults to 1.0.
        mode: 'fan_in', 'fan_out' or 'fan_avg'. Defaults to 'fan_in'.
        distribution: 'truncated_normal', 'untruncated_normal' or 'uniform'.
            Defaults to 'truncated_normal'.
        seed: Optional int. Defaults to None (the global generator).
        input_axes, output_axes: Optional lists of ints: the axes whose sizes multiply into
            fan_in and fan_out (both, or neither: then Keras's rule for dense and conv kernels).
            Defaults to None.
    """

    def __init__(
        self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None, output_axes=None
    ):
        super().__init__(seed)
        self.input_axes, self.output_axes = _axes("input_axes", input_axes), _axes("output_axes", output_axes)
        scale = number("scale", scale, low=0.0, low_open=True)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg'. Received: mode={mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "distribution must be 'truncated_normal', 'untruncated_normal' or "
                f"'uniform'. Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return self._fill(shape, _UNIFORM, -limit, limit)
        if self.distribution == "untruncated_normal":
            return self._fill(shape, _NORMAL, 0.0, math.sqrt(scale))
        # 0.879... is the stddev of a unit normal truncated to [-2, 2].
        return self._fill(shape, _TRUNCATED, 0.0, math.sqrt(scale) / 0.87962566103423978)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            **_axes_config(self),
        }


class Orthogonal(_Random):
    """A (semi-)orthogonal matrix times `gain` (Saxe et al., 2014), as Keras.

    The shape is flattened to (prod(shape[:-1]), shape[-1]); a normal matrix
    drawn from pytrainc's generator is orthogonalized by QR with the signs of
    R's diagonal folded in, so the result is uniformly distributed.

    Args:
        gain: Multiplicative factor. Defaults to 1.0.
        seed: Optional int. Defaults to None (the global generator).
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = number("gain", gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = (max(rows, cols), min(rows, cols))
        a = self._fill(flat, _NORMAL, 0.0, 1.0).astype(np.float64)
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """`gain` times the identity matrix, for 2-D shapes only (as Keras's
    `keras.initializers.Identity`, also exported as `IdentityInitializer` and `identity`).

    Args:
        gain: Multiplicative factor. Defaults to 1.0.

    Example:

    >>> pytrainc.initializers.Identity(2.0)((2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = number("gain", gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        return (self.gain * np.eye(*shape)).astype(np.float32)

    def get_config(self):
        return {"gain": self.gain}


class _Function(Initializer):
    """A plain function `f(shape, dtype=None)` given as an initializer, as Keras accepts one: called
    once when the layer builds; its result must have the requested shape and be finite."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        value = np.asarray(self.fn(shape, dtype="float32"))
        if value.shape != shape:
            raise ValueError(
                f"Initializer function {self.name!r} must return an array of shape {shape}. "
                f"Received: shape {value.shape}"
            )
        if value.dtype.kind not in "biuf" or not np.all(np.isfinite(value)):
            raise ValueError(f"Initializer function {self.name!r} must return finite numbers. Received: {value.dtype}")
        return value.astype(np.float32)

    def get_config(self):
        return self.name


def _axes(name, axes):
    if axes is None:
        return None
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        axes = [axes]
    if not isinstance(axes, (list, tuple)) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes
    ):
        raise ValueError(f"{name} must be None or a list of ints. Received: {name}={axes!r}")
    return [int(a) for a in axes]


def _axes_config(init):
    # written only when set, so files of models that never set them stay as they were
    return {k: getattr(init, k) for k in ("input_axes", "output_axes") if getattr(init, k) is not None}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, **_axes_config(self)}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _preset(
    "GlorotUniform", 1.0, "fan_avg", "uniform", "Glorot uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out))."
)
GlorotNormal = _preset(
    "GlorotNormal",
    1.0,
    "fan_avg",
    "truncated_normal",
    "Glorot normal: truncated normal, stddev sqrt(2 / (fan_in + fan_out)).",
)
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "He uniform: l = sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal", "He normal: stddev sqrt(2 / fan_in).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "LeCun uniform: l = sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal", "LeCun normal: stddev sqrt(1 / fan_in).")

_ALIASES = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "uniform": RandomUniform,  # Keras's short aliases (Embedding's default is "uniform")
    "normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "orthogonal": Orthogonal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
}
_ALIASES["identity"] = Identity
_CLASSES = {cls.__name__: cls for cls in set(_ALIASES.values())}

# Keras 3 exports each class under its snake-case name and some under a second name too
# (`keras.initializers.glorot_uniform is keras.initializers.GlorotUniform`).
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal


def get(identifier):
    """Return an Initializer from a name, a config dict or an Initializer.

    Raises:
        ValueError: for an unknown name.
    """
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()  # Keras accepts the class itself (`kernel_initializer=GlorotUniform`)
    if callable(identifier) and not isinstance(identifier, Initializer):
        return _Function(identifier)
    return from_identifier(identifier, what="initializer", base=Initializer, names=_ALIASES, classes=_CLASSES)


def serialize(initializer):
    if isinstance(initializer, _Function):  # Keras's form for a function: found by name on load
        return {
            "module": "builtins",
            "class_name": "function",
            "config": initializer.name,
            "registered_name": "function",
        }
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config, custom_objects=None):
    """The initializer a `serialize` dict describes, as `keras.initializers.deserialize`.

    Args:
        config: A dict `{"class_name": ..., "config": {...}}` or a name.
        custom_objects: Optional dict of name -> initializer class or function, for those that
            are not built in. Defaults to None.
    """
    from pytrainc.saving import serialization_lib

    return get(serialization_lib.deserialize_in("keras.initializers", config, custom_objects))
