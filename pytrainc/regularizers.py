"""Weight regularizers, as `keras.regularizers`: penalties added to the loss.

The penalty and its gradient are applied by the C engine each step.
"""

from pytrainc._checks import number
from pytrainc._identifiers import from_identifier


class Regularizer:
    """Base class. `l1` and `l2` are the coefficients of sum|w| and sum w**2."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x):
        import numpy as np

        x = np.asarray(x, dtype=np.float64)
        return float(self.l1 * np.abs(x).sum() + self.l2 * np.square(x).sum())

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _coef(name, value):
    return number(name, value, low=0.0)


class L1L2(Regularizer):
    """Penalty `l1 * sum(|x|) + l2 * sum(x**2)`. Defaults: l1=0.0, l2=0.0."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _coef("l1", l1), _coef("l2", l2)


class L1(Regularizer):
    """Penalty `l1 * sum(|x|)`. Defaults: l1=0.01."""

    def __init__(self, l1=0.01):
        self.l1 = _coef("l1", l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """Penalty `l2 * sum(x**2)` (Keras's formula: no factor 1/2). Defaults: l2=0.01.

    Example:

    >>> layer = Dense(64, kernel_regularizer=pytrainc.regularizers.l2(0.01))
    """

    def __init__(self, l2=0.01):
        self.l2 = _coef("l2", l2)

    def get_config(self):
        return {"l2": self.l2}


l1 = L1
l2 = L2
l1_l2 = L1L2
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """Return a Regularizer (or None) from None, a name, a config dict or an instance."""
    if identifier is None:
        return None
    return from_identifier(
        identifier,
        what="regularizer",
        base=Regularizer,
        names={"l1": L1, "l2": L2, "l1_l2": L1L2, **_CLASSES},
        classes=_CLASSES,
        hint=". Expected None, a name such as 'l2', a config dict or a pytrainc.regularizers.Regularizer",
    )


def serialize(regularizer):
    """`{"class_name", "config"}` of a regularizer (None for None), as `keras.regularizers.serialize`."""
    return (
        None if regularizer is None else {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    )


def deserialize(config, custom_objects=None):
    """The regularizer a `serialize` dict describes (None for None), as
    `keras.regularizers.deserialize`. `custom_objects` may name Regularizer subclasses."""
    from pytrainc.saving import serialization_lib

    return get(serialization_lib.deserialize_in("keras.regularizers", config, custom_objects))
