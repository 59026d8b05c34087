"""Input pipelines: `PyDataset` (batches by index), as in Keras 3."""

from pytrainc.data.py_dataset import PyDataset, Sequence

__all__ = ["PyDataset", "Sequence"]
