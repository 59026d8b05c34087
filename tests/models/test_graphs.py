"""Tier 2 and 3: the functional API and non-sequential graphs.

Graphs with merge layers (Add, Subtract, Multiply, Average, Concatenate on the
last and on other axes), residual blocks (Dense and Conv2D), shared layers and
tensors used twice are checked against the same function written in PyTorch
(float64, same weights): `predict` against the forward output, and one SGD step
with `learning_rate=1.0` on the mean squared error (`w_before - w_after` is the
gradient) against autograd. Tolerance: 1e-4 relative to each tensor's scale, as
in tests/layers/test_layers.py (float32 sums of at most a few thousand unit-scale terms err
by ~1e-6 of their scale; a wrong merge rule, a missing gradient path or a
gradient that is not summed over a layer's uses changes results by O(1e-1)).

Then a residual model trains, saves, loads, predicts bitwise identically and
continues training bitwise identically; and malformed graphs raise clear errors.
"""

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import pytrainc  # noqa: E402
from pytrainc import testing  # noqa: E402
from pytrainc.layers import (
    Activation,
    Add,
    Average,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,  # noqa: E402
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    MaxPooling2D,
    Multiply,
    Subtract,
)
from pytrainc.models import Model, load_model  # noqa: E402
from pytrainc.testing import nchw, nhwc, normal, rng, torch_reference  # noqa: E402

RTOL = 1e-4
F64 = torch.float64

pytestmark = pytest.mark.usefixtures("torch_single_thread")

# |actual - expected| <= RTOL * (|expected| + max|expected|) elementwise.
assert_close = functools.partial(testing.assert_close, rtol=RTOL)


def randomize(layers, r, scale=0.5):
    for layer in layers:
        layer.set_weights([normal(r, w.shape, scale) for w in layer.get_weights()])


def check_graph(model, layers, fn, x, y, what=""):
    """fn(x, *weights of `layers` in order) is the model's function: compare forward and gradients."""
    weights = [w for layer in layers for w in layer.get_weights()]
    assert len(weights) == len(model.get_weights()), "every weight of the model must be covered"
    out, loss, grads = torch_reference(fn, weights, x, y)
    assert_close(model.predict(x, batch_size=len(x), verbose=0), out, what=f"{what}: forward")
    model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=1.0), loss="mse")
    reported = model.train_on_batch(x, y)
    after = [w for layer in layers for w in layer.get_weights()]
    assert reported == pytest.approx(loss, rel=RTOL), f"{what}: loss"
    for i, (w0, w1, ref) in enumerate(zip(weights, after, grads)):
        assert_close(w0.astype(np.float64) - w1, ref, what=f"{what}: gradient of weight {i} {w0.shape}")


def dense(x, w, b):
    return x @ w + b


def conv_same(x, k, b):
    """Keras Conv2D(padding='same', strides=1) with an odd kernel: symmetric padding."""
    return nhwc(F.conv2d(nchw(x), k.permute(3, 2, 0, 1), b, padding=k.shape[0] // 2))


def conv_valid(x, k, b):
    return nhwc(F.conv2d(nchw(x), k.permute(3, 2, 0, 1), b))


# ---------------------------------------------------------------------------
# The functional API


def test_functional_cnn_builds_keras_shapes_and_matches_torch():
    x = Input(shape=(32, 32, 3))
    conv = Conv2D(32, (3, 3), activation="relu")
    y = conv(x)
    assert y.shape == (None, 30, 30, 32)
    y = MaxPooling2D((2, 2))(y)
    assert y.shape == (None, 15, 15, 32)
    y = Flatten()(y)
    assert y.shape == (None, 7200)
    head = Dense(5)
    model = Model(inputs=x, outputs=head(y))
    assert model.output_shape == (None, 5) and model.input_shape == (None, 32, 32, 3)
    assert model.count_params() == 3 * 3 * 3 * 32 + 32 + 7200 * 5 + 5
    r = rng(1)
    randomize([conv], r, 0.3)
    randomize([head], r, 0.05)
    xs, ys = r.random((4, 32, 32, 3)).astype(np.float32), normal(r, (4, 5))

    def fn(x, k, b, w, c):
        h = F.max_pool2d(nchw(F.relu(conv_valid(x, k, b))), 2)
        return dense(nhwc(h).reshape(len(x), -1), w, c)

    check_graph(model, [conv, head], fn, xs, ys, "functional cnn")


MERGES = {  # name: (make layer, number of inputs, torch merge of a list)
    "add": (Add, 2, lambda ts: ts[0] + ts[1]),
    "add3": (Add, 3, lambda ts: ts[0] + ts[1] + ts[2]),
    "subtract": (Subtract, 2, lambda ts: ts[0] - ts[1]),
    "multiply": (Multiply, 2, lambda ts: ts[0] * ts[1]),
    "multiply3": (Multiply, 3, lambda ts: ts[0] * ts[1] * ts[2]),
    "average": (Average, 2, lambda ts: (ts[0] + ts[1]) / 2),
    "average3": (Average, 3, lambda ts: (ts[0] + ts[1] + ts[2]) / 3),
    "concat_last": (lambda: Concatenate(axis=-1), 2, lambda ts: torch.cat(ts, dim=-1)),
    "concat_axis1": (lambda: Concatenate(axis=1), 2, lambda ts: torch.cat(ts, dim=1)),
    "concat_axis_minus2": (lambda: Concatenate(axis=-2), 3, lambda ts: torch.cat(ts, dim=-2)),
    "concat3_last": (lambda: Concatenate(), 3, lambda ts: torch.cat(ts, dim=-1)),
}
BRANCH_ACTS = [(None, lambda t: t), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)]


@pytest.mark.parametrize("name", list(MERGES))
def test_merge_graph_forward_and_gradients_match_torch(name):
    """x (4, 5) -> k Dense branches (different activations) -> merge -> Dense(3)."""
    make, k, merge = MERGES[name]
    x = Input((4, 5))
    branches = [Dense(6, activation=BRANCH_ACTS[i][0]) for i in range(k)]
    head = Dense(3)
    m = make()([b(x) for b in branches])
    model = Model(inputs=x, outputs=head(m))
    r = rng(2)
    randomize(branches + [head], r)
    xs = normal(r, (5, 4, 5))
    ys = normal(r, (5,) + model.output_shape[1:])

    def fn(x, *ws):
        outs = [BRANCH_ACTS[i][1](dense(x, ws[2 * i], ws[2 * i + 1])) for i in range(k)]
        return dense(merge(outs), ws[-2], ws[-1])

    check_graph(model, branches + [head], fn, xs, ys, name)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_of_conv_branches_matches_torch(axis):
    """Image branches joined along channels (-1), height (1) or width (2), with different widths."""
    x = Input((6, 5, 2))
    c1, c2 = Conv2D(3, 3, padding="same", activation="relu"), Conv2D(3 if axis != -1 else 4, 3, padding="same")
    head = Dense(2)
    m = Concatenate(axis=axis)([c1(x), c2(x)])
    model = Model(inputs=x, outputs=head(m))
    r = rng(3)
    randomize([c1, c2, head], r)
    xs = normal(r, (3, 6, 5, 2))
    ys = normal(r, (3,) + model.output_shape[1:])
    dim = {-1: 3, 1: 1, 2: 2}[axis]

    def fn(x, k1, b1, k2, b2, w, b):
        return dense(torch.cat([F.relu(conv_same(x, k1, b1)), conv_same(x, k2, b2)], dim=dim), w, b)

    check_graph(model, [c1, c2, head], fn, xs, ys, f"concat axis {axis}")


@pytest.mark.parametrize(
    "name, make, merge",
    [
        ("add", Add, lambda h: h + h),
        ("multiply", Multiply, lambda h: h * h),
        ("average", Average, lambda h: h),
        ("concat", Concatenate, lambda h: torch.cat([h, h], dim=-1)),
    ],
)
def test_merging_a_tensor_with_itself(name, make, merge):
    """Both inputs of the merge are one tensor: its gradient is the sum over both uses (2h for h*h)."""
    x = Input((5,))
    d, head = Dense(4, activation="tanh"), Dense(2)
    h = d(x)
    model = Model(inputs=x, outputs=head(make()([h, h])))
    r = rng(4)
    randomize([d, head], r)
    xs, ys = normal(r, (6, 5)), normal(r, (6, 2))
    check_graph(
        model,
        [d, head],
        lambda x, w0, b0, w1, b1: dense(merge(torch.tanh(dense(x, w0, b0))), w1, b1),
        xs,
        ys,
        f"{name} of h with itself",
    )


def test_merge_directly_on_the_model_input():
    """The input buffer has no gradient: merge layers reading it must skip it, not write into it."""
    x = Input((6,))
    d, head = Dense(6), Dense(2)
    model = Model(inputs=x, outputs=head(Multiply()([x, Subtract()([d(x), x])])))
    r = rng(5)
    randomize([d, head], r)
    xs, ys = normal(r, (5, 6)), normal(r, (5, 2))
    check_graph(model, [d, head], lambda x, w0, b0, w1, b1: dense(x * (dense(x, w0, b0) - x), w1, b1), xs, ys)


# ---------------------------------------------------------------------------
# Residual blocks


def dense_residual():
    x = Input((8,))
    d1, d2, head = Dense(8, activation="relu"), Dense(8), Dense(3)
    y = Activation("relu")(Add()([x, d2(d1(x))]))
    return Model(inputs=x, outputs=head(y)), [d1, d2, head]


def conv_residual():
    x = Input((8, 8, 3))
    stem = Conv2D(4, 3, padding="same", activation="relu")
    c1, c2 = Conv2D(4, 3, padding="same", activation="relu"), Conv2D(4, 3, padding="same")
    head = Dense(3)
    s = stem(x)
    y = Activation("relu")(Add()([s, c2(c1(s))]))
    return Model(inputs=x, outputs=head(GlobalAveragePooling2D()(y))), [stem, c1, c2, head]


def test_dense_residual_block_matches_torch():
    model, layers = dense_residual()
    r = rng(6)
    randomize(layers, r)
    xs, ys = normal(r, (7, 8)), normal(r, (7, 3))

    def fn(x, w1, b1, w2, b2, w, b):
        return dense(F.relu(x + dense(F.relu(dense(x, w1, b1)), w2, b2)), w, b)

    check_graph(model, layers, fn, xs, ys, "dense residual")


def test_conv_residual_block_matches_torch():
    model, layers = conv_residual()
    r = rng(7)
    randomize(layers, r)
    xs, ys = normal(r, (4, 8, 8, 3)), normal(r, (4, 3))

    def fn(x, ks, bs, k1, b1, k2, b2, w, b):
        s = F.relu(conv_same(x, ks, bs))
        y = F.relu(s + conv_same(F.relu(conv_same(s, k1, b1)), k2, b2))
        return dense(y.mean(dim=(1, 2)), w, b)

    check_graph(model, layers, fn, xs, ys, "conv residual")


def residual_classifier():
    """A residual CNN with batch normalization and dropout, for the save/load round trip."""
    x = Input((8, 8, 3))
    s = Conv2D(6, 3, padding="same", activation="relu")(x)
    h = Conv2D(6, 3, padding="same")(s)
    h = BatchNormalization()(h)
    y = Activation("relu")(Add()([s, h]))
    y = Dropout(0.2)(GlobalAveragePooling2D()(y))
    return Model(inputs=x, outputs=Dense(4, activation="softmax")(y))


def classification_data(n=256, seed=8):
    r = rng(seed)
    offsets = r.standard_normal((n, 1, 1, 3))
    x = (r.standard_normal((n, 8, 8, 3)) + offsets).astype(np.float32)
    # Classes from the signs of two channel means: visible through global average pooling.
    labels = (x[..., 0].mean(axis=(1, 2)) > 0).astype(int) * 2 + (x[..., 1].mean(axis=(1, 2)) > 0)
    return x, pytrainc.utils.to_categorical(labels, 4)


def test_residual_model_trains_saves_loads_and_resumes_identically(tmp_path):
    pytrainc.utils.set_random_seed(12)
    model = residual_classifier()
    model.compile(
        optimizer=pytrainc.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    x, y = classification_data()
    hist = model.fit(x, y, batch_size=32, epochs=6, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses

    path = tmp_path / "residual.ptc"
    model.save(path)
    loaded = load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)

    # Same optimizer state and dropout generators: the next epochs are bitwise the same.
    h1 = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    h2 = loaded.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert h1.history == h2.history
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ---------------------------------------------------------------------------
# Shared layers


def test_layer_applied_twice_in_a_chain_gets_the_summed_gradient():
    x = Input((6,))
    shared, head = Dense(6, activation="tanh"), Dense(2)
    model = Model(inputs=x, outputs=head(shared(shared(x))))
    assert model.count_params() == 6 * 6 + 6 + 6 * 2 + 2  # the shared weights count once
    r = rng(9)
    randomize([shared, head], r)
    xs, ys = normal(r, (5, 6)), normal(r, (5, 2))

    def fn(x, w, b, w2, b2):
        return dense(torch.tanh(dense(torch.tanh(dense(x, w, b)), w, b)), w2, b2)

    check_graph(model, [shared, head], fn, xs, ys, "shared in a chain")


def test_layer_shared_by_parallel_branches_gets_the_summed_gradient():
    x = Input((4, 4, 2))
    pre_a, pre_b = Dense(3), Dense(3, activation="tanh")
    shared = Conv2D(2, 3, padding="same", activation="sigmoid")
    head = Dense(2)
    y = Concatenate()([shared(pre_a(x)), shared(pre_b(x))])
    model = Model(inputs=x, outputs=head(Flatten()(y)))
    assert len(model.get_weights()) == 8
    r = rng(10)
    randomize([pre_a, pre_b, shared, head], r)
    xs, ys = normal(r, (3, 4, 4, 2)), normal(r, (3, 2))

    def fn(x, wa, ba, wb, bb, k, kb, w, b):
        ya = torch.sigmoid(conv_same(dense(x, wa, ba), k, kb))
        yb = torch.sigmoid(conv_same(torch.tanh(dense(x, wb, bb)), k, kb))
        return dense(torch.cat([ya, yb], dim=-1).reshape(len(x), -1), w, b)

    check_graph(model, [pre_a, pre_b, shared, head], fn, xs, ys, "shared conv")


def test_shared_gradient_sanity_one_use_only_differs():
    """The summed gradient differs clearly from the gradient of either use alone."""
    r = rng(9)
    w, b = normal(r, (6, 6), 0.5), normal(r, (6,), 0.5)
    w2, b2 = normal(r, (6, 2), 0.5), normal(r, (2,), 0.5)
    xs, ys = normal(r, (5, 6)), normal(r, (5, 2))
    full = torch_reference(
        lambda x, w, b, w2, b2: dense(torch.tanh(dense(torch.tanh(dense(x, w, b)), w, b)), w2, b2),
        [w, b, w2, b2],
        xs,
        ys,
    )[2][0]
    wt, bt = torch.tensor(w, dtype=F64), torch.tensor(b, dtype=F64)
    inner_only = torch_reference(
        lambda x, w, b, w2, b2: dense(torch.tanh(dense(torch.tanh(dense(x, w, b)), wt, bt)), w2, b2),
        [w, b, w2, b2],
        xs,
        ys,
    )[2][0]
    assert np.abs(full - inner_only).max() > 100 * RTOL * np.abs(full).max()


# ---------------------------------------------------------------------------
# Malformed graphs


def test_outputs_built_from_another_input_are_disconnected():
    x1, x2 = Input((4,)), Input((4,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(inputs=x1, outputs=Dense(2)(x2))
    # Partly connected: the output also depends on an Input the model does not take.
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(inputs=x1, outputs=Add()([Dense(4)(x1), Dense(4)(x2)]))


def test_repeated_inputs_are_refused():
    x = Input((4,))
    y = Dense(2)(x)
    with pytest.raises(ValueError, match=r"one input.*Received 2|same input|more than once"):
        Model(inputs=[x, x], outputs=y)


def test_model_inputs_and_outputs_must_be_tensors():
    x = Input((4,))
    with pytest.raises(TypeError, match="KerasTensor"):
        Model(inputs=x, outputs=Dense(2))
    with pytest.raises(TypeError, match="KerasTensor"):
        Model(inputs=np.zeros((1, 4)), outputs=Dense(2)(x))
    with pytest.raises(TypeError, match="Input or of another layer"):
        Concatenate()([x, np.zeros((1, 4))])  # arrays alone run eagerly (tests/layers/test_eager_call.py)


def test_merge_of_mismatched_branches_is_refused_when_the_graph_is_built():
    x = Input((8, 8, 3))
    a = Conv2D(4, 3)(x)  # (6, 6, 4)
    b = Conv2D(4, 3, padding="same")(x)  # (8, 8, 4)
    with pytest.raises(ValueError, match=r"Add.*same shape.*\(None, 6, 6, 4\).*\(None, 8, 8, 4\)"):
        Add()([a, b])
    with pytest.raises(ValueError, match=r"Concatenate.*except on the concatenation axis"):
        Concatenate()([a, b])
    with pytest.raises(ValueError, match=r"Subtract.*exactly 2.*Received: 3"):
        Subtract()([a, a, a])
