"""Seed 001 (早停法与模型保存, PyTorch): the seed's training loop rewritten with pytrainc.

The seed's two snippets (4.1 早停法实例 and 4.2 模型保存实例) are one loop here:
each epoch trains on the whole training batch, evaluates on the validation
set, stops as soon as the validation loss rises, and saves the state dict.
The seed leaves train_data / val_data undefined; they are synthesized with
NumPy below.

PyTorch -> pytrainc:
    nn.Linear(10, 20)                  -> Dense(20) (kernel (in, out) = Linear.weight.T)
    nn.MSELoss(), optim.SGD(lr=0.01)   -> model.compile(loss='mse', optimizer=SGD(learning_rate=0.01))
    zero_grad/forward/backward/step    -> model.train_on_batch(x, y)
    model.eval(); torch.no_grad()      -> model.test_on_batch(x, y)
    torch.save(model.state_dict(), 'model.pth')
                                       -> pytrainc.save(model.state_dict(), 'model.safetensors')

Run: python examples/seed001_pytorch_loop.py
With PYTRAINC_EXAMPLE_QUICK=1 (or --quick) it runs at most 100 epochs instead
of the seed's 1000. The file is written to the current directory.
"""

import os
import sys

import numpy as np

import pytrainc
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential
from pytrainc.optimizers import SGD

QUICK = os.environ.get("PYTRAINC_EXAMPLE_QUICK") == "1" or "--quick" in sys.argv[1:]
EPOCHS = 100 if QUICK else 1000


# 定义模型
def Net():
    # fc1 = Linear(10, 20), relu; fc2 = Linear(20, 1)
    return Sequential(
        [
            Input((10,)),
            Dense(20, activation="relu", name="fc1"),
            Dense(1, name="fc2"),
        ]
    )


# 训练和验证数据 (the seed leaves them undefined): a noisy linear target,
# few training samples so that the model eventually overfits
rng = np.random.default_rng(0)
true_w = rng.normal(size=(10, 1))
train_data = rng.normal(size=(32, 10)).astype(np.float32)
train_labels = (train_data @ true_w + 0.5 * rng.normal(size=(32, 1))).astype(np.float32)
val_data = rng.normal(size=(64, 10)).astype(np.float32)
val_labels = (val_data @ true_w + 0.5 * rng.normal(size=(64, 1))).astype(np.float32)

# 初始化模型、损失函数和优化器
pytrainc.utils.set_random_seed(0)
model = Net()
model.compile(loss="mse", optimizer=SGD(learning_rate=0.01))  # criterion = nn.MSELoss(), optim.SGD(lr=0.01)

# 训练模型
best_val_loss = float("inf")  # the seed compares before assigning; start from +inf
epoch = -1
for epoch in range(EPOCHS):
    # 训练
    loss = model.train_on_batch(train_data, train_labels)

    # 验证
    val_loss = model.test_on_batch(val_data, val_labels)

    # 早停法
    if val_loss > best_val_loss:
        break
    best_val_loss = val_loss

    # 保存模型
    pytrainc.save(model.state_dict(), "model.safetensors")

stopped = val_loss > best_val_loss
print(f"epochs run: {epoch + 1} of {EPOCHS}")
print(f"stopped early: {stopped}")
print(f"last train loss: {loss:.6f}")
print(f"best val_loss: {best_val_loss:.6f}")
print(f"saved state dict: {os.path.abspath('model.safetensors')} with keys {list(model.state_dict())}")
