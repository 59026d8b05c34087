"""Ray Tune: `ReportCallback` reports each epoch, with its `BackupAndRestore` backup as the checkpoint.

Needs Ray Tune (`pip install ".[ray]"`, `ray[tune]==2.60.0`; about 450 MB with
pyarrow and pandas). Ray runs each trial's function in a worker process; in it,
`fit()` with a `BackupAndRestore` and a `ReportCallback` sends every epoch's
metrics through `ray.tune.report`, together with that epoch's backup as a
`ray.tune.Checkpoint`. When Ray restarts a trial from a checkpoint (after a
failure, a PBT exploit, or `Tuner.restore` of a killed search),
`restore_checkpoint(backup_dir)` puts that backup back where `BackupAndRestore`
looks, so `fit()` resumes at the epoch reported, bitwise as if uninterrupted:

    def trainable(config):
        backup_dir = tempfile.mkdtemp()
        restore_checkpoint(backup_dir)
        model = build_model(config)
        model.fit(x, y, epochs=20, validation_data=(xv, yv),
                  callbacks=[BackupAndRestore(backup_dir), ReportCallback()])

    tuner = tune.Tuner(tune.with_resources(trainable, {"cpu": 1}), param_space=space,
                       tune_config=tune.TuneConfig(metric="val_loss", mode="min", num_samples=8,
                                                   scheduler=ASHAScheduler(), reuse_actors=True))
    tuner.fit()

`examples/ray_tune_search.py` is a complete search. On a cluster, start Ray on
each machine (`ray start --head`, then `ray start --address=HEAD:6379` on the
others) and call `ray.init(address="auto")` (or `"ray://HEAD:10001"`) before
`Tuner.fit`; give `RunConfig(storage_path=...)` a directory every node sees.
`Tuner.restore(path, trainable)` resumes a search whose driver died: its running
trials go on from their last reported checkpoint. A cluster of several nodes on
one machine's loopback (for tests: `ray.cluster_utils.Cluster` with
`node_ip_address="127.0.0.1"`) needs `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` in
every process, or `ray.init(address=...)` rewrites 127.0.0.1 to the machine's
network address, where that GCS does not listen, and waits for it forever
(tests/integrations/test_ray_cluster.py).
"""

import glob
import os
import shutil
import tempfile

from ray import tune as _tune

from pytrainc.callbacks import BackupAndRestore, Callback

__all__ = ["ReportCallback", "restore_checkpoint"]

_BACKUP_FILES = "*.ptc"  # BackupAndRestore's file, whatever its exact name


class ReportCallback(Callback):
    """Reports each epoch's logs to Ray Tune (`ray.tune.report`), with the epoch's backup as its checkpoint.

    With a `BackupAndRestore` among `fit()`'s callbacks, the report of an
    epoch waits for the backup written right after it (`on_backup_saved`)
    and carries a copy of it as the `ray.tune.Checkpoint`; without one, it is
    sent at the epoch's end with no checkpoint. Ray schedulers such as
    `ASHAScheduler` stop a trial between two reports.

    Args:
        metrics: None (the default) to report every logged value, a list of
            log names to report, or a dict {reported name: log name}.

    Raises:
        ValueError: at the end of an epoch whose logs lack a requested name.

    Example:

    >>> from pytrainc.integrations.ray import ReportCallback
    >>> cb = ReportCallback(metrics={"loss": "val_loss"})
    """

    def __init__(self, metrics=None):
        super().__init__()
        if metrics is None or isinstance(metrics, dict):
            self.metrics = metrics
        elif isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"Expected `metrics` to be None, a list of log names or a dict. Received: {metrics!r}")
        else:
            self.metrics = {m: m for m in metrics}
        self._backup = None
        self._pending = None

    def set_callbacks(self, callbacks):
        self._backup = next((c for c in callbacks if isinstance(c, BackupAndRestore)), None)

    def on_train_begin(self, logs=None):
        self._pending = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.metrics is None:
            values = logs
        else:
            missing = [name for name in self.metrics.values() if name not in logs]
            if missing:
                raise ValueError(f"ReportCallback: the logs lack {missing}. Received: {sorted(logs)}")
            values = {key: logs[name] for key, name in self.metrics.items()}
        report = {key: float(value) for key, value in values.items()}
        report["epoch"] = epoch + 1
        if self._backup is None:
            _tune.report(report)
        else:
            self._pending = report

    def on_backup_saved(self, path, epoch, batch):
        if batch != 0 or self._pending is None:
            return  # a backup within an epoch: the report waits for the epoch's end
        report, self._pending = self._pending, None
        with tempfile.TemporaryDirectory() as directory:
            shutil.copy2(path, os.path.join(directory, os.path.basename(path)))
            _tune.report(report, checkpoint=_tune.Checkpoint.from_directory(directory))


def restore_checkpoint(backup_dir):
    """Copies the trial's Ray Tune checkpoint, if Ray gave it one, into `backup_dir`.

    Call it in the trainable before `fit()`: `BackupAndRestore(backup_dir)`
    then resumes from it. Outside a Tune trial, or without a checkpoint, it
    does nothing.

    Args:
        backup_dir: The `backup_dir` of the trial's `BackupAndRestore`.

    Returns:
        True if a checkpoint was restored.

    Raises:
        ValueError: if the checkpoint holds no pytrainc backup.
    """
    checkpoint = _tune.get_checkpoint()
    if checkpoint is None:
        return False
    os.makedirs(backup_dir, exist_ok=True)
    with checkpoint.as_directory() as directory:
        files = glob.glob(os.path.join(directory, _BACKUP_FILES))
        if len(files) != 1:
            raise ValueError(f"Expected one pytrainc backup in the Ray checkpoint {directory}. Received: {files}")
        shutil.copy2(files[0], os.path.join(os.fspath(backup_dir), os.path.basename(files[0])))
    return True
