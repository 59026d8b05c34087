"""The scikit-learn wrappers (Keras 3's `keras.wrappers` names and arguments): scikit-learn's own estimator
checks, Pipeline, GridSearchCV, cross_val_score and clone, warm starts and seeded fits. Skipped cleanly
without scikit-learn."""

import copy

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from pytrainc import utils  # noqa: E402
from pytrainc.layers import Dense, Input  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402
from pytrainc.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402
from pytrainc.wrappers import sklearn_wrapper  # noqa: E402


def dynamic_model(X, y, loss, out_activation="softmax", layers=(10,)):
    """Keras's test model: an MLP whose input and output sizes follow the data."""
    inp = Input(shape=(X.shape[1],))
    hidden = inp
    for units in layers:
        hidden = Dense(units, activation="relu")(hidden)
    model = Model(inp, Dense(y.shape[1] if y.ndim > 1 else 1, activation=out_activation)(hidden))
    model.compile(loss=loss, optimizer="rmsprop")
    return model


QUIET = {"verbose": 0}
# Float32 outputs can differ in the last bit with a row's position in OpenBLAS's blocks, and this check's
# tolerance (rtol=1e-7) is below float32's epsilon (1.2e-7). Regressor and transformer pass it by chance.
ORDER = {
    "check_methods_sample_order_invariance": "float32 results differ in the last bit with a row's position "
    "in a BLAS block (rtol 1e-7 < float32 epsilon)"
}


@parametrize_with_checks(
    [
        SKLearnClassifier(
            dynamic_model,
            model_kwargs={"loss": "categorical_crossentropy", "layers": [20, 20, 20]},
            fit_kwargs={"epochs": 5, **QUIET},
            random_state=0,
        ),
        SKLearnRegressor(
            dynamic_model, model_kwargs={"loss": "mse", "out_activation": "linear"}, fit_kwargs=QUIET, random_state=0
        ),
        SKLearnTransformer(
            dynamic_model, model_kwargs={"loss": "mse", "out_activation": "linear"}, fit_kwargs=QUIET, random_state=0
        ),
    ],
    expected_failed_checks=lambda estimator: ORDER,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def classification(n=120, s=0):
    r = np.random.default_rng(s)
    X = r.normal(size=(n, 5)) * [1, 10, 0.1, 1, 1] + 3
    return X, np.where(X[:, 0] - 3 > 0.3, "yes", np.where(X[:, 3] - 3 > 0, "maybe", "no"))


def classifier(random_state=1, **kwargs):
    return SKLearnClassifier(
        dynamic_model,
        model_kwargs={"loss": "categorical_crossentropy", "layers": [16]},
        fit_kwargs={"epochs": 30, "batch_size": 16, **QUIET},
        random_state=random_state,
        **kwargs,
    )


def test_pipeline_learns_string_labels():
    X, y = classification()
    pipe = make_pipeline(StandardScaler(), classifier()).fit(X, y)
    assert set(pipe.predict(X)) <= {"yes", "maybe", "no"}
    assert pipe.score(X, y) > 0.8
    est = pipe[-1]
    assert list(est.classes_) == ["maybe", "no", "yes"] and est.n_features_in_ == 5
    assert est.decision_function(X[:3]).shape == (3, 3) and est.epoch_ == 30


def test_grid_search_and_cross_val_score():
    X, y = classification()
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), classifier()),
        {
            "sklearnclassifier__model_kwargs": [
                {"loss": "categorical_crossentropy", "layers": [2]},
                {"loss": "categorical_crossentropy", "layers": [16]},
            ]
        },
        cv=2,
    ).fit(X, y)
    assert grid.best_params_["sklearnclassifier__model_kwargs"]["layers"] in ([2], [16])
    r = np.random.default_rng(0)
    Xr = r.normal(size=(90, 4))
    yr = Xr @ [1.0, -2.0, 0.5, 0.0] + 0.1 * r.normal(size=90)
    reg = SKLearnRegressor(
        dynamic_model,
        model_kwargs={"loss": "mse", "out_activation": "linear", "layers": [16]},
        fit_kwargs={"epochs": 60, "batch_size": 16, **QUIET},
        random_state=0,
    )
    scores = cross_val_score(reg, Xr, yr, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    binary = cross_val_score(make_pipeline(StandardScaler(), classifier()), X, y == "yes", cv=3, scoring="roc_auc")
    assert binary.mean() > 0.8  # roc_auc reads the binary decision_function, one score per sample


def test_randomized_and_successive_halving_searches():
    """RandomizedSearchCV and HalvingRandomSearchCV (issue 14): the halving search fits its
    candidates on growing sample budgets, refits the best on all of them, and is reproducible."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

    X, y = classification(n=240)
    space = {
        "sklearnclassifier__model_kwargs": [
            {"loss": "categorical_crossentropy", "layers": [units]} for units in (2, 4, 8, 16, 32)
        ],
        "sklearnclassifier__random_state": [0, 1, 2],
    }
    pipe = make_pipeline(StandardScaler(), classifier())
    randomized = RandomizedSearchCV(pipe, space, n_iter=4, cv=2, random_state=0).fit(X, y)
    assert len(randomized.cv_results_["params"]) == 4 and randomized.best_score_ > 0.6

    def halving():
        return HalvingRandomSearchCV(pipe, space, n_candidates=6, factor=2, min_resources=60, cv=2, random_state=0).fit(
            X, y
        )

    a, b = halving(), halving()
    assert list(a.n_resources_) == [60, 120, 240]  # the sample budget doubles each iteration
    assert list(a.n_candidates_) == [6, 3, 2]
    assert a.best_params_ == b.best_params_
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])
    assert a.best_score_ > 0.6 and a.score(X, y) > 0.6  # the refit best estimator predicts


def test_seeded_fits_are_bitwise_equal_and_leave_the_global_generator():
    X, y = classification()
    before = utils.global_rng().copy()
    a = classifier().fit(X, y).decision_function(X)
    b = classifier().fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(utils.global_rng(), before)
    assert not np.array_equal(a, classifier(random_state=7).fit(X, y).decision_function(X))


def test_a_model_instance_is_copied_for_each_fit_and_warm_start_continues():
    r = np.random.default_rng(0)
    X, y = r.normal(size=(40, 3)), r.normal(size=40)
    model = Sequential([Input((3,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    weights = model.get_weights()
    reg = SKLearnRegressor(model, fit_kwargs={"epochs": 2, **QUIET}).fit(X, y)
    assert reg.model_ is not model
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))  # the given model is untouched
    assert reg.model_.optimizer.iterations == 4
    warm = SKLearnRegressor(model, warm_start=True, fit_kwargs={"epochs": 2, **QUIET}).fit(X, y)
    first = warm.model_
    warm.fit(X, y, epochs=1)
    assert warm.model_ is first and first.optimizer.iterations == 6
    assert warm.fit_kwargs == {"epochs": 2, **QUIET}  # fit's own arguments never reach fit_kwargs


def test_clone_keeps_every_argument_and_copies_a_model():
    model = Sequential([Input((3,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    est = SKLearnRegressor(model, warm_start=True, model_kwargs={"a": 1}, fit_kwargs={"epochs": 3}, random_state=4)
    twin = clone(est)
    params = twin.get_params()
    assert {k: params[k] for k in ("warm_start", "model_kwargs", "fit_kwargs", "random_state")} == {
        "warm_start": True,
        "model_kwargs": {"a": 1},
        "fit_kwargs": {"epochs": 3},
        "random_state": 4,
    }
    assert params["model"] is not model and params["model"].get_config() == model.get_config()
    fitted = SKLearnRegressor(model, fit_kwargs=QUIET).fit(np.ones((8, 3)), np.ones(8))
    np.testing.assert_array_equal(copy.deepcopy(fitted).predict(np.ones((2, 3))), fitted.predict(np.ones((2, 3))))


def test_refusals():
    model = Sequential([Input((3,)), Dense(1)])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnRegressor(model).fit(np.ones((4, 3)), np.ones(4))
    with pytest.raises(TypeError, match="compiled pytrainc Model or a callable"):
        SKLearnRegressor("model").fit(np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match="Only binary and multiclass"):
        classifier().fit(np.ones((4, 3)), np.array([0.5, 1.5, 2.5, 3.5]))
    with pytest.raises(ValueError, match="only one class"):
        classifier().fit(np.ones((4, 3)), np.zeros(4))


def test_without_scikit_learn_the_classes_say_so(monkeypatch):
    monkeypatch.setattr(sklearn_wrapper, "sklearn", None)
    with pytest.raises(ImportError, match=r"SKLearnClassifier needs scikit-learn.*pip install"):
        SKLearnClassifier(dynamic_model)
