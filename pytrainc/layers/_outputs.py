"""Layer calls that return several tensors (Keras 3's `LSTM(return_state=True)`, ...).

Each op of the plan writes one buffer, so such a call is one node of the graph whose tensor
holds all of its outputs per sample, one after another (the fused op's output), and each
output the user sees is a `CallOutput` node on it that slices its part out (a `slice` op,
whose backward adds the part's gradient back). The graph, the plan and the trainer then
handle these nodes as any op node; saving and Keras's JSON name them by the layer call and
the output's index, as Keras's `keras_history` does ([layer name, node index, tensor index]).

A layer with several outputs defines `_output_layout(input_shapes)`: the per-sample shape of
each output, in Keras's order, for the per-sample shapes of the call's inputs; the call's
whole-call tensor is marked `_several`.
"""

import math

from pytrainc.layers import _shapes
from pytrainc.layers.core import KerasTensor


class CallOutput:
    """Output `index` of a call of `layer` that returns several tensors (an op node of the graph)."""

    _is_op_node = True
    _is_call_output = True
    _multi_input = False
    supports_masking = True  # the sequence output keeps the mask the layer's call set
    trainable = True
    weights = ()
    _constants = ()

    def __init__(self, layer, index, call_tensor):
        self.layer, self.index, self._call_tensor = layer, int(index), call_tensor
        self.name = layer.name  # Keras names every output of a call by its layer (output_names)
        shapes = [tuple(s) for s in layout(call_tensor)]
        # a None axis before this output (a variable-length sequence): known on the concrete graph only
        before = shapes[: self.index]
        self._start = None if _shapes.has_none(before) else sum(math.prod(s) for s in before)
        self._shape = shapes[self.index]
        self.tensor = KerasTensor(self._shape, layer=self, inputs=[call_tensor])

    def _recall(self, parents):  # the same output of the new call
        return CallOutput(self.layer, self.index, parents[0]).tensor

    def _emit(self, builder, in_bufs, in_shapes):
        if self.index > 0:  # states carry no mask (Keras's RNN.compute_mask)
            builder.output_mask = None
        size = math.prod(self._shape)
        out = builder.buffer(size)
        extent = math.prod(in_shapes[0])
        builder.op("slice", in_bufs, out, outer=1, extent=extent, inner=1, start=self._start, step=1, len=size)
        return out

    def count_params(self):
        return 0

    def __repr__(self):
        return f"<CallOutput {self.index} of {self.layer.name}>"


def outputs_of(layer, call_tensor):
    """The tensors a call returns, one `CallOutput` node per output of its whole-call tensor."""
    call_tensor._several = True
    return [CallOutput(layer, i, call_tensor).tensor for i in range(len(layout(call_tensor)))]


def layout(call_tensor):
    """The per-sample shapes of the outputs of a call with several outputs."""
    return call_tensor._layer._output_layout([t.sample_shape for t in call_tensor._inputs])


def is_call_output(tensor):
    return getattr(tensor._layer, "_is_call_output", False)


def recall(layer, parents, masked=False):
    """Makes a recorded layer call again on new parent tensors (a model called as a layer, a
    model rebuilt from its configuration): the whole-call tensor for a layer with several
    outputs, each output's node on it. `masked`: the call was given `mask=`, its last parent
    (`tensor._mask_parent`, a saved node's MASK)."""
    mask = None
    if masked:
        *parents, mask = parents
    again = getattr(layer, "_recall", None)
    if again is not None:
        return again(parents) if mask is None else again(parents, mask=mask)
    return layer(parents if layer._multi_input else parents[0], **({} if mask is None else {"mask": mask}))


def recall_node(tensor, parents):
    """`recall` of the call that made `tensor`, on new parents (in the order of `tensor._inputs`)."""
    return recall(tensor._layer, parents, getattr(tensor, "_mask_parent", False))


class OutputRef:
    """A saved graph's node `[layer index, [call node], output index]`: output `index` of that call."""

    _multi_input = False

    def __init__(self, layer, index):
        self.layer, self.index, self.name = layer, index, layer.name

    def _recall(self, parents):
        call = parents[0]
        if not (call._layer is self.layer and getattr(call, "_several", False)) or self.index >= len(layout(call)):
            raise ValueError(
                f"The model configuration takes output {self.index} of a call of layer '{self.layer.name}', "
                "which has no such output"
            )
        return CallOutput(self.layer, self.index, call).tensor


# A saved graph node's third entry for a call given `mask=`, whose last parent is the mask.
MASK = "mask"


def node_masked(node):
    return len(node) == 3 and node[2] == MASK


def node_layer(layers, node):
    """What a saved graph's node calls: its layer, or for `[layer, [call], index]` that output of the call."""
    return layers[node[0]] if len(node) == 2 or node_masked(node) else OutputRef(layers[node[0]], node[2])


def node_config(tensor, layer_index, index):
    """A graph node as saved: [layer index, [parent node indices]] (and the output index of a call
    with several outputs, whose layer is the call's; or MASK for a call given mask=, its last parent)."""
    parents = [index[id(p)] for p in tensor._inputs]
    if is_call_output(tensor):
        return [layer_index[id(tensor._layer.layer)], parents, tensor._layer.index]
    if getattr(tensor, "_mask_parent", False):
        return [layer_index[id(tensor._layer)], parents, MASK]
    return [layer_index[id(tensor._layer)], parents]
