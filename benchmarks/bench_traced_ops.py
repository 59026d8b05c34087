"""A dense model written with pytrainc.ops (a custom layer: ops.matmul + bias + ops.relu) against
the same model from Dense(activation="relu"), same weights, same data, in the same run; and a
custom layer that draws from its own SeedGenerator (x + random.normal(...)) against the built-in
GaussianNoise with the same seed (they draw the same numbers).

Checks first that each pair gives the same loss trajectory (rtol 1e-4), then times `fit` and prints
the median seconds per epoch and the ratio traced/built-in (issue #9 asks for at most 1.2).

    python benchmarks/bench_traced_ops.py            # 784 -> 256 -> 128 -> 10, 8192 samples, batch 64
    python benchmarks/bench_traced_ops.py --quick    # tiny sizes: a smoke run
"""

import argparse
import os
import statistics
import time

import numpy as np

import pytrainc as keras
from pytrainc import ops


class OpsDense(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return ops.relu(ops.add(ops.matmul(inputs, self.w), self.b))


def models(sizes):
    inp = keras.Input((sizes[0],))
    h = inp
    for units in sizes[1:-1]:
        h = OpsDense(units)(h)
    traced = keras.Model(inp, keras.layers.Dense(sizes[-1], activation="softmax")(h))
    inp = keras.Input((sizes[0],))
    h = inp
    for units in sizes[1:-1]:
        h = keras.layers.Dense(units, activation="relu")(h)
    builtin = keras.Model(inp, keras.layers.Dense(sizes[-1], activation="softmax")(h))
    builtin.set_weights(traced.get_weights())
    for m in (traced, builtin):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return {"traced (ops)": traced, "Dense(relu)": builtin}


class OpsNoise(keras.layers.Layer):
    def __init__(self, stddev, seed, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        return inputs + keras.random.normal(ops.shape(inputs), stddev=self.stddev, seed=self.seed_generator)


def noise_models(sizes):
    """Dense(relu) -> noise -> ... with the noise traced (OpsNoise) or built in (GaussianNoise), same seeds."""
    out = {}
    for key, noise in (("traced noise", OpsNoise), ("GaussianNoise", keras.layers.GaussianNoise)):
        inp = keras.Input((sizes[0],))
        h = inp
        for k, units in enumerate(sizes[1:-1]):
            h = keras.layers.Dense(units, activation="relu")(h)
            h = noise(0.1, seed=k + 1)(h)
        out[key] = keras.Model(inp, keras.layers.Dense(sizes[-1], activation="softmax")(h))
    traced, builtin = out.values()
    builtin.set_weights(traced.get_weights())
    for m in (traced, builtin):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return out


def run_pair(ms, x, y, batch, repeats):
    """Checks, then times the pair {traced name: model, built-in name: model}; returns whether the check passed."""
    hist = {k: m.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0).history["loss"] for k, m in ms.items()}
    a, b = hist.values()
    ok = np.allclose(a, b, rtol=1e-4)
    print(f"check {'ok' if ok else 'FAILED'}: first-epoch losses {a} vs {b}")
    times = {k: [] for k in ms}
    for _ in range(repeats):
        for k, m in ms.items():  # interleaved, so load changes hit both alike
            t0 = time.perf_counter()
            m.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{'model':<14} {'s/epoch (median)':>17}   load average {os.getloadavg()[0]:.2f}")
    for k, v in med.items():
        print(f"{k:<14} {v:17.4f}")
    (traced, t), (_, b) = med.items()
    print(f"traced/built-in ({traced}): {t / b:.3f}")
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes, n, batch = ((32, 16, 8, 4), 512, 32) if args.quick else ((784, 256, 128, 10), 8192, 64)
    r = np.random.default_rng(0)
    x = r.random((n, sizes[0]), dtype=np.float32)
    y = r.integers(0, sizes[-1], n).astype(np.float32)
    ok = all([run_pair(ms, x, y, batch, args.repeats) for ms in (models(sizes), noise_models(sizes))])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
