"""Custom layers traced into the plan: a `Layer` subclass with `add_weight` and a `call` written
with `pytrainc.ops`, and `Lambda`. They train in C like built-in layers, their weights live in the
model's flat parameter array, and bad code fails with a message that names the layer and the op.
"""

import numpy as np
import pytest
import torch

import pytrainc as keras
from pytrainc import ops
from pytrainc.testing import data


def xy(n, features, s):
    x = data(n, (features,), s)
    return x, np.sin(x.sum(1, keepdims=True)).astype(np.float32)


class MyDense(keras.layers.Layer):
    """Keras's guide example: a dense layer from add_weight, matmul, a bias and relu."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.relu(ops.matmul(inputs, self.w) + self.b)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _pair(optimizer):
    x, y = xy(64, 8, 3)
    inp = keras.Input((8,))
    custom = keras.Model(inp, keras.layers.Dense(1)(MyDense(6)(inp)))
    inp2 = keras.Input((8,))
    builtin = keras.Model(inp2, keras.layers.Dense(1)(keras.layers.Dense(6, activation="relu")(inp2)))
    builtin.set_weights(custom.get_weights())
    for m in (custom, builtin):
        m.compile(optimizer=optimizer(), loss="mse")
    return custom, builtin, x, y


@pytest.mark.parametrize(
    "optimizer",
    [lambda: keras.optimizers.SGD(0.05), lambda: keras.optimizers.Adam(0.01)],
    ids=["sgd", "adam"],
)
def test_custom_dense_trains_as_the_builtin_dense(optimizer):
    """50 steps (batches of 16, 12.5 epochs): the same loss trajectory as Dense(activation='relu').

    Both compute x @ W through the same sgemm; the bias and relu are separate primitives instead
    of Dense's fused epilogue, which changes only float32 rounding: 1e-5 relative is ample (1e-4 asked).
    """
    custom, builtin, x, y = _pair(optimizer)
    h1 = custom.fit(x, y, batch_size=16, epochs=13, shuffle=False, verbose=0).history["loss"]
    h2 = builtin.fit(x, y, batch_size=16, epochs=13, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-5)
    assert h1[-1] < h1[0]
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_custom_layer_weights_live_in_the_flat_parameters(tmp_path):
    custom, _, x, y = _pair(lambda: keras.optimizers.SGD(0.05))
    layer = custom.layers[1]  # after the InputLayer, as Keras's functional model.layers
    assert [v.name for v in layer.weights] == [f"{layer.name}/variable", f"{layer.name}/variable_1"]
    assert list(custom.state_dict()) == ["0.variable", "0.variable_1", "1.kernel", "1.bias"]
    assert layer.w._value.base is custom._params
    before = custom.get_weights()
    custom.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(layer.w.numpy(), before[0])  # the optimizer moved it
    path = tmp_path / "w.weights.h5"
    custom.save_weights(path)
    trained = custom.get_weights()
    custom.set_weights(before)
    custom.load_weights(path)
    for a, b in zip(custom.get_weights(), trained):
        np.testing.assert_array_equal(a, b)
    assert layer.compute_output_shape((None, 8)) == (None, 6)
    assert MyDense.from_config(layer.get_config()).units == 6


def test_custom_layer_runs_eagerly_on_arrays():
    layer = MyDense(3)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    out = layer(x)
    np.testing.assert_allclose(out, np.maximum(x @ layer.w.numpy() + layer.b.numpy(), 0), rtol=1e-6, atol=1e-6)


def test_custom_layer_with_a_sublayer_and_a_constant():
    class Residual(keras.layers.Layer):
        def build(self, input_shape):
            self.dense = keras.layers.Dense(input_shape[-1])

        def call(self, inputs, training=None):
            scale = np.array([1.0, 2.0, 3.0, 4.0], np.float32)  # a constant operand
            return inputs * scale + self.dense(inputs)

    inp = keras.Input((4,))
    layer = Residual()
    model = keras.Model(inp, layer(inp))
    assert [v.name.rsplit("/", 1)[-1] for v in model.weights] == ["kernel", "bias"]  # the constant is hidden
    assert list(model.state_dict()) == [f"0.{layer.dense.name}.kernel", f"0.{layer.dense.name}.bias"]
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    k, b = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), x * [1, 2, 3, 4] + x @ k + b, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, epochs=2, verbose=0)
    assert model.count_params() == 20


def _torch_sgd(fn, weights, x, y, steps, lr):
    ws = [torch.tensor(np.asarray(w, np.float64), requires_grad=True) for w in weights]
    opt = torch.optim.SGD(ws, lr=lr)
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((fn(xt, *ws) - yt) ** 2)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_lambda_layer_trains_as_torch():
    """50 full-batch SGD steps; float32 against torch's float64: 1e-5 relative."""
    x, y = xy(32, 4, 5)
    inp = keras.Input((4,))
    h = keras.layers.Dense(8)(inp)
    h = keras.layers.Lambda(
        lambda t: ops.tanh(t) * 0.5 + ops.square(t) / 4.0 - ops.exp(-ops.abs(t)) + ops.where(t > 0, t, t * 0.1)
    )(h)
    model = keras.Model(inp, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    w0 = model.get_weights()
    losses = model.fit(x, y, batch_size=32, epochs=50, shuffle=False, verbose=0).history["loss"]

    def fn(t, k1, b1, k2, b2):
        u = t @ k1 + b1
        u = torch.tanh(u) * 0.5 + u**2 / 4.0 - torch.exp(-torch.abs(u)) + torch.where(u > 0, u, u * 0.1)
        return u @ k2 + b2

    ref = _torch_sgd(fn, w0, x, y, 50, 0.05)
    np.testing.assert_allclose(losses, ref, rtol=1e-5)


def test_lambda_output_shape_and_reshape_ops():
    inp = keras.Input((6,))
    out = keras.layers.Lambda(lambda t: ops.sum(ops.reshape(t, (-1, 2, 3)), axis=1), output_shape=(3,))(inp)
    assert out.shape == (None, 3)
    model = keras.Model(inp, out)
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_allclose(model.predict(x, verbose=0), x.reshape(2, 2, 3).sum(1))
    with pytest.raises(ValueError, match="output_shape=\\(4,\\).*returns shape \\(None, 3\\)"):
        keras.layers.Lambda(lambda t: ops.sum(ops.reshape(t, (-1, 2, 3)), axis=1), output_shape=(4,))(inp)
    with pytest.raises(ValueError, match="loading never runs code"):
        keras.layers.Lambda.from_config({"name": "l"})


def test_functional_ops_on_keras_tensors_and_operators():
    inp = keras.Input((3, 4))
    w = np.random.default_rng(2).normal(size=(4, 2)).astype(np.float32)
    h = ops.transpose(inp @ w, (0, 2, 1))  # (None, 2, 3)
    out = ops.max(h, axis=-1) - ops.mean(h, axis=-1, keepdims=False) + 1.0
    model = keras.Model(inp, out)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer"]  # op nodes are not layers
    x = np.random.default_rng(3).normal(size=(5, 3, 4)).astype(np.float32)
    hx = np.transpose(x @ w, (0, 2, 1))
    np.testing.assert_allclose(model.predict(x, verbose=0), hx.max(-1) - hx.mean(-1) + 1.0, rtol=1e-5, atol=1e-5)


# -- bad input ----------------------------------------------------------------------------------
class _IfLayer(keras.layers.Layer):
    def call(self, inputs):
        if ops.sum(inputs, axis=-1):
            return inputs
        return -inputs


def test_python_if_on_a_symbolic_tensor_names_the_layer():
    with pytest.raises(TypeError, match="in the call of layer 'if_guard': it cannot be used as a Python bool"):
        _IfLayer(name="if_guard")(keras.Input((3,)))


def test_shape_mismatch_in_call_names_the_layer_and_the_op():
    class Bad(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(5, 2))

        def call(self, inputs):
            return ops.matmul(inputs, self.w)

    with pytest.raises(ValueError, match=r"ops.matmul \(in layer 'bad_mm'\): contraction dims differ"):
        Bad(name="bad_mm")(keras.Input((3,)))

    class BadAdd(keras.layers.Layer):
        def build(self, input_shape):
            self.b = self.add_weight(shape=(4,))

        def call(self, inputs):
            return inputs + self.b

    with pytest.raises(ValueError, match=r"ops.add \(in layer 'bad_add'\): shapes .* cannot be broadcast"):
        BadAdd(name="bad_add")(keras.Input((3,)))


def test_unsupported_ops_in_tracing_are_refused_clearly():
    class UsesNumpy(keras.layers.Layer):
        def call(self, inputs):
            return np.sin(inputs)

    with pytest.raises(TypeError, match="in the call of layer 'np_layer': NumPy's sin cannot run on it"):
        UsesNumpy(name="np_layer")(keras.Input((3,)))

    class UsesMissingOp(keras.layers.Layer):
        def call(self, inputs):
            return ops.fft(inputs)

    with pytest.raises(AttributeError, match="keras.ops.fft is not supported yet"):
        UsesMissingOp()(keras.Input((3,)))

    class BatchReduce(keras.layers.Layer):
        def call(self, inputs):
            return ops.sum(inputs)

    with pytest.raises(ValueError, match=r"layer 'whole' returned a per-batch tensor .* keeps the batch axis"):
        BatchReduce(name="whole")(keras.Input((3,)))

    class WeightsOnly(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(3, 3))

        def call(self, inputs):
            return ops.matmul(inputs, ops.multiply(self.w, 2.0))

    # a weight read in a call is a per-batch tensor (pytrainc/_weight_updates.py): matmul takes it
    # against a per-sample operand (tests/ops/test_matmul_per_batch.py), a per-batch op of its own not yet
    assert WeightsOnly(name="wonly")(keras.Input((3,))).shape == (None, 3)
    with pytest.raises(ValueError, match=r"ops.softmax \(in layer 'sonly'\) does not take a per-batch tensor yet"):

        class SoftmaxOnly(WeightsOnly):
            def call(self, inputs):
                return ops.matmul(inputs, ops.softmax(ops.multiply(self.w, 2.0)))

        SoftmaxOnly(name="sonly")(keras.Input((3,)))


def test_call_must_return_a_tensor_and_use_only_its_inputs():
    outer = keras.Input((3,))

    class Leaky(keras.layers.Layer):
        def call(self, inputs):
            return inputs + outer

    with pytest.raises(ValueError, match="layer 'leaky_one' uses a symbolic tensor .* not one of its inputs"):
        Leaky(name="leaky_one")(keras.Input((3,)))

    class Constant(keras.layers.Layer):
        def call(self, inputs):
            return 1.0

    with pytest.raises(TypeError, match="call of layer 'const_out' must return a tensor.*Received: float"):
        Constant(name="const_out")(keras.Input((3,)))


def test_add_weight_keeps_keras_defaults_and_refuses_what_it_cannot_do():
    layer = keras.layers.Layer(name="plain")
    v = layer.add_weight(shape=(3, 2))
    assert v.name == "plain/variable" and v.trainable and v.shape == (3, 2)
    assert np.abs(v.numpy()).max() <= np.sqrt(6 / 5)  # glorot_uniform's limit
    assert layer.add_weight(name="s").shape == ()
    assert isinstance(layer.add_weight(shape=(2,), constraint="non_neg").constraint, keras.constraints.NonNeg)
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 'positive'"):
        layer.add_weight(shape=(2,), constraint="positive")
    with pytest.raises(ValueError, match="float32. Received: dtype='int32'"):
        layer.add_weight(shape=(2,), dtype="int32")


def test_built_in_layers_in_a_traced_call_follow_the_plans_mode():
    class Follows(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop = keras.layers.Dropout(0.5)

        def call(self, x, training=None):
            return self.drop(x, training=training) * 2.0

    class Fixed(Follows):  # Monte Carlo dropout: would be ignored at inference, so refused
        def call(self, x, training=None):
            return self.drop(x, training=True) * 2.0

    model = keras.Sequential([keras.Input((4,)), Follows()])
    model.compile("sgd", "mse")
    x = np.ones((8, 4), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), 2 * x)  # inference: no dropout
    model.fit(x, x, epochs=1, verbose=0)
    with pytest.raises(NotImplementedError, match=r"training=True inside the call of layer 'fixed'"):
        keras.Sequential([keras.Input((4,)), Fixed(name="fixed")])
