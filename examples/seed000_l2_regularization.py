"""The L2 regularization and model saving snippets of seed document 000
(sections 4.3 and 4.5), with only the import lines changed from keras to
pytrainc. The seed leaves the data undefined; random data stands in."""

import os
import sys

import numpy as np
from pytrainc.layers import Dense  # the seed assumes these two lines
from pytrainc.models import Sequential
from pytrainc.regularizers import l2  # was: from keras.regularizers import l2
from pytrainc.models import save_model  # was: from keras.models import save_model

QUICK = os.environ.get("PYTRAINC_EXAMPLE_QUICK") == "1" or "--quick" in sys.argv
X_train = np.random.random((640, 100))
y_train = np.eye(10)[np.random.randint(10, size=640)]

model = Sequential()
model.add(Dense(64, input_dim=100, activation="relu", kernel_regularizer=l2(0.01)))
model.add(Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

model.fit(X_train, y_train, epochs=5 if QUICK else 100, batch_size=64)
save_model(model, "model.h5")

# The reported loss includes the penalty 0.01 * sum(kernel**2) of the first layer.
penalty = 0.01 * float(np.sum(model.layers[0].kernel.numpy() ** 2))
print(f"L2 penalty in the loss: {penalty:.4f}")
