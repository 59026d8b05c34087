"""`Objective`: the logged value a search optimizes, and its direction."""

__all__ = ["Objective", "get_objective"]

_MIN = {
    "loss",
    "mse",
    "mae",
    "mean_squared_error",
    "mean_absolute_error",
    "root_mean_squared_error",
    "rmse",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "hinge",
    "squared_hinge",
    "kl_divergence",
    "kld",
    "poisson",
    "huber",
    "logcosh",
    "cosine_similarity_loss",
}
_MAX = {
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "precision",
    "recall",
    "f1_score",
    "fbeta_score",
    "auc",
    "r2_score",
}


def infer_direction(name):
    """'min' or 'max' for a metric name as Keras Tuner infers it, or None.

    A `val_` prefix is ignored; losses and error metrics are minimized,
    accuracies, precision, recall, F1 and AUC maximized.
    """
    base = name[4:] if name.startswith("val_") else name
    if base in _MIN or base.endswith("_loss"):
        return "min"
    if base in _MAX or base.endswith("_accuracy"):
        return "max"
    return None


class Objective:
    """The value a search optimizes: a name in the fit's logs and a direction.

    Args:
        name: The name of a value in `History.history`, such as
            `"val_accuracy"`.
        direction: `"min"` or `"max"`.

    Raises:
        ValueError: if `direction` is neither `"min"` nor `"max"`.

    Example:

    >>> from pytrainc.tuning import Objective
    >>> Objective("val_auc", direction="max")
    Objective(name="val_auc", direction="max")
    """

    def __init__(self, name, direction):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Objective expects a non-empty metric name. Received: name={name!r}")
        if direction not in ("min", "max"):
            raise ValueError(f"Objective direction must be 'min' or 'max'. Received: direction={direction!r}")
        self.name, self.direction = name, direction

    def better(self, a, b):
        """Whether score `a` is better than `b` (None is worse than anything)."""
        if a is None:
            return False
        if b is None:
            return True
        return a < b if self.direction == "min" else a > b

    def sort_key(self, score):
        """A key that sorts the best score first (missing scores last)."""
        if score is None:
            return (1, 0.0)
        return (0, score if self.direction == "min" else -score)

    def get_config(self):
        return {"name": self.name, "direction": self.direction}

    def __eq__(self, other):
        return isinstance(other, Objective) and self.get_config() == other.get_config()

    def __repr__(self):
        return f'Objective(name="{self.name}", direction="{self.direction}")'


def get_objective(objective):
    """An `Objective` from a name, an `Objective`, or None (`"val_loss"`).

    Raises:
        ValueError: if the direction of a name cannot be inferred.
        TypeError: for anything else.
    """
    if objective is None:
        objective = "val_loss"
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        direction = infer_direction(objective)
        if direction is None:
            raise ValueError(
                f'Could not infer optimization direction ("min" or "max") for unknown metric "{objective}". '
                "Please specify the objective as a `pytrainc.tuning.Objective`, for example "
                f'`Objective("{objective}", direction="min")`.'
            )
        return Objective(objective, direction)
    raise TypeError(
        f"objective must be a str or an Objective. Received: {objective!r} of type {type(objective).__name__}"
    )
