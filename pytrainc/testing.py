"""Helpers for tests: seeded data, tolerance checks, small models.

pytrainc's own test suite (`tests/`) imports these instead of keeping a copy
in each file; they are public so that tests of code built on pytrainc (a
custom layer, a loss) can check it the same way. No comparison here has a
default tolerance: each test passes its own and says where it comes from.

The helpers that build a PyTorch reference import torch when they are called;
torch is a test dependency, not a dependency of pytrainc.

Example:

>>> from pytrainc import testing
>>> x, labels = testing.class_data(n=4, classes=2)
>>> x.shape, x.dtype.name, labels.shape
((4, 8), 'float32', (4,))
>>> testing.assert_close(x * (1 + 1e-7), x, rtol=1e-6)
"""

import io
import os
import sys
import time

import numpy as np

from pytrainc import utils
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

__all__ = [
    "ARCHITECTURES",
    "ArraySlices",
    "TTY",
    "U32",
    "architecture",
    "assert_close",
    "assert_close_abs",
    "assert_weights_close",
    "class_data",
    "data",
    "f32",
    "gamma",
    "mlp",
    "nchw",
    "nhwc",
    "normal",
    "randomize",
    "run_op",
    "rng",
    "same_arrays",
    "seed",
    "keras_torch",
    "torch_reference",
]

U32 = float(np.finfo(np.float32).eps) / 2  # unit roundoff of float32, 2**-24


# ---------------------------------------------------------------------------
# Seeds and data


def seed(s=0):
    """Seed pytrainc's generators (`pytrainc.utils.set_random_seed`).

    Args:
        s: An int, the seed. Defaults to `0`.

    Example:

    >>> from pytrainc import testing, utils
    >>> testing.seed(3); a = utils.global_rng().copy()
    >>> testing.seed(3); b = utils.global_rng().copy()
    >>> bool((a == b).all())
    True
    """
    utils.set_random_seed(s)


def rng(seed=0):
    """Return a NumPy generator with a fixed seed (`np.random.default_rng(seed)`).

    Args:
        seed: An int. Defaults to `0`.

    Returns:
        A `numpy.random.Generator`.

    Example:

    >>> from pytrainc import testing
    >>> float(testing.rng(1).standard_normal()) == float(testing.rng(1).standard_normal())
    True
    """
    return np.random.default_rng(seed)


def f32(a):
    """Return `a` as a C-contiguous float32 array, the layout the kernels take.

    Args:
        a: An array or nested sequence. A scalar becomes an array of shape `(1,)`.

    Returns:
        A C-contiguous `numpy.ndarray` of dtype float32 (`a` itself when it already is one).

    Example:

    >>> import numpy as np
    >>> from pytrainc import testing
    >>> a = testing.f32(np.arange(6.0).reshape(2, 3).T)
    >>> a.dtype.name, a.flags["C_CONTIGUOUS"]
    ('float32', True)
    """
    return np.ascontiguousarray(a, dtype=np.float32)


def normal(r, shape, scale=1.0):
    """Draw float32 samples of a normal distribution with mean 0.

    Args:
        r: A `numpy.random.Generator` (see `rng`); it is advanced.
        shape: A tuple of ints.
        scale: A float, the standard deviation. Defaults to `1.0`.

    Returns:
        A float32 array of shape `shape`: `scale * r.standard_normal(shape)`.

    Example:

    >>> from pytrainc import testing
    >>> testing.normal(testing.rng(0), (2, 3), scale=0.5).shape
    (2, 3)
    """
    return (scale * r.standard_normal(shape)).astype(np.float32)


def data(n=16, shape=(8,), s=0):
    """Return float32 inputs drawn from a standard normal distribution.

    Args:
        n: An int, the number of samples. Defaults to `16`.
        shape: A tuple of ints, the shape of one sample. Defaults to `(8,)`.
        s: An int, the seed of the NumPy generator. Defaults to `0`.

    Returns:
        A float32 array of shape `(n, *shape)`.

    Example:

    >>> from pytrainc import testing
    >>> testing.data(4, (5, 5, 3)).shape
    (4, 5, 5, 3)
    """
    return np.random.default_rng(s).normal(size=(n,) + tuple(shape)).astype(np.float32)


def class_data(n=64, features=8, classes=3, s=0):
    """Return standard normal float32 inputs and random integer class labels.

    The labels do not depend on the inputs: the data is for checking what a
    model computes, not what it can learn.

    Args:
        n: An int, the number of samples. Defaults to `64`.
        features: An int, the size of one sample. Defaults to `8`.
        classes: An int, the labels are drawn from `range(classes)`. Defaults to `3`.
        s: An int, the seed of the NumPy generator. Defaults to `0`.

    Returns:
        A tuple `(x, labels)`: float32 of shape `(n, features)` and int64 of shape `(n,)`.

    Example:

    >>> from pytrainc import testing
    >>> x, labels = testing.class_data(n=10, classes=2)
    >>> x.shape, sorted(set(labels.tolist())) <= [0, 1]
    ((10, 8), True)
    """
    r = np.random.default_rng(s)
    x = r.normal(size=(n, features)).astype(np.float32)
    labels = r.integers(0, classes, size=n)
    return x, labels


# ---------------------------------------------------------------------------
# Models


def mlp(out=1, activation=None, hidden=10, features=8, s=0):
    """Build `Input(features) -> Dense(hidden, relu) -> Dense(out, activation)` after `seed(s)`.

    Args:
        out: An int, the units of the output layer. Defaults to `1`.
        activation: The output layer's activation (a name or `None`). Defaults to `None`.
        hidden: An int, the units of the hidden layer. Defaults to `10`.
        features: An int, the size of the input. Defaults to `8`.
        s: An int, the seed of pytrainc's generator for the initial weights. Defaults to `0`.

    Returns:
        An uncompiled `pytrainc.models.Sequential`.

    Example:

    >>> from pytrainc import testing
    >>> testing.mlp(out=3, activation="softmax").output_shape
    (None, 3)
    >>> testing.same_arrays(testing.mlp(s=3).get_weights(), testing.mlp(s=3).get_weights())
    True
    """
    seed(s)
    return Sequential([Input((features,)), Dense(hidden, activation="relu"), Dense(out, activation=activation)])


def randomize(model, s=1):
    """Give every weight of `model` a random value, so that no bias or BatchNorm statistic is trivial.

    Kernels, biases and BatchNorm means get `0.5 * standard normal` draws, BatchNorm
    variances (weights whose name contains "variance") uniform draws in [0.5, 2).

    Args:
        model: A built pytrainc model; its weights are set in place.
        s: An int, the seed of the NumPy generator. Defaults to `1`.

    Returns:
        `model`.

    Example:

    >>> from pytrainc import testing
    >>> w = testing.randomize(testing.mlp()).get_weights()
    >>> bool((w[1] != 0).all())
    True
    """
    r = np.random.default_rng(s)
    model.set_weights(
        [
            (r.uniform(0.5, 2.0, size=w.shape) if "variance" in v.name else r.normal(size=w.shape) * 0.5).astype(
                np.float32
            )
            for w, v in zip(model.get_weights(), model.weights)
        ]
    )
    return model


def _dense_stack():
    from pytrainc import layers as L, regularizers

    return Sequential(
        [
            L.Input((8,)),
            L.Dense(16, activation="relu", kernel_regularizer=regularizers.l2(0.01), bias_initializer="ones"),
            L.Dropout(0.25, seed=4),
            L.BatchNormalization(momentum=0.9, epsilon=1e-2),
            L.Dense(6, activation="tanh", use_bias=False, kernel_initializer="he_normal"),
            L.ActivityRegularization(l1=0.01),
            L.Dense(3),
            L.Activation("softmax"),
        ]
    )


def _activation_stack():
    from pytrainc import layers as L

    names = [
        "sigmoid",
        "elu",
        "selu",
        "gelu",
        "softplus",
        "softsign",
        "swish",
        "hard_sigmoid",
        "leaky_relu",
        "log_softmax",
        "linear",
    ]
    stack = [
        L.Input((12,)),
        L.Dense(12),
        L.ReLU(),
        L.Dense(12),
        L.ReLU(negative_slope=0.1),
        L.Dense(12),
        L.LeakyReLU(0.2),
        L.Dense(12),
        L.ELU(0.5),
        L.Reshape((3, 4)),
        L.Dense(5, activation="relu"),
        L.Flatten(),
        L.Softmax(),
    ]
    return Sequential(stack + [L.Dense(6, activation=name) for name in names])


def _cnn():
    from pytrainc import layers as L

    return Sequential(
        [
            L.Input((11, 9, 3)),
            L.Conv2D(4, 3, activation="relu", padding="same"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Conv2D(6, (3, 2), strides=2, padding="same"),
            L.AveragePooling2D(2, strides=1, padding="same"),
            L.Conv2D(5, 2, dilation_rate=(2, 1)),
            L.MaxPooling2D((1, 2), padding="same"),
            L.Flatten(),
            L.Dense(5, activation="relu"),
            L.Dense(2),
        ]
    )


def _cnn1d():
    from pytrainc import layers as L
    from pytrainc.models import Model

    x = L.Input((20, 3))
    h = L.Conv1D(4, 3, padding="causal", activation="relu")(x)
    h = L.Conv1D(5, 3, strides=2, padding="same")(L.MaxPooling1D(2)(h))
    h = L.Conv1D(3, 2, dilation_rate=2)(L.AveragePooling1D(2, padding="same")(h))
    y = L.Dense(2)(L.Concatenate()([L.GlobalAveragePooling1D()(h), L.GlobalMaxPooling1D()(h)]))
    return Model(inputs=x, outputs=y)


def _merges():
    from pytrainc import layers as L
    from pytrainc.models import Model

    x = L.Input((6,), name="features")
    a, b = L.Dense(6)(x), L.Dense(6, activation="relu")(x)
    c, d = L.Add()([a, b, x]), L.Subtract()([a, b])
    f = L.Average()([c, d, L.Multiply()([a, b])])
    g = L.Minimum()([L.Maximum()([f, a]), b])
    return Model(inputs=x, outputs=L.Dense(2)(L.Concatenate(axis=1)([g, d])))


def _residual():
    from pytrainc import layers as L
    from pytrainc.models import Model

    x = L.Input((8, 8, 3))
    h = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    r = L.BatchNormalization()(L.Add()([h, L.Conv2D(4, 3, padding="same")(h)]))
    y = L.Dense(3)(L.Concatenate()([L.GlobalMaxPooling2D()(r), L.GlobalAveragePooling2D(keepdims=False)(r)]))
    return Model(inputs=x, outputs=y)


# Models that together hold every layer class and activation, for format and export tests.
ARCHITECTURES = {
    "dense": _dense_stack,
    "activations": _activation_stack,
    "cnn": _cnn,
    "cnn1d": _cnn1d,
    "merges": _merges,
    "residual": _residual,
}


def architecture(name, s=0):
    """Build one of `ARCHITECTURES` after `seed(s)`, with `randomize(model, s + 1)` weights.

    Args:
        name: A key of `ARCHITECTURES`: "dense", "activations", "cnn", "cnn1d", "merges" or "residual".
        s: An int, the seed. Defaults to `0`.

    Returns:
        A built, uncompiled model.

    Example:

    >>> from pytrainc import testing
    >>> testing.architecture("residual").output_shape
    (None, 3)
    """
    seed(s)
    return randomize(ARCHITECTURES[name](), s=s + 1)


# ---------------------------------------------------------------------------
# Comparisons


def same_arrays(a, b):
    """Tell whether two lists of arrays are equal bitwise: same length, shapes, dtypes and values.

    Args:
        a: A list of arrays (for example `model.get_weights()`).
        b: A list of arrays.

    Returns:
        A bool.

    Example:

    >>> import numpy as np
    >>> from pytrainc import testing
    >>> testing.same_arrays([np.ones(2, np.float32)], [np.ones(2, np.float64)])
    False
    """
    return len(a) == len(b) and all(
        u.shape == v.shape and u.dtype == v.dtype and np.array_equal(u, v) for u, v in zip(a, b)
    )


def assert_close(actual, expected, rtol, what=""):
    """Assert `|actual - expected| <= rtol * (|expected| + max|expected|)` elementwise.

    The tolerance is relative to the scale of the whole reference as well as to
    each entry: float32 sums that cancel to near zero carry the absolute error
    of their terms, so an entry near zero has no meaningful relative error. A
    reference that is all zero is refused, since the comparison would then
    accept anything within 0 of 0 and test nothing about the scale.

    Args:
        actual: An array, the value under test (compared in float64).
        expected: An array of the same shape, the reference (compared in float64).
        rtol: A float, the relative tolerance.
        what: A string that names the comparison in the failure message. Defaults to `""`.

    Raises:
        AssertionError: if the shapes differ, `expected` is all zero, or an entry is off by more than the tolerance.

    Example:

    >>> from pytrainc import testing
    >>> testing.assert_close([1.0, 1e-9], [1.0, 0.0], rtol=1e-6)
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = float(np.abs(expected).max(initial=0.0))
    assert scale > 0, f"{what}: the reference is all zero, the comparison would be vacuous"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_weights_close(got, expected, rtol):
    """Assert two lists of weights agree, each array within `rtol` of its own scale.

    For array k: `|got[k] - expected[k]| <= rtol * (|expected[k]| + max|expected[k]|)`.
    Relative to the scale of each weight array, because entries that pass
    through zero have no meaningful elementwise relative error. With `rtol=0`
    the arrays must be equal.

    Args:
        got: A list of arrays, the weights under test.
        expected: A list of arrays, the reference weights.
        rtol: A float, the relative tolerance.

    Raises:
        AssertionError: if the lists differ in length, two arrays in shape, or an entry is off by
            more than the tolerance.

    Example:

    >>> import numpy as np
    >>> from pytrainc import testing
    >>> testing.assert_weights_close([np.array([1.0, 0.0])], [np.array([1.0, 1e-7])], rtol=1e-6)
    """
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape, k
        np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * np.abs(e).max(), err_msg=f"weight {k}")


def assert_close_abs(actual, expected, atol):
    """Assert `|actual - expected| <= atol` elementwise (no relative part).

    For values of unit scale, such as two frameworks' predictions on the same
    weights and inputs.

    Args:
        actual: An array, the value under test.
        expected: An array, the reference.
        atol: A float, the absolute tolerance.

    Raises:
        AssertionError: if an entry is off by more than `atol` (or the shapes do not broadcast).

    Example:

    >>> from pytrainc import testing
    >>> testing.assert_close_abs([1.0, 2.0], [1.0, 2.0 + 1e-6], atol=1e-5)
    """
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)


def gamma(n):
    """Higham's gamma_n = n u / (1 - n u) for float32 (u = `U32`, 2**-24).

    The classic bound on the relative error of an n-term float32 sum of
    products, valid for any summation order (so for any sgemm blocking) and
    with FMA: `|computed - exact| <= gamma(n) * sum(|terms|)`.

    Args:
        n: An int >= 0, the number of terms.

    Returns:
        A float.

    Example:

    >>> from pytrainc import testing
    >>> testing.gamma(1) == testing.U32 / (1 - testing.U32)
    True
    """
    return n * U32 / (1 - n * U32)


# ---------------------------------------------------------------------------
# PyTorch references


def torch_reference(fn, weights, x, y, penalty=None):
    """Forward value, mean squared error and its gradients of `fn(x, *weights)`, by torch in float64.

    Args:
        fn: A function of torch tensors, `fn(x, *weights) -> output`.
        weights: A list of arrays, converted to float64 tensors that require gradients.
        x: An array, the input.
        y: An array, the target of the mean squared error.
        penalty: A function `penalty(output, *weights) -> scalar tensor` added to the loss, or `None`.
            Defaults to `None`.

    Returns:
        A tuple `(output, loss, grads)`: a float64 array, a float and one float64 array per weight
        (zeros for a weight the loss does not depend on).

    Example:

    >>> import numpy as np
    >>> from pytrainc import testing
    >>> out, loss, grads = testing.torch_reference(lambda x, w: x * w, [np.ones(2)], np.ones((1, 2)), np.zeros((1, 2)))
    >>> loss, grads[0].tolist()
    (1.0, [1.0, 1.0])
    """
    import torch

    ws = [torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True) for w in weights]
    out = fn(torch.tensor(np.asarray(x, dtype=np.float64)), *ws)
    loss = torch.nn.functional.mse_loss(out, torch.tensor(np.asarray(y, dtype=np.float64)))
    if penalty is not None:
        loss = loss + penalty(out, *ws)
    loss.backward()
    grads = [w.grad.numpy() if w.grad is not None else np.zeros(w.shape) for w in ws]
    return out.detach().numpy(), float(loss.detach()), grads


def nchw(t):
    """Permute a channels-last torch tensor (N, H, W, C) to torch's (N, C, H, W) layout (a view)."""
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    """Permute a torch tensor (N, C, H, W) to pytrainc's channels-last (N, H, W, C) layout (a view)."""
    return t.permute(0, 2, 3, 1)


# ---------------------------------------------------------------------------
# Stand-ins


# Keras 3's end-of-epoch lines (verbose=1 and verbose=2) as regular expressions of the step
# count (for example KERAS_LINE_1 % "4/4"); the times vary, the layout does not.
KERAS_LINE_1 = r"%s ━{20} \d+s \d+(?:s|ms|us)/step"
KERAS_LINE_2 = r"%s - \d+s - \d+(?:s|ms|us)/step"


class TTY(io.StringIO):
    """A terminal stand-in: an in-memory text stream that says it is a tty.

    Progress bars (tqdm, `ProgbarLogger`) draw differently on a terminal; give
    them one of these as their stream and read what they drew with `getvalue()`.

    Example:

    >>> from pytrainc import testing
    >>> tty = testing.TTY()
    >>> _ = tty.write("epoch 1")
    >>> tty.isatty(), tty.getvalue()
    (True, 'epoch 1')
    """

    def isatty(self):
        return True


def keras_torch():
    """Keras 3 on its torch backend, the reference pytrainc's interop tests run against.

    Sets `KERAS_BACKEND=torch` unless keras is already imported, and skips the
    calling test module (pytest) when keras or h5py is missing or keras was
    imported with another backend.

    Returns:
        The `keras` module.

    Example:

    >>> keras = testing.keras_torch()  # doctest: +SKIP
    """
    import pytest

    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(
            f"keras was imported with the {keras.backend.backend()!r} backend before this module; these "
            "tests run with KERAS_BACKEND=torch",
            allow_module_level=True,
        )
    return keras


def run_op(name, ins, out_size, params=None, dout=None, training=True, rng_state=None, **args):
    """Runs registered op `name` once through `_C.run_op` (the engine's dispatch table).

    Args:
        name: An op of `_C.OPS`.
        ins: Inputs, arrays of shape (N, size_k).
        out_size: Floats per sample of the output (0: in place).
        params: Dict of the op's parameter names to arrays (None: absent). Defaults to None.
        dout: Optional (N, out_size) gradient of the output; then the backward runs too.
        training: Defaults to True.
        rng_state: Optional uint64 (4,) generator state (dropout). Defaults to [1, 2, 3, 4].
        **args: The op's integer and float arguments by name.

    Returns:
        (out, dins, dparams): the output, the inputs' gradients and {param name: gradient}.

    Example:

    >>> from pytrainc import testing
    >>> out, _, _ = testing.run_op("unary", [np.ones((2, 3))], 3, kind=pytrainc._C.UNARY_KINDS["neg"], alpha=0, beta=0)
    >>> out.tolist()
    [[-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]]
    """
    from pytrainc import _C
    from pytrainc._plan import pack_named

    spec = _C.OPS[name]
    params = params or {}
    flat, offsets = [], {}
    for pname in spec["params"]:
        if params.get(pname) is not None:
            offsets[pname] = sum(a.size for a in flat)
            flat.append(np.asarray(params[pname], np.float32).ravel())
    param = np.full(_C.MAX_PARAM, -1, np.int64)
    for k, pname in enumerate(spec["params"]):
        param[k] = offsets.get(pname, -1)
    iargs = pack_named(
        spec["iargs"], {k: v for k, v in args.items() if k in spec["iargs"]}, name, np.int64, _C.MAX_IARG
    )
    fargs = pack_named(
        spec["fargs"], {k: v for k, v in args.items() if k not in spec["iargs"]}, name, np.float64, _C.MAX_FARG
    )
    out, dins, dparams = _C.run_op(
        spec["id"],
        [np.ascontiguousarray(x, np.float32) for x in ins],
        out_size,
        np.concatenate(flat) if flat else np.zeros(0, np.float32),
        param,
        iargs,
        fargs,
        None if dout is None else np.float32(dout),
        training,
        np.array([1, 2, 3, 4], np.uint64) if rng_state is None else rng_state,
    )
    grads = {p: dparams[o : o + np.asarray(params[p]).size].reshape(np.shape(params[p])) for p, o in offsets.items()}
    return out, dins, grads


def keras_parity(body, x, y, input_shape, k_x=None, rtol=1e-5, seed=1):
    """Asserts a graph built by pytrainc and by Keras 3 (torch backend) agrees: predictions, and
    the gradient of the mean squared error of every weight, with the same random weights.

    Args:
        body: `body(layers_module, input_tensor) -> output tensor`, called with `pytrainc.layers`
            and with `keras.layers`.
        x: The inputs (float32); y: the targets of the mean squared error.
        input_shape: Per-sample input shape.
        k_x: The inputs as Keras takes them (e.g. int64 ids). Defaults to None (x).
        rtol: Relative tolerance of predictions and gradients. Defaults to 1e-5.
        seed: Seed of the weights. Defaults to 1.

    Returns:
        (model, k_model): the pytrainc model after one SGD step of rate 1, and the Keras model.

    Example:

    >>> testing.keras_parity(lambda lib, x: lib.Dense(2)(x), x, y, (3,))  # doctest: +SKIP
    """
    import torch

    from pytrainc import layers as L
    from pytrainc import optimizers
    from pytrainc.models import Model

    keras = keras_torch()
    model = Model(inp := L.Input(input_shape), body(L, inp))
    k_model = keras.Model(k_inp := keras.Input(input_shape), body(keras.layers, k_inp))
    r = np.random.default_rng(seed)
    weights = [(r.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    k_model.set_weights(weights)
    k_x = x if k_x is None else k_x
    assert_close(model.predict(x, verbose=0), k_model.predict(k_x, verbose=0), rtol, "predictions")
    out = k_model(torch.tensor(k_x))
    ((out - torch.tensor(y)) ** 2).mean().backward()
    k_grads = [v.value.grad.numpy() for v in k_model.weights]
    model.compile(optimizer=optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(x, y)  # one step of rate 1 moves each weight by minus its gradient
    for w0, w1, e in zip(weights, model.get_weights(), k_grads):
        assert_close_abs(w0 - w1, e, rtol * max(1.0, float(np.abs(e).max())))
    return model, k_model


# ---------------------------------------------------------------------------
# Data in batches


class ArraySlices(utils.PyDataset):
    """A PyDataset of consecutive slices of arrays, importable (so picklable) for
    tests of worker processes.

    Args:
        x, y: The arrays; batch `i` is rows `i * batch` to `(i + 1) * batch`.
        batch: Rows per batch.
        fail_at: A batch index whose read raises `OSError`, or None. Defaults to `None`.
        slow: Seconds a read sleeps, scaled by `(i * 5) % 3` so that workers finish
            out of order. Defaults to `0.0`.
        pid_dir: A folder where each read leaves a file named after the reading
            process's id, or None. Defaults to `None`.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size`.
    """

    def __init__(self, x, y, batch, fail_at=None, slow=0.0, pid_dir=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch = x, y, batch
        self.fail_at, self.slow, self.pid_dir = fail_at, slow, pid_dir

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        if self.pid_dir is not None:
            open(os.path.join(self.pid_dir, str(os.getpid())), "a").close()
        if self.slow:
            time.sleep(self.slow * ((i * 5) % 3))
        if i == self.fail_at:
            raise OSError(f"batch {i} is unreadable")
        part = slice(i * self.batch, (i + 1) * self.batch)
        return self.x[part], self.y[part]
