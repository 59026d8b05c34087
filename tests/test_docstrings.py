"""Every docstring example in pytrainc runs (doctest), as Keras's docstring examples are run.

Examples are written as a user reads them, with the public names in scope (`np`,
`pytrainc`, the layers, models, callbacks and optimizers) and, where they speak of
"the model", a small compiled `model` with data `x`, `y`. Each runs in its own
temporary directory. `pytrainc.datasets` is left out: its examples download data.
"""

import doctest
import importlib
import importlib.util
import pkgutil

import numpy as np
import pytest

import pytrainc
from pytrainc import callbacks, layers, models, optimizers

SKIP = ("pytrainc.datasets",)
# Modules of optional extras (`[tune]`, `[ray]`, `[sklearn]`, `[onnx]`): left out when their library is absent.
OPTIONAL = {
    "pytrainc.integrations.optuna": "optuna",
    "pytrainc.integrations.hyperopt": "hyperopt",
    "pytrainc.integrations.ray": "ray",  # the `[ray]` extra, not in `[test]`
    "pytrainc.wrappers": "sklearn",
    "pytrainc.onnx": "onnxruntime",
    "pytrainc.models.model.Model.export": "onnx",
}


def _examples():
    found = []
    for info in pkgutil.walk_packages(pytrainc.__path__, "pytrainc."):
        if info.name.startswith(SKIP):
            continue
        if info.name in OPTIONAL and importlib.util.find_spec(OPTIONAL[info.name]) is None:
            continue
        module = importlib.import_module(info.name)
        found += [t for t in doctest.DocTestFinder().find(module) if t.examples and t.name.startswith(info.name)]
    return {t.name: t for t in found}


EXAMPLES = _examples()


def _namespace():
    names = {"np": np, "pytrainc": pytrainc, "keras": pytrainc}
    for module in (layers, models, callbacks, optimizers):
        names.update({k: getattr(module, k) for k in dir(module) if not k.startswith("_")})
    model = models.Sequential(
        [layers.Input((8,)), layers.Dense(4, activation="relu"), layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(0)
    names.update(model=model, x=r.random((64, 8)).astype(np.float32), y=r.integers(0, 2, (64, 1)).astype(np.float32))
    return names


def test_there_are_examples():
    assert len(EXAMPLES) > 50


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_docstring_example_runs(name, tmp_path, monkeypatch):
    for prefix, dependency in OPTIONAL.items():
        if name.startswith(prefix):
            pytest.importorskip(dependency)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTRAINC_OFFLINE", "1")
    test = EXAMPLES[name]
    test.globs = {**test.globs, **_namespace()}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
