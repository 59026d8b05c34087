"""Metrics, as `keras.metrics`, accumulated in C inside the epoch loop."""

# ids of csrc/ptc.h's ptc_metric_kind
BINARY_ACCURACY, CATEGORICAL_ACCURACY, SPARSE_CATEGORICAL_ACCURACY, MSE, MAE = range(1, 6)


class Metric:
    """Base class: a named quantity averaged over the samples of an epoch."""

    _kind = 0
    _direction = "up"

    def __init__(self, name):
        self.name = name

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class BinaryAccuracy(Metric):
    """Share of predictions that match binary labels after thresholding at 0.5."""

    _kind = BINARY_ACCURACY

    def __init__(self, name="binary_accuracy"):
        super().__init__(name)


class CategoricalAccuracy(Metric):
    """Share of samples whose argmax matches the one-hot label's argmax."""

    _kind = CATEGORICAL_ACCURACY

    def __init__(self, name="categorical_accuracy"):
        super().__init__(name)


class SparseCategoricalAccuracy(Metric):
    """Share of samples whose argmax equals the integer label."""

    _kind = SPARSE_CATEGORICAL_ACCURACY

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(name)


class MeanSquaredError(Metric):
    """Mean squared error."""

    _kind = MSE
    _direction = "down"

    def __init__(self, name="mean_squared_error"):
        super().__init__(name)


class MeanAbsoluteError(Metric):
    """Mean absolute error."""

    _kind = MAE
    _direction = "down"

    def __init__(self, name="mean_absolute_error"):
        super().__init__(name)


class _Accuracy(Metric):
    """'accuracy' / 'acc': resolved to binary, categorical or sparse categorical
    accuracy from the shapes of labels and predictions at fit time, as Keras does."""

    def __init__(self, name="accuracy"):
        super().__init__(name)

    def resolve(self, y_true_shape, y_pred_shape, loss):
        # keras/src/trainers/compile_utils.py get_metric
        if y_pred_shape[-1] == 1:
            cls = BinaryAccuracy
        elif (getattr(loss, "sparse", False) or len(y_true_shape) < len(y_pred_shape)
              or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)):
            cls = SparseCategoricalAccuracy
        else:
            cls = CategoricalAccuracy
        return cls(name=self.name)


_BY_NAME = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}


def get(identifier):
    """Return a Metric from a name, a config dict or an instance.

    'accuracy' and 'acc' stay unresolved until fit sees the data.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return _Accuracy(name=identifier)
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown metric: '{identifier}'. Expected one of "
                             f"{sorted(list(_BY_NAME) + ['accuracy', 'acc'])}")
        return cls(name=identifier)
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret metric: {identifier!r}")


def serialize(metric):
    if isinstance(metric, _Accuracy):
        return metric.name
    return {"class_name": type(metric).__name__, "config": metric.get_config()}
