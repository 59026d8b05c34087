"""Keras's per-batch test and predict hooks around the engine's evaluate and predict passes.

Keras calls `on_test_batch_begin/end` in `evaluate` and in `fit`'s validation, and
`on_predict_batch_begin/end` in `predict`, for every batch. Most callbacks do not override
them, and then the whole pass stays one C call; only when a callback does, the pass runs one C
call per batch (the engine adds each batch into the same sums, so the results are those of one
call), with Keras's logs: the running means so far after each test batch, the batch's outputs
after each predict batch.
"""

import numpy as np

from pytrainc.trainers.data import _interruptible


def _batches(n, batch_size):
    return enumerate(range(0, n, batch_size))


def evaluate_arrays(trainer, plan, x, y, w, batch_size, cbs):
    """The engine's sums of one evaluation pass over arrays, calling the test batch hooks if needed."""
    interruptible = _interruptible()
    if not cbs.has_test_batch_hooks:
        return plan.evaluate(x, y, batch_size, interruptible, w)
    sums = np.zeros(plan.n_sums)
    for batch, start in _batches(x.shape[0], batch_size):
        stop = start + batch_size
        cbs.on_test_batch_begin(batch)
        plan.evaluate(
            x[start:stop], y[start:stop], batch_size, interruptible, None if w is None else w[start:stop], sums
        )
        cbs.on_test_batch_end(batch, trainer._logs(sums))
    return sums


def predict_arrays(trainer, plan, x, batch_size, cbs, key=None, training=False):
    """The outputs (n, output size) of one predict pass over arrays, calling the predict batch hooks if needed.
    training=True runs the pass in training mode (an eager `model(x, training=True)`).

    Ctrl-C stops the engine between batches: a call of one batch installs no handler (Python's
    own raises KeyboardInterrupt when it returns), which saves a predict of one sample 5 us."""
    interruptible = _interruptible()
    if not cbs.has_predict_batch_hooks:
        return plan.predict(x, batch_size, x.shape[0] > batch_size and interruptible, False, training)
    outs = []
    for batch, start in _batches(x.shape[0], batch_size):
        cbs.on_predict_batch_begin(batch)
        outs.append(plan.predict(x[start : start + batch_size], batch_size, interruptible, False, training))
        cbs.on_predict_batch_end(batch, {"outputs": trainer._outputs_of(outs[-1], key)})
    return np.concatenate(outs) if len(outs) > 1 else outs[0]
