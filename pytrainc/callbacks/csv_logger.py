"""`CSVLogger`: streams the logs of every epoch to a CSV file."""

import collections.abc
import csv
import os

import numpy as np

from pytrainc.callbacks._util import _fspath, _warn
from pytrainc.callbacks.callback import Callback


class CSVLogger(Callback):
    """Streams the logs of every epoch to a CSV file.

    The columns are Keras 3's: `epoch` (from 0), then the log keys of the
    first epoch in sorted order, followed, when that epoch has no `val_` key,
    by `val_<key>` for each of them (as Keras, even if validation never comes);
    a missing value is written as `NA`, and a 1-D
    iterable value as `"[a, b]"`. Rows use the `csv` module's Excel dialect
    with `separator` as the delimiter (lines end in `\\r\\n`, as in Keras),
    the file is UTF-8, and it is flushed after every epoch, so an interrupted
    training keeps every completed row. Missing directories are created.

    With `append=True` and a file that already has a header, the rows follow
    that header's columns (keys it does not have are left out with a
    warning), so a resumed training never writes misaligned rows.

    Args:
        filename: str or `os.PathLike`, the CSV file, for example
            `"run/log.csv"`.
        separator: One-character string separating the values. Defaults to
            `","`.
        append: Whether to append to an existing file (useful to continue a
            training) instead of overwriting it. Defaults to `False`.

    Example:

    >>> csv_logger = CSVLogger("training.log")
    >>> # model.fit(x, y, epochs=5, callbacks=[csv_logger])
    """

    _transient = {"csv_file": None, "writer": None}  # a copy opens its own file when its fit begins

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        owner = type(self).__name__
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"{owner} expects `separator` to be a one-character string. Received: separator={separator!r}"
            )
        if separator in '\r\n"':
            raise ValueError(
                f"{owner} cannot use a line break or '\"' as the separator. Received: separator={separator!r}"
            )
        self.sep = separator
        self.filename = _fspath(owner, "filename", filename)
        self.append = bool(append)
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None
        self._skipped = set()

    def _dialect(self):
        class Dialect(csv.excel):
            delimiter = self.sep

        return Dialect

    def _existing_header(self):
        try:
            with open(self.filename, newline="", encoding="utf-8") as f:
                return next(csv.reader(f, dialect=self._dialect()), None)
        except FileNotFoundError:
            return None

    def on_train_begin(self, logs=None):
        self._close()
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.keys = None
        self.append_header = True
        self._skipped = set()
        mode = "w"
        if self.append:
            header = self._existing_header()
            if header:
                self.append_header = False
                if header[0] == "epoch":
                    self.keys = header[1:]
            mode = "a"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None

    @staticmethod
    def _handle_value(value):
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
            return f'"[{", ".join(map(str, value))}]"'
        return value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            # Used outside fit(): open the file as fit() would, and after an
            # on_train_end keep the rows already written.
            previous = self.append
            self.append = previous or self.csv_file is not None
            try:
                self.on_train_begin()
            finally:
                self.append = previous
        if self.keys is None:
            self.keys = sorted(logs.keys())
            # Keras 3's rule: a first epoch without validation keys (no validation yet, as with
            # validation_freq > 1, or none at all) gets a `val_` column for every key, written NA.
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        extra = [key for key in logs if key not in self.keys and key not in self._skipped]
        if extra:
            self._skipped.update(extra)
            _warn(
                f"CSVLogger is not writing {', '.join(map(repr, extra))}: the "
                f"file's columns are fixed at the first epoch ({', '.join(self.keys)})."
            )
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=self._dialect())
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, self._handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def on_train_end(self, logs=None):
        self._close()
