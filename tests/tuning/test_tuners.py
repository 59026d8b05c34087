"""The tuners on tiny data: proposals, records, resume, results and bad input."""

import json
import os

import numpy as np
import pytest

from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential
from pytrainc.optimizers import Adam
from pytrainc.tuning import BayesianOptimization, GridSearch, HyperModel, Hyperband, Objective, RandomSearch

R = np.random.default_rng(0)
X = R.random((64, 8)).astype(np.float32)
Y = (X.sum(1, keepdims=True) > 4).astype(np.float32)
VAL = (X[:32], Y[:32])


def build_model(hp):
    model = Sequential(
        [Input((8,)), Dense(hp.Int("units", 2, 8, step=2), activation="relu"), Dense(1, activation="sigmoid")]
    )
    model.compile(
        optimizer=Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def grid_model(hp):
    model = Sequential(
        [Input((8,)), Dense(hp.Int("units", 2, 8, step=2), activation="relu"), Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer=Adam(hp.Choice("lr", [0.01, 0.1])), loss="binary_crossentropy", metrics=["accuracy"])
    return model


class Counting:
    """build_model, counting its calls."""

    def __init__(self, build=build_model):
        self.calls, self.build = 0, build

    def __call__(self, hp):
        self.calls += 1
        return self.build(hp)


def table(tuner):
    return [{k: v for k, v in row.items() if k != "elapsed"} for row in tuner.trials_table()]


def search(tuner, epochs=2, **kwargs):
    tuner.search(X, Y, epochs=epochs, batch_size=16, validation_data=VAL, verbose=0, **kwargs)
    return tuner


def test_grid_finds_the_known_best_combination(tmp_path):
    # y = 2x - 1 on [-1, 1]: only a linear output with a bias, trained with the larger rate, fits it.
    x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    y = 2 * x - 1

    def build(hp):
        model = Sequential(
            [
                Input((1,)),
                Dense(1, activation=hp.Choice("activation", ["relu", "linear"]), use_bias=hp.Boolean("use_bias")),
            ]
        )
        model.compile(optimizer=Adam(hp.Choice("lr", [1e-4, 0.1])), loss="mse")
        return model

    tuner = GridSearch(build, objective="val_loss", directory=tmp_path, seed=0)
    tuner.search(x, y, epochs=30, batch_size=8, validation_data=(x, y), verbose=0)
    rows = tuner.trials_table()
    assert len(rows) == 8 and all(r["status"] == "COMPLETED" for r in rows)
    # The stable order of the grid: defaults first, then the product with the last name changing fastest.
    assert [(r["activation"], r["use_bias"], r["lr"]) for r in rows[:3]] == [
        ("relu", False, 1e-4),
        ("relu", False, 0.1),
        ("relu", True, 1e-4),
    ]
    assert tuner.get_best_hyperparameters()[0].values == {"activation": "linear", "use_bias": True, "lr": 0.1}
    assert tuner.get_best_trials()[0]["score"] < 0.05


def test_random_search_is_reproducible_from_its_seed(tmp_path):
    a = search(RandomSearch(build_model, max_trials=3, seed=7, directory=tmp_path, project_name="a"))
    b = search(RandomSearch(build_model, max_trials=3, seed=7, directory=tmp_path, project_name="b"))
    c = search(RandomSearch(build_model, max_trials=3, seed=8, directory=tmp_path, project_name="c"))
    assert table(a) == table(b)
    assert [r["lr"] for r in table(a)] != [r["lr"] for r in table(c)]


def test_restart_repeats_no_finished_trial(tmp_path):
    build = Counting()
    first = search(RandomSearch(build, max_trials=3, seed=1, directory=tmp_path))
    builds = build.calls  # one to discover the space, one per trial
    again = search(RandomSearch(build, max_trials=5, seed=None, directory=tmp_path))  # the stored seed is kept
    assert build.calls - builds == 1 + 2
    assert table(again)[:3] == table(first)
    assert len(table(again)) == 5


def test_best_models_come_from_the_trial_checkpoint(tmp_path):
    build = Counting()
    tuner = search(RandomSearch(build, max_trials=3, seed=2, directory=tmp_path), epochs=4)
    calls = build.calls
    best = tuner.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    assert build.calls == calls  # loaded, not built again
    val_loss = model.evaluate(*VAL, batch_size=16, verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(best["score"], rel=1e-5)  # the weights of the best epoch


def test_executions_per_trial_average(tmp_path):
    tuner = search(RandomSearch(build_model, max_trials=2, executions_per_trial=2, seed=3, directory=tmp_path))
    record = tuner.get_best_trials(1)[0]
    assert len(record["executions"]) == 2 and record["executions"][0] != record["executions"][1]
    assert record["score"] == pytest.approx(np.mean(record["executions"]))


class FitTuned(HyperModel):
    def build(self, hp):
        return grid_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(
            *args, batch_size=hp.Choice("batch_size", [8, 32]), epochs=hp.Choice("epochs", [1, 3]), **kwargs
        )


def test_hypermodel_fit_tunes_batch_size_and_epochs(tmp_path):
    tuner = GridSearch(FitTuned(), objective="val_accuracy", max_trials=6, directory=tmp_path, seed=0)
    tuner.search(X, Y, validation_data=VAL, verbose=0)
    rows = tuner.trials_table()
    assert {(r["batch_size"], r["epochs"]) for r in rows} >= {(8, 1), (8, 3), (32, 1), (32, 3)}
    assert all(r["best_epoch"] < r["epochs"] for r in rows)


def test_hyperband_continues_from_the_parent_checkpoint(tmp_path):
    build = Counting()
    tuner = Hyperband(build, max_epochs=4, factor=2, directory=tmp_path, seed=0)
    calls = build.calls
    tuner.search(X, Y, batch_size=16, validation_data=VAL, verbose=0)
    rows = {r["trial_id"]: r for r in tuner.trials_table()}
    continued = [r for r in rows.values() if r["parent"] is not None]
    assert continued and build.calls - calls == len(rows) - len(continued)  # continued trials build nothing
    for r in continued:
        parent = rows[r["parent"]]
        assert r["initial_epoch"] == parent["epochs"] < r["epochs"]
        assert r["units"] == parent["units"] and r["lr"] == parent["lr"]
        assert r["best_epoch"] >= r["initial_epoch"]
    assert max(r["epochs"] for r in rows.values()) == 4


class Quadratic(HyperModel):
    """No training: the score is a known function of the value, peaked at x = 0.3."""

    def build(self, hp):
        hp.Float("x", 0.0, 1.0)
        return None

    def fit(self, hp, model, *args, **kwargs):
        return {"score": -((hp["x"] - 0.3) ** 2)}


def test_bayesian_optimization_closes_in_on_the_optimum(tmp_path):
    tuner = BayesianOptimization(
        Quadratic(),
        objective=Objective("score", "max"),
        max_trials=12,
        num_initial_points=4,
        directory=tmp_path,
        seed=0,
    )
    tuner.search(verbose=0)
    xs = [r["x"] for r in tuner.trials_table()]
    assert abs(xs[0] - 0.3) > 0.05  # the random start is not already there
    assert abs(tuner.get_best_hyperparameters()[0]["x"] - 0.3) < 0.02
    assert min(abs(x - 0.3) for x in xs[:4]) > min(abs(x - 0.3) for x in xs[4:])


class QuadraticWithChoice(Quadratic):
    def build(self, hp):
        hp.Float("x", 0.0, 1.0)
        hp.Choice("shift", [0.0, 0.5])
        return None

    def fit(self, hp, model, *args, **kwargs):
        return {"score": -((hp["x"] - 0.3) ** 2) - hp["shift"]}


def test_bayesian_optimization_with_optunas_tpe_closes_in_and_is_reproducible(tmp_path):
    pytest.importorskip("optuna")

    def run(name):
        tuner = BayesianOptimization(
            QuadraticWithChoice(),
            objective=Objective("score", "max"),
            max_trials=16,
            num_initial_points=4,
            sampler="tpe",
            directory=tmp_path,
            project_name=name,
            seed=0,
        )
        tuner.search(verbose=0)
        return tuner

    a, b = run("a"), run("b")
    rows = [{k: v for k, v in r.items() if k != "elapsed"} for r in a.trials_table()]
    assert rows == [{k: v for k, v in r.items() if k != "elapsed"} for r in b.trials_table()]
    best = a.get_best_hyperparameters()[0]
    assert best["shift"] == 0.0 and abs(best["x"] - 0.3) < 0.1
    later = rows[4:]
    assert sum(r["shift"] == 0.0 for r in later) > len(later) / 2  # TPE prefers the better category
    with pytest.raises(ValueError, match="sampler must be 'gp' or 'tpe'. Received: sampler='cma'"):
        BayesianOptimization(Quadratic(), objective=Objective("score", "max"), max_trials=2, sampler="cma")


def test_plain_if_conditionals_are_drawn_when_reached(tmp_path):
    def build(hp):
        model = Sequential([Input((8,))])
        if hp.Boolean("hidden"):
            model.add(Dense(hp.Int("units", 2, 8), activation="relu"))
        model.add(Dense(1, activation="sigmoid"))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    rows = search(RandomSearch(build, max_trials=8, seed=4, directory=tmp_path)).trials_table()
    assert {r["hidden"] for r in rows} == {False, True}
    assert all(("units" in r) == r["hidden"] for r in rows)


def test_trials_dataframe(tmp_path):
    pandas = pytest.importorskip("pandas")
    frame = search(RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path)).trials_dataframe()
    assert isinstance(frame, pandas.DataFrame) and list(frame["trial_id"]) == [0, 1]


def test_results_summary(tmp_path):
    lines = []
    search(RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path)).results_summary(1, lines.append)
    assert lines[:4] == [
        "Results summary",
        f"Results in {tmp_path / 'untitled_project'}",
        "Showing 1 best trials",
        'Objective(name="val_loss", direction="min")',
    ]
    assert lines[5].startswith("Trial ") and lines[-1].startswith("Score: ")


def test_backups_let_a_trial_resume(tmp_path):
    tuner = search(
        RandomSearch(build_model, max_trials=2, seed=5, directory=tmp_path, project_name="b", backup_freq="epoch")
    )
    plain = search(RandomSearch(build_model, max_trials=2, seed=5, directory=tmp_path, project_name="p"))
    assert table(tuner) == table(plain)  # a backup changes nothing in the results
    assert not any(name.startswith("backup") for name in os.listdir(tmp_path / "b" / "trial_0000"))


# -- bad input


def test_empty_space(tmp_path):
    def build(hp):
        model = Sequential([Input((8,)), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    with pytest.raises(ValueError, match="The search space is empty"):
        RandomSearch(build, directory=tmp_path)


def test_unknown_objective_name(tmp_path):
    with pytest.raises(ValueError, match='Could not infer optimization direction .* unknown metric "val_score"'):
        RandomSearch(build_model, objective="val_score", directory=tmp_path)
    tuner = RandomSearch(build_model, objective=Objective("val_auc", "max"), max_trials=2, directory=tmp_path)
    with pytest.raises(ValueError, match=r"Objective value missing .* 'val_auc', found: \['accuracy', 'loss'"):
        search(tuner)
    assert tuner.trials_table() == []  # the mistake is the search's, not the trial's: nothing recorded


def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path):
    def build(hp):
        if hp.Int("units", 2, 8, step=2) == 4:
            raise RuntimeError("no 4")
        return grid_model(hp)

    tuner = search(GridSearch(build, directory=tmp_path, seed=0))
    rows = tuner.trials_table()
    assert len(rows) == 8 and [r["status"] for r in rows].count("FAILED") == 2  # units=4 with both rates
    failed = [r for r in rows if r["status"] == "FAILED"]
    assert all(r["units"] == 4 and r["error"] == "RuntimeError: no 4" for r in failed)


def test_consecutive_failures_stop_the_search_and_keep_the_records(tmp_path):
    def build(hp):
        hp.Float("lr", 1e-3, 1e-1, sampling="log")
        raise RuntimeError("broken model")

    tuner = RandomSearch(build, max_trials=10, max_consecutive_failed_trials=3, directory=tmp_path, seed=0)
    with pytest.raises(RuntimeError, match="exceeded the limit of 3. The last error: RuntimeError: broken model"):
        search(tuner)
    assert [r["status"] for r in tuner.trials_table()] == ["FAILED"] * 3
    records = sorted(os.listdir(tmp_path / "untitled_project"))
    assert records == ["trial_0000", "trial_0001", "trial_0002", "tuner.json"]


def test_grid_search_refuses_a_continuous_float(tmp_path):
    with pytest.raises(ValueError, match="GridSearch needs a step for Float 'lr'"):
        GridSearch(build_model, directory=tmp_path)


def test_directory_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="Expected `directory` to be a folder. Received a file"):
        RandomSearch(build_model, directory=tmp_path / "file")
    (tmp_path / "untitled_project").write_text("x")
    with pytest.raises(ValueError, match="to be a folder. Received a file"):
        RandomSearch(build_model, directory=tmp_path)


def test_overwrite_starts_afresh_and_never_removes_a_foreign_folder(tmp_path):
    search(RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path))
    fresh = RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path, overwrite=True)
    assert fresh.trials_table() == []
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not a pytrainc search"):
        RandomSearch(build_model, directory=tmp_path, project_name="mine", overwrite=True)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_reopening_with_another_objective_or_seed_is_refused(tmp_path):
    search(RandomSearch(build_model, max_trials=1, seed=0, directory=tmp_path))
    with pytest.raises(ValueError, match="holds a search with objective="):
        RandomSearch(build_model, objective="val_accuracy", directory=tmp_path)
    with pytest.raises(ValueError, match="holds a search with seed=0; this one has seed=1"):
        RandomSearch(build_model, seed=1, directory=tmp_path)


def test_a_damaged_record_is_reported_and_kept(tmp_path):
    search(RandomSearch(build_model, max_trials=1, seed=0, directory=tmp_path))
    path = tmp_path / "untitled_project" / "trial_0000" / "trial.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="trial.json is damaged"):
        RandomSearch(build_model, directory=tmp_path)
    assert path.read_text() == "{not json"


def test_a_hypermodel_workers_cannot_receive(tmp_path):
    tuner = RandomSearch(lambda hp: build_model(hp), max_trials=2, n_jobs=2, directory=tmp_path)
    with pytest.raises(TypeError, match="cannot be pickled .* not as a lambda or a nested function"):
        search(tuner)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_trials": 0}, "max_trials must be a positive int"),
        ({"executions_per_trial": 1.5}, "executions_per_trial must be a positive int"),
        ({"n_jobs": 0}, "n_jobs must be a positive int"),
        ({"project_name": ""}, "project_name must be a non-empty folder name"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomSearch(build_model, directory=tmp_path, **kwargs)


def test_record_files_are_json(tmp_path):
    search(RandomSearch(build_model, max_trials=1, seed=0, directory=tmp_path))
    record = json.loads((tmp_path / "untitled_project" / "trial_0000" / "trial.json").read_text())
    assert record["status"] == "COMPLETED" and record["seed"] == 0
    assert record["blas_threads"] == max(1, len(os.sched_getaffinity(0)))  # cores // n_jobs


def test_progress_bar_shows_the_best_score(tmp_path, capsys):
    tuner = RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path)
    tuner.search(X, Y, epochs=1, batch_size=16, validation_data=VAL, verbose=1)
    err = capsys.readouterr().err
    assert "2/2" in err and "best val_loss=" in err


def test_a_resumed_trial_keeps_its_blas_thread_count(tmp_path):
    # What a search killed during trial 0 leaves: its RUNNING record, written with 1 BLAS thread.
    RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path)
    trial_dir = tmp_path / "untitled_project" / "trial_0000"
    trial_dir.mkdir()
    (trial_dir / "trial.json").write_text(json.dumps({"trial_id": 0, "status": "RUNNING", "blas_threads": 1}))
    tuner = search(
        RandomSearch(build_model, max_trials=2, seed=0, directory=tmp_path, threads_per_trial=2, backup_freq="epoch")
    )
    assert [tuner._records[t]["blas_threads"] for t in (0, 1)] == [1, 2]
