"""`TensorBoard`: event files of metric curves and weight histograms."""

import itertools
import numbers
import os
import time

import numpy as np

from pytrainc.callbacks._util import _check_int, _fspath
from pytrainc.callbacks.callback import Callback


def _import_summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "The TensorBoard callback writes its event files with the "
            "`tensorboardX` package, which is not installed. Install it with "
            "`pip install tensorboardX` (and `pip install tensorboard` to view "
            "the logs: `tensorboard --logdir logs`)."
        ) from exc
    return SummaryWriter


def _scalar(value):
    """`value` as a float, or None when it is not a number (nothing to plot)."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# Event file names carry a time stamp in seconds and the host name; the pid
# and a counter keep two writers of one second apart.
_writer_ids = itertools.count()


class TensorBoard(Callback):
    """Writes logs for TensorBoard: metric curves and weight histograms.

    The event files are written with the `tensorboardX` package (pure Python,
    no TensorFlow needed), an optional dependency: `pip install tensorboardX`.
    View them with `tensorboard --logdir logs` (`pip install tensorboard`).

    As in Keras, the logs go to two sub-directories of `log_dir`, `train` and
    `validation`. At the end of every epoch each log key becomes a scalar
    named `epoch_<key>` at step `epoch` (from 0): training keys and the
    learning rate (`epoch_learning_rate`) under `train`, `val_` keys without
    their prefix under `validation`, so TensorBoard draws `epoch_loss` for
    both runs in one chart. With an integer `update_freq`, the running batch
    logs are written as `batch_<key>` every `update_freq` batches (which
    makes `fit()` run batch by batch). Every `histogram_freq` epochs, a
    histogram of every weight is written under `train` as
    `<weight name>/histogram`. After `model.evaluate()`, the results are
    written under `validation` as `evaluation_<key>_vs_iterations` at step
    `model.optimizer.iterations`.

    Args:
        log_dir: str or `os.PathLike`, the directory of the event files; do
            not share it with other callbacks. Defaults to `"logs"`.
        histogram_freq: Frequency, in epochs, of the weight histograms
            (written at epochs 0, `histogram_freq`, ...); 0 writes none.
            Defaults to `0`.
        write_graph: Accepted for compatibility with Keras; pytrainc writes
            no graph. Defaults to `True`.
        write_images: Not supported yet; must be `False`. Defaults to `False`.
        write_steps_per_second: Whether to log the training steps per second
            (`epoch_steps_per_second`, and `batch_steps_per_second` with an
            integer `update_freq`). Defaults to `False`.
        update_freq: `"epoch"`, `"batch"` (same as 1) or a positive integer:
            how often to write the metrics. Defaults to `"epoch"`.
        profile_batch: Profiling is not available in pytrainc; must be 0.
            Defaults to `0`.
        embeddings_freq: pytrainc has no Embedding layer; must be 0.
            Defaults to `0`.
        embeddings_metadata: Must be `None`. Defaults to `None`.

    Raises:
        ImportError: If `tensorboardX` is not installed.
        ValueError: For an unsupported option or a bad `update_freq`.

    Example:

    >>> tensorboard_callback = TensorBoard(log_dir="./logs", histogram_freq=1)
    >>> # model.fit(x, y, epochs=10, callbacks=[tensorboard_callback])
    >>> # Then: tensorboard --logdir ./logs
    """

    _transient = {"_writers": {}}  # a copy opens its own event files

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        owner = type(self).__name__
        self.log_dir = _fspath(owner, "log_dir", log_dir)
        self.histogram_freq = _check_int(owner, "histogram_freq", histogram_freq)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch":
            if isinstance(update_freq, bool) or not isinstance(update_freq, numbers.Integral) or update_freq < 1:
                raise ValueError(
                    "TensorBoard expects `update_freq` to be 'epoch', 'batch' or a "
                    f"positive integer (a number of batches). Received: update_freq={update_freq!r}"
                )
            update_freq = int(update_freq)
        if write_images:
            raise ValueError(
                "TensorBoard(write_images=True) is not supported by pytrainc yet. Received: write_images=True"
            )
        if profile_batch not in (0, None):
            raise ValueError(
                "TensorBoard profiling is not available in pytrainc (the C engine "
                f"has no profiler hooks): profile_batch must be 0. Received: profile_batch={profile_batch!r}"
            )
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError(
                "TensorBoard embeddings are not supported by pytrainc, which has no "
                "Embedding layer: embeddings_freq must be 0 and embeddings_metadata "
                f"None. Received: embeddings_freq={embeddings_freq!r}, "
                f"embeddings_metadata={embeddings_metadata!r}"
            )
        self._summary_writer_class = _import_summary_writer()
        self.write_graph = bool(write_graph)
        self.write_images = False
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.profile_batch = 0
        self.embeddings_freq = 0
        self.embeddings_metadata = None
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._in_fit = False
        self._epoch_start_time = None
        self._epoch_start_iterations = None
        self._batch_time = None

    @property
    def _train_batch_hooks_needed(self):
        return self.update_freq != "epoch"

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()

    def _writer(self, name):
        # Created on first use, so that no empty event file is left behind.
        writer = self._writers.get(name)
        if writer is None:
            directory = self._train_dir if name == "train" else self._val_dir
            writer = self._summary_writer_class(
                logdir=directory,
                filename_suffix=f".{os.getpid()}.{next(_writer_ids)}",
            )
            self._writers[name] = writer
        return writer

    def _close_writers(self):
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        return None if iterations is None else int(iterations)

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return _scalar(optimizer.learning_rate)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = time.time()
        self._epoch_start_iterations = self._iterations()
        self._batch_time = self._epoch_start_time

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        self._global_train_batch += 1
        step = self._global_train_batch
        if step % self.update_freq != 0:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar("batch_" + name, value, step)
        if self.write_steps_per_second:
            now = time.time()
            if self._batch_time is not None and now > self._batch_time:
                # Over the batches since the last write.
                writer.add_scalar("batch_steps_per_second", self.update_freq / (now - self._batch_time), step)
            self._batch_time = now

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if "learning_rate" not in train_logs:
            learning_rate = self._learning_rate()
            if learning_rate is not None:
                train_logs["learning_rate"] = learning_rate
        if self.write_steps_per_second and self._epoch_start_time is not None:
            iterations = self._iterations()
            elapsed = time.time() - self._epoch_start_time
            if iterations is not None and self._epoch_start_iterations is not None and elapsed > 0:
                train_logs["steps_per_second"] = (iterations - self._epoch_start_iterations) / elapsed
        for name, values in (("train", train_logs), ("val", val_logs)):
            scalars = [(k, _scalar(v)) for k, v in values.items()]
            scalars = [(k, v) for k, v in scalars if v is not None]
            if scalars:
                writer = self._writer(name)
                for key, value in scalars:
                    writer.add_scalar("epoch_" + key, value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for variable in getattr(self.model, "weights", None) or []:
            values = np.asarray(variable.numpy(), dtype=np.float64).reshape(-1)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue  # A histogram of nothing (or of NaNs) cannot be drawn.
            name = str(getattr(variable, "name", "weight")).replace(":", "_")
            writer.add_histogram(name + "/histogram", values, epoch)

    def on_test_end(self, logs=None):
        iterations = self._iterations()
        if not logs or iterations is None:
            return
        writer = self._writer("val")
        for name, value in logs.items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar("evaluation_" + name + "_vs_iterations", value, iterations)
        if self._in_fit:
            writer.flush()
        else:
            self._close_writers()  # A lone evaluate(): nothing closes them later.
