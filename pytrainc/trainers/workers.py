"""A PyDataset's batches read ahead by worker threads or processes, in index order,
as Keras 3's `OrderedEnqueuer` (keras/src/trainers/data_adapters/py_dataset_adapter.py).

At most `max_queue_size` calls of `__getitem__` are submitted ahead of the batch
the reader thread waits for, so memory stays bounded and batches arrive in
index order whatever the order the workers finish in.

Processes (`use_multiprocessing=True`) start from a forkserver (spawn where
there is none): forking a process that runs the engine's and the reader's
threads can deadlock a child on a lock one of them held. Each worker gets the
dataset once, by pickle, when it starts. The workers ignore Ctrl-C, which is
the training process's to handle; however an epoch ends (its last batch, an
error, Ctrl-C, `stop_training`) the workers are stopped and joined, and those
still inside `__getitem__` are terminated.
"""

import collections
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from pytrainc._checks import picklable

_JOIN_SECONDS = 5.0
_dataset = None  # the PyDataset, in a worker process


def _init_process(dataset):
    global _dataset
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _dataset = dataset


def _get_batch(index):
    return _dataset[index]


def _process_pool(dataset):
    picklable(
        dataset,
        "A PyDataset with use_multiprocessing=True is sent to its worker processes with pickle, and "
        f"{type(dataset).__name__} cannot be pickled ({{exc}}). Define the class at the top level of an "
        "importable module and keep no lambdas, open files or locks in it, or pass "
        "use_multiprocessing=False to read with threads",
    )
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(dataset.workers, mp_context=context, initializer=_init_process, initargs=(dataset,))


def _stop(pool, finished):
    """Shut the pool down: threads finish the call they are in (they cannot be
    stopped), worker processes still running one after an early end are terminated."""
    if isinstance(pool, ThreadPoolExecutor):
        pool.shutdown(wait=True, cancel_futures=True)
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=finished, cancel_futures=True)
    for process in processes:
        process.join(_JOIN_SECONDS if finished else 0.1)
        if process.is_alive():
            process.terminate()
            process.join(_JOIN_SECONDS)


def ordered(dataset):
    """Batches 0 .. len(dataset) - 1 of a PyDataset, read by `dataset.workers` threads
    (or processes with `use_multiprocessing`), `max_queue_size` at most ahead."""
    n = len(dataset)
    if dataset.use_multiprocessing:
        pool, get = _process_pool(dataset), _get_batch
    else:
        pool, get = ThreadPoolExecutor(dataset.workers, thread_name_prefix="pytrainc-pydataset"), dataset.__getitem__
    finished = False
    try:
        ahead, i = collections.deque(), 0
        while i < n or ahead:
            while i < n and len(ahead) < max(1, dataset.max_queue_size):
                ahead.append(pool.submit(get, i))
                i += 1
            yield ahead.popleft().result()
        finished = True
    finally:
        _stop(pool, finished)
