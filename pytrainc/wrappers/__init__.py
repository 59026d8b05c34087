"""scikit-learn wrappers, as `keras.wrappers`: `SKLearnClassifier`, `SKLearnRegressor`, `SKLearnTransformer`.

Importing this module does not import scikit-learn's estimators' dependencies
beyond scikit-learn itself; without scikit-learn the classes raise ImportError
when made.
"""

from pytrainc.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
