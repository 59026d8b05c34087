"""Hyperparameter search with Keras Tuner's vocabulary: spaces, hypermodels, tuners.

- `HyperParameters` (`hp.Choice`, `hp.Int`, `hp.Float`, `hp.Boolean`,
  `hp.Fixed`, `hp.conditional_scope`), `HyperModel`, `Objective`;
- tuners `GridSearch`, `RandomSearch`, `BayesianOptimization` and
  `Hyperband`, which share `Tuner`: `search(x, y, ...)` with `fit()`'s
  arguments, `results_summary()`, `get_best_hyperparameters(n)`,
  `get_best_models(n)`, `trials_table()`.

A search lives in `directory/project_name`, one atomically written record
per trial; started again after a crash (even kill -9) it runs only the trials
that had not finished. Each trial is seeded from the search seed and its id,
so a search with `n_jobs` worker processes gives the trials table of a serial
one.

Example:

>>> from pytrainc.tuning import RandomSearch
>>> def build_model(hp):
...     model = Sequential([Input((8,)), Dense(hp.Int("units", 2, 16, step=2), activation="relu"),
...                         Dense(1, activation="sigmoid")])
...     model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
...     return model
>>> tuner = RandomSearch(build_model, objective="val_accuracy", max_trials=2, seed=0)
>>> tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
>>> model = tuner.get_best_models(1)[0]
"""

from pytrainc.tuning.bayesian import BayesianOptimization
from pytrainc.tuning.grid_search import GridSearch
from pytrainc.tuning.hyperband import Hyperband
from pytrainc.tuning.hypermodel import HyperModel
from pytrainc.tuning.hyperparameters import HyperParameters
from pytrainc.tuning.objective import Objective
from pytrainc.tuning.random_search import RandomSearch
from pytrainc.tuning.tuner import Tuner

__all__ = [
    "BayesianOptimization",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "Objective",
    "RandomSearch",
    "Tuner",
]
