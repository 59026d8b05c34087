"""Loaders against damaged and crafted files (issue 13, items 2, 3 and 6).

- Item 2: an HDF5 read is bounded in time and memory (it runs in a child
  process, see `pytrainc.saving.bounded`): a read that hangs, allocates
  without limit or crashes comes back as a ValueError naming the file, and
  Ctrl-C stops it.
- Item 3: a small file cannot make a loader allocate much more than its own
  size: declared shapes are compared with the data present before anything
  is built.
- Item 6: a damaged or crafted file raises a ValueError that names the file,
  never a TypeError, KeyError, IndexError, RecursionError, ...
"""

import collections
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import pytrainc  # noqa: E402
from pytrainc import saving  # noqa: E402
from pytrainc.layers import Add, BatchNormalization, Dense, Dropout, Input  # noqa: E402
from pytrainc.models import Model, Sequential, load_model  # noqa: E402
from pytrainc.saving import bounded  # noqa: E402
from pytrainc.saving import h5 as h5_format  # noqa: E402

# The bounded HDF5 read forks, and the memory caps of these tests read /proc: Linux.
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs fork and /proc (Linux)")


# ---------------------------------------------------------------------------
# Helpers: models and the files they make


def mlp():
    return Sequential([Input((4,)), Dense(3, activation="relu"), Dropout(0.5), BatchNormalization(), Dense(2)],
                      name="mlp")


def functional():
    x = Input((3,))
    y = Add()([Dense(4, name="left")(x), Dense(4, name="right")(x)])
    return Model(inputs=x, outputs=Dense(2, name="out")(y), name="fun")


def trained(build):
    pytrainc.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(8,) + model.input_shape[1:]).astype(np.float32)
    model.fit(x, np.zeros((8, 2), np.float32), epochs=1, batch_size=4, verbose=0)
    return model


def write_ptc(path, tensors, meta):
    """A model file with whatever tensors and metadata, its checksums recomputed (anyone can)."""
    saving.write_safetensors(path, tensors, meta)


def expect_bad_file(call, path, match):
    with pytest.raises(ValueError, match=match) as info:
        call(path)
    assert str(path) in str(info.value)
    return info.value


# ---------------------------------------------------------------------------
# Item 2: the bounded HDF5 read


@pytest.fixture
def weights_h5(tmp_path):
    model = trained(mlp)
    path = tmp_path / "w.h5"
    model.save_weights(path)
    return model, path


def _patch_h5py_open(monkeypatch, action):
    """Makes h5py.File do `action` instead, in the forked child that reads the file."""
    monkeypatch.setattr(h5py, "File", lambda *args, **kwargs: action())


@linux_only
def test_h5_read_that_never_ends_is_stopped_at_the_time_limit(weights_h5, monkeypatch):
    model, path = weights_h5
    before = model.get_weights()
    monkeypatch.setattr(bounded, "_BASE_SECONDS", 1.0)

    def spin():
        while True:
            pass

    _patch_h5py_open(monkeypatch, spin)
    start = time.monotonic()
    expect_bad_file(model.load_weights, path, r"took more than 1 s.*loop forever")
    assert time.monotonic() - start < 30
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


@linux_only
def test_h5_read_that_allocates_without_end_is_stopped_at_the_memory_limit(weights_h5, monkeypatch):
    model, path = weights_h5
    hoard = []

    def allocate():
        while True:
            hoard.append(np.ones(1 << 23))  # 64 MB, touched

    _patch_h5py_open(monkeypatch, allocate)
    limit = bounded.memory_limit(os.path.getsize(path)) >> 20
    expect_bad_file(model.load_weights, path, rf"needs more than {limit} MiB")
    assert hoard == []  # it all happened in the child


@linux_only
def test_h5_read_that_crashes_is_a_value_error(weights_h5, monkeypatch):
    model, path = weights_h5
    _patch_h5py_open(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGSEGV))
    expect_bad_file(model.load_weights, path, r"crashed reading it \(SIGSEGV\)")
    expect_bad_file(h5_format.read_model, path, r"crashed")


def test_limits_are_the_documented_ones():
    assert bounded.time_limit(0) == 10 and bounded.time_limit(50e6) == 15
    assert bounded.memory_limit(0) == 256 << 20 and bounded.memory_limit(1 << 20) == (256 + 4) << 20


@linux_only
def test_ctrl_c_stops_a_hanging_h5_read_at_once(weights_h5, tmp_path):
    _, path = weights_h5
    script = textwrap.dedent(f"""
        import os, signal, threading, time, h5py
        from tests_helper_model import build
        def spin(*args, **kwargs):
            while True:
                pass
        h5py.File = spin
        model = build()
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        try:
            model.load_weights({str(path)!r})
        except KeyboardInterrupt:
            children = [d for d in os.listdir("/proc") if d.isdigit() and os.path.exists(f"/proc/{{d}}/stat")
                        and open(f"/proc/{{d}}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid())]
            print("interrupted after", round(time.monotonic() - start), "s; children:", children)
        """)
    (tmp_path / "tests_helper_model.py").write_text(textwrap.dedent("""
        from pytrainc.layers import BatchNormalization, Dense, Dropout, Input
        from pytrainc.models import Sequential
        def build():
            return Sequential([Input((4,)), Dense(3, activation="relu"), Dropout(0.5), BatchNormalization(),
                               Dense(2)], name="mlp")
        """))
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() in ("interrupted after 1 s; children: []", "interrupted after 2 s; children: []"), \
        out.stdout + out.stderr


# ---------------------------------------------------------------------------
# Item 3: no allocation past the file's size


def _memory_capped(code, megabytes=600):
    """Runs `code` in a child whose address space may grow by `megabytes` at most; returns its stdout."""
    script = textwrap.dedent(f"""
        import os, resource
        import pytrainc
        from pytrainc.models import load_model
        from pytrainc import saving
        in_use = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (in_use + {megabytes} * 2**20, resource.RLIM_INFINITY))
        try:
            {code}
        except Exception as err:
            print(type(err).__name__, err)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    return out.stdout + out.stderr


@linux_only
def test_model_file_declaring_huge_layers_is_refused_before_building(tmp_path):
    # Issue 13.3: a 2 KB .ptc whose config says units=2**28 took 8 GB and 26 s.
    model = Sequential([Input((8,)), Dense(2)])
    path = tmp_path / "m.ptc"
    model.save(path)
    tensors, meta = saving.read_safetensors(path)
    config = json.loads(meta["model_config"])
    config["layers"][1]["config"]["units"] = 2**28
    meta["model_config"] = json.dumps(config)
    crafted = tmp_path / "crafted.ptc"
    write_ptc(crafted, tensors, meta)
    assert crafted.stat().st_size < 2048
    start = time.monotonic()
    out = _memory_capped(f"load_model({str(crafted)!r})")
    assert time.monotonic() - start < 60
    assert out.startswith("BadFile Cannot load"), out
    assert str(crafted) in out and "layer 'dense" in out and "shape (8, 268435456)" in out
    assert "the file's tensors hold 18" in out


@linux_only
def test_h5_declaring_a_huge_dataset_is_refused_before_reading(tmp_path):
    # Issue 13.3: a 2.8 KB .h5 declaring a 2**30-float dataset took 8 GB, then an empty MemoryError.
    model = Sequential([Input((4,)), Dense(3)])
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        group = f.create_group("dense")
        group.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        group.create_dataset("dense/kernel:0", shape=(2**30,), dtype="f4")  # never written: no storage
        group.create_dataset("dense/bias:0", data=np.zeros(3, "f4"))
    assert path.stat().st_size < 8192
    out = _memory_capped(f"""
            from pytrainc.layers import Dense, Input
            from pytrainc.models import Sequential
            Sequential([Input((4,)), Dense(3)]).load_weights({str(path)!r})""".strip())
    assert out.startswith("BadFile Cannot load"), out
    assert "dataset 'dense/dense/kernel:0' declares shape (1073741824,) of float32 (4294967296 bytes)" in out
    del model


@linux_only
def test_npz_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**30,)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", header.getvalue() + bytes(16))
    out = _memory_capped(f"saving.load({str(path)!r})")
    assert out.startswith("BadFile Cannot load"), out
    assert "'a.npy' declares an array of shape (1073741824,)" in out and "holds 16 bytes" in out


# ---------------------------------------------------------------------------
# Item 6: the examples of the issue, each a ValueError naming the file


def _foreign_safetensors(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_safetensors_dtype_that_is_a_list(tmp_path):
    path = tmp_path / "list.safetensors"
    _foreign_safetensors(path, {"t": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    expect_bad_file(saving.load, path, r"tensor 't' has unknown dtype \['F32'\]")


def test_npz_member_that_is_not_npy(tmp_path):
    path = tmp_path / "text.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", "not an array")
    expect_bad_file(saving.load, path, r"'a.npy' is not a valid .npy array")


@pytest.fixture
def model_file(tmp_path):
    """(tensors, metadata) of a compiled functional model's file, and a path to write variants to."""
    path = tmp_path / "m.ptc"
    trained(functional).save(path)
    tensors, meta = saving.read_safetensors(path)
    return tensors, meta, tmp_path / "variant.ptc"


def _variant(model_file, change_meta=None, change_tensors=None):
    tensors, meta, path = model_file
    tensors, meta = collections.OrderedDict(tensors), dict(meta)
    if change_meta:
        change_meta(meta)
    if change_tensors:
        change_tensors(tensors)
    write_ptc(path, tensors, meta)
    return path


def _edit_json(key, edit):
    def change(meta):
        value = json.loads(meta[key])
        edit(value)
        meta[key] = json.dumps(value)

    return change


def test_compile_config_missing_a_key(model_file):
    path = _variant(model_file, _edit_json("compile_config", lambda cc: cc.pop("loss")))
    expect_bad_file(load_model, path, r"compile configuration is .*expected an object with 'optimizer', 'loss'")


def test_node_index_out_of_range(model_file):
    path = _variant(model_file, _edit_json("model_config", lambda c: c["nodes"][2][1].__setitem__(0, 99)))
    expect_bad_file(load_model, path, r"node 2 of the model configuration is \[2, \[99\]\]")
    path = _variant(model_file, _edit_json("model_config", lambda c: c.__setitem__("output", 42)))
    expect_bad_file(load_model, path, r"configuration's 'output' is 42")


def test_deeply_nested_json(model_file):
    deep = "[" * 100_000 + "]" * 100_000
    path = _variant(model_file, lambda meta: meta.__setitem__("model_config", deep))
    expect_bad_file(load_model, path, r"'model_config' entry is not valid JSON \(RecursionError")
    path = _variant(model_file, lambda meta: meta.__setitem__("compile_config", deep))
    expect_bad_file(load_model, path, r"'compile_config' entry is not valid JSON")


def test_layer_config_of_the_wrong_type(model_file):
    path = _variant(model_file, _edit_json("model_config", lambda c: c["layers"][1].__setitem__("config", [1])))
    expect_bad_file(load_model, path, r"model configuration or its weights is damaged \(TypeError")


def test_optimizer_state_of_the_wrong_shape(model_file):
    def change(tensors):
        tensors["optimizer/iterations"] = np.zeros(3, np.int64)

    expect_bad_file(load_model, _variant(model_file, change_tensors=change),
                    r"'optimizer/iterations' has shape \(3,\)")


def test_weights_that_do_not_fit_the_configuration(model_file):
    def change(tensors):
        tensors["model/1.kernel"] = np.zeros((3, 5), np.float32)

    expect_bad_file(load_model, _variant(model_file, change_tensors=change), r"size mismatch for 1.kernel")


def test_loading_a_model_draws_from_the_global_generator_as_before(model_file):
    # The check before building constructs the layers once more (Dropout draws its seed then);
    # it puts the generator back, so loading draws what building the model alone draws.
    tensors, meta, path = model_file
    write_ptc(path, tensors, meta)
    pytrainc.utils.set_random_seed(5)
    load_model(path)
    after_load = pytrainc.utils.global_rng().copy()
    pytrainc.utils.set_random_seed(5)
    Model.from_config(json.loads(meta["model_config"]))
    assert np.array_equal(pytrainc.utils.global_rng(), after_load)


def test_h5_model_with_a_damaged_tensor_index(tmp_path):
    path = tmp_path / "m.h5"
    trained(functional).save(path)
    with h5py.File(path, "r+") as f:
        h5_format._set_str(f["pytrainc_model"], "tensor_index", json.dumps({"not": "a list"}))
        h5_format._set_str(f, h5_format._ATTR_SHA256, h5_format._digest(h5py, f, lambda d: d[()]))
    expect_bad_file(load_model, path, r"tensor index is not a list of \[name, dataset path\] pairs")
