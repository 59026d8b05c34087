"""compile's losses and metrics per output, and data per input and output, as Keras 3's
`keras/src/trainers/compile_utils.py` reads them.

A model with several outputs has one loss head per output: its loss, its loss weight, its
`metrics=` (never weighted by sample or class weights, as in Keras 3) and its
`weighted_metrics=` (weighted). Each of compile's arguments may be one value for every
output, a list in output order or a dict keyed by output name, with Keras's rules:
a loss dict must name every output; `metrics` for several outputs must be a list of
lists or a dict (a flat list is refused, as Keras refuses it).
"""

import numpy as np

from pytrainc import losses as losses_module
from pytrainc import metrics as metrics_module


class Head:
    """The loss of one output: its name, Loss, loss weight and metrics."""

    def __init__(self, index, name, loss, weight, metrics, weighted_metrics):
        self.index, self.name, self.loss, self.weight = index, name, loss, weight
        self.metric_specs = metrics
        self.weighted_specs = weighted_metrics

    @property
    def loss_weight(self):
        return 1.0 if self.weight is None else float(self.weight)


def _names_text(names):
    return "[" + ", ".join(repr(n) for n in names) + "]"


def per_output(value, names, what, single_value):
    """value as one entry per output (a list in output order).

    single_value(value) tells whether value is one entry that every output shares.
    """
    k = len(names)
    if isinstance(value, dict):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ValueError(
                f"{what}: {_names_text(unknown)} name(s) no output of the model. "
                f"Expected keys among the output names {_names_text(names)}. Received: keys {_names_text(value)}"
            )
        return [value.get(n) for n in names]
    if single_value(value):
        return [value] * k
    if isinstance(value, (list, tuple)):
        if len(value) != k:
            raise ValueError(
                f"{what}: expected one entry per output, {k} for the outputs {_names_text(names)} "
                f"(or a dict keyed by output name). Received: a {type(value).__name__} of {len(value)}"
            )
        return list(value)
    raise TypeError(f"{what}: expected one value, a list or a dict keyed by output name. Received: {value!r:.80}")


def _metric_list(value, what):
    if value is None:
        return []
    if isinstance(value, (str, metrics_module.Metric)) or callable(value):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{what}: expected a list of metrics. Received: {value!r:.80}")
    return [metrics_module.get(m) for m in value]


def _metrics_per_output(metrics, names, what):
    """Keras 3's rules for `metrics`/`weighted_metrics`: for one output a list of metrics;
    for several, a list of lists (one per output) or a dict keyed by output name (a subset)."""
    if metrics is None or (isinstance(metrics, (list, tuple, dict)) and not metrics):
        return [[] for _ in names]
    if isinstance(metrics, dict):
        return [_metric_list(m, f"{what}[{n!r}]") for n, m in zip(names, per_output(metrics, names, what, None))]
    if len(names) == 1:
        if isinstance(metrics, (list, tuple)) and len(metrics) == 1 and isinstance(metrics[0], (list, tuple)):
            metrics = metrics[0]
        return [_metric_list(metrics, what)]
    if not isinstance(metrics, (list, tuple)) or not all(m is None or isinstance(m, (list, tuple)) for m in metrics):
        raise ValueError(
            f"{what}: a model with several outputs takes a list of lists of metrics (one list per output, "
            f"in order {_names_text(names)}) or a dict keyed by output name, as Keras 3. Received: {what}={metrics!r:.120}"
        )
    lists = per_output(list(metrics), names, what, lambda v: False)
    return [_metric_list(m, f"{what}[{i}]") for i, m in enumerate(lists)]


def build_heads(names, loss, loss_weights, metrics, weighted_metrics):
    """The Head of each output (names in output order) from compile's arguments."""
    if loss is None:
        raise ValueError("compile needs a loss, e.g. loss='mse'. Received: loss=None")
    if isinstance(loss, dict) and not _is_config(loss) and set(loss) != set(names):
        raise ValueError(
            f"Expected keys {_names_text(names)} in loss dict, but found loss.keys()={_names_text(loss)}: "
            "a loss dict names every output of the model"
        )
    if len(names) == 1 and isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    if _is_config(loss) or not isinstance(loss, (dict, list, tuple)):
        per_loss = [loss] * len(names)
    else:
        per_loss = per_output(loss, names, "loss", lambda v: False)
    missing = [n for n, v in zip(names, per_loss) if v is None]
    if missing:
        raise ValueError(f"loss: the output(s) {_names_text(missing)} have no loss; every output needs one")
    resolved = [losses_module.get(v) for v in per_loss]
    if loss_weights is None:
        weights = [None] * len(names)
    else:
        if not isinstance(loss_weights, (list, tuple, dict, float, int)) or isinstance(loss_weights, bool):
            raise ValueError(
                "Expected `loss_weights` argument to be a float (single output case) or a list, tuple, or dict "
                f"(multiple output case). Received instead: loss_weights={loss_weights!r}"
            )
        if len(names) == 1 and isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1:
            loss_weights = loss_weights[0]
        weights = per_output(loss_weights, names, "loss_weights", lambda v: isinstance(v, (int, float)))
        for n, w in zip(names, weights):
            ok = w is None or (isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, bool))
            if not ok or (w is not None and not (np.isfinite(float(w)) and float(w) >= 0)):
                raise ValueError(f"loss_weights: the weight of output {n!r} must be a number >= 0. Received: {w!r}")
    plain = _metrics_per_output(metrics, names, "metrics")
    weighted = _metrics_per_output(weighted_metrics, names, "weighted_metrics")
    return [Head(i, n, resolved[i], weights[i], plain[i], weighted[i]) for i, n in enumerate(names)]


def _is_config(value):
    return isinstance(value, dict) and "class_name" in value


def metric_names(heads):
    """Keras 3's log name of each compiled metric, head by head (`metrics` then `weighted_metrics`):
    `<output>_<metric>` with several outputs; a weighted metric whose name is taken becomes
    `weighted_<metric>`; further repeats get `_1`, `_2`, ... (CompileMetrics.result)."""
    several = len(heads) > 1
    taken, names = {}, []
    for h in heads:
        prefix = f"{h.name}_" if several else ""
        for weighted, specs in ((False, h.metric_specs), (True, h.weighted_specs)):
            for m in specs:
                name = prefix + m.name
                if name in taken and weighted:
                    name = prefix + "weighted_" + m.name
                if name in taken:
                    taken[name] += 1
                    name = f"{name}_{taken[name] - 1}"
                else:
                    taken[name] = 1
                names.append(name)
    return names


def per_name(data, names, what, kind):
    """data for several inputs or outputs as a list in their order: a list/tuple of one per
    name or a dict keyed by name. kind: 'input' or 'output', for messages."""
    k = len(names)
    if isinstance(data, dict):
        unknown = [key for key in data if key not in names]
        missing = [n for n in names if n not in data]
        if unknown or missing:
            raise ValueError(
                f"{what}: the dict's keys must be the model's {kind} names {_names_text(names)}. "
                f"Received: keys {_names_text(data)}"
                + (f" ({_names_text(unknown)} name no {kind})" if unknown else "")
                + (f" (missing {_names_text(missing)})" if missing else "")
            )
        return [data[n] for n in names]
    if isinstance(data, (list, tuple)) and len(data) == k and all(_array_like(d) for d in data):
        return list(data)
    if isinstance(data, (list, tuple)) and all(_array_like(d) for d in data):
        raise ValueError(
            f"{what}: the model has {k} {kind}s {_names_text(names)}; expected a list of {k} arrays "
            f"or a dict keyed by {kind} name. Received: a {type(data).__name__} of {len(data)} arrays"
        )
    raise ValueError(
        f"{what}: the model has {k} {kind}s {_names_text(names)}; expected a list of {k} arrays "
        f"or a dict keyed by {kind} name. Received: {type(data).__name__}"
    )


def _array_like(d):
    return d is None or isinstance(d, np.ndarray) or (hasattr(d, "__array__") and not isinstance(d, (list, tuple)))


def single(data, name):
    """data for a model's only input or output: the array, also when wrapped in a
    one-entry list or a dict keyed by its name."""
    if isinstance(data, dict) and len(data) == 1 and name in data:
        return data[name]
    if isinstance(data, (list, tuple)) and len(data) == 1 and _array_like(data[0]) and data[0] is not None:
        return data[0]
    return data
