"""Callbacks: hooks into `fit()`, `evaluate()` and `predict()`.

The names and semantics follow Keras 3 (`keras/src/callbacks/`), one callback
per module as there: `Callback`, `CallbackList`, `History`, `ProgbarLogger`,
`MonitorCallback`, `EarlyStopping`, `ModelCheckpoint`, `ReduceLROnPlateau`,
`LearningRateScheduler`, `TerminateOnNaN`, `CSVLogger`, `LambdaCallback`,
`TensorBoard` and `BackupAndRestore`, plus `BatchSizeScheduler`, which Keras
lacks, and `KerasCallback`, which runs a Keras-style callback that is not a
pytrainc `Callback` (for example optuna-integration's `KerasPruningCallback`).
pytrainc-specific rules:

- A monitored value that is not finite (NaN, +inf or -inf) never counts as an
  improvement, in either direction.
- `CallbackList.has_train_batch_hooks` (and the test/predict variants) tell the
  training loop whether any callback needs per-batch calls. When none does, the
  whole epoch runs in one call to the C engine. A callback can declare its need
  per instance with the `_train_batch_hooks_needed` attribute (for example
  `ModelCheckpoint` needs batches only with an integer `save_freq`).
- A callback whose class sets `_engine_batch_hook` (a kind such as
  `"nonfinite_loss"`) is called by the engine's own check instead of after
  every batch: see `CallbackList.on_engine_batch_end`.
- `on_train_progress(steps_done, logs)` is called by `fit()` between chunks of
  an epoch run in C, for progress display; it is not a batch hook.
- `fit()` reaches the callbacks that back up training through
  `Callback.set_callbacks`, `backup_interval`, `on_backup_point` and
  `resume_point`, and each callback class declares the state a backup saves
  in `_backup_state` (see `BackupAndRestore`).
"""

from pytrainc.callbacks.backup_and_restore import BackupAndRestore
from pytrainc.callbacks.batch_size_scheduler import BatchSizeScheduler
from pytrainc.callbacks.callback import Callback
from pytrainc.callbacks.callback_list import CallbackList
from pytrainc.callbacks.csv_logger import CSVLogger
from pytrainc.callbacks.early_stopping import EarlyStopping
from pytrainc.callbacks.history import History
from pytrainc.callbacks.keras_callback import KerasCallback
from pytrainc.callbacks.lambda_callback import LambdaCallback
from pytrainc.callbacks.learning_rate_scheduler import LearningRateScheduler
from pytrainc.callbacks.model_checkpoint import ModelCheckpoint
from pytrainc.callbacks.monitor_callback import MonitorCallback
from pytrainc.callbacks.progbar_logger import ProgbarLogger
from pytrainc.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from pytrainc.callbacks.tensorboard import TensorBoard
from pytrainc.callbacks.terminate_on_nan import TerminateOnNaN
from pytrainc.callbacks.swap_ema_weights import SwapEMAWeights

__all__ = [
    "BackupAndRestore",
    "BatchSizeScheduler",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "KerasCallback",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
    "SwapEMAWeights",
]
