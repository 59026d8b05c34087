"""IMDB-style sentiment classification: Embedding -> LSTM -> Dense(sigmoid), as the Keras
IMDB example, on generated reviews (no download).

A review is a sequence of word ids (0 is padding, 1 marks the start, as
`keras.datasets.imdb`); a few ids carry sentiment (positive or negative words),
the rest is neutral filler. The label is whether the positive words outnumber the
negative ones, so the model must count over the sequence, not look at one step.

Run `python examples/imdb_lstm.py` (8,000 reviews of 100 words), or add `--quick`
for a smoke run of a few seconds.
"""

import argparse

import numpy as np

import pytrainc as ptc

VOCAB, POSITIVE, NEGATIVE = 1000, range(2, 12), range(12, 22)


def generate_reviews(n, maxlen, seed=0):
    """n padded reviews (n, maxlen) of float word ids and their labels (n, 1)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, maxlen), np.float32)
    y = np.zeros((n, 1), np.float32)
    for i in range(n):
        length = rng.integers(maxlen // 2, maxlen + 1)
        words = rng.integers(22, VOCAB, size=length)
        pos, neg = rng.integers(0, 6, size=2)
        if pos == neg:
            pos += 1
        slots = rng.choice(np.arange(1, length), size=min(pos + neg, length - 1), replace=False)
        words[slots[:pos]] = rng.choice(POSITIVE, size=len(slots[:pos]))
        words[slots[pos:]] = rng.choice(NEGATIVE, size=len(slots[pos:]))
        words[0] = 1
        x[i, maxlen - length :] = words  # pre-padding, as keras.utils.pad_sequences
        y[i, 0] = float(pos > neg)
    return x, y


def build_model(maxlen, units=32, embed=32):
    model = ptc.models.Sequential(
        [
            ptc.layers.Input((maxlen,)),
            ptc.layers.Embedding(VOCAB, embed),
            ptc.layers.LSTM(units),
            ptc.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=ptc.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run of a few seconds")
    args = parser.parse_args(argv)
    n, maxlen, epochs = (1200, 30, 6) if args.quick else (8000, 100, 8)
    ptc.utils.set_random_seed(0)
    x, y = generate_reviews(n, maxlen)
    split = n * 3 // 4
    model = build_model(maxlen, units=16 if args.quick else 32)
    model.fit(x[:split], y[:split], epochs=epochs, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x[split:], y[split:], verbose=0)
    print(f"validation loss: {loss:.4f}")
    print(f"validation accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
