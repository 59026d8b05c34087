"""`GridSearch`: every combination of the values, in a stable order."""

import itertools

from pytrainc.tuning.hyperparameters import HyperParameters
from pytrainc.tuning.tuner import DONE, WAIT, Tuner

__all__ = ["GridSearch"]


class GridSearch(Tuner):
    """Grid search: every combination of every hyperparameter's values, once.

    Trial 0 runs every hyperparameter at its default, which also registers
    those `HyperModel.fit` defines (such as `batch_size`); then the grid is the
    product of the values of every hyperparameter in the order they were
    defined, the last one changing fastest (seed 004's nested loops), with
    combinations that differ only in inactive (conditional) values, or equal
    trial 0's, left out. `Choice` and `Boolean` give their values, `Int`
    every step, `Float` needs a `step`. A hyperparameter that only a plain `if`
    reaches keeps its default. Takes the arguments of `Tuner`;
    `max_trials` defaults to `None` (the whole grid).

    Example:

    >>> from pytrainc.tuning import GridSearch
    >>> def build_model(hp):
    ...     model = Sequential([Input((8,)), Dense(hp.Choice("units", [2, 4]), activation="relu"),
    ...                         Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer=Adam(hp.Choice("lr", [0.01, 0.1])), loss="binary_crossentropy")
    ...     return model
    >>> tuner = GridSearch(build_model, objective="val_loss", seed=0)
    >>> tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    >>> [(row["units"], row["lr"]) for row in tuner.trials_table()]
    [(2, 0.01), (2, 0.1), (4, 0.01), (4, 0.1)]
    """

    _default_max_trials = None

    def __init__(self, hypermodel, **kwargs):
        super().__init__(hypermodel, **kwargs)
        for hp in self._initial_space.space if self._initial_space is not None else ():
            hp.grid_values()  # a Float without a step fails here, before any trial runs

    def _propose(self, trial_id, records):
        if not self._within_max_trials(trial_id):
            return DONE
        if trial_id == 0:
            return {"values": {}, "sampler": "default"}
        if 0 not in records:
            return WAIT
        grid = self._grid(records)
        index = trial_id - 1
        while len(grid["combos"]) <= index:
            if grid["exhausted"]:
                return DONE
            try:
                values = next(grid["iterator"])
            except StopIteration:
                grid["exhausted"] = True
                continue
            key = self._key(grid["space"], values)
            if key not in grid["seen"]:
                grid["seen"].add(key)
                grid["combos"].append(values)
        return {"values": grid["combos"][index], "sampler": "default"}

    @staticmethod
    def _key(space, values):
        hp = HyperParameters(values=values)
        for item in space:
            hp._space[item.name] = item
        return tuple(sorted((k, repr(v)) for k, v in hp.values.items()))

    def _grid(self, records):
        cached = getattr(self, "_grid_cache", None)
        if cached is None:
            space = self._space(records, upto=1)
            names = [hp.name for hp in space]
            iterator = (dict(zip(names, combo)) for combo in itertools.product(*(hp.grid_values() for hp in space)))
            defaults = (records[0].get("hyperparameters") or {}).get("values", {})
            seen = {self._key(space, defaults)}
            cached = self._grid_cache = {
                "space": space,
                "iterator": iterator,
                "combos": [],
                "seen": seen,
                "exhausted": False,
            }
        return cached
