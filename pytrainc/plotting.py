"""Plots of training histories and of searches with matplotlib (an optional dependency).

`plot_history` draws the training and validation curves that `fit()`
recorded in its `History`, and marks two events pytrainc's callbacks log:
the epoch whose weights `EarlyStopping(restore_best_weights=True)` restored
(`History.restored_epoch`) and the epochs where the learning rate
(`ReduceLROnPlateau`, `LearningRateScheduler`) or the batch size
(`BatchSizeScheduler`) changed, from the `"learning_rate"` and `"batch_size"`
logs.
"""

import collections.abc
import math
import os

__all__ = ["plot_history", "plot_tuner"]

# Logged quantities that are settings rather than results: drawn as marks, and
# as curves only when asked for by name.
_SETTINGS = {
    "learning_rate": ("learning rate", "lr", "tab:gray"),
    "batch_size": ("batch size", "batch size", "tab:purple"),
}
_RESTORED_COLOR = "tab:green"


def _import_matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ImportError(
            "pytrainc.plotting draws with matplotlib, which is not installed. Install it with `pip install matplotlib`."
        ) from exc
    return Figure, MaxNLocator


def _unpack(history):
    """Returns (dict of lists, epoch indices or None, restored epoch or None)."""
    if isinstance(history, collections.abc.Mapping):
        return history, None, None
    data = getattr(history, "history", None)
    if isinstance(data, collections.abc.Mapping):
        return data, getattr(history, "epoch", None), getattr(history, "restored_epoch", None)
    raise TypeError(
        "plot_history expects a History (as returned by `model.fit()`) or a dict "
        "mapping log keys to lists of per-epoch values. "
        f"Received: {history!r} of type {type(history).__name__}"
    )


def _float(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _base(key):
    return key[4:] if key.startswith("val_") else key


def _default_metrics(data):
    names = []
    for key in data:
        name = _base(key)
        if name not in names and name not in _SETTINGS:
            names.append(name)
    return names


def _check_metrics(metrics, data):
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)) or not metrics:
        raise TypeError(
            "plot_history expects `metrics` to be a metric name or a non-empty list "
            f"of names. Received: metrics={metrics!r}"
        )
    names = []
    for metric in metrics:
        if not isinstance(metric, str):
            raise TypeError(f"plot_history expects metric names as strings. Received: {metric!r}")
        name = _base(metric)
        if name not in data and "val_" + name not in data:
            raise ValueError(f"plot_history found no values for {metric!r}. Available keys: {', '.join(data)}")
        if name not in names:
            names.append(name)
    return names


def _changes(values, xs):
    """(x between the two epochs, new value) for each epoch whose value differs."""
    marks = []
    for i in range(1, len(values)):
        before, after = _float(values[i - 1]), _float(values[i])
        if not (math.isnan(before) or math.isnan(after)) and after != before:
            marks.append((xs[i] - 0.5, after))
    return marks


def plot_history(
    history,
    metrics=None,
    path=None,
    *,
    restored_epoch=None,
    title=None,
    figsize=None,
    dpi=100,
):
    """Plots training and validation curves from a `History`.

    One panel per metric (`loss`, `accuracy`, ...), with the training curve
    solid and the validation (`val_`) curve dashed, against the epoch
    (counted from 1, as in `fit()`'s messages). It marks:

    - the epoch whose weights `EarlyStopping(restore_best_weights=True)`
      restored, with a green dash-dot line and a star on the curve;
    - the epochs where `"learning_rate"` or `"batch_size"` (logged by
      `ReduceLROnPlateau`, `LearningRateScheduler` and `BatchSizeScheduler`)
      changed, with a dotted line between the last epoch with the old value
      and the first with the new one, labelled with the new value.

    `"learning_rate"` and `"batch_size"` are drawn as curves only when named
    in `metrics` (the learning rate on a log scale). NaN and infinite values
    leave gaps.

    The figure is a `matplotlib.figure.Figure` that is not registered with
    `pyplot`, so plotting many histories does not accumulate open figures.
    Jupyter shows it when it is the value of a cell.

    Args:
        history: A `History` (returned by `model.fit()`, also
            `model.history`), or a dict mapping log keys to lists of
            per-epoch values such as `history.history`.
        metrics: A metric name or a list of names to plot, with or without
            the `val_` prefix (both curves are drawn either way). `None`
            plots every logged metric. Defaults to `None`.
        path: str or `os.PathLike`. When given, the figure is saved there (as
            PNG unless the extension names another format matplotlib writes)
            and `None` is returned. Defaults to `None`.
        restored_epoch: Index (from 0) of the epoch whose weights were
            restored, to mark. `None` uses `history.restored_epoch` (set by
            `EarlyStopping`), if any. Defaults to `None`.
        title: Title of the figure. Defaults to `None`.
        figsize: `(width, height)` in inches. Defaults to 6.4 x 4 inches per
            panel, two panels per row.
        dpi: Resolution, in dots per inch, of the figure and of the saved
            file. Defaults to `100`.

    Returns:
        The `Figure` when `path` is `None`, else `None`.

    Raises:
        ImportError: If matplotlib is not installed.
        TypeError: If `history` is neither a `History` nor a dict of lists.
        ValueError: If `history` is empty or a requested metric was not
            logged.

    Example:

    >>> history = {"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.8, 0.9],
    ...            "learning_rate": [0.1, 0.1, 0.01]}
    >>> figure = plot_history(history, restored_epoch=1)
    >>> plot_history(history, path="history.png")
    """
    Figure, MaxNLocator = _import_matplotlib()
    data, epochs, history_restored = _unpack(history)
    if restored_epoch is None:
        restored_epoch = history_restored
    data = {str(k): list(v) for k, v in data.items() if v is not None and len(v)}
    if not data:
        raise ValueError("plot_history received an empty history: there is nothing to plot.")
    names = _default_metrics(data) if metrics is None else _check_metrics(metrics, data)
    if not names:
        # Only settings were logged: draw them rather than nothing.
        names = [_base(k) for k in data if not k.startswith("val_")][:1] or [_base(next(iter(data)))]

    def xs_for(values):
        # History.epoch holds the epoch indices of the last fit(), which start
        # at `initial_epoch`; use them when they match the values.
        if epochs is not None and len(epochs) == len(values):
            return [int(e) + 1 for e in epochs]
        return list(range(1, len(values) + 1))

    ncols = 1 if len(names) == 1 else 2
    nrows = math.ceil(len(names) / ncols)
    if figsize is None:
        figsize = (6.4 * ncols, 4.0 * nrows)
    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(names) :]:
        ax.set_visible(False)

    marks = []
    for key, (label, short, color) in _SETTINGS.items():
        if key in data:
            values = data[key]
            marks.append((label, short, color, _changes(values, xs_for(values))))

    for ax, name in zip(axes, names):
        curves = [(name, "-", "tab:blue"), ("val_" + name, "--", "tab:orange")]
        drawn = {}
        for key, style, color in curves:
            if key not in data:
                continue
            values = [_float(v) for v in data[key]]
            xs = xs_for(values)
            step = "steps-mid" if name in _SETTINGS else "default"
            ax.plot(
                xs,
                values,
                style,
                color=color,
                label=key,
                drawstyle=step,
                marker="o" if len(values) <= 30 else None,
                markersize=3,
            )
            drawn[key] = (xs, values)
        if name == "learning_rate" and all(v > 0 for _, vs in drawn.values() for v in vs if not math.isnan(v)):
            ax.set_yscale("log")

        for label, short, color, changes in marks:
            for i, (x, value) in enumerate(changes):
                ax.axvline(x, color=color, linestyle=":", linewidth=1.2, label=f"{label} change" if i == 0 else None)
                ax.annotate(
                    f"{short} {value:.3g}",
                    xy=(x, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(-2, -3),
                    textcoords="offset points",
                    rotation=90,
                    ha="right",
                    va="top",
                    fontsize=7,
                    color=color,
                    zorder=6,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                )

        if restored_epoch is not None:
            rx = int(restored_epoch) + 1
            ax.axvline(rx, color=_RESTORED_COLOR, linestyle="-.", linewidth=1.2, label=f"restored weights (epoch {rx})")
            # A star on the curve EarlyStopping most likely monitored.
            for key in () if name in _SETTINGS else ("val_" + name, name):
                if key in drawn and rx in drawn[key][0]:
                    y = drawn[key][1][drawn[key][0].index(rx)]
                    if not math.isnan(y):
                        ax.plot([rx], [y], "*", color=_RESTORED_COLOR, markersize=12, zorder=5)
                    break

        ax.set_title(name)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")

    if title:
        figure.suptitle(title)
    if path is None:
        return figure
    figure.savefig(os.fspath(path), dpi=dpi)
    return None


def plot_tuner(tuner, hyperparameter=None, path=None, figsize=None, dpi=100):
    """Plots a search: the objective per trial, and its dependence on one hyperparameter.

    The left panel shows each completed trial's score against its trial id and
    the best score so far; the right one (when the search has a hyperparameter
    that varies) the scores against `hyperparameter`'s values, on a log axis
    for `sampling="log"`, one tick per value for a `Choice` or `Boolean`.

    Args:
        tuner: A `pytrainc.tuning` tuner, after (or during) `search`.
        hyperparameter: Name of the hyperparameter of the right panel. Defaults
            to `None`: the first one that is not `Fixed`.
        path: Where to save the figure (format from the suffix). Defaults to
            `None`: return the figure.
        figsize: Matplotlib figure size in inches. Defaults to `None` (6 by 4
            per panel).
        dpi: Resolution of a saved figure. Defaults to `100`.

    Returns:
        The matplotlib `Figure` when `path` is `None`, else `None`.

    Raises:
        ValueError: if no trial has completed with a score, or
            `hyperparameter` is not in the search space.
        ImportError: if matplotlib is not installed.
    """
    from pytrainc.tuning.hyperparameters import Boolean, Choice, Fixed

    Figure, MaxNLocator = _import_matplotlib()
    rows = [r for r in tuner.trials_table() if r["status"] == "COMPLETED" and r.get("score") is not None]
    if not rows:
        raise ValueError("plot_tuner needs a completed trial with a score. Received: none (run search first)")
    space = {hp.name: hp for hp in tuner._space(tuner._records) if not isinstance(hp, Fixed)}
    if hyperparameter is not None and hyperparameter not in space:
        raise ValueError(
            f"plot_tuner: {hyperparameter!r} is not a hyperparameter of the search. Known: {sorted(space)}"
        )
    hp = space[hyperparameter] if hyperparameter is not None else next(iter(space.values()), None)
    panels = 2 if hp is not None else 1
    figure = Figure(figsize=figsize or (6 * panels, 4), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    objective = tuner.objective
    better = min if objective.direction == "min" else max
    ids, scores = [r["trial_id"] for r in rows], [r["score"] for r in rows]
    best = [better(scores[: i + 1]) for i in range(len(scores))]
    ax = axes[0]
    ax.plot(ids, scores, "o", label="trial")
    ax.step(ids, best, where="post", label=f"best so far ({objective.direction})")
    ax.set_xlabel("Trial")
    ax.set_ylabel(objective.name)
    ax.set_title(f"{objective.name} per trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if hp is not None:
        ax = axes[1]
        pairs = [(r[hp.name], r["score"]) for r in rows if r.get(hp.name) is not None]
        if isinstance(hp, (Choice, Boolean)):
            labels = list(hp.values) if isinstance(hp, Choice) else [False, True]
            ax.plot([labels.index(v) for v, _ in pairs], [s for _, s in pairs], "o")
            ax.set_xticks(range(len(labels)), [str(v) for v in labels])
        else:
            ax.plot([v for v, _ in pairs], [s for _, s in pairs], "o")
            if getattr(hp, "sampling", None) == "log":
                ax.set_xscale("log")
        ax.set_xlabel(hp.name)
        ax.set_ylabel(objective.name)
        ax.set_title(f"{objective.name} against {hp.name}")
        ax.grid(True, alpha=0.3)
    if path is None:
        return figure
    figure.savefig(os.fspath(path), dpi=dpi)
    return None
