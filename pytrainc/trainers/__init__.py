"""Training: compile/fit/evaluate/predict over the C engine (Keras 3's `keras/src/trainers`)."""

from pytrainc.trainers.trainer import Trainer

__all__ = ["Trainer"]
