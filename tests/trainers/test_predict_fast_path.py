"""predict's fixed cost (issue 15): a float32 C-contiguous input of the model's one input shape
is served by the last predict's plan without re-deriving the weights' layout or converting the
input (`PlanCompiler._predict_again`). Every change that may alter what the plan reads still
takes the full path (`_ensure_plan`), and every change to the weights reaches the outputs."""

import gc
import sys

import numpy as np
import pytest

from pytrainc import Model, callbacks
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential


def _data(n=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 5)).astype(np.float32)


def _model():
    return Sequential([Input((5,)), Dense(7, activation="relu"), Dense(3)])


def _numpy_forward(model, x):
    k1, b1, k2, b2 = model.get_weights()
    return np.maximum(x @ k1 + b1, 0) @ k2 + b2


def _close(model, x, out):
    np.testing.assert_allclose(out, _numpy_forward(model, x), rtol=1e-5, atol=1e-5)


def _counting(model):
    """Counts the model's full-path compilations (`_ensure_plan` calls) in `calls[0]`."""
    calls, inner = [0], model._ensure_plan

    def ensure(*args, **kwargs):
        calls[0] += 1
        return inner(*args, **kwargs)

    model._ensure_plan = ensure
    return calls


def _warm(seed=0):
    """A model predicted on twice (the second by the fast path), its data and its call counter."""
    model, x = _model(), _data(seed=seed)
    calls = _counting(model)
    model.predict(x, batch_size=2, verbose=0)
    model.predict(x, batch_size=2, verbose=0)
    assert calls[0] == 1
    return model, x, calls


def test_repeated_predicts_take_the_fast_path_and_give_the_same_outputs():
    model, x, calls = _warm()
    first = model.predict(x, batch_size=1, verbose=0)
    np.testing.assert_array_equal(model.predict(x, batch_size=1, verbose=0), first)
    assert calls[0] == 1
    _close(model, x, first)
    _close(model, x, model.predict(x, batch_size=6, verbose=0))  # more rows than the plan holds: reserved
    assert calls[0] == 2
    _close(model, x, model.predict(x, batch_size=100, verbose=0))  # 6 rows at most
    _close(model, x[:1], model.predict(x[:1], verbose=0))
    assert calls[0] == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda m, other: m.set_weights(other.get_weights()),
        lambda m, other: m.layers[0].set_weights(other.layers[0].get_weights()),
        lambda m, other: m.load_state_dict(other.state_dict()),
        lambda m, other: m.layers[1].kernel.assign(other.layers[1].kernel.numpy()),
    ],
    ids=["set_weights", "layer.set_weights", "load_state_dict", "assign"],
)
def test_weights_written_in_place_reach_the_outputs(change):
    model, x, _ = _warm()
    before = model.predict(x, verbose=0)
    change(model, _model())
    after = model.predict(x, verbose=0)
    assert not np.array_equal(after, before)
    _close(model, x, after)


@pytest.mark.parametrize("suffix", [".weights.h5", ".npz"])
def test_load_weights_reaches_the_outputs(tmp_path, suffix):
    model, x, _ = _warm()
    other = _model()
    path = str(tmp_path / f"w{suffix}")
    other.save_weights(path)
    model.load_weights(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))


def test_a_layer_added_after_predict_takes_the_full_path():
    model, x, calls = _warm()
    model.add(Dense(2))
    out = model.predict(x, batch_size=1, verbose=0)
    assert out.shape == (6, 2) and calls[0] == 2


def test_a_model_sharing_the_layers_moves_the_weights_and_predict_follows():
    model, x, calls = _warm()
    other = Model(model.inputs, Dense(4)(model.outputs[0]))  # takes the shared weights into its own buffer
    other.predict(x, verbose=0)
    model.layers[0].kernel.assign(np.ones((5, 7), np.float32))
    _close(model, x, model.predict(x, batch_size=1, verbose=0))
    assert calls[0] == 2


def test_compile_takes_the_full_path_and_the_old_plan_is_released():
    model, x, calls = _warm()
    before = model.predict(x, batch_size=2, verbose=0)
    old = model._plan
    model.compile(optimizer="sgd", loss="mse")
    gc.collect()
    assert sys.getrefcount(old) == 2  # `old` and the call's argument: the fast path's memory let its workspaces go
    np.testing.assert_array_equal(model.predict(x, batch_size=2, verbose=0), before)
    assert calls[0] == 2


def test_a_trainable_change_takes_the_full_path_and_fit_trains_only_what_is_trainable():
    model, x, calls = _warm()
    model.compile(optimizer="sgd", loss="mse")
    model.predict(x, verbose=0)
    model.predict(x, verbose=0)
    assert calls[0] == 2
    model.layers[0].trainable = False
    model.predict(x, verbose=0)
    assert calls[0] == 3
    frozen = model.layers[0].get_weights()
    model.fit(x, np.zeros((6, 3), np.float32), epochs=2, verbose=0)
    before = model.predict(x, verbose=0)
    for w, f in zip(model.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(w, f)
    _close(model, x, before)
    model.layers[0].trainable = True
    model.fit(x, np.zeros((6, 3), np.float32), epochs=2, verbose=0)
    after = model.predict(x, verbose=0)
    assert not np.array_equal(model.layers[0].get_weights()[0], frozen[0])
    _close(model, x, after)


def test_fit_after_repeated_predicts_trains_and_predict_sees_it():
    model, x, _ = _warm()
    model.compile(optimizer="sgd", loss="mse")
    before = [model.predict(x, batch_size=1, verbose=0) for _ in range(3)][-1]
    model.fit(x, np.zeros((6, 3), np.float32), epochs=2, verbose=0)
    after = model.predict(x, batch_size=1, verbose=0)
    assert not np.array_equal(after, before)
    _close(model, x, after)


def test_every_input_form_gives_the_same_outputs_and_bad_inputs_are_refused():
    model, x, _ = _warm()
    want = model.predict(x, batch_size=2, verbose=0)
    np.testing.assert_array_equal(model.predict(x.astype(np.float64), batch_size=2, verbose=0), want)
    np.testing.assert_array_equal(model.predict(np.asfortranarray(x), batch_size=2, verbose=0), want)
    np.testing.assert_array_equal(model.predict(x.tolist(), batch_size=2, verbose=0), want)
    wide = np.zeros((6, 10), np.float32)
    wide[:, ::2] = x
    np.testing.assert_array_equal(model.predict(wide[:, ::2], batch_size=2, verbose=0), want)
    for bad_value in (np.nan, np.inf):
        bad = x.copy()
        bad[1, 2] = bad_value
        with pytest.raises(ValueError, match="NaN or infinite"):
            model.predict(bad, batch_size=2, verbose=0)
    with pytest.raises(ValueError, match="expects input"):
        model.predict(np.zeros((2, 4), np.float32), verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(x, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.predict(np.zeros((0, 5), np.float32), verbose=0)


def test_callbacks_and_steps_take_the_full_path():
    model, x, calls = _warm()
    seen = []

    class Hook(callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(batch)

    want = model.predict(x, batch_size=2, verbose=0)
    np.testing.assert_array_equal(model.predict(x, batch_size=2, verbose=0, callbacks=[Hook()]), want)
    assert seen == [0, 1, 2]
    np.testing.assert_array_equal(model.predict(x, batch_size=2, verbose=0, steps=1), want[:2])
    assert calls[0] == 3


def test_several_outputs_by_the_fast_path():
    inp = Input((5,))
    h = Dense(4, activation="relu")(inp)
    model = Model(inp, {"a": Dense(2)(h), "b": Dense(3)(h)})
    x = _data()
    first = model.predict(x, verbose=0)
    again = model.predict(x, batch_size=1, verbose=0)
    assert set(again) == {"a", "b"} and again["a"].shape == (6, 2) and again["b"].shape == (6, 3)
    for k in first:
        np.testing.assert_array_equal(again[k], first[k])


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_predict_reads_the_input_in_place_and_writes_the_output_in_place(batch_size):
    """With one input and one output the engine lends the plan the batch's rows of x and of the
    result (csrc/engine.c plan_predict): x is left as it was, and the outputs are those of the
    same layers in a two-output model (whose outputs the engine copies out), batch by batch,
    including the last, shorter batch."""
    from pytrainc import layers

    x = _data(n=11)
    before = x.copy()
    inp = Input((5,))
    h = Dense(7, activation="relu", activity_regularizer="l2")(inp)  # an op reading its input in place
    out = Dense(3)(h)
    one = Model(inp, out)
    two = Model(inp, [out, layers.Dense(2)(h)])
    lent = one.predict(x, batch_size=batch_size, verbose=0)
    copied = two.predict(x, batch_size=batch_size, verbose=0)[0]
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(lent, copied)
    _close(Sequential([Input((5,)), one.layers[1], one.layers[2]]), x, lent)
    # a model whose output is its input's only reader, and a Masking input (its op reads x)
    seq = Sequential([Input((4, 5)), layers.Masking(0.0), layers.GlobalAveragePooling1D()])
    xs = np.random.default_rng(1).standard_normal((9, 4, 5)).astype(np.float32)
    xs[2, 1:] = 0.0
    kept = xs.copy()
    got = seq.predict(xs, batch_size=batch_size, verbose=0)
    np.testing.assert_array_equal(xs, kept)
    want = np.stack([r[np.any(r != 0, axis=-1)].mean(0) for r in xs])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_nan_in_a_later_batch_is_refused_with_the_count_over_all_of_x():
    """The engine checks each batch just before it reads it; the message counts all of x."""
    model = _model()
    model.predict(_data(), verbose=0)  # the next predicts take the fast path
    x = _data(n=10)
    x[9, 1], x[6, 0], x[7, 2] = np.nan, np.inf, -np.inf
    for batch_size in (3, 10):
        with pytest.raises(ValueError, match=r"x contains 3 NaN or infinite value\(s\); expected finite numbers"):
            model.predict(x, batch_size=batch_size, verbose=0)
    x[6, 0] = x[7, 2] = x[9, 1] = 0.0
    _close(model, x, model.predict(x, batch_size=3, verbose=0))
