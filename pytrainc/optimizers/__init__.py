"""Optimizers, as `keras.optimizers`. The update steps run in C over the flat
parameter array (csrc/optim.c), with Keras 3's formulas and defaults.

Every optimizer takes Keras's common arguments `weight_decay` (decoupled:
`w -= w * weight_decay * learning_rate` before the update), `clipnorm` (each
weight's gradient clipped to that norm), `clipvalue` and `global_clipnorm`
(all gradients together clipped to that norm); at most one of the three
clipping arguments may be set. One module per family: base.py (the `Optimizer`
base class), sgd.py, adam.py, rmsprop.py, ftrl.py, adafactor.py.
"""

from pytrainc._identifiers import from_identifier
from pytrainc.optimizers import schedules
from pytrainc.optimizers.adafactor import Adafactor
from pytrainc.optimizers.adam import Adam, Adamax, AdamW, Lamb, Nadam
from pytrainc.optimizers.base import Optimizer, _restore_optimizer  # noqa: F401 (pickles name it here)
from pytrainc.optimizers.ftrl import Ftrl
from pytrainc.optimizers.rmsprop import Adadelta, Adagrad, RMSprop
from pytrainc.optimizers.sgd import SGD, Lion

_CLASSES = {
    c.__name__: c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Adadelta, Lion, Ftrl, Lamb, Adafactor)
}
_BY_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier):
    """Return an Optimizer from a name, a serialized dict or an instance.

    Args:
        identifier: An `Optimizer`, a name ('sgd', 'adam', 'adamw', 'rmsprop',
            'adagrad', 'nadam', any case) for the defaults, or a dict from `serialize`.

    Returns:
        An Optimizer (the same object when given one).

    Raises:
        ValueError: for an unknown name or class.

    Example:

    >>> pytrainc.optimizers.get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:  # names in any case, as Keras
        identifier = identifier.lower()
    if isinstance(identifier, dict) and "class_name" not in identifier:
        identifier = {"class_name": None, **identifier}
    return from_identifier(
        identifier,
        what="optimizer",
        base=Optimizer,
        names=_BY_NAME,
        classes=_CLASSES,
        hint=". Expected a name such as 'adam', a dict from `serialize` or a pytrainc.optimizers.Optimizer",
    )


def serialize(optimizer):
    """`{"class_name": ..., "config": ...}` of an optimizer, JSON-serializable."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    """The optimizer a dict from `serialize` describes, as `keras.optimizers.deserialize`.

    Args:
        config: A dict `{"class_name": ..., "config": {...}}` (Keras's or pytrainc's) or a name.
        custom_objects: Optional dict of name to Optimizer subclass, for those not built in.
            Defaults to None.
    """
    from pytrainc.saving import serialization_lib

    return get(serialization_lib.deserialize_in("keras.optimizers", config, custom_objects))
