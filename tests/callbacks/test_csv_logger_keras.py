"""CSVLogger writes the bytes Keras 3's CSVLogger writes for the same epoch logs."""

import pytest

from pytrainc import testing
from pytrainc.callbacks import CSVLogger

keras = testing.keras_torch()

LOGS = {
    "train only": [{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.75}],
    "validation each epoch": [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}],
    "validation_freq=2": [{"loss": 1.0}, {"loss": 0.5, "val_loss": 1.5}, {"loss": 0.25}],
    "a list value and a missing key": [{"loss": 1.0, "sizes": [1, 2]}, {"sizes": [3]}],
    "learning_rate logged": [{"loss": 1.0, "learning_rate": 0.01}],
}


def write(callback, logs):
    callback.on_train_begin()
    for epoch, entry in enumerate(logs):
        callback.on_epoch_end(epoch, dict(entry))
    callback.on_train_end()


@pytest.mark.parametrize("case", sorted(LOGS))
@pytest.mark.parametrize("separator", [",", "\t"])
def test_same_file_as_keras(tmp_path, case, separator):
    ours, theirs = tmp_path / "ours.csv", tmp_path / "keras.csv"
    write(CSVLogger(ours, separator=separator), LOGS[case])
    write(keras.callbacks.CSVLogger(str(theirs), separator=separator), LOGS[case])
    assert ours.read_bytes() == theirs.read_bytes()
