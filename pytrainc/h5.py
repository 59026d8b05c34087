"""`pytrainc.h5`: the HDF5 functions, kept at this path; they live in `pytrainc.saving.h5`."""

from pytrainc.saving.h5 import (
    FORMAT_MODEL,
    FORMAT_VERSION,
    FORMAT_WEIGHTS,
    is_h5_path,
    load_weights,
    read_model,
    save_weights,
    write_model,
)

__all__ = ["save_weights", "load_weights", "write_model", "read_model", "is_h5_path"]
