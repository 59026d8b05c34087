"""`History`: the record of every epoch's logs that `fit()` returns."""

from typing import Dict, List

from pytrainc.callbacks.callback import Callback


class History(Callback):
    """Records the logs of every epoch; `fit()` returns this object.

    Added automatically by `fit()`. As in Keras, `on_train_begin` clears
    `epoch` but keeps `history`, so an instance passed to several `fit()` calls
    accumulates the values of all of them.

    Attributes:
        history: Dict mapping each log key (`"loss"`, `"val_loss"`, ...) to the
            list of its values, one per epoch.
        epoch: List of the indices of the epochs recorded in the current `fit()`.
        restored_epoch: Index of the epoch whose weights `EarlyStopping`
            (with `restore_best_weights=True`) restored at the end of the
            current `fit()`, or `None`. `plot()` marks it.

    Example:

    >>> history = History()  # `model.fit()` returns the one it used.
    >>> history.on_train_begin()
    >>> history.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
    >>> history.on_epoch_end(1, {"loss": 0.25, "val_loss": 0.5})
    >>> history.history
    {'loss': [0.5, 0.25], 'val_loss': [0.75, 0.5]}
    >>> history.epoch
    [0, 1]
    """

    _backup_state = {"history": Dict[str, list], "epoch": List[int]}

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.restored_epoch = None

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.restored_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        # Keras re-attaches itself here so `model.history` is always the
        # History of the latest epoch.
        if self.model is not None:
            self.model.history = self

    def plot(self, metrics=None, path=None, **kwargs):
        """Plots the training and validation curves with matplotlib.

        A shortcut for `pytrainc.plotting.plot_history(self, ...)`; see there
        for the arguments.

        Returns:
            The matplotlib `Figure` when `path` is `None`, else `None` (the
            figure is saved to `path`).
        """
        from pytrainc import plotting

        return plotting.plot_history(self, metrics=metrics, path=path, **kwargs)
