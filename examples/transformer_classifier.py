"""A small Transformer classifier: token and position embeddings, one MultiHeadAttention block
with residual connections and LayerNormalization, GlobalAveragePooling1D and a sigmoid Dense,
as Keras's "text classification with Transformer" example, on generated sequences.

Each sequence holds random filler ids and a few "signal" ids of two kinds; the label is whether
kind A outnumbers kind B, so the model must compare counts over the whole sequence (attention
and the pooling see every position; the position embedding is learned).

Run `python examples/transformer_classifier.py` (6,000 sequences of 64 ids), or add `--quick`
for a smoke run of a few seconds.
"""

import argparse

import numpy as np

import pytrainc as ptc

VOCAB, KIND_A, KIND_B = 200, (2, 3, 4), (5, 6, 7)


def generate(n, maxlen, seed=0):
    """n sequences (n, maxlen) of float ids and labels (n, 1): 1 where kind A ids outnumber kind B."""
    rng = np.random.default_rng(seed)
    x = rng.integers(8, VOCAB, size=(n, maxlen)).astype(np.float32)
    y = np.zeros((n, 1), np.float32)
    for i in range(n):
        a, b = rng.choice(5, size=2, replace=False)
        slots = rng.choice(maxlen, size=a + b, replace=False)
        x[i, slots[:a]] = rng.choice(KIND_A, size=a)
        x[i, slots[a:]] = rng.choice(KIND_B, size=b)
        y[i, 0] = float(a > b)
    return x, y


class TokenAndPositionEmbedding(ptc.layers.Layer):
    """Embedding of each id plus a learned embedding of its position (traced from pytrainc.ops)."""

    def __init__(self, maxlen, vocab, dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab, self.dim = maxlen, vocab, dim
        self.tokens = ptc.layers.Embedding(vocab, dim)

    def build(self, input_shape):
        self.positions = self.add_weight("positions", (self.maxlen, self.dim), "uniform")

    def call(self, ids):
        return ptc.ops.add(self.tokens(ids), self.positions)

    def get_config(self):
        return {**super().get_config(), "maxlen": self.maxlen, "vocab": self.vocab, "dim": self.dim}


def build_model(maxlen, dim=32, heads=2, ff=64):
    L = ptc.layers
    ids = L.Input((maxlen,))
    h = TokenAndPositionEmbedding(maxlen, VOCAB, dim)(ids)
    attention = L.MultiHeadAttention(num_heads=heads, key_dim=dim // heads)(h, h)
    h = L.LayerNormalization(epsilon=1e-6)(h + L.Dropout(0.1)(attention))
    feed = L.Dense(dim)(L.Dense(ff, activation="relu")(h))
    h = L.LayerNormalization(epsilon=1e-6)(h + L.Dropout(0.1)(feed))
    h = L.Dense(16, activation="relu")(L.GlobalAveragePooling1D()(h))
    model = ptc.models.Model(ids, L.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer=ptc.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run of a few seconds")
    args = parser.parse_args(argv)
    n, maxlen, epochs = (1500, 24, 8) if args.quick else (6000, 64, 10)
    ptc.utils.set_random_seed(0)
    x, y = generate(n, maxlen)
    split = n * 3 // 4
    model = build_model(maxlen)
    model.fit(x[:split], y[:split], epochs=epochs, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x[split:], y[split:], verbose=0)
    print(f"validation loss: {loss:.4f}")
    print(f"validation accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
