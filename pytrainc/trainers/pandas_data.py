"""pandas DataFrames and Series as fit/evaluate/predict data, with pandas optional.

pandas is never imported here: an object can only be a pandas one if pandas is
already in `sys.modules`. A DataFrame or Series becomes the NumPy array of its
values, a view (no copy) when pandas holds them as one NumPy block:

- a Series of a NumPy numeric dtype (`y`, `sample_weight`, one column of `x`);
- a DataFrame wrapping a C-contiguous array, e.g. `pd.DataFrame(a, copy=False)`
  (pandas keeps it as one block); a float32 one then reaches the engine as is.

A DataFrame built column by column stores its columns apart, so its rows are
gathered once (the engine reads rows). Mixed numeric dtypes take their common
dtype, pandas' nullable dtypes (`Int64`, `Float32`, `boolean`) their NumPy one.
Text, object, categorical, datetime and other non-numeric columns are refused by
name, as are missing values (NA) in nullable columns, with what to do instead.
"""

import sys

import numpy as np

__all__ = ["is_pandas", "to_numpy"]


def is_pandas(data):
    """Whether data is a pandas DataFrame or Series (False without pandas imported)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, (pd.DataFrame, pd.Series))


def _numpy_dtype(dtype, pd):
    """The NumPy dtype a column's values become, or None for a non-numeric column."""
    if isinstance(dtype, np.dtype):
        return dtype if dtype.kind in "fiub" else None
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        return None
    numpy_dtype = getattr(dtype, "numpy_dtype", None)  # nullable (masked) and Arrow-backed numbers
    return np.dtype(numpy_dtype) if numpy_dtype is not None and np.dtype(numpy_dtype).kind in "fiub" else None


def to_numpy(data, what):
    """The values of a DataFrame (n, columns) or Series (n,) as a NumPy array.

    Args:
        data: A pandas DataFrame or Series.
        what: Its name in messages (`x`, `y`, `validation_data`...).

    Returns:
        An array of the values: a view of pandas' own when one NumPy block holds them.

    Raises:
        TypeError: for a non-numeric column, named with its dtype.
        ValueError: for missing values (NA) in a nullable column.
    """
    pd = sys.modules["pandas"]
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    dtypes = [(name, dtype, _numpy_dtype(dtype, pd)) for name, dtype in frame.dtypes.items()]
    bad = [f"{name!r} ({dtype})" for name, dtype, numpy_dtype in dtypes if numpy_dtype is None]
    if bad:
        raise TypeError(
            f"{what} must hold numbers (float, int or bool columns). Received a pandas {type(data).__name__} "
            f"with non-numeric column(s) {', '.join(bad)}: encode them as numbers first, e.g. with "
            "pd.get_dummies(...) or .astype('category').cat.codes"
        )
    nullable = [name for name, dtype, _ in dtypes if not isinstance(dtype, np.dtype)]
    if nullable:
        missing = [name for name in nullable if frame[name].isna().to_numpy().any()]
        if missing:
            raise ValueError(
                f"{what} has missing values (NA) in column(s) {', '.join(map(repr, missing))} of its pandas "
                f"{type(data).__name__}: fill or drop them first (.fillna(...) or .dropna())"
            )
    if not nullable and len({numpy_dtype for _, _, numpy_dtype in dtypes}) == 1:
        return data.to_numpy()  # a view where pandas holds the values as one NumPy block
    common = np.result_type(*[numpy_dtype for _, _, numpy_dtype in dtypes])
    return data.to_numpy(dtype=common)
