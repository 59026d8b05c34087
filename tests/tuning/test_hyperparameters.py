"""HyperParameters: the kinds, their values and sampling, conditions, config round trips."""

import numpy as np
import pytest

from pytrainc.tuning import HyperParameters
from pytrainc.tuning.hyperparameters import Float, Int, RandomSampler


def test_defaults_and_first_definition_wins():
    hp = HyperParameters()
    assert hp.Int("units", 8, 64, step=8) == 8
    assert hp.Float("lr", 1e-3, 1e-1, sampling="log") == 1e-3
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Boolean("bias") is False
    assert hp.Fixed("epochs", 7) == 7
    assert hp.Int("units", 1, 2) == 8  # a second definition returns the first one's value
    assert hp.values == {"units": 8, "lr": 1e-3, "act": "relu", "bias": False, "epochs": 7}
    assert [p.name for p in hp.space] == ["units", "lr", "act", "bias", "epochs"]


def test_assigned_values_are_returned():
    hp = HyperParameters(values={"units": 32, "act": "tanh"})
    assert hp.Int("units", 8, 64, step=8) == 32
    assert hp.Choice("act", ["relu", "tanh"]) == "tanh"
    assert hp["units"] == 32


def test_grid_values_linear_and_log_steps():
    assert Int("u", 8, 32, step=8).grid_values() == [8, 16, 24, 32]
    assert Int("u", 32, 512, step=2, sampling="log").grid_values() == [32, 64, 128, 256, 512]
    assert Float("f", 0.0, 0.5, step=0.25).grid_values() == [0.0, 0.25, 0.5]
    with pytest.raises(ValueError, match="GridSearch needs a step for Float 'f'"):
        Float("f", 0.0, 1.0).grid_values()


def test_log_sampling_covers_the_decades():
    hp = Float("lr", 1e-4, 1e-1, sampling="log")
    rng = np.random.default_rng(0)
    draws = np.array([hp.random_sample(rng) for _ in range(2000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1e-1
    # log-uniform: about a third of the draws in each decade
    counts = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1])[0] / len(draws)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.05)


def test_unit_mapping_round_trips():
    for hp, value in (
        (Int("u", 8, 64, step=8), 40),
        (Float("lr", 1e-4, 1e-1, sampling="log"), 3e-3),
        (Int("n", 1, 100, sampling="log"), 10),
    ):
        assert hp.from_unit(hp.to_unit(value)) == pytest.approx(value)


def test_random_sampler_depends_on_seed_trial_and_name_only():
    a, b = HyperParameters(), HyperParameters()
    a._sampler, b._sampler = RandomSampler(3, 5), RandomSampler(3, 5)
    a.Float("lr", 1e-4, 1e-1, sampling="log")
    first = a.Int("units", 1, 100)
    b.Int("units", 1, 100)  # defined in the other order: same values
    assert b.Float("lr", 1e-4, 1e-1, sampling="log") == a["lr"] and b["units"] == first
    c = HyperParameters()
    c._sampler = RandomSampler(3, 6)
    assert c.Float("lr", 1e-4, 1e-1, sampling="log") != a["lr"]


def test_conditional_scope():
    hp = HyperParameters(values={"model": "mlp"})
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        assert hp.Int("filters", 8, 32) is None
    with hp.conditional_scope("model", "mlp"):
        assert hp.Int("units", 8, 32) == 8
    assert hp.values == {"model": "mlp", "units": 8}
    assert not hp.is_active("filters") and hp.is_active("units")
    assert "filters" in hp  # registered, so the tuners know it


def test_conditional_scope_needs_its_parent():
    with pytest.raises(ValueError, match="named: model not defined"):
        with HyperParameters().conditional_scope("model", ["cnn"]):
            pass


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda hp: hp.Int("u", 5, 1), ValueError, "min_value <= max_value"),
        (lambda hp: hp.Int("u", 1.5, 3), TypeError, "must be an int"),
        (lambda hp: hp.Float("f", 0.0, 1.0, sampling="log"), ValueError, "min_value > 0"),
        (lambda hp: hp.Float("f", 0.1, 1.0, sampling="cubic"), ValueError, "sampling must be one of"),
        (lambda hp: hp.Choice("c", []), ValueError, "non-empty list"),
        (lambda hp: hp.Choice("c", [1, "a"]), TypeError, "values of one type"),
        (lambda hp: hp.Choice("c", [1, 2], default=3), ValueError, "default must be one of"),
        (lambda hp: hp.Int("", 1, 2), ValueError, "non-empty str"),
    ],
)
def test_bad_definitions(call, error, match):
    with pytest.raises(error, match=match):
        call(HyperParameters())


def test_config_round_trip():
    hp = HyperParameters(values={"model": "cnn"})
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", "cnn"):
        hp.Int("filters", 8, 32, step=8)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    again = HyperParameters.from_config(hp.get_config())
    assert again.values == hp.values
    assert [repr(p) for p in again.space] == [repr(p) for p in hp.space]
    assert again.space[1].conditions == [("model", ["cnn"])]
