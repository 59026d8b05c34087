"""pandas DataFrames and Series as x, y, validation_data and sample_weight, and dicts of
columns for a multi-input model: the same training as the NumPy arrays they hold, bit for
bit, without a copy where pandas holds the values as one block, and clear errors for
non-numeric columns and missing values."""

import subprocess
import sys

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from pytrainc.layers import Concatenate, Dense, Input  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402
from pytrainc.trainers import pandas_data  # noqa: E402
from pytrainc.trainers.data import _as_array  # noqa: E402
from pytrainc.utils import set_random_seed  # noqa: E402


def data(n=60):
    r = np.random.default_rng(0)
    x = r.random((n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)
    w = r.random(n).astype(np.float32)
    return x, y, w


def sequential():
    set_random_seed(3)
    model = Sequential([Input((3,)), Dense(4, activation="relu"), Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def fit(model, x, y, **kwargs):
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, **kwargs).history
    return history, np.concatenate([v.ravel() for v in model.get_weights()])


def same(a, b):
    (ha, wa), (hb, wb) = a, b
    assert ha == hb
    assert wa.tobytes() == wb.tobytes()


def test_dataframe_and_series_train_bitwise_as_their_arrays():
    x, y, w = data()
    xv, yv = x[:20] * 2, y[:20]
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    reference = fit(sequential(), x, y, sample_weight=w, validation_data=(xv, yv))
    got = fit(
        sequential(),
        frame,
        pd.Series(y, name="target"),
        sample_weight=pd.Series(w),
        validation_data=(pd.DataFrame(xv), pd.DataFrame({"target": yv})),
    )
    same(reference, got)
    model = sequential()
    fit(model, x, y)
    assert model.evaluate(frame, pd.Series(y), verbose=0) == model.evaluate(x, y, verbose=0)
    assert model.predict(frame, verbose=0).tobytes() == model.predict(x, verbose=0).tobytes()


def test_float32_values_reach_the_engine_without_a_copy():
    x, y, w = data()
    frame = pd.DataFrame(x, copy=False)  # one block: pandas keeps x itself
    model = sequential()
    assert np.shares_memory(model._prepare_x(frame), x)
    series = pd.Series(y, copy=False)
    assert np.shares_memory(_as_array(series, "y"), y)
    assert np.shares_memory(_as_array(pd.Series(w, copy=False), "sample_weight"), w)
    # Column by column, pandas stores the columns apart: the rows are gathered once.
    by_column = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    assert np.array_equal(model._prepare_x(by_column), x)


def test_mixed_and_nullable_dtypes_take_their_common_numpy_dtype():
    x, y, _ = data()
    ints = np.arange(len(x)) % 5
    frame = pd.DataFrame(
        {
            "f": x[:, 0].astype(np.float64),
            "i": pd.array(ints, dtype="Int64"),
            "b": pd.array(ints > 2, dtype="boolean"),
        }
    )
    values = pandas_data.to_numpy(frame, "x")
    assert values.dtype == np.float64
    assert np.array_equal(values, np.stack([x[:, 0].astype(np.float64), ints, ints > 2], axis=1))
    same(fit(sequential(), values, y), fit(sequential(), frame, pd.Series(y, dtype="Float32")))


@pytest.mark.parametrize(
    "column, dtype",
    [
        (["x", "y"] * 30, "str"),
        ([object()] * 60, "object"),
        (pd.Categorical([1, 2] * 30), "category"),
        (pd.date_range("2026-01-01", periods=60), "datetime64"),
    ],
)
def test_a_non_numeric_column_is_named_in_the_error(column, dtype):
    x, y, _ = data()
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(bad=column)
    with pytest.raises(TypeError, match=rf"x must hold numbers .*non-numeric column\(s\) 'bad' \({dtype}"):
        sequential().fit(frame, y, verbose=0)


def test_missing_values_in_a_nullable_column_are_refused():
    x, y, _ = data()
    target = pd.Series(pd.array([1.0, None] + [0.0] * 58, dtype="Float32"), name="t")
    with pytest.raises(ValueError, match=r"y has missing values \(NA\) in column\(s\) 't' .*fillna"):
        sequential().fit(x, target, verbose=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(n=pd.array([1, None] * 30, dtype="Int64"))
    with pytest.raises(ValueError, match=r"x has missing values \(NA\) in column\(s\) 'n'"):
        sequential().fit(frame.drop(columns="c"), y, verbose=0)


def two_inputs():
    set_random_seed(5)
    left, right = Input((2,), name="left"), Input((1,), name="right")
    model = Model([left, right], Dense(1)(Concatenate()([Dense(3)(left), right])))
    model.compile(optimizer="adam", loss="mse")
    return model


def test_a_dict_of_columns_feeds_a_multi_input_model_by_input_name():
    x, y, _ = data()
    frame = pd.DataFrame(x, columns=["a", "b", "right"])
    reference = fit(two_inputs(), {"left": x[:, :2], "right": x[:, 2:]}, y)
    same(reference, fit(two_inputs(), {"left": frame[["a", "b"]], "right": frame["right"]}, y))
    # dict(frame) keys every column by its name: a model of one-column inputs named after them.
    set_random_seed(5)
    inputs = [Input((1,), name=n) for n in frame.columns]
    model = Model(inputs, Dense(1)(Concatenate()(inputs)))
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(dict(frame), pd.Series(y), epochs=2, verbose=0).history
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()


def test_pandas_stays_optional(tmp_path):
    code = (
        "import sys, numpy as np, pytrainc\n"
        "from pytrainc.layers import Dense, Input\n"
        "m = pytrainc.models.Sequential([Input((3,)), Dense(1)])\n"
        "m.compile(optimizer='adam', loss='mse')\n"
        "m.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_keras_rank_adjustment_for_one_column_inputs():
    """Keras 3's `_adjust_input_rank`: a (n,) array feeds an input of shape (1,), and a
    (n, 3, 1) array an input of shape (3,); other shapes are still refused."""
    x, y, _ = data()
    set_random_seed(1)
    model = Sequential([Input((1,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    assert model._prepare_x(x[:, 0]).shape == (60, 1)
    assert sequential()._prepare_x(x[:, :, None]).shape == (60, 3)
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 1\)\. Received: x\.shape=\(60, 2\)"):
        model._prepare_x(x[:, :2])
