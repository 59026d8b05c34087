"""`HyperModel`: builds a model from hyperparameters, and fits it."""

__all__ = ["HyperModel"]


class HyperModel:
    """Defines a searchable model, as Keras Tuner's `HyperModel`.

    Override `build(hp)` to return a compiled model. Override `fit` to tune
    arguments of `fit()` such as `batch_size` and `epochs`: the tuner calls
    `fit(hp, model, *args, **kwargs)` with the arguments given to `search`.
    `fit` returns the `History` (or a float, or a dict with the objective).

    A `HyperModel` used with `n_jobs > 1` is pickled into worker processes,
    so its class (and a `build_model` function) must be importable.

    Example:

    >>> from pytrainc.tuning import HyperModel
    >>> class MyHyperModel(HyperModel):
    ...     def build(self, hp):
    ...         model = Sequential([Input((8,)), Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
    ...                             Dense(1, activation="sigmoid")])
    ...         model.compile(optimizer=Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                       loss="binary_crossentropy", metrics=["accuracy"])
    ...         return model
    ...     def fit(self, hp, model, *args, **kwargs):
    ...         return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)
    """

    def build(self, hp):
        """Returns a compiled model for the hyperparameters `hp`.

        Args:
            hp: A `HyperParameters`.

        Returns:
            A compiled pytrainc model.
        """
        raise NotImplementedError(f"{type(self).__name__} must override build(hp).")

    def fit(self, hp, model, *args, **kwargs):
        """Trains `model` (the one `build` returned); by default `model.fit(*args, **kwargs)`.

        Args:
            hp: The trial's `HyperParameters`.
            model: The model `build(hp)` returned.
            *args: The positional arguments of `search`.
            **kwargs: The keyword arguments of `search`, with `callbacks`.

        Returns:
            The `History`, a float (the objective) or a dict of metric name to value.
        """
        return model.fit(*args, **kwargs)


class FunctionHyperModel(HyperModel):
    """A `HyperModel` whose `build` is a `build_model(hp)` function."""

    def __init__(self, build_model):
        if not callable(build_model):
            raise TypeError(f"hypermodel must be a HyperModel or a callable build_model(hp). Received: {build_model!r}")
        self.build_model = build_model

    def build(self, hp):
        return self.build_model(hp)


def get_hypermodel(hypermodel):
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    return FunctionHyperModel(hypermodel)
