"""Tuner.plot (pytrainc.plotting.plot_tuner): the objective per trial and against a hyperparameter."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

sys.path.insert(0, str(Path(__file__).parent))
from test_tuners import build_model, grid_model, search  # noqa: E402

from pytrainc.tuning import GridSearch, RandomSearch  # noqa: E402


@pytest.fixture(scope="module")
def tuner(tmp_path_factory):
    t = RandomSearch(build_model, objective="val_loss", max_trials=5, seed=1, directory=tmp_path_factory.mktemp("s"))
    return search(t)


def test_plot_draws_scores_per_trial_and_against_the_first_hyperparameter(tuner):
    figure = tuner.plot()
    left, right = figure.axes
    rows = [r for r in tuner.trials_table() if r["status"] == "COMPLETED"]
    trial_dots, best_line = left.lines
    np.testing.assert_array_equal(trial_dots.get_xdata(), [r["trial_id"] for r in rows])
    np.testing.assert_allclose(trial_dots.get_ydata(), [r["score"] for r in rows])
    assert best_line.get_ydata()[-1] == min(r["score"] for r in rows)  # val_loss: lower is better
    assert right.get_xlabel() == "units" and left.get_ylabel() == "val_loss"


def test_plot_of_a_log_sampled_hyperparameter_uses_a_log_axis(tuner, tmp_path):
    assert tuner.plot("lr").axes[1].get_xscale() == "log"
    assert tuner.plot(hyperparameter="lr", path=tmp_path / "search.png") is None
    assert (tmp_path / "search.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_of_a_choice_has_one_tick_per_value(tmp_path):
    grid = search(GridSearch(grid_model, objective="val_loss", directory=tmp_path, max_trials=4))
    ax = grid.plot("lr").axes[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1"]


def test_plot_refuses_an_unknown_hyperparameter_and_an_empty_search(tuner, tmp_path):
    with pytest.raises(ValueError, match=r"'depth' is not a hyperparameter of the search. Known: \['lr', 'units'\]"):
        tuner.plot("depth")
    empty = RandomSearch(build_model, objective="val_loss", max_trials=2, directory=tmp_path)
    with pytest.raises(ValueError, match="needs a completed trial"):
        empty.plot()
