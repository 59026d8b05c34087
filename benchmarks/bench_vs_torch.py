"""Benchmark pytrainc's training against PyTorch on the same machine, in the same run.

Usage:
    python benchmarks/bench_vs_torch.py [--quick] [--threads N] [--repeats R] [--cases NAME ...]

Each case first checks correctness: a pytrainc model and a PyTorch model with
pytrainc's initial weights train on the same few batches (shuffle=False), and
their per-epoch training and validation losses must agree within 1e-4
relative; a mismatch stops the run with exit status 1 before any timing.
Then every (case, batch size, framework) is timed in a fresh subprocess of its
own, so that neither framework's thread pool (OpenBLAS's, PyTorch's OpenMP)
spins during the other's run and memory is measured from a clean process:

1. Build the data and the model, record VmRSS and reset the kernel's RSS
   high-water mark (write "5" to /proc/self/clear_refs).
2. Warm-up: one full fit. Peak extra memory = VmHWM after it - VmRSS before it.
3. `--repeats` timing samples, each k back-to-back fits lasting >= 0.5 s; a
   sample during which other processes used the CPU is retaken. The median
   is reported.

A fit is `epochs` epochs of: shuffle, train on every batch (loss and accuracy
accumulated per batch, as Keras's fit reports them), then loss and accuracy on
the validation set. Columns: step = fit time / (epochs * batches per epoch),
so it includes the epoch's share of shuffling and validation; cpu = the same
in process CPU time (all threads); epoch = fit time / epochs; samples/s =
training samples * epochs / fit time; torch/pytrainc = PyTorch's fit time /
pytrainc's (> 1: pytrainc is faster). benchmarks/README.md has the details.

Both frameworks use the same thread count (default: every core this process
may run on): pytrainc.set_num_threads and torch.set_num_threads.
"""

import argparse
import json
import math
import os
import platform
import statistics
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

CHECK_RTOL = 1e-4
CHECK_BATCHES = 4  # batches per epoch in the correctness check
CHECK_EPOCHS = 2  # ReLU flips from rounding grow with steps: ~1e-6 after 4, ~1e-5 after 12 (mlp-wide)
SEED = 1234
RESULT_MARK = "@@RESULT "
BUSY_CORES = 0.25  # CPU (in cores) other processes may use during a timing sample before it is retaken

# name: model (in_dim, hidden widths, out width), loss, optimizer, data sizes.
# "binary": sigmoid output + binary cross-entropy (PyTorch: BCEWithLogitsLoss).
# "sparse": softmax output + sparse categorical cross-entropy (PyTorch: CrossEntropyLoss).
# kind="cnn": input (H, W, C) channels-last -> Conv2D(filters, 3x3, relu) -> MaxPooling2D(2) -> Flatten
#   -> Dense(hidden..., relu) -> Dense(out, softmax); PyTorch gets NCHW data and is timed twice, with
#   contiguous (NCHW) and channels_last tensors ("torch-cl"); the faster is the peer.
# extras: what is attached to fit besides the accuracy metric (every case has it):
#   "schedule" ExponentialDecay(1e-3, 100, 0.96) per step, "early_stopping" EarlyStopping(val_loss,
#   patience=10**6: never stops), "checkpoint" ModelCheckpoint(val_loss, save_best_only=True).
#   base: the case without extras, whose step time the overhead is measured against.
# kind="lstm": IMDB-style (seq_len,) word ids -> Embedding(vocab, embed) -> LSTM(units) -> Dense(out);
#   PyTorch: nn.Embedding -> nn.LSTM (its second bias frozen at 0: Keras has one) -> last step -> Linear.
SEED002 = dict(
    in_dim=8, hidden=[10], out=1, loss="binary", optimizer="adam", batch_sizes=[10], n_train=1000, n_val=100, epochs=50
)
CASES = {
    "seed002": SEED002,
    "seed002-callbacks": dict(SEED002, extras=["schedule", "early_stopping", "checkpoint"], base="seed002"),
    "seed002-callbacks-nockpt": dict(SEED002, extras=["schedule", "early_stopping"], base="seed002"),
    "cnn-seed004": dict(
        kind="cnn",
        in_shape=[32, 32, 3],
        filters=32,
        hidden=[64],
        out=10,
        loss="sparse",
        optimizer="adam",
        batch_sizes=[32],
        n_train=10000,
        n_val=1000,
        epochs=1,
    ),
    "mlp-medium": dict(
        in_dim=784,
        hidden=[256, 128],
        out=10,
        loss="sparse",
        optimizer="adam",
        batch_sizes=[64, 256],
        n_train=20000,
        n_val=2000,
        epochs=3,
    ),
    "lstm-imdb": dict(
        kind="lstm",
        seq_len=100,
        vocab=1000,
        embed=64,
        units=128,
        out=1,
        loss="binary",
        optimizer="adam",
        batch_sizes=[32],
        n_train=1024,
        n_val=128,
        epochs=1,
    ),
    "mlp-wide": dict(
        in_dim=1024,
        hidden=[1024, 1024],
        out=10,
        loss="sparse",
        optimizer="sgd_momentum",
        batch_sizes=[128],
        n_train=8192,
        n_val=1024,
        epochs=2,
    ),
}
QUICK = {
    "seed002": dict(n_train=200, n_val=20, epochs=3),
    "seed002-callbacks": dict(n_train=200, n_val=20, epochs=3),
    "seed002-callbacks-nockpt": dict(n_train=200, n_val=20, epochs=3),
    "cnn-seed004": dict(n_train=256, n_val=64, epochs=1),
    "mlp-medium": dict(n_train=1024, n_val=128, epochs=1),
    "mlp-wide": dict(n_train=256, n_val=128, epochs=1),
    "lstm-imdb": dict(n_train=128, n_val=32, epochs=1),
}
# Keras's defaults, used on both sides.
ADAM = dict(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
SGD_MOMENTUM = dict(learning_rate=0.01, momentum=0.9)
EXP_DECAY = dict(initial_learning_rate=1e-3, decay_steps=100, decay_rate=0.96)
CKPT_NAME = "ckpt.ptc"


# ---------------------------------------------------------------------------
# Data and models


def make_data(case, n, seed):
    """Inputs uniform in [0, 1) as in the seed script; labels random."""
    rng = np.random.default_rng(seed)
    if case.get("kind") == "lstm":  # word ids, stored as float32 as pytrainc takes them
        x = rng.integers(0, case["vocab"], size=(n, case["seq_len"])).astype(np.float32)
    else:
        x = rng.random((n, *case["in_shape"]) if case.get("kind") == "cnn" else (n, case["in_dim"]), dtype=np.float32)
    if case["loss"] == "binary":
        y = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    else:
        y = rng.integers(0, case["out"], size=n).astype(np.int64)
    return x, y


def datasets(case, seed=SEED):
    return make_data(case, case["n_train"], seed), make_data(case, case["n_val"], seed + 1)


def pytrainc_model(case):
    import pytrainc
    from pytrainc.layers import LSTM, Conv2D, Dense, Embedding, Flatten, Input, MaxPooling2D
    from pytrainc.models import Sequential

    if case.get("kind") == "lstm":
        layers = [Input((case["seq_len"],)), Embedding(case["vocab"], case["embed"]), LSTM(case["units"])]
    elif case.get("kind") == "cnn":
        layers = [
            Input(tuple(case["in_shape"])),
            Conv2D(case["filters"], (3, 3), activation="relu"),
            MaxPooling2D((2, 2)),
            Flatten(),
        ]
        layers += [Dense(w, activation="relu") for w in case["hidden"]]
    else:
        layers = [
            Dense(w, activation="relu", **({"input_dim": case["in_dim"]} if i == 0 else {}))
            for i, w in enumerate(case["hidden"])
        ]
    binary = case["loss"] == "binary"
    layers.append(Dense(case["out"], activation="sigmoid" if binary else "softmax"))
    model = Sequential(layers)
    if case["optimizer"] == "adam":
        lr = ADAM["learning_rate"]
        if "schedule" in case.get("extras", ()):
            lr = pytrainc.optimizers.schedules.ExponentialDecay(**EXP_DECAY)
        opt = pytrainc.optimizers.Adam(**dict(ADAM, learning_rate=lr))
    else:
        opt = pytrainc.optimizers.SGD(**SGD_MOMENTUM)
    model.compile(
        optimizer=opt, loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def pytrainc_callbacks(case, ckpt_dir):
    """Fresh callbacks for one fit (ModelCheckpoint's best would otherwise carry over between fits)."""
    from pytrainc.callbacks import EarlyStopping, ModelCheckpoint

    extras, cbs = case.get("extras", ()), []
    if "early_stopping" in extras:
        cbs.append(EarlyStopping(monitor="val_loss", patience=10**6))
    if "checkpoint" in extras:
        cbs.append(ModelCheckpoint(os.path.join(ckpt_dir, CKPT_NAME), monitor="val_loss", save_best_only=True))
    return cbs


def pytrainc_fit(model, data, val, batch_size, epochs, shuffle=True, callbacks=None):
    return model.fit(
        data[0],
        data[1],
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        verbose=0,
        validation_data=val,
        callbacks=callbacks,
    ).history


def cnn_flat_hwc(case):
    """(H, W, C) after the valid 3x3 convolution and the 2x2 pooling."""
    h, w, _ = case["in_shape"]
    return (h - 2) // 2, (w - 2) // 2, case["filters"]


def torch_layout(weights, case):
    """pytrainc's get_weights() in the layout and order of the PyTorch model's parameters."""
    out = []
    if case.get("kind") == "lstm":  # embeddings; kernel, recurrent kernel, bias -> weight_ih, weight_hh, b_ih, b_hh
        emb, kernel, rkernel, bias = weights[:4]
        out = [emb, np.ascontiguousarray(kernel.T), np.ascontiguousarray(rkernel.T), bias, np.zeros_like(bias)]
        weights = weights[4:]
    for k in range(0, len(weights), 2):
        w, b = weights[k], weights[k + 1]
        if w.ndim == 4:  # Conv2D kernel (KH, KW, C, F) -> (F, C, KH, KW)
            w = w.transpose(3, 2, 0, 1)
        elif k == 2 and case.get("kind") == "cnn":
            # pytrainc flattens (H, W, C), PyTorch (C, H, W): permute the first Dense's input rows.
            h, wd, c = cnn_flat_hwc(case)
            w = w.T.reshape(-1, h, wd, c).transpose(0, 3, 1, 2).reshape(-1, h * wd * c)
        else:  # Dense kernel (in, out) -> Linear.weight (out, in)
            w = w.T
        out += [np.ascontiguousarray(w), b]
    return out


class _TorchLSTMLast:
    """Builds nn.LSTM(batch_first) returning the last step's hidden state (Keras's return_sequences=False)."""

    def __new__(cls, torch, case):
        class LSTMLast(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = torch.nn.LSTM(case["embed"], case["units"], batch_first=True)

            def forward(self, x):
                return self.lstm(x)[0][:, -1]

        return LSTMLast()


class TorchTrainer:
    """The plain PyTorch a competent user writes: no DataLoader (the data is in
    memory), torch.randperm each epoch and one indexed gather per batch, logits
    and a fused loss, fused Adam/SGD (PyTorch's fastest CPU optimizer; its
    default for-loop Adam is up to 3x slower on mlp-medium), validation in one
    no_grad forward."""

    def __init__(self, case, weights=None, optimizer_impl="fused", channels_last=False, ckpt_dir=None):
        import torch

        self.torch = torch
        mods = []
        self.lstm = case.get("kind") == "lstm"
        if self.lstm:
            mods += [torch.nn.Embedding(case["vocab"], case["embed"]), _TorchLSTMLast(torch, case)]
            dims = [case["units"], case["out"]]
        elif case.get("kind") == "cnn":
            h, w, c = cnn_flat_hwc(case)
            mods += [
                torch.nn.Conv2d(case["in_shape"][2], case["filters"], 3),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
                torch.nn.Flatten(),
            ]
            dims = [h * w * c] + list(case["hidden"]) + [case["out"]]
        else:
            dims = [case["in_dim"]] + list(case["hidden"]) + [case["out"]]
        for i in range(len(dims) - 1):
            mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                mods.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*mods)
        self.cnn = case.get("kind") == "cnn"
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if weights is not None:
            with torch.no_grad():
                for p, w in zip(self.model.parameters(), torch_layout(weights, case), strict=True):
                    p.copy_(torch.from_numpy(w))
        if self.lstm:  # Keras's LSTM has one bias: torch's second stays 0 (the first is b_ih + b_hh)
            mods[1].lstm.bias_hh_l0.requires_grad_(False)
            if weights is None:
                with torch.no_grad():
                    mods[1].lstm.bias_hh_l0.zero_()
        extras = case.get("extras", ())
        self.schedule = "schedule" in extras
        self.early_stopping = "early_stopping" in extras
        self.ckpt_path = os.path.join(ckpt_dir, "ckpt.pt") if "checkpoint" in extras else None
        self.saves = 0
        impl = {"fused": {"fused": True}, "foreach": {"foreach": True}, "default": {}}[optimizer_impl]
        # Keras adds epsilon to sqrt(v), PyTorch to sqrt(v / (1 - beta_2**t)); moving
        # PyTorch's epsilon with t as below makes the two updates the same formula
        # (weights whose gradients are ~1e-6 otherwise take visibly different steps).
        # It costs one float operation per step.
        self.keras_eps = case["optimizer"] == "adam"
        self.t = 0
        if case["optimizer"] == "adam":
            self.opt = torch.optim.Adam(
                self.model.parameters(),
                lr=ADAM["learning_rate"],
                betas=(ADAM["beta_1"], ADAM["beta_2"]),
                eps=ADAM["epsilon"],
                **impl,
            )
        else:
            self.opt = torch.optim.SGD(
                self.model.parameters(), lr=SGD_MOMENTUM["learning_rate"], momentum=SGD_MOMENTUM["momentum"], **impl
            )
        if case["loss"] == "binary":
            self.loss_fn = torch.nn.BCEWithLogitsLoss()
            self.correct = lambda out, y: ((out > 0).to(y.dtype) == y).sum()
        else:
            self.loss_fn = torch.nn.CrossEntropyLoss()
            self.correct = lambda out, y: (out.argmax(1) == y).sum()

    def tensors(self, arrays):
        """(x, y) NumPy -> tensors, once, outside the timed fit: a PyTorch user's images are NCHW."""
        torch = self.torch
        x, y = (torch.from_numpy(a) for a in arrays)
        if self.lstm:  # a PyTorch user's word ids are int64
            x = x.long()
        if self.cnn:  # NHWC -> NCHW; for channels_last the permuted view already has its strides
            x = x.permute(0, 3, 1, 2)
            x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        return x, y

    def save_checkpoint(self):
        """What a careful user writes: model and optimizer state to a temp file, then os.replace."""
        tmp = self.ckpt_path + ".tmp"
        self.torch.save({"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}, tmp)
        os.replace(tmp, self.ckpt_path)
        self.saves += 1

    def fit(self, data, val, batch_size, epochs, shuffle=True):
        torch = self.torch
        x, y = data if isinstance(data[0], torch.Tensor) else self.tensors(data)
        xv, yv = val if isinstance(val[0], torch.Tensor) else self.tensors(val)
        n = x.shape[0]
        model, opt, loss_fn, correct = self.model, self.opt, self.loss_fn, self.correct
        group = opt.param_groups[0]
        hist = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        # Keras's ExponentialDecay: lr = lr0 * rate ** (iterations / decay_steps), iterations before the step.
        lr0, rate, dsteps = EXP_DECAY["initial_learning_rate"], EXP_DECAY["decay_rate"], EXP_DECAY["decay_steps"]
        es_best, es_wait, ckpt_best = math.inf, 0, math.inf
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(n) if shuffle else torch.arange(n)
            loss_sum, hits = 0.0, 0
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                xb, yb = x[idx], y[idx]
                out = model(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.schedule:
                    group["lr"] = lr0 * rate ** (self.t / dsteps)
                if self.keras_eps:
                    self.t += 1
                    group["eps"] = ADAM["epsilon"] / math.sqrt(1.0 - ADAM["beta_2"] ** self.t)
                opt.step()
                loss_sum += loss.item() * xb.shape[0]
                hits += correct(out.detach(), yb).item()
            model.eval()
            with torch.no_grad():
                vout = model(xv)
                hist["val_loss"].append(loss_fn(vout, yv).item())
                hist["val_accuracy"].append(correct(vout, yv).item() / xv.shape[0])
            hist["loss"].append(loss_sum / n)
            hist["accuracy"].append(hits / n)
            val_loss = hist["val_loss"][-1]
            if self.ckpt_path is not None and val_loss < ckpt_best:
                ckpt_best = val_loss
                self.save_checkpoint()
            if self.early_stopping:  # Keras's rule: min_delta 0, stop once wait >= patience after epoch 0
                es_wait += 1
                if val_loss < es_best:
                    es_best, es_wait = val_loss, 0
                if es_wait >= 10**6 and epoch > 0:
                    break
        return hist


# ---------------------------------------------------------------------------
# Memory: the kernel's RSS high-water mark, reset right before the measured fit


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class PeakRSS:
    """Peak RSS growth (bytes) over a block of code.

    Linux: reset VmHWM with /proc/self/clear_refs ("5", Linux >= 4.0) and read
    it afterwards: exact, no sampling. Where that write is refused, a thread
    samples VmRSS every millisecond (it runs while the frameworks release the
    GIL, which both do in their kernels), which can miss short spikes.
    """

    def __enter__(self):
        self.before = _status_kib("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.method = "VmHWM"
        except OSError:
            self.method = "sampled"
            self.peak, self._stop = self.before, threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, _status_kib("VmRSS"))

    def __exit__(self, *exc):
        if self.method == "VmHWM":
            peak = _status_kib("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self.peak, _status_kib("VmRSS"))
        self.extra_bytes = max(peak - self.before, 0) * 1024
        return False


# ---------------------------------------------------------------------------
# Workers (each runs in a fresh subprocess)


def set_threads(framework, threads):
    if framework == "pytrainc":
        import pytrainc

        pytrainc.set_num_threads(threads)
    else:
        import torch

        torch.set_num_threads(threads)


def versions():
    """Both frameworks' versions and thread configuration, as this process sees them."""
    import torch

    import pytrainc

    keep = ("ATen parallel backend", "at::get_num_threads", "Intel(R) oneAPI", "MKL-DNN", "OpenMP 2")
    lines = [ln.strip() for ln in torch.__config__.parallel_info().splitlines()]
    torch_summary = "; ".join(ln for ln in lines if ln.startswith(keep))
    return {
        "blas": pytrainc.blas_info(),
        "pytrainc": pytrainc.__version__,
        "torch": torch.__version__,
        "torch_parallel": torch_summary,
        "torch_cpu": torch.backends.cpu.get_cpu_capability(),
        "numpy": np.__version__,
    }


def job_check(args):
    """Same initial weights, same batches in order: the losses must agree."""
    import pytrainc

    case, threads = args["case"], args["threads"]
    set_threads("pytrainc", threads)
    set_threads("torch", threads)
    pytrainc.utils.set_random_seed(SEED)
    results = []
    ckpt_dir = tempfile.mkdtemp(prefix="bench_ckpt_")
    try:
        for bs in case["batch_sizes"]:
            n = CHECK_BATCHES * bs
            data = make_data(case, n, SEED)
            val = make_data(case, min(case["n_val"], 4 * bs), SEED + 1)
            for torch_variant in torch_variants(case):
                model = pytrainc_model(case)
                trainer = TorchTrainer(
                    case, weights=model.get_weights(), ckpt_dir=ckpt_dir, channels_last=torch_variant == "torch-cl"
                )
                ours = pytrainc_fit(
                    model, data, val, bs, CHECK_EPOCHS, shuffle=False, callbacks=pytrainc_callbacks(case, ckpt_dir)
                )
                theirs = trainer.fit(data, val, bs, CHECK_EPOCHS, shuffle=False)
                worst = 0.0
                for key in ("loss", "val_loss"):
                    for a, b in zip(ours[key], theirs[key], strict=True):
                        worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
                w_ours = torch_layout(model.get_weights(), case)
                w_theirs = [p.detach().numpy() for p in trainer.model.parameters()]
                wdiff = max(float(np.max(np.abs(a - b))) for a, b in zip(w_ours, w_theirs, strict=True))
                results.append(
                    {
                        "batch_size": bs,
                        "peer": torch_variant,
                        "rel_err": worst,
                        "weight_diff": wdiff,
                        "pytrainc": ours["loss"] + ours["val_loss"],
                        "torch": theirs["loss"] + theirs["val_loss"],
                    }
                )
    finally:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return {"results": results, "versions": versions()}


def torch_variants(case):
    return ["torch", "torch-cl"] if case.get("kind") == "cnn" else ["torch"]


class _CountSaves:
    """Counts checkpoint writes during the warm-up fit: each atomic save gives the file a new inode."""

    def __init__(self, path):
        self.path, self.inode, self.saves = path, None, 0

    def poll(self):
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            return
        if ino != self.inode:
            self.inode, self.saves = ino, self.saves + 1


def job_time(args):
    case, framework, bs = args["case"], args["framework"], args["batch_size"]
    set_threads(framework, args["threads"])
    data, val = datasets(case)
    ckpt_dir = tempfile.mkdtemp(prefix="bench_ckpt_")
    counter = None
    if framework == "pytrainc":
        import pytrainc

        pytrainc.utils.set_random_seed(SEED)
        model = pytrainc_model(case)
        poll = None
        if "checkpoint" in case.get("extras", ()):
            counter = _CountSaves(os.path.join(ckpt_dir, CKPT_NAME))
            poll = pytrainc.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: counter.poll())

        def fit(count=False):
            cbs = pytrainc_callbacks(case, ckpt_dir)
            pytrainc_fit(model, data, val, bs, case["epochs"], callbacks=cbs + ([poll] if count and poll else []))
    else:
        import torch

        torch.manual_seed(SEED)
        trainer = TorchTrainer(
            case, optimizer_impl=args["torch_optimizer"], ckpt_dir=ckpt_dir, channels_last=framework == "torch-cl"
        )
        data, val = trainer.tensors(data), trainer.tensors(val)

        def fit(count=False):
            trainer.fit(data, val, bs, case["epochs"])

    t0 = time.perf_counter()
    with PeakRSS() as mem:  # the warm-up fit: the first training in this process
        fit(count=True)
    saves = counter.saves if counter is not None else trainer.saves if framework != "pytrainc" else 0
    # Like timeit's autorange: a sample is k fits lasting >= min_sample_s, long
    # enough for /proc/stat (10 ms ticks) to tell whether another process ran.
    k = max(1, math.ceil(args["min_sample_s"] / (time.perf_counter() - t0)))
    clean, busy, others = [], [], []
    for _ in range(args["max_samples"]):
        busy0, cpu0, t0 = _machine_busy_s(), time.process_time(), time.perf_counter()
        for _ in range(k):
            fit()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        other = _other_cores(busy0, cpu0, wall)
        others.append(other or 0.0)
        # A sample during which other processes took CPU is set aside and retaken.
        (busy if other is not None and other > BUSY_CORES else clean).append((wall / k, cpu / k))
        if len(clean) == args["repeats"]:
            break
    samples = clean or busy
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return {
        "saves": saves,
        "times": [w for w, _ in samples],
        "cpu_times": [c for _, c in samples],
        "busy": not clean,
        "discarded": len(busy) if clean else 0,
        "other_cores": max(others),
        "mem_bytes": mem.extra_bytes,
        "mem_method": mem.method,
        "fits_per_sample": k,
    }


def _other_cores(busy0, cpu0, wall):
    """Cores that processes other than this one used since (busy0, cpu0), or None."""
    busy1 = _machine_busy_s()
    if busy0 is None or busy1 is None:
        return None
    return max(busy1 - busy0 - (time.process_time() - cpu0), 0.0) / wall


def _machine_busy_s():
    """CPU seconds all processes have spent so far (None where /proc/stat is missing)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is already in user


def wait_for_idle(max_wait_s, window_s=1.0):
    """Wait (at most max_wait_s) for a window in which the machine is idle; True if found."""
    deadline = time.perf_counter() + max_wait_s
    while True:
        busy0, t0 = _machine_busy_s(), time.perf_counter()
        if busy0 is None:
            return True
        time.sleep(window_s)
        if (_machine_busy_s() - busy0) / (time.perf_counter() - t0) <= BUSY_CORES:
            return True
        if time.perf_counter() >= deadline:
            return False


def run_worker(job, **args):
    """Run one job in a fresh interpreter; return its JSON result."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", json.dumps({"job": job, **args})]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(
            f"benchmark worker {job} {args.get('framework', '')} failed with exit status {proc.returncode}"
        )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise SystemExit(f"benchmark worker {job} printed no result:\n{proc.stdout}{proc.stderr}")


# ---------------------------------------------------------------------------
# Report


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def fmt_rate(x):
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def format_table(rows):
    head = [
        "case",
        "batch",
        "framework",
        "step_us",
        "cpu_us",
        "epoch_ms",
        "samples/s",
        "spread",
        "peak_extra_MiB",
        "torch/pytrainc",
    ]
    body = []
    for r in rows:
        body.append(
            [
                r["case"],
                str(r["batch_size"]),
                r["framework"],
                f"{r['step_us']:.1f}",
                f"{r['cpu_step_us']:.1f}",
                f"{r['epoch_ms']:.2f}",
                fmt_rate(r["samples_per_s"]),
                f"{r['spread']:.0%}",
                f"{r['mem_bytes'] / 2**20:.1f}",
                (f"{r['ratio']:.2f}x" + (f" ({r['peer']})" if "peer" in r else "")) if "ratio" in r else "",
            ]
        )
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    lines = []
    for k, row in enumerate([head] + body):
        cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_overheads(rows):
    """For cases with extras: both ratios side by side, and step time with extras / without, per framework."""
    by_key = {(r["case"], r["batch_size"], r["framework"]): r for r in rows}
    lines = []
    for r in rows:
        base = CASES[r["case"]].get("base")
        if r["framework"] != "pytrainc" or not base or (base, r["batch_size"], "pytrainc") not in by_key:
            continue
        b = by_key[(base, r["batch_size"], "pytrainc")]
        t_cb, t_base = by_key[(r["case"], r["batch_size"], "torch")], by_key[(base, r["batch_size"], "torch")]
        lines.append(
            f"{r['case']} ({' + '.join(CASES[r['case']]['extras'])}): torch/pytrainc {r['ratio']:.2f}x "
            f"vs {b['ratio']:.2f}x for {base} ({r['ratio'] / b['ratio'] - 1:+.0%}); overhead = step with "
            f"/ step without: pytrainc {r['step_us'] / b['step_us']:.2f}x "
            f"(+{r['step_us'] - b['step_us']:.1f} us/step), torch {t_cb['step_us'] / t_base['step_us']:.2f}x "
            f"(+{t_cb['step_us'] - t_base['step_us']:.1f} us/step)"
        )
        if "checkpoint" in CASES[r["case"]]["extras"]:
            msg = f"  checkpoints written per fit (warm-up): pytrainc {r['saves']}, torch {t_cb['saves']}"
            # The same case without ModelCheckpoint, if measured: the rest is the cost of the checkpoints.
            no_ckpt = [
                c
                for c, spec in CASES.items()
                if spec.get("base") == base
                and spec["extras"] == [e for e in CASES[r["case"]]["extras"] if e != "checkpoint"]
            ]
            if no_ckpt and (no_ckpt[0], r["batch_size"], "pytrainc") in by_key:
                n_ours, n_theirs = (by_key[(no_ckpt[0], r["batch_size"], f)] for f in ("pytrainc", "torch"))
                per = [
                    (a["fit_s"] - b["fit_s"]) / a["saves"] * 1e3 if a["saves"] else float("nan")
                    for a, b in ((r, n_ours), (t_cb, n_theirs))
                ]
                msg += (
                    f"; fit time minus {no_ckpt[0]}'s, per checkpoint: pytrainc {per[0]:.2f} ms, torch {per[1]:.2f} ms"
                )
            lines.append(msg)
    if lines:
        print("\n" + "\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test, < 30 s)")
    parser.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="threads for both frameworks (default: all cores, %(default)s here)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timing samples per row, the median is reported (default 5; --quick 2)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="before each row wait up to this long for an idle machine (default 120; --quick 0)",
    )
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument(
        "--torch-optimizer",
        choices=["fused", "foreach", "default"],
        default="fused",
        help="PyTorch optimizer implementation (default: fused, its fastest on CPU)",
    )
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)

    if opts._worker:
        args = json.loads(opts._worker)
        job = {"check": job_check, "time": job_time}[args["job"]]
        print(RESULT_MARK + json.dumps(job(args)), flush=True)
        return 0

    if opts.threads < 1:
        parser.error(f"--threads must be >= 1. Received: {opts.threads}")
    repeats = opts.repeats or (2 if opts.quick else 5)
    if repeats < 1:
        parser.error(f"--repeats must be >= 1. Received: {repeats}")
    wait_idle = opts.wait_idle if opts.wait_idle is not None else (0.0 if opts.quick else 120.0)
    min_sample_s = 0.05 if opts.quick else 0.5
    t_start = time.perf_counter()

    def print_header(info):
        print(
            f"machine: {cpu_model()}, nproc={os.cpu_count()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, NumPy {info['numpy']}"
        )
        print(f"threads: {opts.threads} for both frameworks")
        print(f"pytrainc {info['pytrainc']}: {info['blas']['config']} (num_threads={info['blas']['num_threads']})")
        openblas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
        if openblas_env:
            print("  environment: " + " ".join(f"{k}={v}" for k, v in sorted(openblas_env.items())))
        print(
            f"torch {info['torch']} (CPU capability {info['torch_cpu']}, {opts.torch_optimizer} optimizer): "
            f"{info['torch_parallel']}",
            flush=True,
        )

    rows = []
    for name in opts.cases:
        case = dict(CASES[name], **(QUICK[name] if opts.quick else {}))
        check = run_worker("check", case=case, threads=opts.threads)
        if name == opts.cases[0]:
            print_header(check["versions"])
        for res in check["results"]:
            peer = f" vs {res['peer']}" if res["peer"] != "torch" else ""
            msg = (
                f"{name}{peer} batch {res['batch_size']}: {CHECK_BATCHES} batches x {CHECK_EPOCHS} epochs, "
                f"shuffle=False, loss and val_loss max rel diff {res['rel_err']:.1e} "
                f"(weights max abs diff {res['weight_diff']:.1e})"
            )
            if not res["rel_err"] <= CHECK_RTOL:
                print(
                    f"check FAILED: {msg} > {CHECK_RTOL:g}\n  pytrainc: {res['pytrainc']}\n  torch:    {res['torch']}",
                    file=sys.stderr,
                )
                return 1
            print(f"check ok: {msg}")
        for bs in case["batch_sizes"]:
            steps = -(-case["n_train"] // bs)
            pair = {}
            for framework in ["pytrainc"] + torch_variants(case):
                if wait_idle > 0 and not wait_for_idle(wait_idle):
                    print(
                        f"note: the machine stayed busy for {wait_idle:.0f} s; timing {name}/{bs}/{framework} anyway",
                        flush=True,
                    )
                res = run_worker(
                    "time",
                    case=case,
                    framework=framework,
                    batch_size=bs,
                    threads=opts.threads,
                    repeats=repeats,
                    torch_optimizer=opts.torch_optimizer,
                    min_sample_s=min_sample_s,
                    max_samples=repeats if opts.quick else 3 * repeats,
                )
                t = statistics.median(res["times"])
                pair[framework] = {
                    "case": name,
                    "batch_size": bs,
                    "framework": framework,
                    "fit_s": t,
                    "epoch_ms": 1e3 * t / case["epochs"],
                    "step_us": 1e6 * t / (case["epochs"] * steps),
                    "cpu_step_us": 1e6 * statistics.median(res["cpu_times"]) / (case["epochs"] * steps),
                    "samples_per_s": case["n_train"] * case["epochs"] / t,
                    "spread": (max(res["times"]) - min(res["times"])) / t,
                    "mem_bytes": res["mem_bytes"],
                    "mem_method": res["mem_method"],
                    "busy": res["busy"],
                    "discarded": res["discarded"],
                    "other_cores": res["other_cores"],
                    "saves": res["saves"],
                }
            # The peer is PyTorch's fastest variant measured (cnn: NCHW or channels_last).
            peer = min(torch_variants(case), key=lambda f: pair[f]["fit_s"])
            pair["pytrainc"]["ratio"] = pair[peer]["fit_s"] / pair["pytrainc"]["fit_s"]
            if len(torch_variants(case)) > 1:
                pair["pytrainc"]["peer"] = peer
            rows += list(pair.values())

    print()
    print(format_table(rows))
    methods = sorted({r["mem_method"] for r in rows})
    print(
        f"\nstep = fit time / (epochs x batches per epoch), validation included; cpu = CPU time of the process "
        f"(all its threads, spinning included) per step; median of {repeats} timing "
        f"samples after one warm-up fit, each row and framework in a fresh process; spread = (max - min) / "
        f"median; peak_extra = RSS high-water mark during the warm-up fit - RSS before it "
        f"({', '.join(methods)}); torch/pytrainc > 1 means pytrainc is faster. Total "
        f"{time.perf_counter() - t_start:.0f} s."
    )
    if any(len(torch_variants(CASES[r["case"]])) > 1 for r in rows):
        print(
            "torch = NCHW (contiguous) tensors, torch-cl = memory_format=torch.channels_last; the ratio is "
            "against the faster of the two, named in parentheses."
        )
    print_overheads(rows)
    retaken = [r for r in rows if r["discarded"]]
    if retaken:
        print(
            "note: samples taken while other processes used the CPU were discarded and retaken: "
            + ", ".join(f"{r['case']}/{r['batch_size']}/{r['framework']} ({r['discarded']})" for r in retaken)
        )
    busy = [r for r in rows if r["busy"]]
    if busy:
        print(
            "WARNING: other processes used the CPU during every sample of these rows, so their timings are "
            "not trustworthy (rerun on an idle machine): "
            + ", ".join(
                f"{r['case']}/{r['batch_size']}/{r['framework']} (up to {r['other_cores']:.2f} cores)" for r in busy
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
