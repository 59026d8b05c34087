"""Per-step training time of issue 15's workloads W1-W6 against every peer installed, and predict throughput.

Usage:
    python benchmarks/bench_workloads.py [--quick] [--threads N] [--rounds R] [--workloads W2 W3 ...]
        [--frameworks pytrainc torch ...] [--no-predict | --predict-only] [--json PATH] [--plot PATH.png]

Workloads (issue 15): W1 the seed-002 network (8-10-1, batch 10); W2 784-256-128-10
Adam, batch 32/64/256; W3 the seed-004 CNN (Conv2D(32, 3x3) - MaxPool(2) - Dense(64) -
Dense(10) on 32x32x3), batch 32/128; W4 784-1024-1024-10, batch 256; W5 W2 with
Dropout(0.5) after each hidden layer and L2(1e-4) on every kernel, batch 64; W6 two conv
blocks (32 and 64 filters) - Dense(64) - Dense(10), batch 32; W7 (issue 11's target) word
ids (sequence 100) - Embedding(1000, 64) - LSTM(128) - Dense(1, sigmoid), batch 32; W8 the
same with GRU(128). All use ReLU, Adam (Keras's defaults) and softmax + sparse categorical
cross-entropy (W1, W7, W8: sigmoid + binary).

Peers, each only where it is installed: PyTorch (eager, the usual loop, fused Adam;
CNNs in NCHW and channels_last), Keras 3 on its torch backend and on TensorFlow,
scikit-learn's MLPClassifier (dense workloads without dropout), onnxruntime (predict).

Every framework runs in a fresh subprocess per round, and the frameworks take turns
round by round (interleaved), so load on a shared machine hits them alike; a step's
time is the median over all rounds' samples, each sample a fit of whole epochs divided
by its steps. The report names the load average before and after, OpenBLAS's kernel
(OPENBLAS_CORETYPE and its config) and pytrainc's kernel ISA, and a roofline column:
the step's FLOPs and bytes over the machine's peak (a short sgemm run) and memory
bandwidth (a copy). Before timing, pytrainc's predict is checked against onnxruntime
on the exported model (when installed). benchmarks/README.md has the details.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_torch import ADAM, RESULT_MARK, SEED, _status_kib, cpu_model, default_threads  # noqa: E402

MLP = dict(in_shape=[784], hidden=[256, 128], out=10, loss="sparse")
WORKLOADS = {
    "W1": dict(in_shape=[8], hidden=[10], out=1, loss="binary", batch_sizes=[10], n_train=1000),
    "W2": dict(MLP, batch_sizes=[32, 64, 256], n_train=8192),
    "W3": dict(
        in_shape=[32, 32, 3], convs=[32], hidden=[64], out=10, loss="sparse", batch_sizes=[32, 128], n_train=2048
    ),
    "W4": dict(MLP, hidden=[1024, 1024], batch_sizes=[256], n_train=4096),
    "W5": dict(MLP, dropout=0.5, l2=1e-4, batch_sizes=[64], n_train=8192),
    "W6": dict(
        in_shape=[32, 32, 3], convs=[32, 64], hidden=[64], out=10, loss="sparse", batch_sizes=[32], n_train=1024
    ),
    # issue 11's recurrent target: word ids - Embedding(1000, 64) - LSTM(128) (GRU(128)) - Dense(1, sigmoid)
    "W7": dict(rnn="LSTM", seq_len=100, vocab=1000, embed=64, units=128, out=1, loss="binary", batch_sizes=[32]),
    "W8": dict(rnn="GRU", seq_len=100, vocab=1000, embed=64, units=128, out=1, loss="binary", batch_sizes=[32]),
}
for _w in ("W7", "W8"):
    WORKLOADS[_w].update(in_shape=[WORKLOADS[_w]["seq_len"]], hidden=[], n_train=1024)
QUICK_TRAIN = 256  # samples per epoch with --quick
PREDICT_MODELS = ("W2", "W3")
PREDICT_BATCHES = (1, 32, 1024)
FRAMEWORKS = ("pytrainc", "torch", "torch-cl", "keras-torch", "keras-tf", "sklearn", "onnxruntime")
MODULES = {"torch": "torch", "torch-cl": "torch", "keras-torch": "keras", "keras-tf": "tensorflow"}
MODULES.update(sklearn="sklearn", onnxruntime="onnxruntime")


def applies(framework, w):
    """Whether a framework trains workload w (onnxruntime only predicts)."""
    if framework == "onnxruntime":
        return False
    if framework == "torch-cl":
        return bool(w.get("convs"))
    if framework == "sklearn":
        return not w.get("convs") and not w.get("dropout") and not w.get("rnn")
    return True


def installed(framework):
    if framework == "pytrainc":
        return True
    import importlib.util

    return importlib.util.find_spec(MODULES[framework]) is not None


# ---------------------------------------------------------------------------
# Data, models, FLOPs


def make_data(w, n, seed=SEED):
    rng = np.random.default_rng(seed)
    if w.get("rnn"):  # word ids, stored as float32 as pytrainc and Keras take them
        x = rng.integers(0, w["vocab"], size=(n, w["seq_len"])).astype(np.float32)
    else:
        x = rng.random((n, *w["in_shape"]), dtype=np.float32)
    if w["loss"] == "binary":
        return x, rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    return x, rng.integers(0, w["out"], size=n).astype(np.int64)


def layer_dims(w):
    """[(kind, macs per sample, outputs per sample)] of the trainable layers, and the parameter count."""
    dims, params = [], 0
    if w.get("rnn"):  # the embedding gathers (no MACs); the cell's input and recurrent products per step
        gates = {"LSTM": 4, "GRU": 3}[w["rnn"]] * w["units"]
        t, e, u = w["seq_len"], w["embed"], w["units"]
        dims.append(("rnn", t * (e + u) * gates, t * gates))
        params = w["vocab"] * e + (e + u) * gates + gates * (2 if w["rnn"] == "GRU" else 1) + u * w["out"] + w["out"]
        dims.append(("dense", u * w["out"], w["out"]))
        return dims, params
    if w.get("convs"):
        h, wd, c = w["in_shape"]
        for f in w["convs"]:
            h, wd = h - 2, wd - 2
            dims.append(("conv", h * wd * 9 * c * f, h * wd * f))
            params += 9 * c * f + f
            h, wd, c = h // 2, wd // 2, f
        width = h * wd * c
    else:
        width = w["in_shape"][0]
    for out in w["hidden"] + [w["out"]]:
        dims.append(("dense", width * out, out))
        params += width * out + out
        width = out
    return dims, params


def step_cost(w, batch):
    """(FLOPs, bytes) one training step must spend at least: forward 2 MACs, backward 4 (2 for the
    first layer, whose input needs no gradient), Adam about 12 FLOPs and 28 bytes per parameter;
    every activation written and read forward, its gradient written and read backward."""
    dims, params = layer_dims(w)
    macs = sum(m for _, m, _ in dims)
    flops = 2 * batch * macs * 3 - 2 * batch * dims[0][1] + 12 * params
    acts = sum(o for _, _, o in dims) + int(np.prod(w["in_shape"]))
    return flops, 28 * params + 16 * batch * acts


def keras_like_model(mod, w):
    """The workload in Keras's API: `mod` is pytrainc or keras."""
    L = mod.layers
    layers = [L.Input(tuple(w["in_shape"]))]
    if w.get("rnn"):
        layers += [L.Embedding(w["vocab"], w["embed"]), getattr(L, w["rnn"])(w["units"])]
    for f in w.get("convs", []):
        layers += [L.Conv2D(f, (3, 3), activation="relu"), L.MaxPooling2D((2, 2))]
    if w.get("convs"):
        layers.append(L.Flatten())
    reg = (lambda: mod.regularizers.L2(w["l2"])) if w.get("l2") else (lambda: None)
    for h in w["hidden"]:
        layers.append(L.Dense(h, activation="relu", kernel_regularizer=reg()))
        if w.get("dropout"):
            layers.append(L.Dropout(w["dropout"]))
    binary = w["loss"] == "binary"
    layers.append(L.Dense(w["out"], activation="sigmoid" if binary else "softmax", kernel_regularizer=reg()))
    model = mod.Sequential(layers)
    model.compile(
        optimizer=mod.optimizers.Adam(**ADAM),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class TorchStep:
    """The usual PyTorch loop: randperm per epoch, an indexed gather per batch, logits and a fused
    loss, fused Adam; L2 as Adam's (coupled) weight decay on the kernels, 2 * l2 as Keras's gradient."""

    def __init__(self, w, channels_last=False):
        import torch

        self.torch, nn = torch, torch.nn
        mods, c = [], w["in_shape"][-1]
        self.rnn = bool(w.get("rnn"))
        if self.rnn:  # nn.LSTM / nn.GRU (batch_first) and the last step's hidden state, as Keras returns it
            cell = getattr(nn, w["rnn"])(w["embed"], w["units"], batch_first=True)
            mods += [nn.Embedding(w["vocab"], w["embed"]), _LastStep(cell)]
        for f in w.get("convs", []):
            mods += [nn.Conv2d(c, f, 3), nn.ReLU(), nn.MaxPool2d(2)]
            c = f
        if w.get("convs"):
            mods.append(nn.Flatten())
        dims = layer_dims(w)[0]
        width = w["units"] if self.rnn else dims[len(w.get("convs", []))][1] // (w["hidden"] + [w["out"]])[0]
        for out in w["hidden"]:
            mods += [nn.Linear(width, out), nn.ReLU()] + ([nn.Dropout(w["dropout"])] if w.get("dropout") else [])
            width = out
        mods.append(nn.Linear(width, w["out"]))
        self.model = nn.Sequential(*mods)
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        kernels = [p for p in self.model.parameters() if p.dim() > 1]
        biases = [p for p in self.model.parameters() if p.dim() == 1]
        groups = [{"params": kernels, "weight_decay": 2 * w.get("l2", 0.0)}, {"params": biases}]
        self.opt = torch.optim.Adam(
            groups, lr=ADAM["learning_rate"], betas=(ADAM["beta_1"], ADAM["beta_2"]), eps=ADAM["epsilon"], fused=True
        )
        self.loss_fn = nn.BCEWithLogitsLoss() if w["loss"] == "binary" else nn.CrossEntropyLoss()
        self.cnn = bool(w.get("convs"))

    def tensors(self, x, y=None):
        torch = self.torch
        x = torch.from_numpy(x.astype(np.int64) if self.rnn else x)
        if self.cnn:  # a PyTorch user's images are NCHW
            x = x.permute(0, 3, 1, 2)
            x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        return x if y is None else (x, torch.from_numpy(y))

    def fit(self, data, batch_size, epochs):
        x, y = data
        n, model, opt, loss_fn = x.shape[0], self.model, self.opt, self.loss_fn
        model.train()
        for _ in range(epochs):
            perm = self.torch.randperm(n)
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                loss = loss_fn(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss.item()  # what a loop that logs its loss syncs on


def _LastStep(cell):
    """A torch module running `cell` (nn.LSTM or nn.GRU, batch_first) and returning its last step's output."""
    import torch

    class LastStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, x):
            return self.cell(x)[0][:, -1]

    return LastStep()


# ---------------------------------------------------------------------------
# Workers


_LIMITS = []  # threadpoolctl's limits, kept for the worker's life


def set_threads(framework, threads):
    """Every framework at `threads`. scikit-learn has no setting of its own: its products run on
    NumPy's and SciPy's OpenBLAS (and libgomp), limited through threadpoolctl once loaded (not in
    the other workers: pytrainc keeps its OpenBLAS single-threaded and runs its own pool)."""
    if framework == "sklearn":
        import sklearn.neural_network  # noqa: F401  (loads the pools the limit covers)
        from threadpoolctl import threadpool_limits

        _LIMITS.append(threadpool_limits(limits=threads))
    if framework == "keras-tf":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    elif framework in ("torch", "torch-cl", "keras-torch"):
        import torch

        torch.set_num_threads(threads)
    elif framework == "pytrainc":
        import pytrainc

        pytrainc.set_num_threads(threads)


def trainer(framework, w):
    """fit(batch_size, epochs) for one framework and workload."""
    x, y = make_data(w, w["n_train"])
    if framework in ("pytrainc", "keras-torch", "keras-tf"):
        if framework == "pytrainc":
            import pytrainc as mod
        else:
            import keras as mod
        model = keras_like_model(mod, w)
        return lambda b, e: model.fit(x, y, batch_size=b, epochs=e, verbose=0, shuffle=True)  # noqa: E731
    if framework == "sklearn":
        from sklearn.neural_network import MLPClassifier

        def fit(b, e):
            warnings.simplefilter("ignore")  # ConvergenceWarning after every 1-epoch fit
            clf.set_params(batch_size=b, max_iter=e)
            clf.fit(x, y.ravel())

        clf = MLPClassifier(
            tuple(w["hidden"]), solver="adam", learning_rate_init=1e-3, alpha=w.get("l2", 0.0), warm_start=True
        )
        clf.set_params(tol=0.0, n_iter_no_change=10**9, epsilon=ADAM["epsilon"])
        return fit
    t = TorchStep(w, channels_last=framework == "torch-cl")
    data = t.tensors(x, y)
    return lambda b, e: t.fit(data, b, e)


def time_fit(fit, steps, min_s, repeats):
    """Per-step samples in microseconds: each a run of whole epochs lasting >= min_s."""
    fit(steps[0], 1)  # warm-up: one epoch (graph building, allocation, page faults)
    t0 = time.perf_counter()
    fit(steps[0], 1)
    epochs = max(1, int(min_s / max(time.perf_counter() - t0, 1e-6)))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit(steps[0], epochs)
        samples.append((time.perf_counter() - t0) / (epochs * steps[1]) * 1e6)
    return samples


def predict_rates(framework, w, threads, min_s):
    """{batch: samples/s} of inference on the trained-from-init model."""
    rates, x = {}, make_data(w, max(PREDICT_BATCHES))[0]
    import pytrainc

    model = keras_like_model(pytrainc, w)
    if framework == "pytrainc":
        call = lambda xb: model.predict(xb, batch_size=len(xb), verbose=0)  # noqa: E731
    elif framework == "onnxruntime":
        import onnxruntime as ort

        path = os.path.join(tempfile.mkdtemp(), "model.onnx")
        pytrainc.onnx.export(model, path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        out = sess.run(None, {name: x[:32]})[0]
        ref = model.predict(x[:32], verbose=0)
        if not np.allclose(out, ref, rtol=1e-4, atol=1e-5):
            raise SystemExit(f"check FAILED: onnxruntime and pytrainc predict differ by {np.abs(out - ref).max()}")
        print(f"check ok: {w['name']} onnxruntime == pytrainc predict (max |diff| {np.abs(out - ref).max():.2g})")
        call = lambda xb: sess.run(None, {name: xb})  # noqa: E731
    else:
        t = TorchStep(w, channels_last=framework == "torch-cl")
        t.model.eval()

        def call(xb, t=t):
            with t.torch.inference_mode():
                return t.model(t.tensors(xb))

    for b in PREDICT_BATCHES:
        xb = np.ascontiguousarray(x[:b])
        call(xb)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < min_s or n < 3:
            call(xb)
            n += 1
        rates[b] = b * n / (time.perf_counter() - t0)
    return rates


def job(framework, threads, items, quick, predict):
    if framework.startswith("keras"):
        os.environ["KERAS_BACKEND"] = "tensorflow" if framework == "keras-tf" else "torch"
    set_threads(framework, threads)
    min_s, repeats = (0.02, 1) if quick else (0.3, 3)
    out = {"steps": {}, "predict": {}}
    for name, b in items:
        w = dict(WORKLOADS[name], name=name)
        if quick:
            w["n_train"] = min(w["n_train"], QUICK_TRAIN)
        fit = trainer(framework, w)
        out["steps"][f"{name}/{b}"] = time_fit(fit, (b, -(-w["n_train"] // b)), min_s, repeats)
    if predict:
        for name in PREDICT_MODELS:
            out["predict"][name] = predict_rates(framework, dict(WORKLOADS[name], name=name), threads, min_s)
    out["peak_rss_mib"] = _status_kib("VmHWM") / 1024
    return out


RSS_CASE = ("W2", 32)  # the fit whose peak RSS the footer reports


def rss_job(framework, threads, quick):
    """Peak RSS of one W2 fit in this fresh process, which imports only `framework` (and NumPy):
    the timing workers run every workload and predict at batch 1024 in one process, so their
    peak is the largest case's, not a W2 fit's."""
    if framework.startswith("keras"):
        os.environ["KERAS_BACKEND"] = "tensorflow" if framework == "keras-tf" else "torch"
    name, b = RSS_CASE
    w = dict(WORKLOADS[name], name=name)
    if quick:
        w["n_train"] = min(w["n_train"], QUICK_TRAIN)
    import importlib

    for module in sorted({"keras-torch": {"keras"}, "keras-tf": {"keras"}}.get(framework, set())):
        importlib.import_module(module)
    importlib.import_module(MODULES.get(framework, "pytrainc"))
    set_threads(framework, threads)
    imported = _status_kib("VmRSS") / 1024
    trainer(framework, w)(b, 1)
    own = {"keras-torch": {"keras", "torch"}, "keras-tf": {"keras", "tensorflow"}}.get(framework)
    own = own or {MODULES.get(framework, "pytrainc")}
    foreign = sorted(({"pytrainc"} | set(MODULES.values())) - own & set(sys.modules))
    return {"peak_rss_mib": _status_kib("VmHWM") / 1024, "import_rss_mib": imported, "foreign": foreign}


def batches(name, quick):
    """The workload's batch sizes; --quick: its smallest only."""
    sizes = WORKLOADS[name]["batch_sizes"]
    return sizes[:1] if quick else sizes


def run_worker(framework, **args):
    return run_worker_spec({"framework": framework, **args})


def run_worker_spec(spec):
    framework = spec.get("framework") or spec["rss"]["framework"]
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write("".join(ln + "\n" for ln in proc.stdout.splitlines() if ln.startswith("check ")))
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"benchmark worker {framework} failed with exit status {proc.returncode}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise SystemExit(f"benchmark worker {framework} printed no result:\n{proc.stdout}{proc.stderr}")


# ---------------------------------------------------------------------------
# Machine limits and report


def machine_limits(threads):
    """(sgemm FLOP/s of pytrainc's sgemm at 1024^3, copy bandwidth in bytes/s over 4 MiB)."""
    import pytrainc

    pytrainc.set_num_threads(threads)
    r = np.random.default_rng(0)
    a, b = r.random((1024, 1024), dtype=np.float32), r.random((1024, 1024), dtype=np.float32)
    pytrainc._C.dense_forward(a, b, None, False)
    best = min(_timed(lambda: pytrainc._C.dense_forward(a, b, None, False)) for _ in range(5))
    src, dst = r.random(1 << 20, dtype=np.float32), np.empty(1 << 20, np.float32)
    bw = min(_timed(lambda: np.copyto(dst, src)) for _ in range(50))
    return 2 * 1024**3 / best, 2 * src.nbytes / bw


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def environment():
    import pytrainc

    return {
        "cpu": cpu_model(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "blas": pytrainc.blas_info()["config"],
        "kernel_isa": pytrainc.build_info()["kernel_isa"],
        "python": sys.version.split()[0],
    }


def fmt(x, unit=""):
    if x is None:
        return "-"
    return f"{x:,.0f}{unit}" if x >= 10 else f"{x:.1f}{unit}"


def report(results, frameworks, peak, bw):
    """Rows of the training table, printed; returned for --json/--plot."""
    peers = [f for f in frameworks if f not in ("pytrainc", "onnxruntime")]
    head = ["workload", "batch", "pytrainc_us", "spread"] + [f + "_us" for f in peers]
    head += ["best_peer/ptc", "torch/ptc", "roof_us", "ptc/roof"]
    rows, table = [], []
    for key in results["pytrainc"]["steps"]:
        name, b = key.split("/")
        med = {f: statistics.median(results[f]["steps"][key]) for f in frameworks if key in results[f]["steps"]}
        s = results["pytrainc"]["steps"][key]
        ptc = med["pytrainc"]
        flops, nbytes = step_cost(WORKLOADS[name], int(b))
        roof = max(flops / peak, nbytes / bw) * 1e6
        best = min((med[f] for f in peers if f in med), default=None)
        torch_best = min((med[f] for f in ("torch", "torch-cl") if f in med), default=None)
        row = dict(workload=name, batch=int(b), step_us=med, spread=(max(s) - min(s)) / ptc, roof_us=roof)
        row.update(best_peer_ratio=best / ptc if best else None, torch_ratio=torch_best / ptc if torch_best else None)
        rows.append(row)
        table.append(
            [name, b, fmt(ptc), f"{row['spread']:.0%}"]
            + [fmt(med.get(f)) for f in peers]
            + [fmt(row["best_peer_ratio"], "x"), fmt(row["torch_ratio"], "x"), fmt(roof), f"{ptc / roof:.1f}"]
        )
    print_table(head, table)
    return rows


def report_predict(results, frameworks):
    fws = [f for f in frameworks if results[f]["predict"]]
    if "pytrainc" not in fws:
        return []
    head = ["model", "batch"] + [f + "_samples/s" for f in fws] + [f"{f}/ptc" for f in fws if f != "pytrainc"]
    rows, table = [], []
    for name, rates in results["pytrainc"]["predict"].items():
        for b in rates:
            r = {f: results[f]["predict"][name][b] for f in fws}
            rows.append(dict(model=name, batch=int(b), samples_per_s=r))
            ratios = [fmt(r[f] / r["pytrainc"], "x") for f in fws if f != "pytrainc"]
            table.append([name, b] + [fmt(r[f]) for f in fws] + ratios)
    print("\npredict throughput (samples/s; ratio > 1: the peer is faster):")
    print_table(head, table)
    return rows


def print_table(head, body):
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    for r in [head] + body:
        print("  ".join(str(c).rjust(wd) for c, wd in zip(r, widths)))


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['workload']}/{r['batch']}" for r in rows]
    peers = sorted({f for r in rows for f in r["step_us"] if f != "pytrainc"})
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 1.2), 4))
    width = 0.8 / max(len(peers), 1)
    for k, f in enumerate(peers):
        xs = [i + k * width for i, r in enumerate(rows) if f in r["step_us"]]
        ys = [r["step_us"][f] / r["step_us"]["pytrainc"] for r in rows if f in r["step_us"]]
        ax.bar(xs, ys, width, label=f)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))], labels)
    ax.set_ylabel("peer step time / pytrainc's (> 1: pytrainc faster)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny epochs, one round (a smoke test)")
    parser.add_argument("--threads", type=int, default=default_threads(), help="threads for every framework")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; --quick: 1)")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    parser.add_argument("--no-predict", action="store_true", help="leave out the predict throughput table")
    parser.add_argument("--predict-only", action="store_true", help="only the predict throughput table (no training)")
    parser.add_argument("--json", help="write every sample and the environment to this file")
    parser.add_argument("--plot", help="write a PNG of the ratios to this file")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._worker:
        spec = json.loads(args._worker)
        out = rss_job(**spec["rss"]) if "rss" in spec else job(**spec)
        print(RESULT_MARK + json.dumps(out), flush=True)
        return 0
    frameworks = ["pytrainc"] + [f for f in args.frameworks if f != "pytrainc" and installed(f)]
    skipped = [f for f in args.frameworks if f not in frameworks and f != "pytrainc"]
    rounds = args.rounds or (1 if args.quick else 3)
    env = environment()
    peak, bw = machine_limits(args.threads)
    load0 = os.getloadavg()
    print(f"cpu: {env['cpu']}; threads: {args.threads}; OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}")
    print(f"OpenBLAS: {env['blas']}; pytrainc kernel ISA: {env['kernel_isa']}")
    print(f"machine: sgemm {peak / 1e9:.0f} GFLOP/s, copy {bw / 1e9:.0f} GB/s; not installed: {skipped or 'none'}")
    results = {f: {"steps": {}, "predict": {}, "peak_rss_mib": 0.0} for f in frameworks}
    for r in range(rounds):
        order = frameworks[r % len(frameworks) :] + frameworks[: r % len(frameworks)]
        for f in order:
            items = [(n, b) for n in args.workloads for b in batches(n, args.quick) if applies(f, WORKLOADS[n])]
            items = [] if args.predict_only else items
            predict = r == 0 and f in ("pytrainc", "torch", "onnxruntime") and not args.no_predict
            if not items and not predict:
                continue
            out = run_worker(f, threads=args.threads, items=items, quick=args.quick, predict=predict)
            for k, v in out["steps"].items():
                results[f]["steps"].setdefault(k, []).extend(v)
            results[f]["predict"].update(out["predict"])
            results[f]["peak_rss_mib"] = max(results[f]["peak_rss_mib"], out["peak_rss_mib"])
    rss = {}
    for f in [] if args.predict_only else frameworks:
        if f != "onnxruntime":  # it only predicts
            rss[f] = run_worker_spec({"rss": dict(framework=f, threads=args.threads, quick=args.quick)})
    load1 = os.getloadavg()
    print(f"\nper training step, microseconds (median of {rounds} interleaved round(s)); ratio > 1: pytrainc faster")
    rows = report(results, frameworks, peak, bw)
    prows = report_predict(results, frameworks)
    if rss:
        name, b = RSS_CASE
        print(
            f"\npeak RSS of a {name} fit at batch {b} (MiB; a fresh process importing only that framework; "
            "after import in brackets): "
            + ", ".join(f"{f} {r['peak_rss_mib']:.0f} ({r['import_rss_mib']:.0f})" for f, r in rss.items())
        )
        for f, r in rss.items():
            if r["foreign"]:
                print(f"warning: the {f} RSS worker also imported {', '.join(r['foreign'])}")
    print(
        "peak RSS per timing worker (MiB; every workload and predict in one process): "
        + ", ".join(f"{f} {results[f]['peak_rss_mib']:.0f}" for f in frameworks)
    )
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} (1 min)")
    if args.json:
        with open(args.json, "w") as fh:
            payload = dict(env=env, threads=args.threads, peak_flops=peak, copy_bw=bw, load=[load0, load1])
            json.dump(dict(payload, rows=rows, predict=prows, samples=results, rss=rss), fh, indent=1)
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
