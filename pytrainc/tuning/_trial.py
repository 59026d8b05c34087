"""Running one trial: seeding, building, fitting, keeping the best epoch, writing the record.

The same function runs a trial in the search's process (`n_jobs=1`) and in a
worker process, so a parallel search computes exactly what a serial one does.
"""

import copy
import math
import os
import shutil
import time
import traceback
from typing import Dict, Optional

import numpy as np

import pytrainc
from pytrainc import utils
from pytrainc.callbacks import BackupAndRestore, Callback
from pytrainc.tuning import _records
from pytrainc.tuning.hyperparameters import HyperParameters, RandomSampler


class ObjectiveError(ValueError):
    """The objective is not among the values a trial reports: a mistake in the search's arguments."""


def seed_for(seed, trial_id, execution=0):
    """The 64-bit seed of one execution of one trial, from the search seed and the trial id."""
    state = np.random.SeedSequence([int(seed), int(trial_id), int(execution)]).generate_state(2, np.uint32)
    return int(state[0]) | (int(state[1]) << 32)


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class BestEpoch(Callback):
    """Keeps the best epoch's objective value, logs and weights (a copy in memory).

    Its state is declared for `BackupAndRestore`, so a trial resumed after a
    crash keeps the best epoch of the part that ran before it.
    """

    _backup_state = {
        "best": Optional[float],
        "best_epoch": Optional[int],
        "best_logs": Optional[Dict[str, float]],
        "best_weights": Optional[Dict[str, np.ndarray]],
    }

    def __init__(self, objective):
        super().__init__()
        self.objective = objective
        self.best = self.best_epoch = self.best_logs = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.objective.name not in logs:
            raise ObjectiveError(
                f"Objective value missing in metrics reported by fit(), expected: {self.objective.name!r}, "
                f"found: {sorted(logs)}. Pass validation_data (for a 'val_' objective) or compile the metric."
            )
        value = _finite(logs[self.objective.name])
        if value is not None and self.objective.better(value, self.best):
            self.best, self.best_epoch = value, int(epoch)
            self.best_logs = {k: float(v) for k, v in logs.items()}
            self.best_weights = {k: np.array(v, copy=True) for k, v in self.model.state_dict().items()}


class Context:
    """What every trial of a search shares; sent once to each worker process."""

    def __init__(
        self,
        hypermodel,
        objective,
        fit_args,
        fit_kwargs,
        callbacks,
        project_dir,
        executions_per_trial,
        seed,
        threads,
        backup_freq,
    ):
        self.hypermodel, self.objective = hypermodel, objective
        self.fit_args, self.fit_kwargs, self.callbacks = fit_args, fit_kwargs, callbacks
        self.project_dir, self.executions_per_trial = project_dir, executions_per_trial
        self.seed, self.threads, self.backup_freq = seed, threads, backup_freq


def _hyperparameters(ctx, spec):
    if spec.get("hp_config") is not None:
        hp = HyperParameters.from_config(spec["hp_config"])
    else:
        hp = HyperParameters(values=spec.get("values"))
    if spec.get("sampler") == "random":
        hp._sampler = RandomSampler(ctx.seed, spec["trial_id"])
    return hp


def _execute(ctx, spec, hp, trial_dir, execution):
    """One execution: returns (score or None, logs at the best epoch, best epoch, the model at it)."""
    utils.set_random_seed(seed_for(ctx.seed, spec["trial_id"], execution))
    if spec.get("parent") is not None:  # Hyperband: continue the parent trial's training from its checkpoint
        model = pytrainc.models.load_model(_records.checkpoint_path(ctx.project_dir, spec["parent"]))
    else:
        model = ctx.hypermodel.build(hp)
    best = BestEpoch(ctx.objective)
    callbacks = copy.deepcopy(list(ctx.callbacks)) + [best]
    if ctx.backup_freq is not None:
        callbacks.append(BackupAndRestore(os.path.join(trial_dir, f"backup_{execution}"), save_freq=ctx.backup_freq))
    kwargs = {"verbose": 0, **ctx.fit_kwargs, "callbacks": callbacks}
    if spec.get("epochs") is not None:
        kwargs.update(epochs=spec["epochs"], initial_epoch=spec.get("initial_epoch", 0))
    result = ctx.hypermodel.fit(hp, model, *ctx.fit_args, **kwargs)
    if ctx.backup_freq is not None:  # the fit finished: its (emptied) backup folder goes too
        shutil.rmtree(os.path.join(trial_dir, f"backup_{execution}"), ignore_errors=True)
    if hasattr(result, "history"):  # a History: the best epoch decides
        if best.best_weights is not None:
            model.load_state_dict(best.best_weights)
        return best.best, best.best_logs or {}, best.best_epoch, model
    if isinstance(result, dict):
        if ctx.objective.name not in result:
            raise ObjectiveError(
                f"Objective value missing in the dict HyperModel.fit returned, expected: "
                f"{ctx.objective.name!r}, found: {sorted(result)}"
            )
        return _finite(result[ctx.objective.name]), {k: float(v) for k, v in result.items()}, None, model
    if _finite(result) is None and not isinstance(result, (int, float, np.number)):
        raise TypeError(f"HyperModel.fit must return a History, a float or a dict. Received: {type(result).__name__}")
    return _finite(result), {ctx.objective.name: float(result)}, None, model


def run_trial(ctx, spec):
    """Runs the trial `spec` and writes its record; returns the record.

    An exception from `build` or `fit` makes a FAILED record; an
    `ObjectiveError` or KeyboardInterrupt propagates and records nothing.
    """
    trial_id = spec["trial_id"]
    trial_dir = _records.trial_dir(ctx.project_dir, trial_id)
    os.makedirs(trial_dir, exist_ok=True)
    threads = ctx.threads
    previous = _records.read_record(trial_dir, missing_ok=True)
    if previous is not None and previous.get("status") == "RUNNING":
        # A resumed trial keeps its BLAS thread count: it changes the last bits of larger GEMMs.
        threads = int(previous.get("blas_threads", threads))
    pytrainc.set_num_threads(threads)
    record = {
        "trial_id": trial_id,
        "status": "RUNNING",
        "seed": ctx.seed,
        "blas_threads": threads,
        **{k: spec[k] for k in ("epochs", "initial_epoch", "parent", "bracket", "round") if k in spec},
    }
    if ctx.backup_freq is not None:
        _records.write_record(trial_dir, record)
    hp = _hyperparameters(ctx, spec)
    start = time.perf_counter()
    scores, best = [], None
    try:
        for execution in range(ctx.executions_per_trial):
            score, logs, epoch, model = _execute(ctx, spec, hp, trial_dir, execution)
            scores.append(score)
            if best is None or ctx.objective.better(score, best[0]):
                best = (score, logs, epoch)
                if hasattr(model, "save"):  # a HyperModel.fit that returns a score may train no model
                    model.save(_records.checkpoint_path(ctx.project_dir, trial_id))
    except (ObjectiveError, KeyboardInterrupt):
        raise
    except Exception as exc:  # build_model or fit raised: the trial failed, the search goes on
        record.update(
            status="FAILED",
            score=None,
            hyperparameters=hp.get_config(),
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            elapsed=time.perf_counter() - start,
        )
        _records.write_record(trial_dir, record)
        return record
    finite = [s for s in scores if s is not None]
    record.update(
        status="COMPLETED",
        hyperparameters=hp.get_config(),
        score=float(np.mean(finite)) if len(finite) == len(scores) else None,
        executions=scores,
        best_epoch=best[2],
        metrics=best[1],
        elapsed=time.perf_counter() - start,
    )
    _records.write_record(trial_dir, record)
    return record


_WORKER_CONTEXT = None


def worker_init(ctx):
    """Initializer of a worker process: keeps the context (data included) for all its trials."""
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = ctx
    pytrainc.set_num_threads(ctx.threads)


def worker_run(spec):
    return run_trial(_WORKER_CONTEXT, spec)
