"""The Dropout example of seed document 003 (section 4.5), with only the import
line changed: `import tensorflow as tf` -> `import pytrainc as tf`.

`pytrainc.keras` is pytrainc itself, so `tf.keras.Sequential`,
`tf.keras.layers.Dense` and `tf.keras.layers.Dropout` resolve to pytrainc's.

One thing differs from the seed: its labels `np.array([1, 2, 3])` are class
ids, which categorical cross-entropy cannot take (Keras rejects them too:
target and output shapes differ). The seed's call is kept below and shows
pytrainc's error; the model is then trained on the same classes one-hot
encoded (ids 0, 1, 2 for the three classes).
"""

import numpy as np
import pytrainc as tf  # was: import tensorflow as tf


def dropout_model(X, y, input_size, hidden_size, output_size, dropout_rate):
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(hidden_size, input_dim=input_size, activation="relu"),
            tf.keras.layers.Dropout(dropout_rate),
            tf.keras.layers.Dense(output_size, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=10, batch_size=32)
    return model


# 示例数据 (the seed's data)
X = np.array([[1, 2], [2, 3], [3, 4]])
y = np.array([1, 2, 3])

if __name__ == "__main__":
    tf.utils.set_random_seed(0)
    try:
        model = dropout_model(X, y, input_size=2, hidden_size=4, output_size=3, dropout_rate=0.5)
    except ValueError as err:
        print("The seed's integer labels are refused:", err)
    # The same three classes, one-hot encoded.
    model = dropout_model(
        X, tf.keras.utils.to_categorical(y - 1, 3), input_size=2, hidden_size=4, output_size=3, dropout_rate=0.5
    )
    print("predictions:", np.round(model.predict(X, verbose=0).astype(float), 3).tolist())
