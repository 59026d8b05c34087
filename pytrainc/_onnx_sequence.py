"""The sequence layers' ONNX forms (`pytrainc.onnx`): Embedding, SimpleRNN, LSTM, GRU,
Bidirectional and LayerNormalization.

The recurrent layers become ONNX's own `RNN`, `LSTM` and `GRU` nodes, one direction each:
- Keras's kernels are (features, gates * units) with its gate order; ONNX wants
  (gates * units, features) with its own order: LSTM i, o, f, c against Keras's i, f, c, o,
  GRU z, r, h as Keras. ONNX's bias is the input bias and the recurrent bias side by side;
  Keras's GRU (`reset_after=True`, the form pytrainc's GRU takes) has both (its bias's two
  rows, ONNX's `linear_before_reset=1`); the other layers one (the recurrent half is zero).
- ONNX's sequences are time major: Transposes around each node. `go_backwards` reverses
  the input (a Slice with step -1) and runs forward, so the sequence output is in the order
  Keras returns it; Bidirectional's backward layer flips its output back to input order.
- The activations map to ONNX's names (hard_sigmoid is `HardSigmoid(alpha=1/6, beta=0.5)`,
  Keras 3's `relu6(x + 3) / 6`; linear is `Affine(1, 0)`).
- With `return_state`, a call's outputs are [output, *states] as Keras's; `initial_state`
  tensors feed ONNX's initial_h (and initial_c).

Masks do not carry: a recurrent layer or GlobalAveragePooling1D that reads the mask of an
`Embedding(mask_zero=True)` is refused by name (ONNX's `sequence_lens` only drops a padded
tail, where Keras skips any masked step), as `to_torch` refuses it.
"""

import numpy as np

_INT64_MIN = np.iinfo(np.int64).min
# The recurrent cells' activations (layers/rnn.py's _CELL_ACTIVATIONS) -> (ONNX's, alpha, beta).
_ACTIVATIONS = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "linear": ("Affine", 1.0, 0.0),
}


def _gate_blocks(a, units, order):
    """The gate blocks of a's last axis (units each) in `order`."""
    return np.concatenate([a[..., k * units : (k + 1) * units] for k in order], axis=-1)


def _activation_attrs(names):
    """ONNX's activations attributes; `names` are the cell's (rnn._CELL_ACTIVATIONS, each mapped)."""
    funcs, alphas, betas = [], [], []
    for name in names:
        func, alpha, beta = _ACTIVATIONS[name]
        funcs.append(func)
        if alpha is not None:  # consumed in the order of the activations that take one
            alphas.append(alpha)
            betas.append(beta)
    attrs = {"activations": funcs}
    if alphas:
        attrs.update(activation_alpha=alphas, activation_beta=betas)
    return attrs


def _weights(layer):
    """(op type, W, R, B, attrs) in ONNX's layout (one direction) for a recurrent layer."""
    from pytrainc import layers as L

    u = layer.units
    kernel, recurrent = layer.kernel.numpy(), layer.recurrent_kernel.numpy()
    gates = kernel.shape[-1] // u
    bias = layer.bias.numpy() if layer.bias is not None else None
    if isinstance(layer, L.LSTM):
        op, order = "LSTM", (0, 3, 1, 2)  # ONNX i, o, f, c from Keras's i, f, c, o
        acts = [layer.recurrent_activation, layer.activation, layer.activation]
    elif isinstance(layer, L.GRU):
        op, order = "GRU", (0, 1, 2)
        acts = [layer.recurrent_activation, layer.activation]
    else:
        op, order, acts = "RNN", (0,), [layer.activation]
    W = _gate_blocks(kernel, u, order).T[None]
    R = _gate_blocks(recurrent, u, order).T[None]
    b_in, b_rec = np.zeros(gates * u, np.float32), np.zeros(gates * u, np.float32)
    attrs = _activation_attrs(acts)
    if isinstance(layer, L.GRU):  # reset_after=True, the only form pytrainc's GRU takes
        attrs["linear_before_reset"] = 1
        if bias is not None:
            b_in, b_rec = bias[0], bias[1]
    elif bias is not None:
        b_in = bias
    B = np.concatenate([_gate_blocks(b_in, u, order), _gate_blocks(b_rec, u, order)])[None]
    return op, W, R, B, attrs


def _reverse_time(g, x, base):
    """x (batch, T, ...) with its time axis reversed."""
    c = g.const
    return g.op(
        "Slice",
        [x, c(f"{base}_s", [-1], np.int64), c(f"{base}_e", [_INT64_MIN], np.int64), c(f"{base}_a", [1], np.int64),
         c(f"{base}_p", [-1], np.int64)],
        base,
    )  # fmt: skip


def _direction(g, layer, x, states, base):
    """One recurrent layer on x (batch, T, F) from the initial `states` (names or None): its
    output as Keras returns it and its final states [h] or [h, c], each (batch, units)."""
    from pytrainc import layers as L

    op, W, R, B, attrs = _weights(layer)
    backwards = layer.go_backwards
    if backwards:
        x = _reverse_time(g, x, f"{base}_reversed")
    xt = g.op("Transpose", [x], f"{base}_time_major", perm=[1, 0, 2])
    axis0 = g.const(f"{base}_axis0", [0], np.int64)
    inputs = [xt, g.const(f"{base}_W", W), g.const(f"{base}_R", R), g.const(f"{base}_B", B), ""]
    for k, state in enumerate(states or []):
        inputs.append(g.op("Unsqueeze", [state, axis0], f"{base}_initial_{k}"))
    while inputs[-1] == "":
        inputs.pop()
    n_out = 3 if isinstance(layer, L.LSTM) else 2
    names = [g._name(f"{base}_{part}") for part in ("Y", "Y_h", "Y_c")[:n_out]]
    g.nodes.append(g.onnx.helper.make_node(op, inputs, names, name=names[0], hidden_size=layer.units, **attrs))
    final = [g.op("Squeeze", [name, axis0], f"{base}_state") for name in names[1:]]
    if not layer.return_sequences:
        return final[0], final
    y = g.op("Squeeze", [names[0], g.const(f"{base}_axis1", [1], np.int64)], f"{base}_seq")  # (T, batch, units)
    y = g.op("Transpose", [y], f"{base}_batch_major", perm=[1, 0, 2])
    if backwards and layer._input_order:  # Bidirectional's backward layer: back to input order
        y = _reverse_time(g, y, f"{base}_in_order")
    return y, final


def _recurrent(g, layer, xs, shapes):
    y, final = _direction(g, layer, xs[0], xs[1:], layer.name)
    return [y, *final] if layer.return_state else y


def _bidirectional(g, layer, xs, shapes):
    fwd, states_f = _direction(g, layer.forward_layer, xs[0], None, f"{layer.name}_forward")
    bwd, states_b = _direction(g, layer.backward_layer, xs[0], None, f"{layer.name}_backward")
    mode = layer.merge_mode
    if mode == "concat":
        out = g.op("Concat", [fwd, bwd], layer.name, axis=-1)
    elif mode == "ave":
        total = g.op("Add", [fwd, bwd], f"{layer.name}_sum")
        out = g.op("Mul", [total, g.const(f"{layer.name}_half", 0.5)], layer.name)
    else:
        out = g.op({"sum": "Add", "mul": "Mul"}[mode], [fwd, bwd], layer.name)
    return [out, *states_f, *states_b] if layer.return_state else out


def _embedding(g, layer, xs, shapes):
    ids = g.op("Cast", [xs[0]], f"{layer.name}_ids", to=g.onnx.TensorProto.INT64)
    return g.op("Gather", [g.const(f"{layer.name}_embeddings", layer.embeddings.numpy()), ids], layer.name, axis=0)


def _layer_normalization(g, layer, xs, shapes):
    # As csrc/layernorm.c: (x - mean) / sqrt(biased variance + epsilon) * gamma + beta, over the
    # last axis.
    name = layer.name
    mean = g.op("ReduceMean", [xs[0]], f"{name}_mean", axes=[-1], keepdims=1)
    centered = g.op("Sub", [xs[0], mean], f"{name}_centered")
    var = g.op("ReduceMean", [g.op("Mul", [centered, centered], f"{name}_sq")], f"{name}_var", axes=[-1], keepdims=1)
    std = g.op(
        "Sqrt", [g.op("Add", [var, g.const(f"{name}_epsilon", layer.epsilon)], f"{name}_var_eps")], f"{name}_std"
    )
    y = g.op("Div", [centered, std], f"{name}_normalized")
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(f"{name}_gamma", layer.gamma.numpy())], f"{name}_scaled")
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(f"{name}_beta", layer.beta.numpy())], name)
    return y


LAYERS = {
    "Embedding": _embedding,
    "SimpleRNN": _recurrent,
    "LSTM": _recurrent,
    "GRU": _recurrent,
    "Bidirectional": _bidirectional,
    "LayerNormalization": _layer_normalization,
}
