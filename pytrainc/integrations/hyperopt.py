"""Hyperopt: `objective` turns a `build_model(params)` into the function `hyperopt.fmin` minimizes.

Needs `hyperopt` (`pip install ".[tune]"`). Hyperopt is little maintained
now (Optuna has TPE too), but the seed documents name it, and `fmin` with
`trials_save_file` resumes a search that was interrupted.
"""

import math
import time
import traceback
import zlib

import hyperopt as _hyperopt

from pytrainc import utils
from pytrainc.tuning.objective import get_objective

__all__ = ["objective"]


def objective(build_model, *fit_args, objective="val_loss", seed=0, **fit_kwargs):
    """A function of Hyperopt's sampled `params` that builds, fits and scores a pytrainc model.

    Each evaluation is seeded from `seed` and the sampled values, so the
    same values give the same score (also after `fmin` resumes from its
    `trials_save_file`). The returned dict has `loss` (the objective at its
    best epoch, negated when it is maximized, since `fmin` minimizes),
    `status`, `best_epoch`, `history` and `eval_time`. An exception from
    `build_model` or `fit` gives `status` "fail" with the error, and `fmin`
    goes on.

    Args:
        build_model: Function of the params dict returning a compiled model.
        *fit_args: Positional arguments of `fit()` (`x`, `y`).
        objective: Logged value to optimize, or an `Objective`; the direction
            is inferred as in `pytrainc.tuning`. Defaults to `"val_loss"`.
        seed: Seed the per-evaluation seeds are made from. Defaults to `0`.
        **fit_kwargs: Keyword arguments of `fit()`; `verbose` defaults to 0.

    Returns:
        A function `fn(params) -> dict` for `hyperopt.fmin`.

    Raises:
        ValueError: if the objective's direction cannot be inferred, or
            (from `fn`) the objective is not in the fit's history.

    Example:

    >>> from hyperopt import Trials, fmin, hp, tpe
    >>> from pytrainc.integrations.hyperopt import objective
    >>> def build_model(params):
    ...     model = Sequential([Input((8,)), Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer=Adam(params["lr"]), loss="binary_crossentropy")
    ...     return model
    >>> fn = objective(build_model, x, y, epochs=2, validation_data=(x, y))
    >>> space = {"lr": hp.loguniform("lr", -9, -2)}
    >>> best = fmin(fn, space, algo=tpe.suggest, max_evals=3, trials=Trials(), show_progressbar=False,
    ...             trials_save_file="trials.pkl")
    """
    goal = get_objective(objective)
    fit_kwargs.setdefault("verbose", 0)

    def fn(params):
        start = time.perf_counter()
        try:
            utils.set_random_seed(zlib.crc32(repr(sorted(params.items())).encode()) ^ int(seed))
            model = build_model(params)
            history = model.fit(*fit_args, **fit_kwargs).history
        except Exception as exc:
            return {
                "status": _hyperopt.STATUS_FAIL,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
                "eval_time": time.perf_counter() - start,
            }
        if goal.name not in history:
            raise ValueError(
                f"Objective value missing in the fit's history, expected: {goal.name!r}, found: {sorted(history)}"
            )
        values = [
            v if math.isfinite(v) else math.inf * (1 if goal.direction == "min" else -1)
            for v in map(float, history[goal.name])
        ]
        best = min(range(len(values)), key=lambda i: goal.sort_key(values[i]))
        loss = values[best] if goal.direction == "min" else -values[best]
        if not math.isfinite(loss):
            return {
                "status": _hyperopt.STATUS_FAIL,
                "error": f"{goal.name} was never finite",
                "eval_time": time.perf_counter() - start,
            }
        return {
            "loss": loss,
            "status": _hyperopt.STATUS_OK,
            "best_epoch": best,
            "history": history,
            "eval_time": time.perf_counter() - start,
        }

    return fn
