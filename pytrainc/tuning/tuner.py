"""`Tuner`: the search loop shared by every tuner, its records, and its results.

A tuner proposes trials by id (0, 1, 2, ...). A proposal is a pure function
of the trial id, the search seed and the final records of the trials it
depends on (none for `RandomSearch`, trial 0 for `GridSearch`, every earlier
trial for `BayesianOptimization` after its initial points, the previous round
for `Hyperband`). With each trial seeded from the search seed and its id, the
trials table therefore does not depend on `n_jobs`, on the order in which
workers finish, or on a restart.
"""

import concurrent.futures
import multiprocessing
import os

import pytrainc
from pytrainc._checks import picklable
from pytrainc.tuning import _records, _trial
from pytrainc.tuning.hypermodel import HyperModel, get_hypermodel
from pytrainc.tuning.hyperparameters import HyperParameters
from pytrainc.tuning.objective import get_objective

__all__ = ["Tuner"]

WAIT, SKIP, DONE = "wait", "skip", "done"


def _positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int{' or None' if allow_none else ''}. Received: {name}={value!r}")
    return value


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _context_name():
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def _check_picklable(ctx):
    """Workers get the hypermodel, the data and the callbacks by pickle: say so before starting them."""
    picklable(
        ctx,
        "n_jobs > 1 sends the hypermodel, the search's arguments and its callbacks to worker processes "
        "with pickle, and one of them cannot be pickled ({exc}). Define build_model (or the HyperModel "
        "class) at the top level of an importable module, not as a lambda or a nested function.",
    )


class Tuner:
    """Base class of the tuners: runs trials, records them, and reports the best.

    Subclasses (`GridSearch`, `RandomSearch`, `BayesianOptimization`,
    `Hyperband`) decide which hyperparameter values each trial gets.

    Args:
        hypermodel: A `HyperModel`, or a function `build_model(hp)` returning a
            compiled model.
        objective: A metric name (`"val_loss"`, `"val_accuracy"`, ...) whose
            direction is inferred as Keras Tuner infers it, or an
            `Objective`. Defaults to `None` (`"val_loss"`).
        max_trials: Number of trials at most. Defaults to `10`.
        executions_per_trial: Models built and fit per trial, with different
            seeds; the score is their mean. Defaults to `1`.
        max_consecutive_failed_trials: The search stops with a RuntimeError
            once this many trials in a row failed. Defaults to `3`.
        directory: Folder of the search's projects. Defaults to `"."`.
        project_name: The search's folder in `directory`: one record per
            trial, so a restarted search repeats no finished trial. Defaults
            to `"untitled_project"`.
        overwrite: Whether to delete a previous search in that folder first.
            Defaults to `False`.
        seed: Seed of the search; each trial is seeded from it and its id.
            Defaults to `None` (a random seed, kept in the folder).
        n_jobs: Worker processes that run trials at once (`1`: in this
            process). Defaults to `1`.
        threads_per_trial: BLAS threads of each trial. Defaults to `None`
            (the cores divided by `n_jobs`, at least 1).
        backup_freq: `None`, `"epoch"` or a number of batches: how often a
            running trial's `BackupAndRestore` checkpoint is written, so that
            a killed trial resumes where it stopped, with the same final
            weights. With `None` a killed trial starts again from its
            beginning, which gives the same result too (it is seeded) and
            saves a backup per epoch: about 10 ms each here, several times
            a small trial's whole fit. Use `"epoch"` for trials of minutes.
            Defaults to `None`.

    Raises:
        ValueError: for an objective whose direction cannot be inferred, a
            bad count, a `directory` that is a file, or a folder that holds
            another search or something else.
    """

    _default_max_trials = 10

    def __init__(
        self,
        hypermodel,
        objective=None,
        max_trials="default",
        executions_per_trial=1,
        max_consecutive_failed_trials=3,
        directory=".",
        project_name="untitled_project",
        overwrite=False,
        seed=None,
        n_jobs=1,
        threads_per_trial=None,
        backup_freq=None,
    ):
        self.hypermodel = get_hypermodel(hypermodel)
        self.objective = get_objective(objective)
        if max_trials == "default":
            max_trials = self._default_max_trials
        self.max_trials = _positive_int("max_trials", max_trials, allow_none=True)
        self.executions_per_trial = _positive_int("executions_per_trial", executions_per_trial)
        self.max_consecutive_failed_trials = _positive_int(
            "max_consecutive_failed_trials", max_consecutive_failed_trials
        )
        self.n_jobs = _positive_int("n_jobs", n_jobs)
        self.threads_per_trial = _positive_int("threads_per_trial", threads_per_trial, allow_none=True)
        if self.threads_per_trial is None:
            self.threads_per_trial = max(1, _cores() // self.n_jobs)
        if backup_freq is not None and backup_freq != "epoch":
            _positive_int("backup_freq", backup_freq)
        self.backup_freq = backup_freq
        if seed is not None:
            pytrainc.utils._check_seed(seed)
        config = {"tuner": type(self).__name__, "objective": self.objective.get_config(), "seed": seed}
        self.project_dir, stored = _records.open_project(directory, project_name, overwrite, config)
        self.seed = int(stored["seed"])
        self._records = _records.load_records(self.project_dir)
        self._initial_space = self._discover_space()

    # -- the space
    def _discover_space(self):
        """Builds the model once with default values to register the hyperparameters of `build`.

        Hyperparameters of `HyperModel.fit`, and those only a plain `if`
        reaches, appear in the records of the trials that define them.
        """
        hp = HyperParameters()
        try:
            self.hypermodel.build(hp)
        except Exception:  # the trials will record the error
            return None
        fit_overridden = type(self.hypermodel).fit is not HyperModel.fit
        if not hp.space and not fit_overridden:
            raise ValueError(
                "The search space is empty: build_model(hp) defined no hyperparameter "
                "(call hp.Int, hp.Float, hp.Choice, hp.Boolean or hp.Fixed in it)."
            )
        return hp

    def _space(self, records, upto=None):
        """The hyperparameters known from the initial build and the records below trial `upto`, in order."""
        space = {}
        if self._initial_space is not None:
            space.update((hp.name, hp) for hp in self._initial_space.space)
        for tid in sorted(records):
            if upto is not None and tid >= upto:
                break
            config = records[tid].get("hyperparameters")
            if config:
                for hp in HyperParameters.from_config(config).space:
                    space.setdefault(hp.name, hp)
        return list(space.values())

    def search_space_summary(self):
        """Prints the hyperparameters known so far."""
        space = self._space(self._records)
        print(f"Search space summary\nDefault search space size: {len(space)}")
        for hp in space:
            print(f"{hp.name} ({type(hp).__name__})\n{hp.get_config()}")

    # -- proposals (subclasses)
    def _propose(self, trial_id, records):
        """A trial spec (dict) for `trial_id`, or WAIT, SKIP or DONE."""
        raise NotImplementedError

    def _within_max_trials(self, trial_id):
        return self.max_trials is None or trial_id < self.max_trials

    # -- the search
    def search(self, *fit_args, **fit_kwargs):
        """Runs trials until `max_trials` (or the space) is exhausted; takes the arguments of `fit()`.

        Finished trials recorded in the project folder are not run again;
        a trial that was running when the search died restarts from its
        backup. `verbose` is the search's: `0` silent, `1` a bar over trials
        with the best score so far, `2` also each trial's `fit` output.

        Args:
            *fit_args: Positional arguments of `fit()` (`x`, `y`, ...).
            **fit_kwargs: Keyword arguments of `fit()` (`validation_data`,
                `epochs`, `callbacks`, ...), passed to `HyperModel.fit`.

        Raises:
            ValueError: if the objective is not among the values the fit
                reports (no trial is recorded then), or the space is empty.
            RuntimeError: once `max_consecutive_failed_trials` trials in a row
                failed; every record written is kept.
        """
        callbacks = fit_kwargs.pop("callbacks", None) or []
        verbose = fit_kwargs.pop("verbose", 1)
        fit_kwargs["verbose"] = 2 if verbose == 2 else 0
        ctx = _trial.Context(
            self.hypermodel,
            self.objective,
            fit_args,
            fit_kwargs,
            list(callbacks),
            self.project_dir,
            self.executions_per_trial,
            self.seed,
            self.threads_per_trial,
            self.backup_freq,
        )
        bar = None
        if verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_trials, desc="trials", unit="trial", initial=len(self._records))
        before = pytrainc.blas_info()["num_threads"]
        try:
            if self.n_jobs == 1:
                self._loop(ctx, bar, None)
            else:
                _check_picklable(ctx)
                with concurrent.futures.ProcessPoolExecutor(
                    self.n_jobs,
                    mp_context=multiprocessing.get_context(_context_name()),
                    initializer=_trial.worker_init,
                    initargs=(ctx,),
                ) as pool:
                    self._loop(ctx, bar, pool)
        finally:
            pytrainc.set_num_threads(before)
            if bar is not None:
                bar.close()

    _LOOKAHEAD = 64  # how far past the first unfinished trial proposals are tried while earlier ones wait

    def _next_specs(self, limit, launched, skipped):
        """Up to `limit` trial specs that can start now, lowest ids first."""
        specs, tid, first_open = [], 0, None
        while len(specs) < limit and (self._done_at is None or tid < self._done_at):
            if tid in self._records or tid in skipped or tid in launched:
                tid += 1
                continue
            first_open = tid if first_open is None else first_open
            if tid - first_open > self._LOOKAHEAD:
                break
            spec = self._propose(tid, {**self._records, **skipped})
            if spec is DONE:
                self._done_at = tid
            elif spec is SKIP:
                skipped[tid] = {"trial_id": tid, "status": "SKIPPED"}
            elif spec is not WAIT:
                specs.append({**spec, "trial_id": tid})
                launched.add(tid)
            tid += 1
        return specs

    def _loop(self, ctx, bar, pool):
        skipped, pending, stop = {}, {}, None
        self._done_at = None
        while True:
            if stop is None:
                launched = set(pending.values())
                specs = self._next_specs(1 if pool is None else self.n_jobs - len(pending), launched, skipped)
                for spec in specs:
                    if pool is None:
                        self._finish(_trial.run_trial(ctx, spec), bar)
                    else:
                        pending[pool.submit(_trial.worker_run, spec)] = spec["trial_id"]
                if pool is None:
                    stop = self._should_stop()
                    if stop is not None or not specs:
                        break
                    continue
            if not pending:
                break
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                pending.pop(future)
                try:
                    record = future.result()
                except BaseException:
                    for other in pending:
                        other.cancel()
                    raise
                self._finish(record, bar)
            if stop is None:
                stop = self._should_stop()
        if stop is not None:
            raise stop

    def _finish(self, record, bar):
        self._records[record["trial_id"]] = record
        if record["trial_id"] == 0 and record["status"] == "COMPLETED" and self._initial_space is not None:
            if not self._initial_space.space and not record["hyperparameters"]["space"]:
                raise ValueError(
                    "The search space is empty: neither build(hp) nor fit(hp, ...) defined a hyperparameter."
                )
        if bar is not None:
            best = self.get_best_trials(1)
            if best:
                bar.set_postfix({f"best {self.objective.name}": f"{best[0]['score']:.4g}"})
            bar.update(1)

    def _should_stop(self):
        """A RuntimeError once the last `max_consecutive_failed_trials` records (by id) failed."""
        run, last_error = 0, None
        for tid in sorted(self._records):
            record = self._records[tid]
            run = run + 1 if record["status"] == "FAILED" else 0
            if run == 1 or record["status"] == "FAILED":
                last_error = record.get("error", last_error)
            if run >= self.max_consecutive_failed_trials:
                return RuntimeError(
                    f"Number of consecutive failures exceeded the limit of {self.max_consecutive_failed_trials}. "
                    f"The last error: {last_error}. The records in {self.project_dir} are kept."
                )
        return None

    # -- results
    def get_best_trials(self, num_trials=1):
        """The records of the best completed trials, best first (ties: lower trial id first)."""
        done = [r for r in self._records.values() if r["status"] == "COMPLETED" and r.get("score") is not None]
        done.sort(key=lambda r: (self.objective.sort_key(r["score"]), r["trial_id"]))
        return done[:num_trials]

    def get_best_hyperparameters(self, num_trials=1):
        """The `HyperParameters` of the best trials, best first.

        Args:
            num_trials: How many. Defaults to `1`.

        Returns:
            A list of `HyperParameters` (shorter when fewer trials completed).
        """
        return [HyperParameters.from_config(r["hyperparameters"]) for r in self.get_best_trials(num_trials)]

    def get_best_models(self, num_models=1):
        """The best trials' models, loaded from each trial's checkpoint (its best epoch), not retrained.

        Args:
            num_models: How many. Defaults to `1`.

        Returns:
            A list of compiled models, best first.
        """
        return [
            pytrainc.models.load_model(_records.checkpoint_path(self.project_dir, r["trial_id"]))
            for r in self.get_best_trials(num_models)
        ]

    def trials_table(self):
        """One dict per recorded trial, by trial id: id, status, hyperparameter values, score, metrics.

        Returns:
            A list of dicts; `trials_dataframe()` gives the same as a pandas DataFrame.
        """
        rows = []
        for tid in sorted(self._records):
            r = self._records[tid]
            row = {"trial_id": tid, "status": r["status"]}
            row.update((r.get("hyperparameters") or {}).get("values", {}))
            row["score"] = r.get("score")
            row["best_epoch"] = r.get("best_epoch")
            row.update(r.get("metrics") or {})
            for key in ("epochs", "initial_epoch", "parent", "bracket", "round", "error"):
                if key in r:
                    row[key] = r[key]
            row["elapsed"] = r.get("elapsed")
            rows.append(row)
        return rows

    def trials_dataframe(self):
        """The trials table as a pandas DataFrame.

        Raises:
            ImportError: if pandas is not installed (`trials_table()` needs nothing).
        """
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "trials_dataframe() needs pandas (pip install pandas); "
                "trials_table() gives the same rows as a list of dicts"
            ) from None
        return pandas.DataFrame(self.trials_table())

    def plot(self, hyperparameter=None, path=None, **kwargs):
        """Plots the objective per trial and against one hyperparameter, with matplotlib.

        A shortcut for `pytrainc.plotting.plot_tuner(self, ...)`; see there for
        the arguments.

        Returns:
            The matplotlib `Figure` when `path` is `None`, else `None`.
        """
        from pytrainc import plotting

        return plotting.plot_tuner(self, hyperparameter=hyperparameter, path=path, **kwargs)

    def results_summary(self, num_trials=10, print_fn=print):
        """Prints the best trials: their hyperparameters and scores, as Keras Tuner does.

        Args:
            num_trials: How many trials to show. Defaults to `10`.
            print_fn: Function that prints one line. Defaults to `print`.
        """
        print_fn("Results summary")
        print_fn(f"Results in {self.project_dir}")
        print_fn(f"Showing {num_trials} best trials")
        print_fn(repr(self.objective))
        for r in self.get_best_trials(num_trials):
            print_fn("")
            print_fn(f"Trial {r['trial_id']:02d} summary")
            print_fn("Hyperparameters:")
            for name, value in r["hyperparameters"]["values"].items():
                print_fn(f"{name}: {value}")
            print_fn(f"Score: {r['score']}")
