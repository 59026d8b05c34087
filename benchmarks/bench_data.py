"""Per-step training time of the same batches given as arrays, as a PyDataset and as a generator.

Arrays train in one engine call per epoch; batched data is read by a background
thread into a bounded queue and each engine call trains on the batches ready.
The check first: every input kind must give the arrays' weights bitwise (same
batches, same order, no shuffle). Then each kind is timed `--repeats` times,
interleaved, and the table shows median ms/step and speed relative to arrays
(the target of issue 12 is >= 0.9x).

    python benchmarks/bench_data.py            # 20,000 samples, batch 64 and 256, a minute or two
    python benchmarks/bench_data.py --quick    # 4,096 samples: a smoke test
    python benchmarks/bench_data.py --threads 1  # one BLAS thread: steadier on a busy machine
"""

import argparse
import os
import statistics
import time

import numpy as np

import pytrainc
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential
from pytrainc.utils import PyDataset


class Slices(PyDataset):
    def __init__(self, x, y, batch):
        super().__init__()
        self.x, self.y, self.batch = x, y, batch

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        part = slice(i * self.batch, (i + 1) * self.batch)
        return self.x[part], self.y[part]


def generator(x, y, batch):
    for start in range(0, len(x), batch):
        yield x[start : start + batch], y[start : start + batch]


def model():
    pytrainc.utils.set_random_seed(0)
    m = Sequential([Input((784,)), Dense(256, activation="relu"), Dense(128, activation="relu"), Dense(10)])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m


def run(kind, x, y, batch, epochs):
    m = model()
    start = time.perf_counter()
    if kind == "arrays":
        m.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    elif kind == "pydataset":
        m.fit(Slices(x, y, batch), epochs=epochs, verbose=0)
    else:
        for _ in range(epochs):  # a generator is one pass: a new one per epoch
            m.fit(generator(x, y, batch), epochs=1, verbose=0)
    return time.perf_counter() - start, m


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="OpenBLAS threads (default: its own)")
    args = parser.parse_args()
    if args.threads:
        pytrainc.set_num_threads(args.threads)
    n, epochs = (4096, 1) if args.quick else (20000, 2)
    r = np.random.default_rng(0)
    x = r.random((n, 784), dtype=np.float32)
    y = r.integers(0, 10, size=n).astype(np.float32)
    kinds = ("arrays", "pydataset", "generator")
    print(
        f"load average {os.getloadavg()[0]:.2f}, {n} samples, {epochs} epoch(s), {args.repeats} repeats, "
        f"{pytrainc.blas_info()['num_threads']} BLAS thread(s)"
    )
    print(f"{'batch':>6} {'input':>10} {'ms/step':>9} {'vs arrays':>10}")
    for batch in (64, 256):
        reference = run("arrays", x, y, batch, epochs)[1].get_weights()
        for kind in kinds[1:]:
            got = run(kind, x, y, batch, epochs)[1].get_weights()
            same = all(np.array_equal(a, b) for a, b in zip(reference, got))
            print(f"check {'ok' if same else 'FAILED'}: {kind} weights == arrays weights (batch {batch})")
        times = {k: [] for k in kinds}
        for _ in range(args.repeats):
            for kind in kinds:
                times[kind].append(run(kind, x, y, batch, epochs)[0])
        steps = epochs * -(-n // batch)
        base = statistics.median(times["arrays"])
        for kind in kinds:
            t = statistics.median(times[kind])
            print(f"{batch:>6} {kind:>10} {1000 * t / steps:>9.3f} {base / t:>9.2f}x")


if __name__ == "__main__":
    main()
