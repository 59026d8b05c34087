"""Seed 002's network tuned with Ray Tune: ASHA over the learning rate and the layer size.

Each trial trains with `BackupAndRestore` and `pytrainc.integrations.ray.ReportCallback`,
so every epoch reaches Ray with its metrics and its backup as the checkpoint: ASHA stops
the weak trials early, a trial Ray restarts resumes from its last checkpoint
(`restore_checkpoint`), and the best trial's checkpoint holds its weights. Every trial
checkpoint is kept (`num_to_keep=None`: a restore must never meet a deleted one), and
`reuse_actors=True` reuses the trial processes (several times faster for short trials).

Needs `pip install ".[ray]"`. Runs on a local Ray with 2 CPUs:

    python examples/ray_tune_search.py [--samples 8] [--epochs 30]

On a cluster: `ray start --head` on one machine, `ray start --address=HEAD:6379` on the
others, then run this script on any of them with `--address auto` (or
`--address ray://HEAD:10001` from outside) and `--storage` a directory every node sees
(a shared file system, or `s3://bucket/path`). Ray places one trial per CPU
(`resources_per_trial`); pytrainc keeps each trial on one BLAS thread, so the trials of a
machine do not compete for its cores. A search whose driver dies is resumed with
`--resume`, which calls `Tuner.restore`: finished trials stay finished, and the others go
on from their checkpoints.
"""

import argparse
import os
import tempfile

import numpy as np
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler

import pytrainc
from pytrainc.callbacks import BackupAndRestore
from pytrainc.integrations.ray import ReportCallback, restore_checkpoint
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential
from pytrainc.optimizers import Adam


def data():
    """Seed 002's data: 1,000 samples of 10 features, a noisy linear target."""
    r = np.random.default_rng(0)
    x = r.random((1000, 10)).astype(np.float32)
    y = (x @ r.random((10, 1)) + 0.1 * r.standard_normal((1000, 1))).astype(np.float32)
    return x, y


def trainable(config):
    pytrainc.set_num_threads(1)  # one BLAS thread per trial: Ray runs one trial per CPU
    x, y = data()
    backup_dir = tempfile.mkdtemp(prefix="pytrainc-trial-")
    restore_checkpoint(backup_dir)  # a restarted trial resumes from its last checkpoint
    pytrainc.utils.set_random_seed(config["seed"])
    model = Sequential([Input((10,)), Dense(config["units"], activation="relu"), Dense(1)])
    model.compile(optimizer=Adam(config["lr"]), loss="mse")
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=config["epochs"],
        validation_split=0.2,
        verbose=0,
        callbacks=[BackupAndRestore(backup_dir), ReportCallback(metrics=["loss", "val_loss"])],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--address", default=None, help="a Ray cluster ('auto', 'ray://HEAD:10001'); default: local")
    parser.add_argument("--storage", default=os.path.abspath("ray_results"))
    parser.add_argument("--resume", action="store_true", help="Tuner.restore the search in --storage")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    trainable_with_resources = tune.with_resources(trainable, {"cpu": 1})  # resources_per_trial
    path = os.path.join(args.storage, "seed002_asha")
    if args.resume and tune.Tuner.can_restore(path):
        tuner = tune.Tuner.restore(path, trainable=trainable_with_resources)
    else:
        tuner = tune.Tuner(
            trainable_with_resources,
            param_space={
                "lr": tune.loguniform(1e-4, 1e-1),
                "units": tune.choice([8, 16, 32, 64]),
                "epochs": args.epochs,
                "seed": tune.randint(0, 2**31 - 1),
            },
            tune_config=tune.TuneConfig(
                metric="val_loss",
                mode="min",
                num_samples=args.samples,
                scheduler=ASHAScheduler(max_t=args.epochs, grace_period=3, reduction_factor=3),
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name="seed002_asha",
                storage_path=args.storage,
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=2),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
            ),
        )
    results = tuner.fit()
    best = results.get_best_result()
    print(f"trials: {len(results)}, errors: {len(results.errors)}")
    for result in sorted(results, key=lambda r: r.metrics["val_loss"]):
        c = result.config
        print(
            f"lr {c['lr']:.2e} units {c['units']:3d}: {result.metrics['epoch']:3d} epochs, val_loss {result.metrics['val_loss']:.5f}"
        )
    print(f"best: lr {best.config['lr']:.2e}, units {best.config['units']}, val_loss {best.metrics['val_loss']:.5f}")
    print(f"best checkpoint: {best.checkpoint.path}")
    ray.shutdown()


if __name__ == "__main__":
    main()
