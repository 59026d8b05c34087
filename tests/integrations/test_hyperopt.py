"""The Hyperopt objective: fmin over pytrainc models, failures recorded, resume from trials_save_file."""

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")

from pytrainc.integrations.hyperopt import objective  # noqa: E402
from pytrainc.layers import Dense, Input  # noqa: E402
from pytrainc.models import Sequential  # noqa: E402
from pytrainc.optimizers import Adam  # noqa: E402

R = np.random.default_rng(0)
X = R.random((64, 8)).astype(np.float32)
Y = (X.sum(1, keepdims=True) > 4).astype(np.float32)
SPACE = {"lr": hyperopt.hp.loguniform("lr", np.log(1e-4), np.log(1e-1)), "units": hyperopt.hp.choice("units", [2, 8])}


def build_model(params):
    if params["units"] == 2 and params["lr"] > 0.05:
        raise RuntimeError("refused")
    model = Sequential([Input((8,)), Dense(params["units"], activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(params["lr"]), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_fmin_runs_records_failures_and_resumes(tmp_path):
    fn = objective(build_model, X, Y, epochs=3, batch_size=16, validation_data=(X, Y), objective="val_accuracy")
    save = str(tmp_path / "trials.pkl")
    trials = hyperopt.Trials()
    hyperopt.fmin(
        fn,
        SPACE,
        algo=hyperopt.tpe.suggest,
        max_evals=12,
        trials=trials,
        show_progressbar=False,
        rstate=np.random.default_rng(0),
        trials_save_file=save,
    )
    results = trials.results
    assert len(results) == 12
    ok = [r for r in results if r["status"] == "ok"]
    assert ok and all(-1.0 <= r["loss"] <= 0.0 for r in ok)  # accuracy, maximized: fmin sees -accuracy
    failed = [r for r in results if r["status"] == "fail"]
    assert all(r["error"] == "RuntimeError: refused" for r in failed)
    # Same values, same score: each evaluation is seeded from the values.
    params = trials.trials[0]["misc"]["vals"]
    point = hyperopt.space_eval(SPACE, {k: v[0] for k, v in params.items()})
    assert fn(point).get("loss") == results[0].get("loss")
    # fmin resumes from its save file: it only runs the evaluations still missing.
    resumed = hyperopt.fmin(
        fn,
        SPACE,
        algo=hyperopt.tpe.suggest,
        max_evals=15,
        show_progressbar=False,
        rstate=np.random.default_rng(0),
        trials_save_file=save,
        return_argmin=False,
    )
    assert resumed is not None
    import pickle

    with open(save, "rb") as f:
        assert len(pickle.load(f).trials) == 15


def test_unknown_objective_direction():
    with pytest.raises(ValueError, match="Could not infer optimization direction"):
        objective(build_model, X, Y, objective="val_score")
