"""The plan's fold of a ReLU into the max pool that alone reads it (PlanBuilder.fold_relus, the
RELU argument of csrc/pool.c's max pool, PTC_OPF_FUSED): training and predictions give the same
floats, bit for bit, as running the ReLU and then pooling its output."""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import _C, _plan

L = keras.layers


def fused_ops(monkeypatch):
    """Records, per compiled plan, the names of the ops flagged fused."""
    seen = []
    tables = _plan.PlanBuilder.tables

    def spy(self):
        ops, fargs, sizes = tables(self)
        seen.append([self.row(i).name for i in range(len(ops)) if ops[i, 1] & _C.OP_FLAGS["fused"]])
        return ops, fargs, sizes

    monkeypatch.setattr(_plan.PlanBuilder, "tables", spy)
    return seen


def train(build, x, y, fold, monkeypatch, nan=False):
    keras.utils.set_random_seed(3)
    model = build()
    if nan:  # one filter's bias NaN: NaN stays NaN through the ReLU and wins its pool windows
        kernel, bias = model.layers[0].get_weights()
        bias[0] = np.nan
        model.layers[0].set_weights([kernel, bias])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with monkeypatch.context() as m:
        if not fold:
            m.setattr(_plan.PlanBuilder, "fold_relus", lambda self, keep: None)
        loss = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=True).history["loss"]
        pred = model.predict(x, verbose=0)
    return loss, pred, model.get_weights()


def conv_model(pool, strides, padding, filters):
    def build():
        return keras.Sequential(
            [
                keras.Input((11, 11, 3)),
                L.Conv2D(filters, 3, activation="relu"),
                L.MaxPooling2D(pool, strides, padding=padding),
                L.Conv2D(8, 3),
                L.ReLU(),  # a ReLU layer folds as the activation argument does
                L.MaxPooling2D(padding="same"),
                L.Flatten(),
                L.Dense(10),
            ]
        )

    return build


def seq_models():
    def pool3d():
        return keras.Sequential(
            [keras.Input((5, 6, 6, 2)), L.Conv3D(4, 2, activation="relu"), L.MaxPooling3D(2), L.Flatten(), L.Dense(10)]
        )

    def pool1d():
        return keras.Sequential(
            [keras.Input((12, 3)), L.Conv1D(5, 3, activation="relu"), L.MaxPooling1D(3, 2), L.Flatten(), L.Dense(10)]
        )

    return {"pool3d": ((64, 5, 6, 6, 2), pool3d), "pool1d": ((64, 12, 3), pool1d)}


# 2x2 windows (the kernel's fast path), 3x3 'same' with stride 2 and overlapping (2, 3)
# windows (the general path), more channels than the argmax scans hold at once (64)
GEOMETRIES = {
    "2x2": (2, None, "valid", 6),
    "3x3-same-stride2": (3, 2, "same", 6),
    "2x3-stride1": ((2, 3), 1, "valid", 6),
    "70-channels": (2, None, "valid", 70),
}


@pytest.mark.parametrize("key", list(GEOMETRIES) + list(seq_models()))
@pytest.mark.parametrize("nan", [False, True], ids=["finite", "nan"])
def test_fold_gives_the_same_floats(key, nan, monkeypatch):
    if key in GEOMETRIES:
        shape, build = (64, 11, 11, 3), conv_model(*GEOMETRIES[key])
    else:
        shape, build = seq_models()[key]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    seen = fused_ops(monkeypatch)
    folded = train(build, x, y, True, monkeypatch, nan)
    assert seen and all(names and set(names) == {"activation"} for names in seen)
    plain = train(build, x, y, False, monkeypatch, nan)
    np.testing.assert_array_equal(folded[0], plain[0])
    np.testing.assert_array_equal(folded[1], plain[1])
    for a, b in zip(folded[2], plain[2]):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(folded[0][-1]) == nan


def test_no_fold_when_the_relu_output_is_read_elsewhere(monkeypatch):
    seen = fused_ops(monkeypatch)
    inp = keras.Input((9, 9, 2))
    r = L.Conv2D(4, 3, activation="relu")(inp)
    pooled = L.Flatten()(L.MaxPooling2D()(r))
    both = L.Concatenate()([pooled, L.Flatten()(L.AveragePooling2D(2)(r))])  # a second reader
    for outputs in ([pooled, r], both):  # the ReLU's output is a model output / read by another op
        model = keras.Model(inp, outputs)
        model.compile("sgd", ["mse", "mse"] if isinstance(outputs, list) else "mse")
        y = [np.zeros((4, 36)), np.zeros((4, 7, 7, 4))] if isinstance(outputs, list) else np.zeros((4, 72))
        model.fit(np.ones((4, 9, 9, 2), np.float32), y, verbose=0)
    assert seen == [[], []]
    # an average pool keeps its ReLU (relu(mean(x)) is not mean(relu(x)))
    model = keras.Sequential([keras.Input((9, 9, 2)), L.Conv2D(4, 3, activation="relu"), L.AveragePooling2D(2)])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 9, 9, 2), np.float32), np.zeros((4, 3, 3, 4)), verbose=0)
    assert seen[-1] == []


def test_engine_refuses_a_fused_flag_that_does_not_fold():
    """A plan marking an op fused that the pool does not compute would leave its output unwritten."""
    b = _plan.PlanBuilder({})
    x, a, o = b.buffer(4), b.buffer(4), b.buffer(1)
    geometry = dict(h=2, w=2, c=1, kh=2, kw=2, sh=2, sw=2, pt=0, pl=0, oh=1, ow=1)
    for kind, relu in (("sigmoid", 1), ("relu", 0)):
        b._rows, b._fargs = [], []
        i = b.op("activation", [x], a, kind=_C.ACTIVATIONS[kind], width=1, alpha=0.0)
        b.op("maxpool2d", [x], o, relu=relu, **geometry)
        b.set_flag(i, "fused")
        ops, fargs, sizes = b.tables()
        params = np.zeros(0, np.float32)
        with pytest.raises(ValueError, match="op 0 is malformed"):
            _C.Plan(ops, fargs, sizes, x, o, params, params.copy(), 4, 0)
    b._rows, b._fargs = [], []
    b.op("maxpool2d", [x], o, relu=2, **geometry)
    with pytest.raises(ValueError, match="op 0 is malformed"):
        _C.Plan(*b.tables(), x, o, params, params.copy(), 4, 0)
