"""`Callback`: the base class of all callbacks, and the `ResumePoint` of a resumed `fit()`."""

import collections
import copy


class Callback:
    """Base class used to build new callbacks.

    Callbacks are passed to `fit()`, `evaluate()` and `predict()` to hook into
    the stages of training, evaluation and inference. Subclass `Callback` and
    override the methods of the stages you need; the others do nothing.

    Overriding a batch hook (`on_train_batch_begin`, `on_train_batch_end`, or
    their aliases `on_batch_begin` / `on_batch_end`) makes `fit()` return to
    Python after every batch, which is slower than running the whole epoch in
    the C engine. Override epoch hooks when they are enough.

    Four class (or instance) attributes let a callback say more precisely
    what it needs; the first three are read by `CallbackList`:

    - `_train_batch_hooks_needed`: `None` (the default) infers the need for
      per-batch calls from the overridden methods; `True` or `False` (for
      example from a property) overrides that.
    - `_engine_batch_hook`: a kind of batch event the C engine detects itself,
      such as `"nonfinite_loss"`. Such a callback does not make `fit()` run
      batch by batch; `fit()` calls its `on_train_batch_end` only for the batch
      where the event happened (see `CallbackList.on_engine_batch_end`).
    - `_train_progress_needed`: like `_train_batch_hooks_needed`, for
      `on_train_progress`.
    - `_backup_state`: the attributes that make up the callback's state
      across epochs, as a dict of name to type, for example
      `{"wait": int, "best": float, "best_weights": Optional[List[np.ndarray]]}`
      (a class, or `typing.Optional`, `List` or `Dict` of classes).
      `BackupAndRestore` saves them and, on resume, sets them again; it
      refuses a backup that sets any other attribute, or a value of another
      type. Defaults to `{}`: nothing to save.

    `fit()` talks to callbacks that back up and restore training (such as
    `BackupAndRestore`) through `set_callbacks`, `backup_interval`,
    `on_backup_point` and `resume_point`; every other callback can ignore them.

    Attributes:
        model: The model being trained, set by `set_model()`. `None` until then.
        params: Dict of training parameters (`verbose`, `epochs`, `steps`), set
            by `set_params()`. `None` until then.

    Example:

    >>> class StopAtLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.1:
    ...             self.model.stop_training = True
    """

    # Class-level defaults so that a subclass whose `__init__` forgets to call
    # `super().__init__()` still has both attributes.
    model = None
    params = None
    # Attributes a copy (pickle, copy.copy, copy.deepcopy) does not carry, with the value it gets instead:
    # the model a fit bound (fit binds the copy to its own), open files, writers and progress bars.
    # Subclasses add theirs; the names of every class in the MRO count.
    _transient = {"model": None}

    _train_batch_hooks_needed = None
    _engine_batch_hook = None
    _train_progress_needed = None
    _backup_state = {}

    # Number of batches between two `on_backup_point` calls within an epoch,
    # or None: read by `CallbackList.backup_interval`.
    backup_interval = None

    def __init__(self):
        self.model = None
        self.params = None

    def __getstate__(self):
        """The callback's settings and state for a copy, without the `_transient` attributes.

        Returns:
            A dict of the instance's attributes, those named in `_transient`
            (by this class or a base class) replaced by their fresh values.
        """
        state = dict(self.__dict__)
        for cls in type(self).__mro__:
            for name, fresh in vars(cls).get("_transient", {}).items():
                if name in state:
                    state[name] = copy.copy(fresh)
        return state

    def set_params(self, params):
        """Stores the training parameters in `self.params`.

        Args:
            params: Dict of training parameters, for example
                `{"verbose": 1, "epochs": 10, "steps": 32}`.
        """
        self.params = params

    def set_model(self, model):
        """Stores the model in `self.model`.

        Args:
            model: The model the callback is used with.
        """
        self.model = model

    def set_callbacks(self, callbacks):
        """Receives the callbacks of the `CallbackList` this callback is in.

        Called by `CallbackList` when it is built. Does nothing by default;
        `BackupAndRestore` keeps the list to save and restore the state of
        the other callbacks.

        Args:
            callbacks: List of all the callbacks of the `CallbackList`, this
                one included, in the order they are called.
        """

    def on_backup_point(self, epoch, batch, sums=None, epoch_rng=None):
        """Called by `fit()` at a point from which training can resume exactly.

        After every epoch, once every callback's `on_epoch_end` has run, with
        `epoch + 1` and `batch=0`. While some callback has a `backup_interval`
        (see `CallbackList.backup_interval`), also every that many batches
        within an epoch, except after its last batch.

        Args:
            epoch: Integer, the epoch training would resume at (0-based).
            batch: Integer, the number of batches of `epoch` already done; 0
                means the epoch starts from its beginning.
            sums: With `batch > 0`, the float64 array of the running sums of
                the epoch's loss and metrics (the engine reuses it: copy what
                you keep); `None` otherwise. Defaults to `None`.
            epoch_rng: With `batch > 0`, the state of the global generator at
                the start of the epoch, which replays its shuffle; `None`
                otherwise. Defaults to `None`.
        """

    def on_backup_saved(self, path, epoch, batch):
        """Called by `BackupAndRestore` right after it has written a backup.

        The file at `path` holds everything `fit()` needs to resume at
        (`epoch`, `batch`), the arguments of the `on_backup_point` that wrote
        it; it is replaced by the next backup and removed when training ends
        (unless `delete_checkpoint=False`), so copy it to keep it.
        `pytrainc.integrations.ray.ReportCallback` sends it to Ray Tune as
        the checkpoint of the epoch it reports. Does nothing by default.

        Args:
            path: str, the backup file.
            epoch: Integer, the epoch training resumes at (0-based).
            batch: Integer, the batches of `epoch` already done (0 after an
                epoch's end).
        """

    def resume_point(self):
        """Returns where `fit()` resumes an interrupted run, or `None`.

        Called by `fit()` once, right after every callback's
        `on_train_begin`. `BackupAndRestore` returns the position of the
        backup it restored in its `on_train_begin`, after giving the other
        callbacks back the state their `on_train_begin` has just reset.

        Returns:
            A `ResumePoint`, or `None` (the default) to start at `fit()`'s
            `initial_epoch`.
        """
        return None

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch of `fit()`.

        Args:
            epoch: Integer, index of the epoch (0-based).
            logs: Dict. Currently empty.
        """

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch of `fit()`.

        Args:
            epoch: Integer, index of the epoch (0-based).
            logs: Dict of metric results for this epoch, for example
                `{"loss": 0.2, "accuracy": 0.7, "val_loss": 0.3}`. Validation
                keys are prefixed with `val_`. All callbacks receive the same
                dict object.
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the beginning of a training batch in `fit()`.

        Args:
            batch: Integer, index of the batch within the epoch.
            logs: Dict. Currently empty.
        """
        # For backwards compatibility with callbacks that override the alias.
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch in `fit()`.

        Args:
            batch: Integer, index of the batch within the epoch.
            logs: Dict of metric results up to this batch.
        """
        # For backwards compatibility with callbacks that override the alias.
        self.on_batch_end(batch, logs)

    def on_train_progress(self, steps_done, logs=None):
        """Called by `fit()` between chunks of batches run in the C engine.

        A pytrainc hook for progress display, not a batch hook: overriding it
        does not make `fit()` run batch by batch. While some callback needs it
        (`CallbackList.has_train_progress_hooks`), `fit()` runs each epoch in
        chunks of batches that take at least about 0.1 s and calls this hook
        after each chunk, so calls are already throttled.

        Args:
            steps_done: Integer, number of batches of the current epoch done.
            logs: Dict of the running averages of the epoch's loss and
                metrics over those batches.
        """

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch of `evaluate()` or of validation.

        Args:
            batch: Integer, index of the batch.
            logs: Dict. Currently empty.
        """

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch of `evaluate()` or of validation.

        Args:
            batch: Integer, index of the batch.
            logs: Dict of metric results up to this batch.
        """

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch of `predict()`.

        Args:
            batch: Integer, index of the batch.
            logs: Dict. Currently empty.
        """

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch of `predict()`.

        Args:
            batch: Integer, index of the batch.
            logs: Dict. Currently empty.
        """

    def on_train_begin(self, logs=None):
        """Called at the beginning of `fit()`.

        Args:
            logs: Dict. Currently empty.
        """

    def on_train_end(self, logs=None):
        """Called at the end of `fit()`.

        Args:
            logs: Dict, the logs of the last epoch.
        """

    def on_test_begin(self, logs=None):
        """Called at the beginning of `evaluate()` or of validation.

        Args:
            logs: Dict. Currently empty.
        """

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate()` or of validation.

        Args:
            logs: Dict of metric results.
        """

    def on_predict_begin(self, logs=None):
        """Called at the beginning of `predict()`.

        Args:
            logs: Dict. Currently empty.
        """

    def on_predict_end(self, logs=None):
        """Called at the end of `predict()`.

        Args:
            logs: Dict. Currently empty.
        """


class ResumePoint(collections.namedtuple("ResumePoint", ("epoch", "batch", "sums", "epoch_rng", "source"))):
    """Where `fit()` resumes an interrupted run, as `Callback.resume_point` returns it.

    Attributes:
        epoch: Integer, the epoch to resume (0-based).
        batch: Integer, the number of batches of `epoch` done before the
            interruption; with 0 the epoch starts from its beginning.
        sums: With `batch > 0`, the float64 array of the running sums of the
            epoch's loss and metrics over those batches.
        epoch_rng: With `batch > 0`, the state of the global generator at the
            start of `epoch`, which replays the epoch's shuffle.
        source: What the point was read from (a backup file), named in errors.
    """

    __slots__ = ()

    def check_epoch(self, steps, n_sums):
        """Checks that the epoch `fit()` is about to resume can resume there.

        Args:
            steps: Integer, the number of batches of the epoch in this `fit()`.
            n_sums: Integer, the number of running sums the engine keeps.

        Raises:
            ValueError: If `batch` is not before the end of the epoch, or
                `sums` does not hold `n_sums` values.
        """
        if self.batch >= steps:
            raise ValueError(
                f"{self.source}: the backup resumes epoch {self.epoch} at batch "
                f"{self.batch}, past the end of the epoch, which has {steps} "
                "batches in this fit(). Expected a batch position below "
                f"{steps}: resume with the data and batch size of the interrupted fit()."
            )
        if self.sums.shape != (n_sums,):
            raise ValueError(
                f"{self.source}: the backup's running sums of the epoch's loss and "
                f"metrics have shape {self.sums.shape}; this model keeps {n_sums}. "
                "Resume with the model and metrics of the interrupted fit()."
            )
