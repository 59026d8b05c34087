"""Keras 3's callback hooks, in order and with their logs' keys (issue #10): fit calls on_test_begin, the
test batch hooks and on_test_end on its callbacks for validation; evaluate and predict call the per-batch
test and predict hooks when a callback overrides them. Checked against Keras 3 (torch backend) on the same
fit, evaluate and predict calls; the per-batch C calls give the results of one call."""

import numpy as np

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()

HOOKS = [
    f"on_{kind}_{when}"
    for kind in ("train", "epoch", "test", "predict", "train_batch", "test_batch", "predict_batch")
    for when in ("begin", "end")
]


def recorder(lib, seen, hooks=HOOKS):
    class Recorder(lib.callbacks.Callback):
        pass

    for hook in hooks:

        def record(self, *args, _hook=hook, **kwargs):
            logs = args[-1] if args and isinstance(args[-1], dict) else kwargs.get("logs")
            index = tuple(a for a in args if isinstance(a, int))
            seen.append((_hook, *index, tuple(sorted(logs or ()))))

        setattr(Recorder, hook, record)
    return Recorder()


def events(lib):
    seen = []
    inp = lib.Input((3,))
    model = lib.Model(inp, lib.layers.Dense(1)(inp))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = np.linspace(0, 1, 30, dtype=np.float32).reshape(10, 3), np.ones((10, 1), np.float32)
    model.fit(
        x, y, batch_size=4, epochs=2, verbose=0, validation_split=0.4, shuffle=False, callbacks=[recorder(lib, seen)]
    )
    seen.append("evaluate")
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[recorder(lib, seen)])
    seen.append("predict")
    model.predict(x, batch_size=4, verbose=0, callbacks=[recorder(lib, seen)])
    return seen


def test_hooks_and_their_logs_follow_keras():
    assert events(pytrainc) == events(keras)


def test_per_batch_calls_give_the_results_of_one_call():
    model = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(11, 3)).astype(np.float32), rng.normal(size=(11, 2)).astype(np.float32)
    seen = []
    hooked = recorder(pytrainc, seen, ["on_test_batch_end", "on_predict_batch_end"])
    assert model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[hooked]) == model.evaluate(
        x, y, batch_size=4, verbose=0
    )
    np.testing.assert_array_equal(
        model.predict(x, batch_size=4, verbose=0, callbacks=[hooked]), model.predict(x, batch_size=4, verbose=0)
    )
    assert [e[:2] for e in seen] == [("on_test_batch_end", b) for b in range(3)] + [
        ("on_predict_batch_end", b) for b in range(3)
    ]
