"""Every `pytrainc.ops` function that keras.ops has takes Keras 3.15.1's arguments: the same
names, kinds and defaults (code written for keras.ops calls it unchanged)."""

import inspect

import pytest

from pytrainc import ops, testing

keras = testing.keras_torch()

NAMES = sorted(
    n
    for n in dir(ops)
    if not n.startswith("_") and n not in ops._HELPERS and callable(getattr(ops, n)) and hasattr(keras.ops, n)
)


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_the_check_covers_the_ops_list():
    assert len(NAMES) >= 60 and {"matmul", "einsum", "tile", "size", "gelu", "take_along_axis"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_keras(name):
    assert _params(getattr(ops, name)) == _params(getattr(keras.ops, name))
