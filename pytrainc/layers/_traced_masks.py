"""Keras's masks in traced custom layers, as Keras 3's `Layer.__call__` hands them over.

- A call whose signature names `mask` gets its first input's mask: a (steps,) tensor per sample,
  1 for a step that counts and 0 for a masked one (Keras's boolean mask; `ops.cast(mask, "float32")`
  keeps it as it is, and the comparison and logical ops take it).
- A layer that overrides `compute_mask(inputs, mask)` supports masking (Keras 3 sets
  `supports_masking` so) and its output carries the mask that compute_mask returns, traced with the
  call; None drops it. A layer without compute_mask that sets `supports_masking = True` hands its
  input's mask on unchanged (`PlanBuilder.emit`).

Whether an input carries a mask is known when the plan is built, not when the layer is called on
symbolic tensors, so a layer whose call takes `mask` (or that has compute_mask) is traced in two forms when it is called: with
mask=None and with a mask placeholder (one more input of the trace). The plan emits the form that
matches its input. A form whose call fails (e.g. `assert mask is not None` without a mask) keeps its
error, raised when a plan needs that form.
"""

import inspect
import math

from pytrainc.layers.tensors import KerasTensor


def takes_mask(layer):
    """Whether layer.call names a `mask` parameter (Keras passes the mask only then)."""
    try:
        return "mask" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def overrides_compute_mask(layer):
    return callable(getattr(type(layer), "compute_mask", None))


def placeholder(first):
    """The mask of the call's first input: one value per step (all axes but the last)."""
    mask = KerasTensor(tuple(first.sample_shape)[:-1])
    mask.dtype = "bool"
    return mask


def masked_key(key):
    return (key, "mask")


def record_forms(layer, key, shapes, multi, args, kwargs, record):
    """Records the call's trace of `shapes` under `key`, and when the call takes a mask its masked
    form too, under masked_key(key)."""
    if overrides_compute_mask(layer):
        layer.__dict__.setdefault("supports_masking", True)
    uses = takes_mask(layer) or overrides_compute_mask(layer)
    both = uses and not multi and "mask" not in kwargs and len(shapes[0]) >= 2
    if not both:
        record(layer, key, [KerasTensor(s) for s in shapes], multi, args, kwargs)
        return
    errors = layer.__dict__.setdefault("_form_errors", {})
    for k, masked in ((key, False), (masked_key(key), True)):
        try:
            record(layer, k, [KerasTensor(s) for s in shapes], multi, args, kwargs, masked=masked)
        except Exception as e:  # kept for a plan that needs this form
            errors[k] = e
    traces = layer.__dict__.get("_traces", {})
    if key not in traces and masked_key(key) not in traces:
        raise errors[key]


def any_trace(layer, key):
    traces = layer._traces
    return traces[key] if key in traces else traces[masked_key(key)]


def form(layer, builder, key, in_bufs):
    """(trace key, input buffers) of the form the plan needs: the masked one, with the mask's buffer
    as its last input, when the first input carries a mask and the call or compute_mask takes it."""
    mask = builder.input_masks[0] if builder.input_masks else None
    traces, errors = layer.__dict__.get("_traces", {}), layer.__dict__.get("_form_errors", {})
    want = masked_key(key) if mask is not None and (masked_key(key) in traces or masked_key(key) in errors) else key
    if want not in traces:
        raise errors[want]
    return want, (list(in_bufs) + [mask] if want != key else in_bufs)


def check_output(layer, mask, out):
    """compute_mask's result in a trace: None, or a tensor of one value per step of the output."""
    if mask is None:
        return None
    what = f"compute_mask of layer '{layer.name}'"
    if isinstance(mask, (list, tuple)):
        raise ValueError(f"The {what} returned {len(mask)} masks: a traced layer has one output, so one mask")
    if not isinstance(mask, KerasTensor) or mask._per_batch:
        raise TypeError(
            f"The {what} must return None or a per-sample tensor computed with pytrainc.ops from the call's "
            f"inputs or mask. Received: {type(mask).__name__}"
        )
    steps = math.prod(tuple(out.sample_shape)[:-1])
    if math.prod(mask.sample_shape) != steps:
        raise ValueError(
            f"The {what} returned a mask of shape {mask.shape}; the output {out.shape} takes one value per step: "
            f"{(None, *tuple(out.sample_shape)[:-1])}"
        )
    return mask
