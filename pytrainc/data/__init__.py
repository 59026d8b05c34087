"""Input pipelines: `Dataset` (the part of `tf.data` Keras's guides use) and `PyDataset`."""

from pytrainc.data.dataset import Dataset
from pytrainc.data.py_dataset import PyDataset, Sequence

__all__ = ["Dataset", "PyDataset", "Sequence"]
