"""scikit-learn estimators around pytrainc models, as Keras 3's `keras.wrappers` (keras/src/wrappers/sklearn_wrapper.py).

`SKLearnClassifier`, `SKLearnRegressor` and `SKLearnTransformer` take Keras's
arguments (`model`, `warm_start`, `model_kwargs`, `fit_kwargs`) and work in
`Pipeline`, `GridSearchCV` and `cross_val_score`. They differ from Keras's in
four places; in three Keras's own code does not do what its documentation says:
`warm_start=True` does reuse the fitted model, `fit_kwargs` is never modified
by `fit`, and `clone` keeps `fit_kwargs` (scikit-learn's own `clone` is used,
which deep-copies a model given as `model`; pytrainc models copy exactly);
the fourth is a binary classifier's `decision_function`, one score per sample
as scikit-learn expects. And they take one argument more, `random_state`: with an int, `fit` draws
the weights, dropout masks and shuffles from a generator seeded with it (the
global generator is left as it was), so two fits give the same model bitwise,
as scikit-learn's reproducibility checks ask.

scikit-learn is an optional dependency (`pip install "pytrainc[sklearn]"`):
this module imports without it, and the classes raise ImportError when made.
"""

import contextlib

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes below refuse to be made
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _require_sklearn(name):
    if sklearn is None:
        raise ImportError(
            f"{name} needs scikit-learn. Install it with `pip install scikit-learn` "
            '(or `pip install "pytrainc[sklearn]"`).'
        )


def _check_target_type(y):
    from sklearn.utils.multiclass import type_of_target

    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type: {y!r:.200}")
    return target_type


def _validate(estimator, *args, **kwargs):
    from sklearn.utils.validation import validate_data

    return validate_data(estimator, *args, **kwargs)


def _fresh_copy(model):
    """A model of the same architecture with new weights, compiled as `model` with a fresh optimizer
    (what Keras's `clone_model` gives a wrapper)."""
    from pytrainc import losses, metrics, optimizers

    clone = type(model).from_config(model.get_config())
    clone.compile(
        optimizer=optimizers.deserialize(optimizers.serialize(model.optimizer)),
        loss=losses.get(losses.serialize(model.loss)),
        metrics=[metrics.get(metrics.serialize(m)) for m in model._metric_specs],
    )
    return clone


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes 1-D targets 2-D and back (Keras's `TargetReshaper`)."""

    def fit(self, y):
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


class SKLBase(BaseEstimator):
    """Base class of the scikit-learn wrappers.

    Args:
        model: A compiled pytrainc `Model` (copied with new weights before
            every fit, unless `warm_start=True`), or a callable returning one,
            called as `model(X=X, y=y, **model_kwargs)` with the validated
            data (for classifiers, `y` one-hot encoded).
        warm_start: Whether a second `fit` continues training the model of
            the first instead of starting again. Defaults to False.
        model_kwargs: Keyword arguments for `model` when it is a callable.
            Defaults to None.
        fit_kwargs: Keyword arguments for `model.fit` (`epochs`,
            `batch_size`, `verbose`, `callbacks`, ...); those given to `fit`
            take precedence. Defaults to None.
        random_state: None, an int or a NumPy `RandomState` / `Generator`:
            with one, `fit` (the model's construction included) draws from a
            generator seeded from it instead of the global one, which is left
            unchanged. Not in Keras. Defaults to None.

    Attributes:
        model_: The fitted model.
        history_: The dict of the last fit's `History`: metric name to per-epoch values.
        n_features_in_: The number of features seen by `fit`.
    """

    _multi_output = False  # whether y may have several columns

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None, random_state=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Without a random_state, weights are drawn and data shuffled from pytrainc's global generator.
        tags.non_deterministic = self.random_state is None
        tags.target_tags.multi_output = self._multi_output
        return tags

    @property
    def epoch_(self):
        """The number of epochs trained by the last `fit`."""
        return len(getattr(self, "history_", {}).get("loss", []))

    def _get_model(self, X, y):
        from pytrainc.models import Model

        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            if not self.model.compiled:
                raise RuntimeError("Given model needs to be compiled, and have a loss and an optimizer.")
            return _fresh_copy(self.model)
        if not callable(self.model):
            raise TypeError(
                f"`model` must be a compiled pytrainc Model or a callable returning one. Received: "
                f"{type(self.model).__name__}"
            )
        model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        if not isinstance(model, Model):
            raise TypeError(
                f"`model(X=X, y=y, **model_kwargs)` must return a pytrainc Model. Received: {type(model).__name__}"
            )
        return model

    def fit(self, X, y, **kwargs):
        """Fit the model.

        Args:
            X: array-like of shape (n_samples, n_features), the inputs.
            y: array-like of shape (n_samples,) or (n_samples, n_outputs), the targets.
            **kwargs: Keyword arguments for `model.fit`, over `fit_kwargs`.

        Returns:
            self.

        Raises:
            RuntimeError: if the model is not compiled.
            ValueError: for targets of a type the estimator does not take.
        """
        X, y = _validate(
            self, X, y, reset=not (self.warm_start and hasattr(self, "model_")), multi_output=self._multi_output
        )
        y = self._process_target(y, reset=True)
        with self._generator():
            model = self._get_model(X, y)
            if not model.compiled:
                raise RuntimeError("Given model needs to be compiled, and have a loss and an optimizer.")
            history = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.history_ = dict(history.history)
        self.model_ = model
        return self

    @contextlib.contextmanager
    def _generator(self):
        """pytrainc's global generator, seeded from `random_state` for the block when it is set."""
        from pytrainc import _C, utils

        if self.random_state is None:
            yield
            return
        from sklearn.utils import check_random_state

        seed = self.random_state
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            seed = int(check_random_state(seed).randint(2**31 - 1))
        with utils._global_rng_kept():
            _C.rng_seed(utils.global_rng(), utils._check_seed(int(seed)))
            yield

    def _output(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def predict(self, X):
        """Predictions for `X`, in the form of the targets `fit` saw.

        Args:
            X: array-like of shape (n_samples, n_features).

        Returns:
            An array of shape (n_samples,) or (n_samples, n_outputs).
        """
        output = self._output(X)
        return self._target_encoder.inverse_transform(output)

    def _process_target(self, y, reset=False):
        _check_target_type(y)
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """scikit-learn classifier around a pytrainc model, as `keras.wrappers.SKLearnClassifier`.

    The labels are one-hot encoded for the model (its output has one unit per
    class, e.g. a softmax) and `predict` returns the class of the largest output.

    Args:
        model: A compiled pytrainc `Model`, or a callable
            `model(X=X, y=y, **model_kwargs)` returning one; `y` is one-hot.
        warm_start: Whether a second `fit` continues the first. Defaults to False.
        model_kwargs: Keyword arguments for a callable `model`. Defaults to None.
        fit_kwargs: Keyword arguments for `model.fit`. Defaults to None.
        random_state: None or a seed for `fit`'s draws (see `SKLBase`). Defaults to None.

    Attributes:
        model_: The fitted model.
        history_: The last fit's history dict.
        classes_: The class labels, sorted.

    Raises:
        ImportError: if scikit-learn is not installed.

    Example:

    >>> def make_model(X, y, hidden=16):
    ...     model = Sequential([Input((X.shape[1],)), Dense(hidden, activation="relu"),
    ...                         Dense(y.shape[1], activation="softmax")])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> X = np.random.default_rng(0).normal(size=(100, 6))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = pytrainc.wrappers.SKLearnClassifier(make_model, model_kwargs={"hidden": 8},
    ...                                          fit_kwargs={"epochs": 3, "verbose": 0})
    >>> clf.fit(X, y).predict(X[:4]).shape
    (4,)
    """

    def decision_function(self, X):
        """The model's outputs for `X`: one column per class, or for two classes one score.

        For a binary problem the score is `output[:, 1] - output[:, 0]`, positive
        where `predict` gives `classes_[1]`: scikit-learn's shape for binary
        decision functions (Keras returns both columns, which scikit-learn's
        scorers and checks refuse).

        Args:
            X: array-like of shape (n_samples, n_features).

        Returns:
            An array of shape (n_samples, n_classes), or (n_samples,) for two classes.
        """
        output = self._output(X)
        if len(self.classes_) == 2 and output.ndim == 2 and output.shape[1] == 2:
            return output[:, 1] - output[:, 0]
        return output

    def _process_target(self, y, reset=False):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        target_type = _check_target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass target types are supported. Target type: {target_type}")
        if reset:
            self._target_encoder = make_pipeline(_TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """scikit-learn regressor around a pytrainc model, as `keras.wrappers.SKLearnRegressor`.

    Args:
        model: A compiled pytrainc `Model`, or a callable
            `model(X=X, y=y, **model_kwargs)` returning one.
        warm_start: Whether a second `fit` continues the first. Defaults to False.
        model_kwargs: Keyword arguments for a callable `model`. Defaults to None.
        fit_kwargs: Keyword arguments for `model.fit`. Defaults to None.
        random_state: None or a seed for `fit`'s draws (see `SKLBase`). Defaults to None.

    Attributes:
        model_: The fitted model.
        history_: The last fit's history dict.

    Raises:
        ImportError: if scikit-learn is not installed.

    Example:

    >>> def make_model(X, y):
    ...     model = Sequential([Input((X.shape[1],)), Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> reg = pytrainc.wrappers.SKLearnRegressor(make_model, fit_kwargs={"epochs": 2, "verbose": 0})
    >>> reg.fit(X, X.sum(axis=1)).predict(X[:2]).shape
    (2,)
    """

    _multi_output = True

    def predict(self, X):
        """Predictions for `X`, as float64 (scikit-learn's regressors' dtype; the model computes in float32).

        Args:
            X: array-like of shape (n_samples, n_features).

        Returns:
            A float64 array of shape (n_samples,) or (n_samples, n_outputs).
        """
        return super().predict(X).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """scikit-learn transformer around a pytrainc model, as `keras.wrappers.SKLearnTransformer`.

    `transform` returns the model's outputs (an embedding, for example); `fit`
    trains the model on `(X, y)` first.

    Args:
        model: A compiled pytrainc `Model`, or a callable
            `model(X=X, y=y, **model_kwargs)` returning one.
        warm_start: Whether a second `fit` continues the first. Defaults to False.
        model_kwargs: Keyword arguments for a callable `model`. Defaults to None.
        fit_kwargs: Keyword arguments for `model.fit`. Defaults to None.
        random_state: None or a seed for `fit`'s draws (see `SKLBase`). Defaults to None.

    Attributes:
        model_: The fitted model.
        history_: The last fit's history dict.

    Raises:
        ImportError: if scikit-learn is not installed.

    Example:

    >>> def make_model(X, y):
    ...     model = Sequential([Input((X.shape[1],)), Dense(2)])
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> trs = pytrainc.wrappers.SKLearnTransformer(make_model, fit_kwargs={"epochs": 1, "verbose": 0})
    >>> trs.fit(X, X[:, :2]).transform(X).shape
    (20, 2)
    """

    _multi_output = True

    def transform(self, X):
        """The model's outputs for `X`.

        Args:
            X: array-like of shape (n_samples, n_features).

        Returns:
            A float32 array of shape (n_samples,) + the model's output shape.
        """
        return self._output(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
