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
- A deterministic mutation fuzz of every loader (safetensors, npz, the model
  file in both formats, HDF5 weights in both Keras layouts), each case in a
  worker process with a timeout and a memory cap: only success or a
  ValueError may come out.
"""

import collections
import io
import json
import os
import random
import select
import signal
import struct
import subprocess
import tempfile
import sys
import textwrap
import time
import warnings
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
from pytrainc.saving.safetensors import safetensors_chunks  # noqa: E402

# The bounded HDF5 read forks, and the memory caps of these tests read /proc: Linux.
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs fork and /proc (Linux)")


# ---------------------------------------------------------------------------
# Helpers: models and the files they make


def mlp():
    return Sequential(
        [Input((4,)), Dense(3, activation="relu"), Dropout(0.5), BatchNormalization(), Dense(2)], name="mlp"
    )


def functional():
    x = Input((3,))
    y = Add()([Dense(4, name="left")(x), Dense(4, name="right")(x)])
    return Model(inputs=x, outputs=Dense(2, name="out")(y), name="fun")


ARCHITECTURES = {"mlp": mlp, "functional": functional}


def trained(build):
    pytrainc.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(8,) + model.input_shape[1:]).astype(np.float32)
    model.fit(x, np.zeros((8, 2), np.float32), epochs=1, batch_size=4, verbose=0)
    return model


def keras_like_h5(path, model, layout):
    """The layouts Keras 3 writes (`model.save("m.h5")`, `save_weights("w.weights.h5")`), written with
    h5py's defaults as Keras does: the old HDF5 format without checksums, strings in the global heap."""
    with h5py.File(path, "w") as f:
        if layout == "keras3":
            f.create_group("vars").attrs["name"] = model.name
            for layer, name in zip(model.layers, h5_format._keras3_names(model.layers)):
                group = f.create_group(f"layers/{name}/vars")
                group.attrs["name"] = layer.name
                for i, v in enumerate(layer.weights):
                    group.create_dataset(str(i), data=v.numpy())
            return
        f.attrs["backend"] = "torch"
        f.attrs["keras_version"] = "3.15.1"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": model.name}})
        weights = f.create_group("model_weights")
        weights.attrs["backend"] = "torch"
        weights.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
        for layer in model.layers:
            group = weights.create_group(layer.name)
            names = [f"{model.name}/{layer.name}/{v.name.rsplit('/', 1)[-1]}" for v in h5_format._legacy_weights(layer)]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for n, v in zip(names, h5_format._legacy_weights(layer)):
                group.create_dataset(n, data=v.numpy())


def write_ptc(path, tensors, meta):
    """A model file with whatever tensors and metadata, its checksums recomputed (anyone can)."""
    path.write_bytes(b"".join(safetensors_chunks(tensors, meta)))


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
    (tmp_path / "tests_helper_model.py").write_text(
        textwrap.dedent("""
        from pytrainc.layers import BatchNormalization, Dense, Dropout, Input
        from pytrainc.models import Sequential
        def build():
            return Sequential([Input((4,)), Dense(3, activation="relu"), Dropout(0.5), BatchNormalization(),
                               Dense(2)], name="mlp")
        """)
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() in ("interrupted after 1 s; children: []", "interrupted after 2 s; children: []"), (
        out.stdout + out.stderr
    )


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
    # cwd outside the repository: from its root `python -c` would import the source tree (no _C).
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir()
    )
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
    out = _memory_capped(
        f"""
            from pytrainc.layers import Dense, Input
            from pytrainc.models import Sequential
            Sequential([Input((4,)), Dense(3)]).load_weights({str(path)!r})""".strip()
    )
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

    expect_bad_file(load_model, _variant(model_file, change_tensors=change), r"'optimizer/iterations' has shape \(3,\)")


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


# ---------------------------------------------------------------------------
# The mutation fuzz

_EVIL = [
    None,
    True,
    -1,
    0,
    2**28,
    2**62,
    10**30,
    1e308,
    "x",
    "",
    [],
    {},
    [[[]]],
    list(range(20)),
    {"class_name": "Dense", "config": {"units": 2**28}},
    {"class_name": "Nope"},
]
_INTERESTING_INTS = [0, 1, 2**31 - 1, 2**32, 2**63 - 1, 2**64 - 1, 2**40]


def mutate_bytes(data, rng):
    b = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        del b[rng.randrange(len(b)) :]
    elif kind == 2:
        at = rng.randrange(len(b))
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3:
        at = rng.randrange(len(b))
        del b[at : at + rng.randint(1, 64)]
    else:
        at = rng.randrange(max(1, len(b) - 8))
        b[at : at + 8] = (rng.choice(_INTERESTING_INTS) + rng.randint(-1, 1)).to_bytes(9, "little", signed=True)[:8]
    return bytes(b)


def mutate_json(value, rng):
    """A copy of a JSON value with one node replaced by an evil value (or removed)."""
    nodes = [(None, None)]

    def walk(v):
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        for k, child in items:
            nodes.append((v, k))
            walk(child)

    value = json.loads(json.dumps(value))
    walk(value)
    parent, key = rng.choice(nodes)
    if parent is None:
        return rng.choice(_EVIL)
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[key]
    elif isinstance(parent[key], int) and not isinstance(parent[key], bool) and rng.random() < 0.5:
        parent[key] = rng.choice([-1, 0, 2**28, 2**62, parent[key] + 1])
    else:
        parent[key] = json.loads(json.dumps(rng.choice(_EVIL)))
    return value


def mutate_model_file(tensors, meta, rng):
    tensors, meta = collections.OrderedDict(tensors), dict(meta)
    kind = rng.randrange(6)
    if kind <= 1:
        key = rng.choice([k for k in ("model_config", "compile_config") if k in meta])
        meta[key] = json.dumps(mutate_json(json.loads(meta[key]), rng))
    elif kind == 2:
        key = rng.choice(sorted(k for k in meta if k not in ("format", "format_version")))
        meta[key] = rng.choice(["", "{", "[" * 5000 + "]" * 5000, '"x"', "Sequential", "Functional", "1e400"])
    elif kind == 3:
        del tensors[rng.choice(list(tensors))]
    elif kind == 4:
        name = rng.choice(list(tensors) + ["model/9.kernel", "optimizer/zz", "rng/0"])
        shape = tuple(rng.randint(0, 4) for _ in range(rng.randint(0, 3)))
        tensors[name] = np.zeros(shape, rng.choice(["float32", "float64", "int64", "uint8", "bool", "uint64"]))
    else:
        name = rng.choice(list(tensors))
        tensors[name] = tensors[name].reshape(-1)[::-1].copy() if tensors[name].size else tensors[name]
        tensors[name] = tensors[name].astype(rng.choice(["float16", "int32", "uint64"]))
    return tensors, meta


def mutate_keras(data, rng):
    """A .keras zip whose members are valid zip members (right CRCs) but whose config.json or HDF5 is mutated."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = [[name, zf.read(name)] for name in zf.namelist()]
    target = rng.choice([m for m in members if m[0] != "metadata.json"])
    if target[0] == "config.json" or rng.random() < 0.6:
        target = next(m for m in members if m[0] == "config.json")
        target[1] = json.dumps(mutate_json(json.loads(target[1]), rng)).encode()
    else:
        target[1] = mutate_bytes(target[1], rng)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in members:
            zf.writestr(name, content)
    return out.getvalue()


def mutate_foreign_safetensors(data, rng):
    """A safetensors file without pytrainc's checksums whose JSON header is mutated."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    raw = json.dumps(mutate_json(header, rng)).encode()
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def mutate_npz(data, rng):
    """An .npz whose zip is valid (right CRCs) but whose members or .npy headers are mutated."""
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            members.append([name, zf.read(name)])
    target = rng.choice(members)
    kind = rng.randrange(3)
    if kind == 0:
        target[0] = rng.choice(["a.txt", "data.pkl", "x/y.npy", target[0] + ".npy", ".npy", members[0][0]])
    else:
        raw = target[1]
        length = struct.unpack("<H", raw[8:10])[0]
        header = raw[10 : 10 + length].decode("latin1")
        fields = {"descr": "'<f4'", "fortran_order": "False", "shape": "(2, 3)"}
        field = rng.choice(list(fields))
        evil = rng.choice(["'|O'", "'<f16'", "[1]", "(2**40,)", "(-1,)", "'x'", "(" * 300, "(3, 0)", "()", "True"])
        start = header.find(f"'{field}':")
        end = header.find(",", start + len(field) + 3) if field != "shape" else header.find(")", start) + 1
        header = header[:start] + f"'{field}': {evil}" + header[end:]
        encoded = header.encode("latin1")
        target[1] = raw[:8] + struct.pack("<H", len(encoded)) + encoded + raw[10 + length :]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in members:
            zf.writestr(name, content)
    return out.getvalue()


_WORKER = r"""
import json, os, resource, sys
import numpy as np
import pytrainc
from pytrainc import saving
from pytrainc.models import load_model
from pytrainc.saving import bounded
sys.path.insert(0, sys.argv[2])
from test_loader_hardening import ARCHITECTURES

bounded._BASE_SECONDS = 5.0  # a mutant that makes libhdf5 loop costs 5 s, not 10
in_use = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (in_use + 2 * 2**30, resource.RLIM_INFINITY))
models = {}
for line in open(sys.argv[1]):
    case, loader, path = json.loads(line)
    try:
        if loader == "load":
            saving.load(path)
        elif loader == "load_model":
            model = load_model(path)
            model.predict(np.zeros((2,) + model.input_shape[1:], np.float32), verbose=0)  # a usable model
        else:
            if loader not in models:
                models[loader] = ARCHITECTURES[loader]()
            models[loader].load_weights(path)
        outcome = "ok"
    except ValueError:
        outcome = "ValueError"
    except Exception as err:
        outcome = f"{type(err).__name__}: {str(err)[:300]}"
    print(json.dumps([case, outcome]), flush=True)
"""


def _run_worker(cases, directory, timeout=60):
    """{case: outcome} for [(case, loader, path)], in worker processes; a case that hangs past `timeout`
    or kills its worker is 'hang' or 'crash', and the next worker goes on from the case after it."""
    results = {}
    while cases:
        manifest = directory / "manifest.jsonl"
        manifest.write_text("".join(json.dumps(c) + "\n" for c in cases))
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(manifest), os.path.dirname(__file__)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=directory,
        )
        os.set_blocking(worker.stdout.fileno(), False)
        buffer, done = b"", 0
        while done < len(cases):
            ready, _, _ = select.select([worker.stdout], [], [], timeout)
            chunk = worker.stdout.read() if ready else None
            if not chunk:
                worker.kill()
                _, err = worker.communicate()
                results[cases[done][0]] = "hang" if not ready else f"crash {worker.returncode}: {err[-300:]!r}"
                done += 1
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                case, outcome = json.loads(line)
                results[case] = outcome
                done += 1
        else:
            worker.wait(timeout=60)
        cases = cases[done:]
    return results


def _fuzz_cases(directory):
    """[(case, loader, path)]: every loader's base files, mutated with fixed seeds."""
    rng = random.Random(13)
    cases = []
    warnings.simplefilter("ignore")  # zipfile's duplicate names, NumPy's overflowing casts: on purpose

    def add(loader, data, suffix):
        path = directory / f"case{len(cases)}{suffix}"
        path.write_bytes(data)
        cases.append((len(cases), loader, str(path)))

    bases = directory / "bases"
    bases.mkdir()
    sequential, fun = trained(mlp), trained(functional)
    state = sequential.state_dict()
    state["int"] = np.arange(5, dtype=np.int64)
    saving.save(state, bases / "s.safetensors")
    saving.save(state, bases / "s.npz")
    np.savez_compressed(bases / "c.npz", **state)
    sequential.save(bases / "m.ptc")
    fun.save(bases / "f.ptc")
    fun.save(bases / "f.h5")
    sequential.save(bases / "m.keras")
    fun.save(bases / "f.keras")
    sequential.save_weights(bases / "legacy.h5")
    sequential.save_weights(bases / "w.weights.h5")
    keras_like_h5(bases / "keras_legacy.h5", sequential, "legacy")
    keras_like_h5(bases / "keras3.h5", sequential, "keras3")
    raw = {p.name: p.read_bytes() for p in bases.iterdir()}

    # Byte mutations: every format's own checks (checksums, sizes, signatures).
    for name, loader, count in [
        ("s.safetensors", "load", 200),
        ("s.npz", "load", 150),
        ("c.npz", "load", 150),
        ("m.ptc", "load_model", 150),
        ("f.h5", "load_model", 60),
        ("m.keras", "load_model", 60),
        ("f.keras", "load_model", 60),
        ("legacy.h5", "mlp", 60),
        ("w.weights.h5", "mlp", 60),
        ("keras_legacy.h5", "mlp", 180),
        ("keras3.h5", "mlp", 180),
    ]:
        suffix = ".weights.h5" if name.endswith(".weights.h5") else os.path.splitext(name)[1]
        for _ in range(count):
            add(loader, mutate_bytes(raw[name], rng), suffix)
    # Structure mutations past the checksums, which anyone can recompute.
    for _ in range(400):
        add("load", mutate_foreign_safetensors(raw["s.safetensors"], rng), ".safetensors")
    for _ in range(400):
        add("load", mutate_npz(raw[rng.choice(["s.npz", "c.npz"])], rng), ".npz")
    for _ in range(300):  # .keras past the zip's CRCs: the configuration and the HDF5 member
        add("load_model", mutate_keras(raw[rng.choice(["m.keras", "f.keras"])], rng), ".keras")
    for base, arch in [("m.ptc", mlp), ("f.ptc", functional)]:
        tensors, meta = saving.read_safetensors(bases / base)
        for _ in range(500):
            path = directory / f"case{len(cases)}.ptc"
            write_ptc(path, *mutate_model_file(tensors, meta, rng))
            cases.append((len(cases), "load_model", str(path)))
    return cases


@linux_only
def test_mutation_fuzz_of_every_loader_gives_only_value_errors(tmp_path):
    with warnings.catch_warnings():
        cases = _fuzz_cases(tmp_path)
    assert len(cases) >= 3300
    results = _run_worker(cases, tmp_path)
    assert len(results) == len(cases)
    bad = {
        c: (cases[c][1], os.path.basename(cases[c][2]), r) for c, r in results.items() if r not in ("ok", "ValueError")
    }
    assert not bad, f"{len(bad)} cases: {list(bad.values())[:10]}"
    # The fuzz reaches past the first checks: some mutants still load, most are refused.
    outcomes = collections.Counter(results.values())
    assert outcomes["ok"] > 100 and outcomes["ValueError"] > 2000, outcomes
