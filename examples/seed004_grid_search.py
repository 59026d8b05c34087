"""Seed document 004's hyperparameter search (section 4.3) with `pytrainc.tuning.GridSearch`.

The seed loops over learning_rate [0.001, 0.01, 0.1] x batch_size [32, 64, 128]
x num_epochs [10, 20, 30] and keeps the best parameters. Here the same grid is
a `HyperModel`: `build(hp)` chooses the learning rate, `fit(hp, ...)` the batch
size and the epochs, and `GridSearch` runs the 27 combinations and keeps the
best validation accuracy. Two fixes to the seed's loop: it compiled one model
again and again, so each combination went on training the previous one's
weights (here each trial builds a fresh model, seeded from the search seed and
its trial id); and it kept the last epoch's *training* accuracy, while its
text asks for validation accuracy (here `objective="val_accuracy"`, at the
best epoch, as Keras Tuner scores a trial).

Data: CIFAR-10 when `pytrainc.datasets` has it cached (this script never
downloads: it reads the cache with PYTRAINC_OFFLINE=1); otherwise a small
generated stand-in of the same kind (10 classes of noisy 32x32x3 images, each
class a smooth pattern). `--quick` uses 8x8 images and a few hundred samples,
so the 27 trials take seconds. `--n-jobs N` runs N trials at once. The search
lives in `./seed004_search`; run the script again and it repeats no finished
trial (pass `--overwrite` to start afresh).

    python examples/seed004_grid_search.py --quick
"""

import argparse
import os

import numpy as np
import pytrainc as tf
from pytrainc.tuning import GridSearch, HyperModel


# 定义一个简单的网络结构 (seed 004, section 4.1)
def simple_network(input_shape, num_classes):
    inputs = tf.keras.layers.Input(shape=input_shape)
    x = tf.keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = tf.keras.layers.MaxPooling2D((2, 2))(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(64, activation="relu")(x)
    x = tf.keras.layers.Dense(num_classes, activation="softmax")(x)
    return tf.keras.Model(inputs, x)


class Seed004Grid(HyperModel):
    """The seed's search space: the learning rate when building, batch size and epochs when fitting."""

    def __init__(self, input_shape, num_classes):
        self.input_shape, self.num_classes = input_shape, num_classes

    def build(self, hp):
        model = simple_network(self.input_shape, self.num_classes)
        model.compile(
            optimizer=tf.keras.optimizers.Adam(learning_rate=hp.Choice("learning_rate", [0.001, 0.01, 0.1])),
            loss=tf.keras.losses.categorical_crossentropy,
            metrics=["accuracy"],
        )
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(
            *args,
            batch_size=hp.Choice("batch_size", [32, 64, 128]),
            epochs=hp.Choice("num_epochs", [10, 20, 30]),
            **kwargs,
        )


def cached_cifar10():
    """CIFAR-10 from the cache, or None: never a download."""
    before = os.environ.get("PYTRAINC_OFFLINE")
    os.environ["PYTRAINC_OFFLINE"] = "1"
    try:
        return tf.keras.datasets.cifar10.load_data()
    except (FileNotFoundError, ValueError) as err:
        print(f"CIFAR-10 is not cached ({str(err)[:100]}...); using a generated stand-in.")
        return None
    finally:
        if before is None:
            del os.environ["PYTRAINC_OFFLINE"]
        else:
            os.environ["PYTRAINC_OFFLINE"] = before


def stand_in(n_train, n_test, size, seed=0):
    """10 classes of size x size x 3 uint8 images: a smooth pattern per class plus strong noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(10, 4, 4, 3))
    patterns = np.kron(coarse, np.ones((1, size // 4, size // 4, 1)))  # (10, size, size, 3)

    def draw(n):
        labels = rng.integers(0, 10, n)
        images = 128 + 6 * patterns[labels] + 60 * rng.normal(size=(n, size, size, 3))
        return np.clip(images, 0, 255).astype(np.uint8), labels[:, None]

    return draw(n_train), draw(n_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8x8 stand-in images, a few hundred samples")
    parser.add_argument("--n-jobs", type=int, default=1, help="trials run at once (worker processes)")
    parser.add_argument("--overwrite", action="store_true", help="start the search afresh")
    args = parser.parse_args()

    data = None if args.quick else cached_cifar10()
    if data is None:
        data = stand_in(400, 200, 8) if args.quick else stand_in(2000, 500, 32)
    (x_train, y_train), (x_test, y_test) = data
    x_train, x_test = x_train / 255.0, x_test / 255.0
    y_train, y_test = tf.keras.utils.to_categorical(y_train, 10), tf.keras.utils.to_categorical(y_test, 10)

    tuner = GridSearch(
        Seed004Grid(x_train.shape[1:], 10),
        objective="val_accuracy",
        directory=".",
        project_name="seed004_search",
        overwrite=args.overwrite,
        seed=4,
        n_jobs=args.n_jobs,
        threads_per_trial=1,
    )  # one BLAS thread: fastest for this small CNN, by far on a busy machine
    tuner.search(x_train, y_train, validation_data=(x_test, y_test))
    tuner.results_summary(3)
    best = tuner.get_best_hyperparameters(1)[0].values
    print("best_params:", best)
    model = tuner.get_best_models(1)[0]
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"best model (from its checkpoint) val_accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
