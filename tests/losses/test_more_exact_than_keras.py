"""Where pytrainc is more exact than Keras 3 on its torch backend, on purpose (issue #10's last
rule; pytrainc/losses.py and callbacks/monitor_callback.py say so): each test states the rule
and shows the reference that differs."""

import math

import numpy as np

from pytrainc import callbacks, testing
from pytrainc import layers as L
from pytrainc.models import Sequential

keras = testing.keras_torch()


def saturated(framework, activation, loss, units):
    """A one-Dense model whose logits are +-40 for every sample, compiled with `loss`."""
    model = framework.Sequential([framework.Input((2,)), framework.layers.Dense(units, activation=activation)])
    kernel = np.zeros((2, units), np.float32)
    kernel[0, 0] = 40.0  # class 0 (or the positive class) gets a logit of 40, the others 0
    model.layers[-1].set_weights([kernel, np.zeros(units, np.float32)])
    model.compile("sgd", loss)
    return model


class Frameworks:
    pytrainc = __import__("pytrainc")


def test_cross_entropy_after_sigmoid_or_softmax_is_computed_on_the_logits():
    # Rule: a cross-entropy right after a final sigmoid/softmax reads the logits, so a sample the
    # model is sure of and wrong about costs its logit (40), not -log(1e-7) = 16.1 as Keras's
    # torch backend gives after clipping the probabilities (its TensorFlow backend gives 40).
    x = np.tile(np.float32([[1.0, 0.0]]), (8, 1))
    for activation, loss, units, y, want in (
        ("sigmoid", "binary_crossentropy", 1, np.zeros((8, 1), np.float32), math.log1p(math.exp(40.0))),
        (
            "softmax",
            "categorical_crossentropy",
            3,
            np.tile(np.float32([[0, 1, 0]]), (8, 1)),
            40.0 + math.log1p(2 * math.exp(-40.0)),
        ),
    ):
        ours = saturated(Frameworks.pytrainc, activation, loss, units).evaluate(x, y, verbose=0)
        theirs = saturated(keras, activation, loss, units).evaluate(x, y, verbose=0)
        assert abs(ours - want) < 1e-4 * want, (loss, ours, want)
        # Keras (torch) clips to [1e-7, 1 - 1e-7] in float32: 1 - float32(1 - 1e-7) is 1.19e-7, so
        # the sigmoid's cap is 15.94 and the softmax's -log(1e-7) = 16.12.
        cap = -math.log(1 - float(np.float32(1 - 1e-7))) if activation == "sigmoid" else -math.log(1e-7)
        assert abs(theirs - cap) < 1e-3 * cap, (loss, theirs, cap)


def test_loss_is_summed_over_the_batch_in_double():
    # Rule: a batch's per-sample losses are summed in double before the mean. One squared error of
    # 1e8 then 4095 of 1: in float32 each 1 is below half an ulp of 1e8 (ulp 8) and is lost.
    n = 4096
    y = np.ones((n, 1), np.float32)
    y[0] = 1e4
    model = Sequential([L.Input((1,)), L.Dense(1, kernel_initializer="zeros")])
    model.compile("sgd", "mse")
    got = model.evaluate(np.zeros((n, 1), np.float32), y, batch_size=n, verbose=0)
    exact = (1e8 + (n - 1)) / n
    float32_sum = float(np.cumsum(np.float32(y[:, 0]) ** 2, dtype=np.float32)[-1]) / n
    assert abs(float32_sum - exact) > 0.9 * (n - 1) / n  # the float32 running sum loses them all
    assert abs(got - exact) < 1e-6 * exact, (got, exact)


def run_early_stopping(module, values):
    cb = module.callbacks.EarlyStopping(monitor="loss", patience=5, mode="min")
    cb.on_train_begin()
    for epoch, value in enumerate(values):
        cb.on_epoch_end(epoch, {"loss": value})
    return cb.best


def test_a_non_finite_monitored_value_is_never_an_improvement():
    # Rule: NaN, +inf and -inf never improve on the best value (Keras 3 counts -inf as the best
    # loss there is, so one overflowing epoch would stop every later improvement from counting).
    assert run_early_stopping(keras, [1.0, -math.inf, 0.5]) == -math.inf
    assert run_early_stopping(Frameworks.pytrainc, [1.0, -math.inf, 0.5]) == 0.5
    assert run_early_stopping(Frameworks.pytrainc, [1.0, math.nan, math.inf, 0.5]) == 0.5
    for cls in (callbacks.EarlyStopping, callbacks.ReduceLROnPlateau):
        cb = cls(monitor="loss")
        assert not any(cb._is_improvement(v, 1.0) for v in (math.nan, math.inf, -math.inf)), cls
