"""State dicts (PyTorch's contract) and whole-model files (Keras's `model.save` /
`load_model` contract): exact round trips, strict loading errors that change
nothing, and a loaded model that continues training bit for bit like the original."""

import collections
import os

import numpy as np
import pytest

import pytrainc
from pytrainc import losses, optimizers
from pytrainc.layers import Dense, Input
from pytrainc.models import Model, Sequential, load_model, save_model
from pytrainc.testing import class_data, mlp, same_arrays, seed


def data(n=64, s=0):
    rng = np.random.default_rng(s)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, :3].sum(1, keepdims=True) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


# ---------------------------------------------------------------------------
# state_dict / load_state_dict


def test_state_dict_is_an_ordered_dict_of_copies():
    model = Sequential([Input((8,)), Dense(10, activation="relu"), Dense(4, use_bias=False), Dense(1)])
    sd = model.state_dict()
    assert isinstance(sd, collections.OrderedDict)
    assert list(sd) == ["0.kernel", "0.bias", "1.kernel", "2.kernel", "2.bias"]
    assert same_arrays(list(sd.values()), model.get_weights())
    assert all(v.dtype == np.float32 for v in sd.values())
    sd["0.kernel"][...] = 7.0
    assert not np.any(model.state_dict()["0.kernel"] == 7.0)
    # A later training step does not reach into an earlier state dict either.
    before = model.state_dict()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(*data(), epochs=1, verbose=0)
    assert not np.array_equal(before["0.kernel"], model.state_dict()["0.kernel"])
    assert not np.array_equal(before["0.kernel"], sd["0.kernel"])


def test_state_dict_names_match_between_sequential_and_functional():
    seq = mlp(s=1)
    inp = Input((8,))
    functional = Model(inputs=inp, outputs=Dense(1)(Dense(10, activation="relu")(inp)))
    assert list(functional.state_dict()) == list(seq.state_dict())
    assert functional.load_state_dict(seq.state_dict()) == ([], [])
    x, _ = data()
    np.testing.assert_array_equal(functional.predict(x, verbose=0), seq.predict(x, verbose=0))


def test_load_state_dict_exact_and_cast():
    a, b = mlp(s=1), mlp(s=2)
    assert not same_arrays(a.get_weights(), b.get_weights())
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert same_arrays(a.get_weights(), b.get_weights())
    # float64 values are stored as float32, as torch copies into its parameters' dtype.
    sd = {k: v.astype(np.float64) + 1 for k, v in a.state_dict().items()}
    b.load_state_dict(sd)
    assert all(w.dtype == np.float32 for w in b.get_weights())
    np.testing.assert_array_equal(b.get_weights()[0], (a.get_weights()[0].astype(np.float64) + 1).astype(np.float32))


def test_load_state_dict_strict_errors_name_the_keys_and_change_nothing():
    model, other = mlp(s=1), mlp(s=2)
    w0 = model.get_weights()
    good = other.state_dict()

    missing = collections.OrderedDict(good)
    del missing["1.bias"]
    with pytest.raises(RuntimeError, match=r"Missing key\(s\) in state_dict: '1.bias'") as info:
        model.load_state_dict(missing)
    assert isinstance(info.value, ValueError)
    assert same_arrays(w0, model.get_weights())

    extra = collections.OrderedDict(good)
    extra["2.kernel"] = np.zeros((1, 1), np.float32)
    with pytest.raises(ValueError, match=r"Unexpected key\(s\) in state_dict: '2.kernel'"):
        model.load_state_dict(extra)
    assert same_arrays(w0, model.get_weights())

    both = collections.OrderedDict(missing)
    both["junk"] = np.zeros(1, np.float32)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(both)
    assert "'1.bias'" in str(info.value) and "'junk'" in str(info.value)
    assert same_arrays(w0, model.get_weights())

    wrong = collections.OrderedDict(good)
    wrong["0.kernel"] = np.zeros((8, 11), np.float32)
    with pytest.raises(ValueError, match=r"size mismatch for 0.kernel.*\(8, 10\).*\(8, 11\)"):
        model.load_state_dict(wrong)
    assert same_arrays(w0, model.get_weights())

    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict(list(good.values()))
    bad_dtype = collections.OrderedDict(good)
    bad_dtype["1.bias"] = np.array(["a"])
    with pytest.raises(ValueError, match="1.bias"):
        model.load_state_dict(bad_dtype)
    assert same_arrays(w0, model.get_weights())


def test_load_state_dict_non_strict():
    model, other = mlp(s=1), mlp(s=2)
    w0 = model.get_weights()
    sd = other.state_dict()
    del sd["1.kernel"]
    sd["head.kernel"] = np.zeros((3, 3), np.float32)
    result = model.load_state_dict(sd, strict=False)
    assert result == (["1.kernel"], ["head.kernel"])
    assert result.missing_keys == ["1.kernel"] and result.unexpected_keys == ["head.kernel"]
    now = model.state_dict()
    for k in ("0.kernel", "0.bias", "1.bias"):
        np.testing.assert_array_equal(now[k], sd[k])
    np.testing.assert_array_equal(now["1.kernel"], w0[2])  # left as it was

    model2 = mlp(s=3)
    w2 = model2.get_weights()
    bad = other.state_dict()
    bad["1.bias"] = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"size mismatch for 1.bias"):
        model2.load_state_dict(bad, strict=False)
    assert same_arrays(w2, model2.get_weights())


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".bin"])
def test_save_load_state_dict_file_round_trip(tmp_path, suffix):
    model = mlp(s=4)
    model.compile(optimizer="adam", loss="mse")
    model.fit(*data(), epochs=2, verbose=0)
    sd = model.state_dict()
    path = tmp_path / f"weights{suffix}"
    pytrainc.save(sd, path)
    loaded = pytrainc.load(str(path))
    assert list(loaded) == list(sd)
    for k in sd:
        assert loaded[k].dtype == sd[k].dtype and loaded[k].shape == sd[k].shape
        assert np.array_equal(loaded[k], sd[k]), k
    fresh = mlp(s=5)
    fresh.load_state_dict(loaded)
    x, _ = data(s=1)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_state_dict_file_is_plain_safetensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model = mlp(s=4)
    path = tmp_path / "model.safetensors"
    pytrainc.save(model.state_dict(), path)
    theirs = safetensors_numpy.load_file(str(path))
    assert set(theirs) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert np.array_equal(theirs[k], v)


# ---------------------------------------------------------------------------
# Whole-model files


def _compiled(kind, s=10):
    if kind == "functional_adam":
        seed(s)
        inp = Input((8,))
        out = Dense(3, activation="softmax")(Dense(12, activation="tanh")(inp))
        model = Model(inputs=inp, outputs=out)
        model.compile(
            optimizer=optimizers.Adam(learning_rate=0.01, beta_1=0.8),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model, class_data(s=s)
    if kind == "sgd_nesterov":
        model = mlp(s=s)
        model.compile(
            optimizer=optimizers.SGD(learning_rate=0.02, momentum=0.9, nesterov=True), loss="mse", metrics=["mae"]
        )
        return model, data(s=s)
    if kind == "rmsprop_centered":
        model = mlp(s=s, out=3)
        model.compile(
            optimizer=optimizers.RMSprop(learning_rate=0.005, momentum=0.3, centered=True),
            loss=losses.CategoricalCrossentropy(from_logits=True),
            metrics=["acc"],
        )
        x, labels = class_data(s=s)
        return model, (x, pytrainc.utils.to_categorical(labels, 3))
    if kind == "frozen_first_layer":
        seed(s)
        model = Sequential([Input((8,)), Dense(10, activation="relu", trainable=False), Dense(1)])
        model.compile(optimizer="adam", loss="mae")
        return model, data(s=s)
    if kind == "built_by_fit":
        seed(s)
        model = Sequential([Dense(10, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
        x, labels = class_data(classes=2, s=s)
        return model, (x, labels.astype(np.float32))
    raise AssertionError(kind)


KINDS = ["functional_adam", "sgd_nesterov", "rmsprop_centered", "frozen_first_layer", "built_by_fit"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["method", "function"])
def test_model_save_load_round_trip_and_continued_training(tmp_path, kind, how):
    model, (x, y) = _compiled(kind)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    path = tmp_path / "model.ptc"
    if how == "method":
        model.save(path)
    else:
        save_model(model, str(path))
    restored = load_model(path)

    assert type(restored) is type(model)
    assert [type(l) for l in restored.layers] == [type(l) for l in model.layers]
    assert [l.trainable for l in restored.layers] == [l.trainable for l in model.layers]
    assert list(restored.state_dict()) == list(model.state_dict())
    assert same_arrays(restored.get_weights(), model.get_weights())
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))

    assert restored.compiled
    assert type(restored.optimizer) is type(model.optimizer)
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    assert restored.optimizer is not model.optimizer
    assert type(restored.loss) is type(model.loss)
    assert restored.loss.get_config() == model.loss.get_config()
    assert restored.optimizer.iterations == model.optimizer.iterations == 3 * 4
    ours, theirs = model.optimizer.variables(), restored.optimizer.variables()
    assert list(theirs) == list(ours)
    assert same_arrays(list(theirs.values()), list(ours.values()))
    assert restored.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)

    seed(99)
    h1 = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    seed(99)
    h2 = restored.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert h2.history == h1.history
    assert same_arrays(restored.get_weights(), model.get_weights())
    assert restored.optimizer.iterations == model.optimizer.iterations == 5 * 4


def test_fresh_optimizer_state_differs_from_saved_state(tmp_path):
    # The continued-training check above can fail: without the saved moments
    # (a freshly compiled copy) the same two epochs give different weights.
    model, (x, y) = _compiled("functional_adam")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    model.save(tmp_path / "m.ptc")
    restored = load_model(tmp_path / "m.ptc")
    restored.compile(
        optimizer=optimizers.Adam(learning_rate=0.01, beta_1=0.8),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    seed(99)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    seed(99)
    restored.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert not same_arrays(restored.get_weights(), model.get_weights())


def test_uncompiled_model_round_trip(tmp_path):
    model = mlp(s=12, out=2, activation="softmax")
    model.save(tmp_path / "m.ptc")
    restored = load_model(str(tmp_path / "m.ptc"))
    assert not restored.compiled
    x, _ = data()
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(RuntimeError, match="compile"):
        restored.fit(x, np.zeros((64, 2)), verbose=0)


def test_compiled_but_untrained_model_round_trip(tmp_path):
    model, (x, y) = _compiled("sgd_nesterov")
    model.save(tmp_path / "m.ptc")
    restored = load_model(tmp_path / "m.ptc")
    assert restored.optimizer.iterations == 0
    seed(5)
    model.fit(x, y, epochs=2, verbose=0)
    seed(5)
    restored.fit(x, y, epochs=2, verbose=0)
    assert same_arrays(restored.get_weights(), model.get_weights())


def test_save_overwrites_and_the_file_is_plain_safetensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "m.ptc"
    first, _ = _compiled("sgd_nesterov", s=1)
    first.save(path)
    second, (x, y) = _compiled("sgd_nesterov", s=2)
    second.fit(x, y, epochs=1, verbose=0)
    second.save(path)
    np.testing.assert_array_equal(load_model(path).predict(x, verbose=0), second.predict(x, verbose=0))
    tensors = safetensors_numpy.load_file(str(path))
    for k, v in second.state_dict().items():
        assert np.array_equal(tensors["model/" + k], v)


def test_load_model_rejects_a_state_dict_file(tmp_path):
    path = tmp_path / "weights.safetensors"
    pytrainc.save(mlp().state_dict(), path)
    with pytest.raises(ValueError, match=r"not a pytrainc model file.*pytrainc.load.*load_state_dict"):
        load_model(path)


@pytest.mark.parametrize("keep", [0, 5, 8, 20, "half", "minus1"])
def test_load_model_rejects_a_truncated_file(tmp_path, keep):
    model, (x, y) = _compiled("functional_adam")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.ptc"
    model.save(path)
    raw = path.read_bytes()
    n = {"half": len(raw) // 2, "minus1": len(raw) - 1}.get(keep, keep)
    bad = tmp_path / "truncated.ptc"
    bad.write_bytes(raw[:n])
    with pytest.raises(ValueError, match=r"truncated|too short|fewer|only|empty|damaged"):
        load_model(bad)


def test_load_model_rejects_a_corrupted_file(tmp_path):
    model, _ = _compiled("sgd_nesterov")
    path = tmp_path / "m.ptc"
    model.save(path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # a bit flip in the tensor data
    bad = tmp_path / "bad.ptc"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="bad.ptc"):
        load_model(bad)


def test_load_model_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.ptc")


def test_save_model_rejects_non_models_and_unbuilt_models(tmp_path):
    with pytest.raises(TypeError, match="pytrainc Model"):
        save_model(mlp().state_dict(), tmp_path / "x.ptc")
    with pytest.raises(ValueError, match="no input shape"):
        Sequential([Dense(3)]).save(tmp_path / "x.ptc")
    assert not os.path.exists(tmp_path / "x.ptc")
