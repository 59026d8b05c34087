"""`RandomSearch`: each trial's values drawn independently."""

from pytrainc.tuning.tuner import DONE, Tuner

__all__ = ["RandomSearch"]


class RandomSearch(Tuner):
    """Random search: each value drawn from a generator seeded by (seed, trial id, name).

    Because a value depends only on those three, trials need nothing from
    each other: with `n_jobs` workers they all run at once, and conditional
    hyperparameters (plain `if`s in `build_model`) are drawn when reached.
    Takes the arguments of `Tuner`.

    Example:

    >>> from pytrainc.tuning import RandomSearch
    >>> def build_model(hp):
    ...     model = Sequential([Input((8,)), Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer=Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="binary_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> tuner = RandomSearch(build_model, objective="val_accuracy", max_trials=3, seed=1)
    >>> tuner.search(x, y, epochs=2, validation_data=(x, y), verbose=0)
    >>> len(tuner.trials_table())
    3
    >>> best_hp = tuner.get_best_hyperparameters()[0]
    """

    def _propose(self, trial_id, records):
        if not self._within_max_trials(trial_id):
            return DONE
        return {"values": {}, "sampler": "random"}
