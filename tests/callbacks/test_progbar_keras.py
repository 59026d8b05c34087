"""ProgbarLogger's lines against Keras 3's own output (torch backend), numbers aside."""

import re
import warnings

import numpy as np

import pytrainc
from pytrainc import testing


def _layout(text):
    """The lines as they end up on screen (the last redraw after each \\r), colors and numbers masked."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\b", "")
    lines = [line.split("\r")[-1].rstrip() for line in text.split("\n")]
    lines = [re.sub(r"\d+(?:s|ms|us)/step", "T/step", line) for line in lines if line]  # pytrainc is faster
    return [re.sub(r"\d+(\.\d+)?(e[-+]\d+)?", "N", line) for line in lines]


def _session(module, x, y):
    model = module.Sequential([module.Input((3,)), module.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, batch_size=16, epochs=2, verbose=2, validation_data=(x, y))
        model.fit(x, y, batch_size=16, epochs=2, verbose=1)
        model.evaluate(x, y, batch_size=16)
        model.evaluate(x, y, batch_size=16, verbose=2)
        model.predict(x, batch_size=16)
        model.predict(x, batch_size=16, verbose=2)


def test_fit_evaluate_predict_print_keras_lines(capsys):
    keras = testing.keras_torch()
    x = testing.data(64, (3,))
    y = testing.data(64, (1,), s=1)
    _session(keras, x, y)
    expected = _layout(capsys.readouterr().out)
    _session(pytrainc, x, y)
    got = _layout(capsys.readouterr().out)
    assert got == expected, "\n".join(got + ["---"] + expected)
    assert expected[:2] == ["Epoch N/N", "N/N - Ns - T/step - loss: N - mae: N - val_loss: N - val_mae: N"]


def test_narrow_terminal_shortens_the_bar_not_the_metrics(monkeypatch):
    import sys

    import pytest

    pytest.importorskip("tqdm")
    from pytrainc.callbacks import CallbackList, ProgbarLogger

    tty = testing.TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    logs = {f"metric_{i}": 0.5 for i in range(8)}
    cbs = CallbackList([ProgbarLogger()], verbose=1, epochs=1, steps=10)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_epoch_end(0, logs)
    cbs.on_train_end()
    final = tty.getvalue().rstrip("\n").rsplit("\r", 1)[-1].rstrip()
    assert final.endswith(" - ".join(f"metric_{i}: 0.5000" for i in range(8)))
    assert "━" not in final and np.char.count(final, "step")  # no room for a bar: it went
