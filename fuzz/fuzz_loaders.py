"""Coverage-guided fuzzing of pytrainc's loaders with atheris (issue 13): longer local runs.

CI runs the deterministic mutation fuzz (tests/saving/test_loader_hardening.py, about 3,400
cases, and tests/datasets/test_cifar_bounds.py); this harness is for hours of fuzzing:

    pip install ".[fuzz]"                          # atheris==3.0.0, wheels for CPython 3.11
    python fuzz/fuzz_loaders.py TARGET [libFuzzer options] [corpus directories]
    python fuzz/fuzz_loaders.py safetensors -max_total_time=3600 -rss_limit_mb=2048 -timeout=60

TARGET is one of TARGETS below: every file pytrainc reads (safetensors and npz state dicts,
.ptc / .keras / .h5 model files, Keras HDF5 weights, BackupAndRestore backups, the CIFAR-10
pickle reader and the MNIST npz reader). Each input is written to a file of the target's
suffix and loaded; the only outcomes allowed are success and a ValueError (the documented
one); anything else, a crash, a run past -timeout seconds or memory past -rss_limit_mb is a
finding, and libFuzzer writes the input that caused it to ./crash-* (or timeout-*, oom-*).
Without a corpus directory, the run starts from ./fuzz-corpus/TARGET, seeded with the files
a small trained model writes. The Python code of pytrainc is instrumented for coverage; the
C extension is not (build it with `.ci/sanitize`'s flags and preload libasan to find memory
errors in it: the HDF5 reads run in a bounded child process).
"""

import os
import sys
import tempfile
import warnings

import atheris

with atheris.instrument_imports(include=["pytrainc"]):
    import numpy as np

    import pytrainc
    from pytrainc import saving
    from pytrainc.callbacks import BackupAndRestore
    from pytrainc.datasets import _safe_pickle
    from pytrainc.layers import Dense, Dropout, Input
    from pytrainc.models import Sequential, load_model


def _model():
    model = Sequential([Input((4,)), Dense(3, activation="relu"), Dropout(0.5), Dense(2)], name="mlp")
    model.compile(optimizer="adam", loss="mse")
    return model


def _data():
    r = np.random.default_rng(0)
    return r.normal(size=(16, 4)).astype(np.float32), r.normal(size=(16, 2)).astype(np.float32)


def _trained():
    pytrainc.utils.set_random_seed(0)
    model = _model()
    model.fit(*_data(), epochs=1, batch_size=8, verbose=0)
    return model


class Target:
    """How one loader reads a file: `suffix`, `seeds(directory)` writing seed files, `load(path)`."""

    def __init__(self, suffix, seeds, load):
        self.suffix, self.seeds, self.load = suffix, seeds, load


_weights_model = None


def _load_weights(path):
    global _weights_model
    if _weights_model is None:
        _weights_model = _model()
    _weights_model.load_weights(path)


def _load_model_and_predict(path):
    model = load_model(path)
    model.predict(np.zeros((2,) + model.input_shape[1:], np.float32), verbose=0)


def _restore_backup(path):
    """BackupAndRestore reads the backup at fit's start: put the input where it looks."""
    directory = os.path.dirname(path)
    callback = BackupAndRestore(directory)
    os.replace(path, callback._path)
    _model().fit(*_data(), epochs=1, batch_size=8, verbose=0, callbacks=[callback])


def _seed_state(suffix):
    def seeds(directory):
        state = _trained().state_dict()
        state["int"] = np.arange(5, dtype=np.int64)
        saving.save(state, os.path.join(directory, "state" + suffix))

    return seeds


def _seed_model(suffix):
    def seeds(directory):
        _trained().save(os.path.join(directory, "model" + suffix))

    return seeds


def _seed_weights(directory):
    model = _trained()
    model.save_weights(os.path.join(directory, "legacy.h5"))
    model.save_weights(os.path.join(directory, "w.weights.h5"))


def _seed_backup(directory):
    with tempfile.TemporaryDirectory() as backup:
        callback = BackupAndRestore(backup, delete_checkpoint=False)
        _model().fit(*_data(), epochs=1, batch_size=8, verbose=0, callbacks=[callback])
        os.replace(callback._path, os.path.join(directory, "backup"))


def _seed_cifar(directory):
    import pickle

    batch = {b"data": np.zeros((4, 3072), np.uint8), b"labels": [1, 2, 3, 4], b"batch_label": b"seed"}
    batch[b"filenames"] = [b"a.png", b"b.png", b"c.png", b"d.png"]
    with open(os.path.join(directory, "batch"), "wb") as f:
        pickle.dump(batch, f, protocol=2)


def _load_cifar(path):
    with open(path, "rb") as f:
        _safe_pickle.load(f, path)


def _seed_mnist(directory):
    z = np.zeros((2, 28, 28), np.uint8)
    np.savez_compressed(
        os.path.join(directory, "mnist.npz"), x_train=z, y_train=z[:, 0, 0], x_test=z, y_test=z[:, 0, 0]
    )


TARGETS = {
    "safetensors": Target(".safetensors", _seed_state(".safetensors"), saving.load),
    "npz": Target(".npz", _seed_state(".npz"), saving.load),
    "ptc": Target(".ptc", _seed_model(".ptc"), _load_model_and_predict),
    "keras": Target(".keras", _seed_model(".keras"), _load_model_and_predict),
    "h5-model": Target(".h5", _seed_model(".h5"), _load_model_and_predict),
    "h5-weights": Target(".h5", _seed_weights, _load_weights),
    "backup": Target(".safetensors", _seed_backup, _restore_backup),
    "cifar-pickle": Target("", _seed_cifar, _load_cifar),
    "mnist-npz": Target(".npz", _seed_mnist, saving.load_npz),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python {argv[0]} TARGET [libFuzzer options] [corpus dirs]; TARGET in {sorted(TARGETS)}")
    name, rest = argv[1], argv[2:]
    target = TARGETS[name]
    if not any(not a.startswith("-") for a in rest):  # no corpus directory given
        corpus = os.path.join("fuzz-corpus", name)
        os.makedirs(corpus, exist_ok=True)
        if not os.listdir(corpus):
            target.seeds(corpus)
        rest.append(corpus)
    scratch = tempfile.mkdtemp(prefix="pytrainc-fuzz-")
    path = os.path.join(scratch, "input" + target.suffix)
    warnings.simplefilter("ignore")  # zipfile's duplicate names, NumPy's overflowing casts: on purpose

    def one_input(data):
        with open(path, "wb") as f:
            f.write(data)
        try:
            target.load(path)
        except ValueError:
            pass  # the documented refusal

    atheris.Setup([argv[0]] + rest, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
