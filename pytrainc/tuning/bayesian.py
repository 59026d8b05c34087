"""`BayesianOptimization`: a Gaussian process with expected improvement, in NumPy, or Optuna's TPE.

Why NumPy and not a library: the process sees at most a few hundred trials,
so fitting it is one Cholesky factorization of an (n, n) matrix and choosing
the next point is a few thousand kernel evaluations, a page of code. Keras
Tuner uses scikit-learn's `GaussianProcessRegressor` and scikit-optimize is
no longer maintained; either would add a dependency (scikit-learn and SciPy,
tens of MB) that pytrainc does not otherwise need, and neither is seeded per
trial as the trials here are. SciPy is not needed either: the normal CDF
comes from `math.erf`. `sampler="tpe"` asks Optuna's `TPESampler` instead (a
maintained implementation, when Optuna is installed: `pip install ".[tune]"`),
told every earlier trial and seeded per trial the same way.
"""

import math

import numpy as np

from pytrainc.tuning.hyperparameters import Boolean, Choice, Fixed
from pytrainc.tuning.tuner import DONE, WAIT, Tuner

__all__ = ["BayesianOptimization"]

_LENGTH_SCALES = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 2.0)
_erf = np.vectorize(math.erf, otypes=[float])


def _matern52(a, b, length_scale):
    d = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0)) / length_scale
    s5 = math.sqrt(5.0) * d
    return (1.0 + s5 + 5.0 / 3.0 * d * d) * np.exp(-s5)


def _fit(x, y, noise):
    """The GP (Matern 5/2, unit variance on standardized y) whose length scale maximizes the evidence."""
    best = None
    for ls in _LENGTH_SCALES:
        k = _matern52(x, x, ls) + noise * np.eye(len(x))
        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            continue
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
        evidence = -0.5 * y @ alpha - np.log(np.diag(chol)).sum()
        if best is None or evidence > best[0]:
            best = (evidence, ls, chol, alpha)
    return best


def expected_improvement(mu, sigma, best, xi=0.01):
    """EI of a minimization at means `mu` and standard deviations `sigma`, over `best`."""
    sigma = np.maximum(sigma, 1e-12)
    imp = best - mu - xi
    z = imp / sigma
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return imp * cdf + sigma * pdf


class BayesianOptimization(Tuner):
    """Bayesian optimization: a Gaussian process over the space, expected improvement to choose.

    The first `num_initial_points` trials are random (as `RandomSearch`, all
    at once with `n_jobs`); each later trial fits the process to every
    earlier trial's score and takes the candidate of highest expected
    improvement among 2,000 random points and 500 perturbations of the best
    trial, drawn from a generator seeded by the search seed and the trial id.
    So a later trial waits for every earlier one: the results do not depend
    on `n_jobs`, and the workers run in parallel only for the initial points.
    Each hyperparameter is mapped into [0, 1] (log-sampled ones on a log
    scale, a `Choice` by its index). Takes the arguments of `Tuner`.

    Args:
        num_initial_points: Random trials before the process is used.
            Defaults to `None` (3 per hyperparameter of `build`, at least 3).
        alpha: Noise added to the kernel's diagonal. Defaults to `1e-4`.
        sampler: `"gp"` (the Gaussian process) or `"tpe"` (Optuna's
            `TPESampler`, told every earlier trial: a `Choice` or `Boolean` as
            a categorical, a number by its [0, 1] position). Defaults to `"gp"`.
        **kwargs: The arguments of `Tuner`.

    Example:

    >>> from pytrainc.tuning import BayesianOptimization
    >>> def build_model(hp):
    ...     model = Sequential([Input((8,)), Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer=Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")), loss="binary_crossentropy")
    ...     return model
    >>> tuner = BayesianOptimization(build_model, max_trials=4, num_initial_points=2, seed=0)
    >>> tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    >>> len(tuner.get_best_hyperparameters(4))
    4
    """

    def __init__(self, hypermodel, num_initial_points=None, alpha=1e-4, sampler="gp", **kwargs):
        if sampler not in ("gp", "tpe"):
            raise ValueError(f"sampler must be 'gp' or 'tpe'. Received: sampler={sampler!r}")
        if sampler == "tpe":
            try:
                import optuna  # noqa: F401
            except ImportError:
                raise ImportError(
                    "sampler='tpe' needs Optuna (pip install optuna, or pytrainc's [tune] extra)"
                ) from None
        self.sampler = sampler
        super().__init__(hypermodel, **kwargs)
        if self.max_trials is None:
            raise ValueError("BayesianOptimization needs max_trials (a positive int). Received: max_trials=None")
        if num_initial_points is None:
            dims = len(self._initial_space.space) if self._initial_space is not None else 1
            num_initial_points = max(3, 3 * dims)
        if isinstance(num_initial_points, bool) or not isinstance(num_initial_points, int) or num_initial_points < 1:
            raise ValueError(f"num_initial_points must be a positive int. Received: {num_initial_points!r}")
        self.num_initial_points, self.alpha = num_initial_points, float(alpha)

    def _propose(self, trial_id, records):
        if not self._within_max_trials(trial_id):
            return DONE
        if trial_id < self.num_initial_points:
            return {"values": {}, "sampler": "random"}
        if any(t not in records for t in range(trial_id)):
            return WAIT
        space = [hp for hp in self._space(records, upto=trial_id) if not isinstance(hp, Fixed)]
        done = [
            records[t]
            for t in range(trial_id)
            if records[t]["status"] == "COMPLETED" and records[t].get("score") is not None
        ]
        if not space or len(done) < 2:
            return {"values": {}, "sampler": "random"}
        if self.sampler == "tpe":
            return {"values": self._propose_tpe(space, done, trial_id), "sampler": "random"}
        x = np.array(
            [[hp.to_unit(r["hyperparameters"]["values"].get(hp.name, hp.default)) for hp in space] for r in done]
        )
        sign = 1.0 if self.objective.direction == "min" else -1.0
        y = sign * np.array([r["score"] for r in done])
        y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
        fitted = _fit(x, y, self.alpha)
        rng = np.random.default_rng([self.seed, trial_id, 0x6270])
        best_x = x[int(np.argmin(y))]
        candidates = np.concatenate(
            [rng.random((2000, len(space))), np.clip(best_x + 0.05 * rng.standard_normal((500, len(space))), 0, 1)]
        )
        if fitted is None:
            pick = candidates[0]
        else:
            _, ls, chol, alpha = fitted
            ks = _matern52(candidates, x, ls)
            mu = ks @ alpha
            v = np.linalg.solve(chol, ks.T)
            sigma = np.sqrt(np.maximum(1.0 - (v * v).sum(0), 0.0))
            pick = candidates[int(np.argmax(expected_improvement(mu, sigma, y.min())))]
        return {"values": {hp.name: hp.from_unit(float(u)) for hp, u in zip(space, pick)}, "sampler": "random"}

    def _propose_tpe(self, space, done, trial_id):
        """Optuna's TPESampler, told every completed trial, asked for trial `trial_id`'s values."""
        import optuna

        categorical = (Choice, Boolean)
        dists = {
            hp.name: optuna.distributions.CategoricalDistribution(
                hp.values if isinstance(hp, Choice) else [False, True]
            )
            if isinstance(hp, categorical)
            else optuna.distributions.FloatDistribution(0.0, 1.0)
            for hp in space
        }
        seed = int(np.random.default_rng([self.seed, trial_id, 0x7470]).integers(2**31))
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" per trial
        try:
            study = optuna.create_study(
                direction="minimize" if self.objective.direction == "min" else "maximize",
                sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=0),
            )
            for r in done:
                values = r["hyperparameters"]["values"]
                params = {}
                for hp in space:
                    v = values.get(hp.name, hp.default)
                    params[hp.name] = v if isinstance(hp, categorical) else hp.to_unit(v)
                study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=r["score"]))
            asked = study.ask(dists).params
        finally:
            optuna.logging.set_verbosity(verbosity)
        return {
            hp.name: asked[hp.name] if isinstance(hp, categorical) else hp.from_unit(asked[hp.name]) for hp in space
        }
