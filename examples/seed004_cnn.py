"""The CNN of seed document 004 (sections 4.1 and 4.2) with the import line
changed: `import tensorflow as tf` -> `import pytrainc as tf`.

Two fixes the seed itself needs (it does not run in Keras either):
`simple_network` returns the output tensor, so here it returns
`tf.keras.Model(inputs, outputs)`; and the seed builds the model for
224x224x3 images while feeding 32x32x3 CIFAR-10, so input_shape is (32, 32, 3).

CIFAR-10 is read from pytrainc's dataset cache (downloaded when the network
allows; see pytrainc.datasets). Without it, random images of the same shape
stand in, so the example still runs. `--quick` trains on 2,000 images for 1 epoch.
"""

import sys

import numpy as np
import pytrainc as tf  # was: import tensorflow as tf

QUICK = "--quick" in sys.argv


# 定义一个简单的网络结构
def simple_network(input_shape, num_classes):
    inputs = tf.keras.layers.Input(shape=input_shape)
    x = tf.keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = tf.keras.layers.MaxPooling2D((2, 2))(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(64, activation="relu")(x)
    x = tf.keras.layers.Dense(num_classes, activation="softmax")(x)
    return tf.keras.Model(inputs, x)


def load_cifar10():
    try:
        return tf.keras.datasets.cifar10.load_data()
    except (FileNotFoundError, ValueError) as err:
        print(f"CIFAR-10 is not available ({str(err)[:120]}...); using random images instead.")
        rng = np.random.default_rng(0)
        return (
            (rng.integers(0, 256, (10000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, (10000, 1))),
            (rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, (1000, 1))),
        )


# 定义一个简单的训练过程
def train_model(model, input_shape, num_classes, batch_size, learning_rate):
    # 加载数据集
    (x_train, y_train), (x_test, y_test) = load_cifar10()
    if QUICK:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
    x_train = x_train.reshape(x_train.shape[0], input_shape[0], input_shape[1], input_shape[2])
    x_test = x_test.reshape(x_test.shape[0], input_shape[0], input_shape[1], input_shape[2])
    x_train, x_test = x_train / 255.0, x_test / 255.0
    y_train, y_test = (
        tf.keras.utils.to_categorical(y_train, num_classes),
        tf.keras.utils.to_categorical(y_test, num_classes),
    )

    # 编译模型
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        loss=tf.keras.losses.categorical_crossentropy,
        metrics=["accuracy"],
    )

    # 训练模型
    return model.fit(
        x_train, y_train, batch_size=batch_size, epochs=1 if QUICK else 10, validation_data=(x_test, y_test)
    )


if __name__ == "__main__":
    input_shape = (32, 32, 3)
    num_classes = 10
    model = simple_network(input_shape, num_classes)
    history = train_model(model, input_shape, num_classes, batch_size=32, learning_rate=0.001)
    print("final val_accuracy:", round(history.history["val_accuracy"][-1], 4))
