"""The training half of a model, as Keras 3's `keras/src/trainers/trainer.py`:
compile, fit, evaluate, predict and the per-batch helpers, all over one C plan.

Each epoch runs in one C call (shuffle, gather, forward, backward, regularizers,
optimizer step, loss and metric sums) with the GIL released; Python runs between
epochs, or between chunks of batches only when a callback, a progress bar or a
backup asks. `Model` inherits from `Trainer`; the graph, weights and saving live
in `pytrainc/models/model.py`.
"""

import functools
import math
import time
import warnings

import numpy as np

from pytrainc import _C
from pytrainc import callbacks as callbacks_module
from pytrainc import optimizers as optimizers_module
from pytrainc.trainers import batch_hooks, compile_utils, data_adapters
from pytrainc.trainers.batched import BatchedTrainer, _ArrayEpochs, _validation_schedule
from pytrainc.trainers.data_prep import DataPreparer
from pytrainc.trainers.plan_compiler import PlanCompiler
from pytrainc.trainers.data import (
    _check_validation_split,
    _engine_batch,
    _interruptible,
)


def _one_call_at_a_time(method):
    """Runs method holding the model's call lock: the plan's workspaces, weights and
    optimizer state serve one engine call at a time, so a call from a second thread
    waits for the first to end instead of failing with "Plan is in use"."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._call_lock:
            try:
                return method(self, *args, **kwargs)
            except ValueError as e:
                layer = _layer_of_op(self, getattr(e, "op_index", None))
                if layer is None:
                    raise
                raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): {e}") from None

    return locked


def _layer_of_op(model, index):
    """The layer that emitted op `index` of the model's plan (the engine names ops by index)."""
    layers = getattr(model, "_op_layers", None)
    return layers[index] if isinstance(index, int) and layers and 0 <= index < len(layers) else None


class Trainer(BatchedTrainer, PlanCompiler, DataPreparer):
    """compile/fit/evaluate/predict for a model whose graph `Model` defines."""

    # -- compile -----------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None):
        """Configure training, as `keras.Model.compile`.

        With several outputs, `loss`, `loss_weights`, `metrics` and `weighted_metrics`
        may each be one value for every output, a list in output order or a dict
        keyed by output name (`model.output_names`), as in Keras 3. The loss
        minimized is `sum(loss_weight_k * loss_k)`, each output's loss being its own
        mean over the batch.

        Args:
            optimizer: Name ('sgd', 'adam', 'rmsprop') or Optimizer. Defaults to 'rmsprop'.
            loss: Name ('mse', 'mae', 'binary_crossentropy', 'categorical_crossentropy',
                'sparse_categorical_crossentropy'), Loss or loss function; per output
                as above. Required; a dict must name every output.
            loss_weights: Optional float, or list/dict of floats, scaling each output's
                loss in the total. Defaults to None (1 for each).
            metrics: Optional list of names ('accuracy', 'mse', 'mae', ...) or Metric
                objects; for several outputs a list of such lists or a dict. As in
                Keras 3 these ignore `sample_weight` and `class_weight`. Defaults to None.
            weighted_metrics: Like `metrics`, but weighted by `sample_weight` and
                `class_weight`. Defaults to None.

        Raises:
            ValueError: for unknown names, a missing loss, or structures that do
                not fit the outputs (the message lists the output names).
        """
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mse'. Received: loss=None")
        heads = compile_utils.build_heads(self._head_names(), loss, loss_weights, metrics, weighted_metrics)
        optimizer = optimizers_module.get(optimizer)
        specs = [m for h in heads for m in h.metric_specs + h.weighted_specs]
        if len(specs) > _C.MAX_METRICS:
            raise ValueError(f"At most {_C.MAX_METRICS} metrics. Received: {len(specs)}")
        names = compile_utils.metric_names(heads)
        reserved = {"loss"} | ({f"{h.name}_loss" for h in heads} if len(heads) > 1 else set())
        if len(set(names)) != len(names) or reserved & set(names):
            raise ValueError(f"Metric names must be unique and not {sorted(reserved)}. Received: {names}")
        self.optimizer = optimizer
        self._heads = heads
        if len(heads) == 1:
            self.loss = heads[0].loss
        elif isinstance(loss, dict):
            self.loss = {h.name: h.loss for h in heads}
        else:
            self.loss = [h.loss for h in heads]
        self._metric_specs = specs
        self._metrics = None
        self._metric_info = None
        self.compiled = True
        self._plan = None

    def _head_names(self):
        """The output names compile keys its dicts by (the last layer's for a Sequential not built yet)."""
        if self.built:
            return list(self._graph["output_names"])
        stack = getattr(self, "_stack", None)
        return [stack[-1].name if stack else "output"]

    def _compiled_functions(self):
        """Every compiled loss and metric (their traced constants join the flat parameters)."""
        return [h.loss for h in self._heads] + list(self._metric_specs) if self.compiled else []

    @property
    def metrics_names(self):
        """Keras 3's names: `[]` before compile, `["loss"]`, and `"compile_metrics"` (the one
        container Keras keeps every compiled metric in) when there are metrics; with several
        outputs, after the first fit/evaluate, each output's `<name>_loss` too. Each metric's own
        name is in `[m.name for m in model.metrics]` and in `evaluate(..., return_dict=True)`."""
        if not getattr(self, "compiled", False):
            return []
        names = ["loss"] + (["compile_metrics"] if (self._metrics or self._metric_specs) else [])
        if len(self._heads) > 1 and self._metrics is not None:
            names += [f"{h.name}_loss" for h in self._heads]
        return names

    @property
    def metrics(self):
        return list(self._metrics or self._metric_specs)

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() before {what}.")

    # -- training ----------------------------------------------------------
    @_one_call_at_a_time
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Train the model, as `keras.Model.fit`.

        Each epoch of arrays runs in one C call (shuffle, batches, forward,
        backward, optimizer step, loss and metrics); Python runs once per epoch,
        or per batch only when a callback overrides a batch hook. Data in
        batches (a generator or iterator, a `PyDataset`, a torch `DataLoader`, a
        `pytrainc.data.Dataset`) is read by a background thread into a bounded
        queue while the C engine trains on the batches already read.

        Args:
            x: Inputs: an array (any numeric dtype and layout, a pandas
                DataFrame, a torch tensor) or a list; for several inputs a list
                of arrays in input order or a dict keyed by input name
                (`model.input_names`); or data in batches yielding
                `(x, y)` or `(x, y, sample_weight)`, in their own order.
            y: Targets: one-hot or integer class ids as the loss expects
                (None when x yields batches); for several outputs a list in
                output order or a dict keyed by output name.
            batch_size: Defaults to 32.
            epochs: Index of the last epoch. Defaults to 1.
            verbose: 'auto' (= 1), 0 silent, 1 or 2 one line per epoch. Defaults to 'auto'.
            callbacks: List of `pytrainc.callbacks.Callback`.
            validation_split: Fraction in [0, 1) of the data, taken from the end
                before shuffling, used for validation. Defaults to 0.0.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, val_sample_weight)`,
                used instead of validation_split.
            shuffle: Whether to shuffle the training data each epoch. Defaults to True.
            class_weight: Optional dict {class index: weight} scaling each sample's
                loss and weighted metrics by its class's weight (classes not listed
                weigh 1). Models with several outputs refuse it, as Keras does.
            sample_weight: Optional (n,) array of per-sample weights (multiplied by
                class_weight's); for several outputs one array for all of them, or a
                list/dict with one per output. The loss is sum(w * loss) / batch size
                and `weighted_metrics` are weighted means, as in Keras; `metrics`
                ignore the weights.
            initial_epoch: Epoch at which to start. Defaults to 0.
            steps_per_epoch: Batches per epoch, as Keras 3: the next epoch continues
                where this one stopped, and an epoch also ends where a pass over data
                of known length ends (with Keras's "ran out of data" warning).
                Defaults to None: one pass over the data per epoch.
            validation_steps: Batches per validation with validation data in
                batches (continued from one validation to the next). Defaults to None.
            validation_batch_size: Batch size for validation arrays. Defaults to batch_size.
            validation_freq: Validate after every that many epochs (an int), or after
                the (1-based) epochs listed. Defaults to 1.

        Returns:
            A `History` whose `.history` maps 'loss', metric names and their
            'val_' versions to per-epoch lists.

        Raises:
            RuntimeError: if the model is not compiled.
            ValueError: for data of the wrong shape, NaN values, empty data,
                bad labels or bad arguments.
        """
        self._require_compiled("fit")
        batch_size = self._batch_size(batch_size)
        verbose = self._verbose(verbose)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int. Received: epochs={epochs!r}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
            raise ValueError(f"initial_epoch must be a non-negative int. Received: initial_epoch={initial_epoch!r}")
        _check_validation_split(validation_split)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False. Received: shuffle={shuffle!r}")
        steps_per_epoch = data_adapters.check_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = data_adapters.check_steps(validation_steps, "validation_steps")
        val_batch_size = batch_size if validation_batch_size is None else self._batch_size(validation_batch_size)
        should_validate = _validation_schedule(validation_freq)
        feed = pending = None
        # Keras splits off validation_split's samples before class_weight applies, so the
        # validation part keeps only its sample_weight.
        split_first = bool(validation_split) and validation_data is None and class_weight is not None
        if data_adapters.is_batched(x):
            data_adapters.refuse_arrays_args(
                x, y=y, sample_weight=sample_weight, class_weight=class_weight, validation_split=validation_split
            )
            feed = data_adapters.EpochFeed(x, steps_per_epoch)
            pending = self._feed_first(feed, targets=True)
            if pending is None:
                raise ValueError("fit needs at least one batch. Received: x yielded no batch")
            # Only to size the plan below: the batches bring their own sizes.
            x32, y32, w32, key = pending[1].x, pending[1].y, None, pending[1].key
        else:
            x32, y32, key = self._prepare_xy(x, y)
            self._check_batch_broadcast(batch_size, x32.shape[0])
            if split_first and len(self._heads) > 1:
                self._prepare_sample_weights(None, class_weight, y32, x32.shape[0])  # refused, as Keras
            w32 = self._prepare_sample_weights(sample_weight, None if split_first else class_weight, y32, x32.shape[0])
        val, val_key = None, key
        if data_adapters.is_batched(validation_data):
            val = data_adapters.EpochFeed(validation_data, validation_steps)
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight). "
                    f"Received: {type(validation_data).__name__} of length "
                    f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}"
                )
            xv, val_key = self._prepare_x_key(validation_data[0], "x_val")
            yv, yv_shapes = self._prepare_y(validation_data[1], xv.shape[0], "y_val", "x_val", val_key)
            self._check_targets_like(yv_shapes, "y_val")
            self._check_batch_broadcast(val_batch_size, xv.shape[0])
            wv = (
                self._prepare_sample_weights(validation_data[2], None, yv, xv.shape[0], "val_sample_weight")
                if len(validation_data) == 3
                else None
            )
            val = (xv, yv, wv)
        elif validation_split:
            # Keras takes the last fraction, before any shuffling.
            split = int(math.floor(x32.shape[0] * (1.0 - validation_split)))
            if split == 0 or split == x32.shape[0]:
                raise ValueError(
                    f"validation_split={validation_split} leaves no training or no validation "
                    f"samples out of {x32.shape[0]}"
                )
            val = (x32[split:], y32[split:], None if w32 is None else w32[split:])
            x32, y32 = x32[:split], y32[:split]
            w32 = None if w32 is None else w32[:split]
            if split_first:
                w32 = self._prepare_sample_weights(w32, class_weight, y32, split)
        n = x32.shape[0]
        self._train_batch_size = batch_size
        plan = self._ensure_plan(_engine_batch(batch_size, n), key)
        cbs = callbacks_module.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=int(epochs),
            steps=feed.steps_per_epoch if feed is not None else (steps_per_epoch or -(-n // batch_size)),
        )
        if cbs.backup_interval and (feed is not None or steps_per_epoch):
            raise ValueError(
                "Backups within an epoch (BackupAndRestore's save_freq as a number of batches) need arrays "
                "without steps_per_epoch: the position in an iterator cannot be restored. Use save_freq='epoch'"
            )
        array_epoch = _ArrayEpochs(n, steps_per_epoch)
        self.stop_training = False
        rng = self._fit_shuffle_rng()  # the model's own: other models' draws never move it
        ordered = np.arange(n, dtype=np.int64)
        cbs.on_train_begin()
        # BackupAndRestore may have restored an interrupted run: start where it stopped.
        resume = cbs.resume_point()
        start_epoch = int(initial_epoch) if resume is None else resume.epoch
        logs = {}
        for epoch in range(start_epoch, int(epochs)):
            if feed is not None and pending is None:
                pending = self._feed_first(feed, targets=True)
                if pending is None:  # a one-shot iterator, exhausted
                    warnings.warn(data_adapters.RAN_OUT, stacklevel=3)
                    break
            mid_epoch = resume is not None and epoch == resume.epoch and resume.batch > 0
            if mid_epoch:
                # The interrupted run already began this epoch (and its callbacks saw it):
                # replay its shuffle from the saved generator state, then skip the batches done.
                rng[...] = resume.epoch_rng
                start_batch, sums = resume.batch, resume.sums.copy()
            else:
                cbs.on_epoch_begin(epoch)
                start_batch, sums = 0, None
            if feed is not None:
                logs = self._fit_feed_epoch(feed, pending, cbs)
                pending = None
            else:
                # A callback (BatchSizeScheduler) may have changed the batch size.
                # A batch larger than the data is one batch of all samples, as in Keras:
                # the engine never reserves more rows than there are samples.
                batch_size = _engine_batch(self._batch_size(self._train_batch_size), n)
                plan = self._ensure_plan(batch_size, key)
                cbs.params["steps"] = steps_per_epoch or -(-n // batch_size)
                if mid_epoch:
                    resume.check_epoch(cbs.params["steps"], plan.n_sums)
                epoch_rng = rng.copy()
                if array_epoch.starts_pass(batch_size):
                    array_epoch.perm = _C.permutation(rng, n) if shuffle else ordered
                xe, ye, we, perm = array_epoch.take(x32, y32, w32, ordered)
                logs = self._train_epoch(plan, xe, ye, we, perm, batch_size, cbs, epoch, start_batch, sums, epoch_rng)
            if val is not None and should_validate(epoch):
                cbs.on_test_begin()  # Keras's validation hooks, on fit's callbacks
                if isinstance(val, data_adapters.EpochFeed):
                    vs = self._evaluate_feed(val)[0]
                else:
                    vb = _engine_batch(val_batch_size, val[0].shape[0])
                    vs = batch_hooks.evaluate_arrays(self, self._ensure_plan(vb, val_key), *val, vb, cbs)
                if vs is None:
                    warnings.warn(data_adapters.RAN_OUT, stacklevel=3)
                    cbs.on_test_end({})
                else:
                    cbs.on_test_end(self._logs(vs))
                    logs.update({"val_" + k: v for k, v in self._logs(vs).items()})
            cbs.on_epoch_end(epoch, logs)
            cbs.on_backup_point(epoch + 1, 0)
            if self.stop_training:
                break
        if self.optimizer is not None and epochs > 0:  # Keras: with use_ema, the weights take their average
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(logs)
        return self.history

    def _evaluate_callable_rate(self):
        """A callable learning rate is called before each C call (Optimizer.learning_rate)."""
        if self.optimizer is not None:
            self.optimizer._evaluate_callable_rate()

    def _train_epoch(self, plan, x, y, w, perm, batch_size, cbs, epoch=0, start_batch=0, sums=None, epoch_rng=None):
        """One epoch: one C call, or C calls per batch / per chunk when callbacks ask."""
        n = x.shape[0]
        steps = -(-n // batch_size)
        interruptible = _interruptible()
        stop_nonfinite = "nonfinite_loss" in cbs.engine_batch_hooks
        if sums is None:
            sums = np.zeros(plan.n_sums)
        interval = cbs.backup_interval

        def checkpoint(done):
            if interval and done % interval == 0 and done < steps:
                cbs.on_backup_point(epoch, done, sums, epoch_rng)

        if cbs.has_train_batch_hooks:
            for b in range(start_batch, steps):
                cbs.on_train_batch_begin(b)
                self._evaluate_callable_rate()
                _, _, last, bad = plan.train(x, y, perm, batch_size, b, b + 1, interruptible, stop_nonfinite, w, sums)
                logs = self._logs(sums)
                if bad:
                    cbs.on_engine_batch_end("nonfinite_loss", b, {**logs, "loss": last})
                cbs.on_train_batch_end(b, logs)
                checkpoint(b + 1)
                if self.stop_training:
                    break
            return self._logs(sums)
        progress = cbs.has_train_progress_hooks
        # Without progress output or backups the whole epoch is one C call; with
        # progress, chunks of batches sized to take about 0.15 s, so the bar
        # updates but costs nothing; with backups, chunks end at their boundaries.
        b, chunk = start_batch, (1 if progress else steps)
        while b < steps:
            end = min(steps, b + chunk)
            if interval:
                end = min(end, (b // interval + 1) * interval)
            self._evaluate_callable_rate()
            t0 = time.perf_counter()
            _, done, last, bad = plan.train(x, y, perm, batch_size, b, end, interruptible, stop_nonfinite, w, sums)
            elapsed = time.perf_counter() - t0
            b += done
            if bad:
                if progress:
                    cbs.on_train_progress(b, self._logs(sums))
                cbs.on_engine_batch_end("nonfinite_loss", b - 1, {**self._logs(sums), "loss": last})
                break
            checkpoint(b)
            if progress:
                cbs.on_train_progress(b, self._logs(sums))
                chunk = max(1, min(chunk * 4, int(chunk * 0.15 / max(elapsed, 1e-6))))
        return self._logs(sums)

    @staticmethod
    def _verbose(verbose):
        if verbose == "auto":
            return 1
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
        return int(verbose)

    @_one_call_at_a_time
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        return_dict=False,
        callbacks=None,
        steps=None,
    ):
        """Loss and metrics on data, as `keras.Model.evaluate` (weighted by sample_weight when given).

        Args:
            x: Inputs as arrays, or data in batches yielding `(x, y)` or
                `(x, y, sample_weight)` (see `fit`).
            steps: Batches to evaluate; None: all of the data. Defaults to None.

        Returns:
            The loss (a float) when there are no metrics, else Keras's list: the
            loss, each output's loss (several outputs), then the metrics; a dict
            with `return_dict=True`.
        """
        self._require_compiled("evaluate")
        batch_size = self._batch_size(batch_size)
        verbose = self._verbose(verbose)
        steps = data_adapters.check_steps(steps, "steps")
        if data_adapters.is_batched(x):
            data_adapters.refuse_arrays_args(x, y=y, sample_weight=sample_weight)
            cbs = self._pass_callbacks(callbacks, verbose, None)
            cbs.on_test_begin()
            sums, batches = self._evaluate_feed(data_adapters.EpochFeed(x, steps))
            if sums is None:
                raise ValueError("evaluate needs at least one batch. Received: x yielded no batch")
            cbs.params["steps"] = batches
            logs = self._logs(sums)
            cbs.on_test_end(logs)
            return self._format_logs(logs, return_dict)
        x32, y32, key = self._prepare_xy(x, y)
        self._check_batch_broadcast(batch_size, x32.shape[0])
        w32 = self._prepare_sample_weights(sample_weight, None, y32, x32.shape[0])
        if steps is not None:
            rows = min(x32.shape[0], steps * batch_size)
            x32, y32, w32 = x32[:rows], y32[:rows], None if w32 is None else w32[:rows]
        batch_size = _engine_batch(batch_size, x32.shape[0])
        plan = self._ensure_plan(batch_size, key)
        cbs = self._pass_callbacks(callbacks, verbose, -(-x32.shape[0] // batch_size))
        cbs.on_test_begin()
        logs = self._logs(batch_hooks.evaluate_arrays(self, plan, x32, y32, w32, batch_size, cbs))
        cbs.on_test_end(logs)
        return self._format_logs(logs, return_dict)

    def _pass_callbacks(self, callbacks, verbose, steps):
        """The callbacks of an evaluate or predict call, with Keras's progress line unless verbose=0."""
        return callbacks_module.CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=steps
        )

    def _format_logs(self, logs, return_dict):
        """The dict, or Keras 3's list (`Trainer._flatten_metrics_in_order`): the values of
        'loss', of each compiled metric's own name and of each output's '<name>_loss' found in
        the logs, in that order, then every other key's in sorted order."""
        if return_dict:
            return logs
        order = ["loss"] + [m.name for m in self._metrics or ()]
        if len(self._heads) > 1:
            order += [f"{h.name}_loss" for h in self._heads]
        values = [logs[k] for k in order if k in logs] + [logs[k] for k in sorted(logs) if k not in order]
        return values[0] if len(values) == 1 else values

    @_one_call_at_a_time
    def predict(self, x, batch_size=None, verbose="auto", callbacks=None, steps=None):
        """Outputs for inputs x, computed in C in batches, as `keras.Model.predict`.

        Threads: one model may be used from several threads. Its `fit`, `evaluate`
        and `predict` calls run one at a time (each holds the model's lock, and the
        GIL is released while the engine runs), so `predict` from several threads
        works and gives the same outputs as serial calls, but does not run in
        parallel; a call waits for the one before it, a whole `fit` included. For
        parallel predictions, give each thread its own model (for example
        `Model.from_config(model.get_config())` and `set_weights`). Ctrl-C stops
        only a call made by the main thread.

        Args:
            x: Inputs, an array (any numeric dtype and layout) or a list; or data
                in batches yielding `x`, `(x,)` or `(x, y, ...)` (see `fit`).
            batch_size: Defaults to 32.
            verbose: 'auto', 0, 1 or 2 (no progress bar is shown). Defaults to 'auto'.
            callbacks: List of `pytrainc.callbacks.Callback`. Defaults to None.
            steps: Batches to predict; None: all of the data. Defaults to None.

        Returns:
            A float32 array of shape `(len(x),) + output shape`; for several outputs a
            list of such arrays, or a dict keyed by output name when the model's
            outputs were given as a dict.

        Raises:
            ValueError: for inputs of the wrong shape, NaN or inf values, or bad arguments.

        Example:

        >>> model = Sequential([Input((3,)), Dense(2)])
        >>> model.predict(np.zeros((4, 3)), verbose=0).shape
        (4, 2)
        """
        batch_size = self._batch_size(batch_size)
        verbose = self._verbose(verbose)
        steps = data_adapters.check_steps(steps, "steps")
        if verbose == 0 and callbacks is None and steps is None:
            out = self._predict_again(x, batch_size)  # no callback to call: the last predict's plan
            if out is not None:
                return out
        if data_adapters.is_batched(x):
            cbs = self._pass_callbacks(callbacks, verbose, None)
            cbs.on_predict_begin()
            out, cbs.params["steps"], key = self._predict_feed(data_adapters.EpochFeed(x, steps))
            cbs.on_predict_end()
            return self._outputs_of(out, key)
        x32, key = self._prepare_x_key(x)  # builds a Sequential without an input shape, as Keras
        if steps is not None:
            x32 = x32[: steps * batch_size]
        batch_size = _engine_batch(batch_size, x32.shape[0])
        plan = self._ensure_plan(batch_size, key)
        self._remember_predict(plan, key)
        cbs = self._pass_callbacks(callbacks, verbose, -(-x32.shape[0] // batch_size))
        cbs.on_predict_begin()
        out = batch_hooks.predict_arrays(self, plan, x32, batch_size, cbs, key)
        cbs.on_predict_end()
        return self._outputs_of(out, key)

    @_one_call_at_a_time
    def _call_on_arrays(self, x, training):
        """`model(x, training=...)` on arrays, as Keras's eager call: one pass over all of x in one
        batch. training=True runs it as a training step's forward pass (Dropout drawn from the
        layers' seeded generators, BatchNormalization on the batch's statistics, its moving
        statistics updated), with no gradient and no weight update; otherwise it is `predict`."""
        x32, key = self._prepare_x_key(x)
        batch_size = max(x32.shape[0], 1)
        plan = self._ensure_plan(batch_size, key)
        self._remember_predict(plan, key)
        out = plan.predict(x32, batch_size, False, False, bool(training))
        return self._outputs_of(out, key)

    @_one_call_at_a_time
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch (all of x). Returns that batch's loss
        (and metrics), as Keras 2's train_on_batch with reset_metrics=True."""
        self._require_compiled("train_on_batch")
        x32, y32, key = self._prepare_xy(x, y)
        n = x32.shape[0]
        self._check_batch_broadcast(n, n)
        w32 = self._prepare_sample_weights(sample_weight, class_weight, y32, n)
        plan = self._ensure_plan(n, key)
        self._evaluate_callable_rate()
        sums, _, _, _ = plan.train(x32, y32, np.arange(n, dtype=np.int64), n, 0, 1, _interruptible(), False, w32)
        return self._format_logs(self._logs(sums), return_dict)

    @_one_call_at_a_time
    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch, without training."""
        self._require_compiled("test_on_batch")
        x32, y32, key = self._prepare_xy(x, y)
        self._check_batch_broadcast(x32.shape[0], x32.shape[0])
        w32 = self._prepare_sample_weights(sample_weight, None, y32, x32.shape[0])
        plan = self._ensure_plan(x32.shape[0], key)
        sums = plan.evaluate(x32, y32, x32.shape[0], _interruptible(), w32)
        return self._format_logs(self._logs(sums), return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch (all of x)."""
        return self.predict(x, batch_size=self._prepare_x(x).shape[0], verbose=0)
