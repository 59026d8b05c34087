"""Models, as `keras.models`: `Model` (functional), `Sequential`, and their files.

`save_model`/`load_model` live in `pytrainc.saving.model_file`; they are
importable from here as in Keras.
"""

from pytrainc.models.cloning import clone_model
from pytrainc.models.model import IncompatibleKeys, Model, StateDictError, model_from_json
from pytrainc.models.sequential import Sequential
from pytrainc.saving import load_model, save_model  # noqa: E402 (Keras's signatures)
from pytrainc.saving.model_file import _refuse_keras_formats  # noqa: E402,F401

__all__ = [
    "IncompatibleKeys",
    "Model",
    "Sequential",
    "StateDictError",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
