"""Seed 002 (早停法与模型保存, Keras): the Keras script of the seed document with
only its import lines changed to pytrainc.

Run: python examples/seed002_keras_early_stopping.py
With PYTRAINC_EXAMPLE_QUICK=1 (or --quick) the run is shortened to 300 epochs
and patience 20; by default it uses the seed's numbers (1000 epochs, patience 100).
"""

from pytrainc.models import Sequential
from pytrainc.layers import Dense
from pytrainc.callbacks import EarlyStopping
import numpy as np

# 创建模型
model = Sequential()
model.add(Dense(10, input_dim=8, activation="relu"))
model.add(Dense(1, activation="sigmoid"))

# 设定停止阈值
stop_early = EarlyStopping(monitor="val_loss", patience=100)

# 设定训练参数
batch_size = 10
epochs = 1000

# --- pytrainc: optional quick mode for tests (not in the seed) ---
import os, sys  # noqa: E401,E402

if os.environ.get("PYTRAINC_EXAMPLE_QUICK") == "1" or "--quick" in sys.argv[1:]:
    stop_early = EarlyStopping(monitor="val_loss", patience=20)
    epochs = 300
# --- end of quick mode ---

# 设定训练和验证数据
x_train = np.random.random((1000, 8))
y_train = np.random.randint(2, size=(1000, 1))
x_val = np.random.random((100, 8))
y_val = np.random.randint(2, size=(100, 1))

# 训练模型
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(
    x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val), callbacks=[stop_early]
)

# --- pytrainc: report how the run ended (added after the seed's code) ---
epochs_run = len(model.history.history["val_loss"])
print(f"epochs run: {epochs_run} of {epochs}")
print(f"stopped early: {epochs_run < epochs}")
print(f"best val_loss: {stop_early.best:.6f} at epoch {stop_early.best_epoch + 1}")
