"""Metrics, as `keras.metrics`. Their statistics accumulate in C inside the epoch loop
(csrc/metrics.c, csrc/metrics_confusion.c), weighted by sample weights; the result is computed
from them once per epoch. Standalone, `update_state` / `result` / `reset_state` run the same
kernels on arrays."""

from pytrainc._identifiers import from_identifier
from pytrainc.losses import (  # keras.metrics exports the loss functions too
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from pytrainc.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    _AutoAccuracy,
)
from pytrainc.metrics.auc import AUC
from pytrainc.metrics.base import Metric
from pytrainc.metrics.confusion import (
    F1Score,
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from pytrainc.metrics.functions import (
    binary_accuracy,
    categorical_accuracy,
    concordance_correlation,
    pearson_correlation,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from pytrainc.metrics.iou import IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from pytrainc.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    _LossMean,
)
from pytrainc.metrics.reduction import Mean, MeanMetricWrapper, Sum
from pytrainc.metrics.regression import (
    ConcordanceCorrelation,
    MeanAbsoluteError,
    MeanSquaredError,
    PearsonCorrelation,
    R2Score,
    RootMeanSquaredError,
)

_Accuracy = _AutoAccuracy  # 'accuracy' / 'acc', resolved at fit time (trainers/data_prep.py)

_CLASSES_LIST = (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    RootMeanSquaredError,
    Precision,
    Recall,
    F1Score,
    AUC,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    # session 11 (issue #11)
    Accuracy,
    Mean,
    Sum,
    R2Score,
    PearsonCorrelation,
    ConcordanceCorrelation,
    FBetaScore,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    IoU,
    MeanIoU,
    BinaryIoU,
    OneHotIoU,
    OneHotMeanIoU,
    MeanMetricWrapper,
)
_BY_NAME = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError,
    "precision": Precision,
    "recall": Recall,
    "f1_score": F1Score,
    "auc": AUC,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "logcosh": LogCoshError,
    "log_cosh": LogCoshError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity,
    # session 11 (issue #11)
    "r2_score": R2Score,
    "pearson_correlation": PearsonCorrelation,
    "concordance_correlation": ConcordanceCorrelation,
    "fbeta_score": FBetaScore,
    "true_positives": TruePositives,
    "false_positives": FalsePositives,
    "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
}
_CLASSES = {c.__name__: c for c in _CLASSES_LIST}

# A metric function in compile(metrics=[fn]) runs as its class's kernel, named as the function
# (Keras's MeanMetricWrapper(fn, name=fn.__name__)); a function's keyword arguments are the defaults.
_FUNCTION_CLASSES = {
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    pearson_correlation: PearsonCorrelation,
    concordance_correlation: ConcordanceCorrelation,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    log_cosh: LogCoshError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
}
_FUNCTIONS = (
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    pearson_correlation,
    concordance_correlation,
)


def get(identifier):
    """Return a Metric from a name, a config dict, an instance or a metric function.

    'accuracy' and 'acc' stay unresolved until fit sees the data. One of keras.metrics'
    functions runs as its metric class (named as the function); another function is traced
    into the plan as a MeanMetricWrapper.

    Raises:
        ValueError: for an unknown name or class.
    """
    if identifier in ("accuracy", "acc"):
        return _AutoAccuracy(name=identifier)
    from pytrainc import losses

    if isinstance(identifier, losses.Loss) and identifier._traced:  # a custom Loss, as Keras wraps it
        from pytrainc.metrics.loss_metric import LossMetric

        return LossMetric(identifier)
    if isinstance(identifier, losses.Loss):  # a built-in loss: its value per batch, averaged in C
        from pytrainc.metrics.loss_metric import BuiltinLossMetric

        return BuiltinLossMetric(identifier)
    if callable(identifier) and not isinstance(identifier, (Metric, type)):
        cls = _FUNCTION_CLASSES.get(identifier)
        return cls(name=identifier.__name__) if cls is not None else MeanMetricWrapper(identifier)
    return from_identifier(
        identifier,
        what="metric",
        base=Metric,
        names={**_BY_NAME, "accuracy": _AutoAccuracy, "acc": _AutoAccuracy},
        classes=_CLASSES,
        make=lambda cls, name: cls(name=name) if name in _BY_NAME else cls(),
        hint=". Expected a name such as 'accuracy', a config dict or a pytrainc.metrics.Metric",
    )


def serialize(metric):
    """The `{"class_name", "config"}` of a metric (a name for 'accuracy' / 'acc')."""
    if isinstance(metric, _AutoAccuracy):
        return metric.name
    from pytrainc.saving import object_registration

    return object_registration.tagged({"class_name": type(metric).__name__, "config": metric.get_config()}, metric)


def deserialize(config, custom_objects=None):
    """A metric from its serialization (keras.metrics.deserialize), through
    pytrainc.saving.serialization_lib: only pytrainc's classes and the custom objects given
    or registered are built.

    Args:
        config: A `{"class_name", "config"}` dict (Keras's or `serialize`'s) or a name.
        custom_objects: Optional dict of names to custom classes or functions. Defaults to None.
    """
    from pytrainc.saving import serialization_lib

    if isinstance(config, str):
        return get(config)
    if isinstance(config, dict) and "class_name" in config and "module" not in config:
        config = {**config, "module": "keras.metrics"}
    return serialization_lib.deserialize_keras_object(config, module_objects=None, custom_objects=custom_objects)
