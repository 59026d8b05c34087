"""`Hyperband`: brackets of successive halving that continue the best trials from their checkpoints."""

import math

from pytrainc.tuning.tuner import DONE, SKIP, WAIT, Tuner

__all__ = ["Hyperband"]


def schedule(max_epochs, factor, iterations, min_epochs=1):
    """The trials of Hyperband (Li et al., 2018, https://arxiv.org/abs/1603.06560), in order.

    Each entry is a dict with iteration, bracket, round, slot (its rank among
    the round's trials), count (trials in the round), epochs and
    initial_epoch (the epochs its parent already trained, 0 in round 0).
    """
    s_max = max(0, int(math.floor(math.log(max_epochs / min_epochs, factor) + 1e-9)))
    out = []
    for it in range(iterations):
        for s in range(s_max, -1, -1):
            n = int(math.ceil((s_max + 1) / (s + 1) * factor**s))
            previous = 0
            for r in range(s + 1):
                count = max(1, int(n * factor**-r))
                epochs = min(max_epochs, max(min_epochs, int(round(max_epochs * factor ** (r - s)))))
                for slot in range(count):
                    out.append(
                        {
                            "iteration": it,
                            "bracket": s,
                            "round": r,
                            "slot": slot,
                            "count": count,
                            "epochs": epochs,
                            "initial_epoch": previous,
                        }
                    )
                previous = epochs
    return out


class Hyperband(Tuner):
    """Hyperband: many short trials, and the best of each round trained further.

    Each bracket starts trials with random values for a few epochs; after
    each round the best `1 / factor` of them continue from their checkpoint
    (weights and optimizer state at their best epoch) to `factor` times as
    many epochs, up to `max_epochs`, instead of training again from scratch.
    A continued trial is a new trial whose `parent` is the one it continues.
    A round starts when the round before it has finished, so the results do
    not depend on `n_jobs`. The tuner sets `epochs` and `initial_epoch` of
    `fit`; do not pass them to `search`.

    Args:
        hypermodel: As for `Tuner`.
        max_epochs: Epochs of the longest trials. Defaults to `100`.
        factor: Reduction factor between rounds. Defaults to `3`.
        hyperband_iterations: Times the whole set of brackets runs.
            Defaults to `1`.
        **kwargs: The other arguments of `Tuner`; `max_trials` defaults to
            `None` (the whole schedule).

    Raises:
        ValueError: if `max_epochs` < 1 or `factor` < 2.

    Example:

    >>> from pytrainc.tuning import Hyperband
    >>> def build_model(hp):
    ...     model = Sequential([Input((8,)), Dense(hp.Int("units", 2, 8), activation="relu"),
    ...                         Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer="adam", loss="binary_crossentropy")
    ...     return model
    >>> tuner = Hyperband(build_model, max_epochs=4, factor=2, seed=0)
    >>> tuner.search(x, y, validation_data=(x, y), verbose=0)
    >>> max(row["epochs"] for row in tuner.trials_table())
    4
    """

    _default_max_trials = None

    def __init__(self, hypermodel, max_epochs=100, factor=3, hyperband_iterations=1, **kwargs):
        for name, value, low in (
            ("max_epochs", max_epochs, 1),
            ("factor", factor, 2),
            ("hyperband_iterations", hyperband_iterations, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}. Received: {name}={value!r}")
        super().__init__(hypermodel, **kwargs)
        self.max_epochs, self.factor, self.hyperband_iterations = max_epochs, factor, hyperband_iterations
        self._schedule = schedule(max_epochs, factor, hyperband_iterations)
        # Trial ids of each (iteration, bracket, round), for the promotions.
        self._rounds = {}
        for tid, entry in enumerate(self._schedule):
            self._rounds.setdefault((entry["iteration"], entry["bracket"], entry["round"]), []).append(tid)

    def _propose(self, trial_id, records):
        if trial_id >= len(self._schedule) or not self._within_max_trials(trial_id):
            return DONE
        entry = self._schedule[trial_id]
        spec = {
            "epochs": entry["epochs"],
            "initial_epoch": entry["initial_epoch"],
            "bracket": entry["bracket"],
            "round": entry["round"],
            "parent": None,
        }
        if entry["round"] == 0:
            return {**spec, "values": {}, "sampler": "random"}
        previous = self._rounds[(entry["iteration"], entry["bracket"], entry["round"] - 1)]
        if any(t not in records for t in previous):
            return WAIT
        done = [
            records[t] for t in previous if records[t]["status"] == "COMPLETED" and records[t].get("score") is not None
        ]
        done.sort(key=lambda r: (self.objective.sort_key(r["score"]), r["trial_id"]))
        if entry["slot"] >= len(done):
            return SKIP
        parent = done[entry["slot"]]
        return {**spec, "parent": parent["trial_id"], "hp_config": parent["hyperparameters"], "sampler": "default"}
