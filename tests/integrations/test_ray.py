"""Ray Tune through pytrainc.integrations.ray: ReportCallback reports each epoch with its
BackupAndRestore backup as the checkpoint, and restore_checkpoint resumes a trial Ray restarts.

On a local Ray runtime (2 CPUs, bound to 127.0.0.1, no dashboard, usage stats off). Ray is
the `ray` extra (about 450 MB), not in `test`: without it these tests are skipped."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402

from pytrainc.integrations.ray import ReportCallback, restore_checkpoint  # noqa: E402

pytestmark = pytest.mark.slow
EPOCHS = 6


@pytest.fixture(scope="module")
def local_ray():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


def make_trainable(out_dir, fail_once_dir=None):
    """A trial: seed-002-like MLP on fixed data; its final weights go to out_dir/<lr>.npy.
    With fail_once_dir, the first attempt of each trial dies after epoch 3 (Ray restarts it
    from its last checkpoint)."""

    def trainable(config):
        import tempfile

        from pytrainc.callbacks import BackupAndRestore, Callback
        from pytrainc.layers import Dense, Input
        from pytrainc.models import Sequential
        from pytrainc.optimizers import Adam
        from pytrainc.utils import set_random_seed

        r = np.random.default_rng(0)
        x = r.random((200, 8)).astype(np.float32)
        y = (x[:, :4].sum(1, keepdims=True) > 2).astype(np.float32)
        backup_dir = tempfile.mkdtemp()
        restore_checkpoint(backup_dir)
        set_random_seed(7)
        model = Sequential([Input((8,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile(optimizer=Adam(config["lr"]), loss="binary_crossentropy", metrics=["accuracy"])

        class FailOnce(Callback):
            def on_epoch_end(self, epoch, logs=None):
                marker = os.path.join(fail_once_dir, f"{config['lr']}")
                if epoch == 3 and not os.path.exists(marker):
                    open(marker, "w").close()
                    raise RuntimeError("a crash after epoch 3")

        callbacks = [BackupAndRestore(backup_dir), ReportCallback()]
        if fail_once_dir is not None:  # BackupAndRestore resumes only with the same callbacks
            callbacks.insert(0, FailOnce())  # first: the crash comes before epoch 3's report and backup
        model.fit(x, y, batch_size=20, epochs=EPOCHS, validation_data=(x, y), verbose=0, callbacks=callbacks)
        np.save(os.path.join(out_dir, f"{config['lr']}.npy"), np.concatenate([w.ravel() for w in model.get_weights()]))

    return trainable


def run_search(tmp_path, name, trainable, lrs, scheduler=None, max_failures=0, max_concurrent_trials=None):
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"lr": tune.grid_search(lrs)},
        tune_config=tune.TuneConfig(
            metric="val_loss",
            mode="min",
            scheduler=scheduler,
            reuse_actors=True,
            max_concurrent_trials=max_concurrent_trials,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(tmp_path / "ray_results"),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),  # keep every trial checkpoint
        ),
    )
    return tuner.fit()


def test_asha_search_of_8_trials_reports_epochs_with_checkpoints(local_ray, tmp_path):
    out = tmp_path / "weights"
    out.mkdir()
    # ASHA decides as results arrive: one trial at a time, the good rates first, makes its
    # decisions the same on a loaded machine (the small rates fall behind at the first rung).
    lrs = [0.1, 3e-2, 1e-2, 0.3, 3e-3, 1e-3, 3e-4, 1e-4]
    scheduler = ASHAScheduler(max_t=EPOCHS, grace_period=2, reduction_factor=2)
    results = run_search(tmp_path, "asha", make_trainable(str(out)), lrs, scheduler, max_concurrent_trials=1)
    assert len(results) == 8 and not results.errors
    epochs = []
    for result in results:
        assert result.checkpoint is not None  # the backup of the last reported epoch
        with result.checkpoint.as_directory() as d:
            assert [f for f in os.listdir(d) if f.endswith(".ptc")]
        history = result.metrics_dataframe
        assert list(history["epoch"]) == list(range(1, len(history) + 1))
        assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(history.columns)
        epochs.append(len(history))
    assert max(epochs) == EPOCHS and min(epochs) < EPOCHS  # ASHA stopped some trials early
    best = results.get_best_result()
    assert best.metrics["val_loss"] == min(r.metrics["val_loss"] for r in results if r.metrics["epoch"] == EPOCHS)


def test_a_restarted_trial_resumes_from_its_checkpoint_bitwise(local_ray, tmp_path):
    """Each trial crashes once after epoch 3; Ray restarts it from the checkpoint of epoch 3
    (the backup written after epoch 3 is lost with the crash: the crash comes first), and the
    final weights equal those of a run that never crashed, bit for bit."""
    lrs = [1e-3, 1e-2]
    plain, crashed, markers = (tmp_path / d for d in ("plain", "crashed", "markers"))
    for d in (plain, crashed, markers):
        d.mkdir()
    assert not run_search(tmp_path, "plain", make_trainable(str(plain)), lrs).errors
    results = run_search(tmp_path, "crashed", make_trainable(str(crashed), str(markers)), lrs, max_failures=1)
    assert not results.errors
    assert sorted(os.listdir(markers)) == sorted(str(lr) for lr in lrs)  # every trial did crash once
    for lr in lrs:
        a, b = np.load(plain / f"{lr}.npy"), np.load(crashed / f"{lr}.npy")
        assert a.tobytes() == b.tobytes(), lr
    for result in results:
        assert list(result.metrics_dataframe["epoch"])[-1] == EPOCHS


def test_example_runs_a_search(tmp_path):
    script = Path(__file__).resolve().parents[2] / "examples" / "ray_tune_search.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--samples", "2", "--epochs", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trials: 2, errors: 0" in proc.stdout and "best checkpoint: " in proc.stdout
