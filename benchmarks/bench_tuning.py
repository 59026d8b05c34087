"""Hyperparameter search throughput: trials per minute of a random search, pytrainc against PyTorch.

Usage:
    python benchmarks/bench_tuning.py [--quick] [--trials N] [--epochs E]

The search (issue 14's benchmark row): the seed-002 network (Dense(10, relu,
input_dim=8) -> Dense(1, sigmoid)), 1,000 samples (validation_split=0.1),
batch 10, 50 epochs, Adam with the learning rate log-uniform in [1e-4, 1e-1],
40 trials, objective val_loss. Measured in one run, each a whole search
(worker start-up, records and checkpoints included):

- `builtin n_jobs=1`: `pytrainc.tuning.RandomSearch`, one BLAS thread;
- `builtin n_jobs=2`: the same with two worker processes of one thread each;
- `plain loop`: the same fits in a Python loop, no tuner (its overhead);
- `pytrainc+optuna`: pytrainc fits under an Optuna study (if Optuna is installed);
- `torch+optuna`: PyTorch 2.13 (1 thread, its fastest for this size) under
  an Optuna study, the same network, loss, optimizer and data (if installed);
- `pytrainc+ray`: pytrainc fits as Ray Tune trials, 2 at a time on a local
  Ray runtime of 2 CPUs (`reuse_actors=True`, one report per trial; Ray's
  start-up is printed apart, not timed) (if `ray[tune]` is installed);
- `keras+kerastuner`: Keras 3 on its torch backend (1 thread) under Keras
  Tuner's `RandomSearch`, the same network and search (if keras-tuner is
  installed: it also needs `six`, which it does not declare). Its import
  (seconds) is not timed.

Before timing, it checks that the n_jobs=2 search's trials table equals the
serial one's and that the best trial's score is what a plain fit with that
trial's seed gives; a mismatch stops the run with exit status 1. Ratios are
against torch+optuna (> 1: faster). `--quick`: 4 trials of 5 epochs.
Timing varies with the machine's load: the load average is printed.
"""

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

import pytrainc
from pytrainc.layers import Dense
from pytrainc.models import Sequential
from pytrainc.tuning import RandomSearch
from pytrainc.tuning._trial import seed_for

LR_RANGE = (1e-4, 1e-1)


def build_model(hp):
    model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(
        loss="binary_crossentropy",
        metrics=["accuracy"],
        optimizer=pytrainc.optimizers.Adam(hp.Float("learning_rate", *LR_RANGE, sampling="log")),
    )
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.random((1000, 8)).astype(np.float32), rng.integers(0, 2, (1000, 1)).astype(np.float32)


def builtin(x, y, args, n_jobs, root, name):
    tuner = RandomSearch(
        build_model,
        objective="val_loss",
        max_trials=args.trials,
        seed=14,
        n_jobs=n_jobs,
        threads_per_trial=1,
        directory=root,
        project_name=name,
    )
    start = time.perf_counter()
    tuner.search(x, y, batch_size=10, epochs=args.epochs, validation_split=0.1, verbose=0)
    return time.perf_counter() - start, tuner


def plain_loop(x, y, args):
    from pytrainc.tuning import HyperParameters
    from pytrainc.tuning.hyperparameters import RandomSampler

    pytrainc.set_num_threads(1)
    start = time.perf_counter()
    for trial in range(args.trials):
        hp = HyperParameters()
        hp._sampler = RandomSampler(14, trial)
        model = build_model(hp)
        model.fit(x, y, batch_size=10, epochs=args.epochs, validation_split=0.1, verbose=0)
    return time.perf_counter() - start


def pytrainc_optuna(x, y, args, optuna):
    pytrainc.set_num_threads(1)

    def objective(trial):
        model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile(
            loss="binary_crossentropy",
            metrics=["accuracy"],
            optimizer=pytrainc.optimizers.Adam(trial.suggest_float("learning_rate", *LR_RANGE, log=True)),
        )
        history = model.fit(x, y, batch_size=10, epochs=args.epochs, validation_split=0.1, verbose=0)
        return min(history.history["val_loss"])

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=14))
    start = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    return time.perf_counter() - start


def torch_optuna(x, y, args, optuna, torch):
    torch.set_num_threads(1)
    xt, yt = torch.from_numpy(x[:900]), torch.from_numpy(y[:900])
    xv, yv = torch.from_numpy(x[900:]), torch.from_numpy(y[900:])

    def objective(trial):
        lr = trial.suggest_float("learning_rate", *LR_RANGE, log=True)
        torch.manual_seed(trial.number)
        model = torch.nn.Sequential(torch.nn.Linear(8, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))
        opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)  # Keras's epsilon
        loss_fn = torch.nn.BCEWithLogitsLoss()
        best = math.inf
        for _ in range(args.epochs):
            model.train()
            for idx in torch.randperm(900).split(10):
                opt.zero_grad()
                out = model(xt[idx])
                loss = loss_fn(out, yt[idx])
                loss.backward()
                opt.step()
                ((out > 0).float() == yt[idx]).float().mean()  # the accuracy Keras's fit logs per batch
            model.eval()
            with torch.no_grad():
                best = min(best, loss_fn(model(xv), yv).item())
        return best

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=14))
    start = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    return time.perf_counter() - start


def pytrainc_ray(x, y, args):
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray import tune

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    print(f"ray.init: {time.perf_counter() - start:.1f} s (not timed)")
    epochs = args.epochs

    def trainable(config):
        pytrainc.set_num_threads(1)
        model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile(
            loss="binary_crossentropy",
            metrics=["accuracy"],
            optimizer=pytrainc.optimizers.Adam(config["learning_rate"]),
        )
        history = model.fit(x, y, batch_size=10, epochs=epochs, validation_split=0.1, verbose=0)
        tune.report({"val_loss": min(history.history["val_loss"])})

    with tempfile.TemporaryDirectory() as root:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"learning_rate": tune.loguniform(*LR_RANGE)},
            tune_config=tune.TuneConfig(
                metric="val_loss",
                mode="min",
                num_samples=args.trials,
                max_concurrent_trials=2,
                reuse_actors=True,
                search_alg=tune.search.BasicVariantGenerator(random_state=14),
            ),
            run_config=tune.RunConfig(storage_path=root, verbose=0),
        )
        start = time.perf_counter()
        results = tuner.fit()
        seconds = time.perf_counter() - start
    ray.shutdown()
    if results.errors or len(results) != args.trials:
        sys.exit(f"check FAILED: the Ray search ended {len(results)} trials with {len(results.errors)} errors")
    return seconds


def keras_kerastuner(x, y, args):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import keras_tuner
    import torch

    if keras.backend.backend() != "torch":
        return None
    torch.set_num_threads(1)

    def build(hp):
        model = keras.Sequential(
            [keras.Input((8,)), keras.layers.Dense(10, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
        )
        model.compile(
            loss="binary_crossentropy",
            metrics=["accuracy"],
            optimizer=keras.optimizers.Adam(hp.Float("learning_rate", *LR_RANGE, sampling="log")),
        )
        return model

    with tempfile.TemporaryDirectory() as root:
        tuner = keras_tuner.RandomSearch(
            build, objective="val_loss", max_trials=args.trials, seed=14, directory=root, project_name="kt"
        )
        start = time.perf_counter()
        tuner.search(x, y, batch_size=10, epochs=args.epochs, validation_split=0.1, verbose=0)
        return time.perf_counter() - start


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def check(x, y, serial, parallel, args):
    """The parallel search gives the serial trials table; the best score is a plain fit's with its seed."""
    strip = [{k: v for k, v in r.items() if k != "elapsed"} for r in serial.trials_table()]
    if strip != [{k: v for k, v in r.items() if k != "elapsed"} for r in parallel.trials_table()]:
        sys.exit("check FAILED: the n_jobs=2 trials table differs from the serial one")
    best = serial.get_best_trials(1)[0]
    pytrainc.set_num_threads(1)
    pytrainc.utils.set_random_seed(seed_for(serial.seed, best["trial_id"]))
    model = build_model(serial.get_best_hyperparameters(1)[0])
    history = model.fit(x, y, batch_size=10, epochs=args.epochs, validation_split=0.1, verbose=0)
    if min(history.history["val_loss"]) != best["score"]:
        sys.exit(f"check FAILED: best trial score {best['score']} != plain fit's {min(history.history['val_loss'])}")
    print(
        f"check ok: n_jobs=2 table == serial table ({len(strip)} trials); best val_loss {best['score']:.6f} "
        f"reproduced by a plain fit"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 trials of 5 epochs")
    parser.add_argument("--trials", type=int, default=None, help="trials per search (default 40)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per trial (default 50)")
    args = parser.parse_args()
    args.trials = args.trials or (4 if args.quick else 40)
    args.epochs = args.epochs or (5 if args.quick else 50)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{args.trials} trials x {args.epochs} epochs, 1,000 samples (10% validation), batch 10")
    x, y = data()
    times = {}
    with tempfile.TemporaryDirectory() as root:
        times["builtin n_jobs=1"], serial = builtin(x, y, args, 1, root, "serial")
        times["builtin n_jobs=2"], parallel = builtin(x, y, args, 2, root, "parallel")
        check(x, y, serial, parallel, args)
    times["plain loop"] = plain_loop(x, y, args)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:
        optuna = None
        print("optuna is not installed: pytrainc+optuna and torch+optuna not measured")
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: torch+optuna not measured")
    if optuna is not None:
        times["pytrainc+optuna"] = pytrainc_optuna(x, y, args, optuna)
        if torch is not None:
            times["torch+optuna"] = torch_optuna(x, y, args, optuna, torch)
    missing = []
    if _importable("ray") and _importable("ray.tune"):
        times["pytrainc+ray"] = pytrainc_ray(x, y, args)
    else:
        missing.append("Ray Tune (pip install 'ray[tune]==2.60.0')")
    if _importable("keras_tuner") and _importable("keras") and torch is not None:
        start = time.perf_counter()
        seconds = keras_kerastuner(x, y, args)
        if seconds is None:
            missing.append("Keras Tuner (keras is imported with another backend than torch)")
        else:
            print(f"keras + keras_tuner import: {time.perf_counter() - start - seconds:.1f} s (not timed)")
            times["keras+kerastuner"] = seconds
    else:
        missing.append("Keras Tuner (pip install keras-tuner==1.4.8 six==1.17.0)")
    peer = times.get("torch+optuna")
    print(f"\n{'search':<20} {'seconds':>9} {'trials/min':>11} {'vs torch+optuna':>16}")
    for name, seconds in times.items():
        ratio = f"{peer / seconds:.1f}x" if peer else "-"
        print(f"{name:<20} {seconds:>9.2f} {args.trials / seconds * 60:>11.0f} {ratio:>16}")
    if missing:
        print("not measured (not installed here): " + ", ".join(missing))
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
