"""Building a plan's op table from the C registry (csrc/ops.def, read as `_C.OPS`).

Layers emit ops by name with named arguments; the builder packs each into the row
layout the binding decodes, in the registry's order, and refuses a missing or an
unknown name. No op id or argument position is written anywhere in Python.
"""

import warnings

import numpy as np

from pytrainc import _C

# Row layout (csrc/python/plan.c): kind, flags, out, n_in, in[MAX_IN], param[MAX_PARAM], iarg[MAX_IARG].
_IN0 = 4
_PARAM0 = _IN0 + _C.MAX_IN
_IARG0 = _PARAM0 + _C.MAX_PARAM
_OP_NAMES = {spec["id"]: name for name, spec in _C.OPS.items()}


def op_spec(name):
    """The registry's entry for an op: id, input counts and argument names."""
    try:
        return _C.OPS[name]
    except KeyError:
        raise ValueError(f"Unknown op {name!r}. Registered ops: {sorted(_C.OPS)}") from None


def kind_id(table, name, what):
    """The id of a named kind in one of _C's kind tables (ACTIVATIONS, LOSSES, ...)."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"Unknown {what} {name!r}. Expected one of {sorted(table)}") from None


def pack_named(names, values, what, dtype=np.float64, size=None):
    """values (a dict) as an array in the order of names; refuses missing and extra keys."""
    missing = [n for n in names if n not in values]
    extra = sorted(set(values) - set(names))
    if missing or extra:
        raise ValueError(f"{what} takes the arguments {list(names)}. Missing: {missing}; unknown: {extra}")
    out = np.zeros(len(names) if size is None else size, dtype=dtype)
    for i, n in enumerate(names):
        out[i] = values[n]
    return out


class OpRow:
    """A read-only view of one packed op: its name and named arguments, for fusion decisions."""

    def __init__(self, row, fargs):
        self._row, self._fargs = row, fargs
        self.name = _OP_NAMES[int(row[0])]
        self.spec = _C.OPS[self.name]

    @property
    def inputs(self):
        return [int(b) for b in self._row[_IN0 : _IN0 + int(self._row[3])]]

    def iarg(self, name):
        return int(self._row[_IARG0 + self.spec["iargs"].index(name)])

    def farg(self, name):
        return float(self._fargs[self.spec["fargs"].index(name)])


class PlanBuilder:
    """Collects buffers and op rows in the layout csrc/python/plan.c decodes."""

    def __init__(self, offsets):
        self._offsets = offsets  # id(Variable) -> offset in the flat parameter array
        self.sizes = []
        self._rows = []
        self._fargs = []
        self.producer = {}  # buffer id -> index of the op that writes it
        self.rng_layers = []  # layers whose RNG state the plan uses, by index
        # Keras's masks: id(KerasTensor) -> the buffer of its mask, (T,) per sample, 1 for a step
        # that counts. During a layer's _emit, input_masks holds its inputs' masks (None: no mask)
        # and the layer may set output_mask (Keras's compute_mask).
        self._masks = {}
        self.input_masks = ()
        self.output_mask = None

    def emit(self, tensor, bufs, masks=None):
        """Emits the layer call that produces `tensor` from buffers bufs[id(input)]; returns its buffer.

        Masks move as Keras 3 moves them (Layer.__call__): a layer that `supports_masking`
        hands its first input's mask on unless its _emit sets another `output_mask`; any
        other layer drops it, with Keras's warning. `masks` maps id(tensor) to its mask's
        buffer (default: the model's; a traced call keeps its own, layers/_tracing.py). A
        call given `mask=` explicitly (inside a traced call) has the mask tensor as its last
        parent, `tensor._mask_parent`: the layer sees it as its first input's mask.
        """
        masks = self._masks if masks is None else masks
        layer, parents = tensor._layer, tensor._inputs
        if getattr(tensor, "_mask_parent", False):
            parents = parents[:-1]
            self.input_masks = (bufs[id(tensor._inputs[-1])],) + tuple(masks.get(id(p)) for p in parents[1:])
        else:
            self.input_masks = tuple(masks.get(id(p)) for p in parents)
        first = self.input_masks[0] if self.input_masks else None
        self.output_mask = first if getattr(layer, "supports_masking", False) else None
        start = self.n_ops
        out = layer._emit(self, [bufs[id(p)] for p in parents], [p.sample_shape for p in parents])
        mode = getattr(tensor, "_mode_only", None)  # a node of one branch of a call on `training`
        for i in range(start, self.n_ops) if mode else ():
            self.set_flag(i, mode)
        if first is not None and not getattr(layer, "supports_masking", False):
            warnings.warn(
                f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a mask attached "
                "to it. However, this layer does not support masking and will therefore destroy the mask "
                "information. Downstream layers will not see the mask.",
                stacklevel=2,
            )
        if self.output_mask is not None:
            masks[id(tensor)] = self.output_mask
        self.input_masks, self.output_mask = (), None
        return out

    def rng(self, layer):
        """Index of layer's RNG state in the plan's RNG table."""
        for i, known in enumerate(self.rng_layers):
            if known is layer:
                return i
        self.rng_layers.append(layer)
        return len(self.rng_layers) - 1

    def buffer(self, size):
        self.sizes.append(int(size))
        return len(self.sizes) - 1

    def op(self, name, ins, out, params=None, **args):
        """Appends op `name` reading buffers ins and writing out; returns its index.

        Args:
            name: A registered op name (`_C.OPS`).
            ins: Input buffer ids, between the op's `min_in` and `max_in` of them.
            out: Output buffer id.
            params: Dict of the op's parameter names to Variables (None: absent).
                Every name the registry lists must be given.
            **args: The op's integer and float arguments by name, all of them.
        """
        spec = op_spec(name)
        if not spec["min_in"] <= len(ins) <= spec["max_in"]:
            raise ValueError(f"Op {name!r} takes {spec['min_in']} to {spec['max_in']} inputs. Received: {len(ins)}")
        row = np.zeros(_C.OP_ROW, dtype=np.int64)
        row[0], row[2], row[3] = spec["id"], out, len(ins)
        row[_IN0 : _IN0 + len(ins)] = ins
        variables = pack_named(spec["params"], params or {}, f"Op {name!r} parameters", dtype=object)
        row[_PARAM0 : _PARAM0 + _C.MAX_PARAM] = -1
        for k, var in enumerate(variables):
            if var is not None:
                row[_PARAM0 + k] = self._offsets[id(var)]
        names = spec["iargs"] + spec["fargs"]
        pack_named(names, args, f"Op {name!r}", dtype=object)  # refuses missing and unknown names
        iargs = {k: v for k, v in args.items() if k in spec["iargs"]}
        fargs = {k: v for k, v in args.items() if k not in spec["iargs"]}
        row[_IARG0 : _IARG0 + _C.MAX_IARG] = pack_named(spec["iargs"], iargs, f"Op {name!r}", np.int64, _C.MAX_IARG)
        self._rows.append(row)
        self._fargs.append(pack_named(spec["fargs"], fargs, f"Op {name!r}", np.float64, _C.MAX_FARG))
        self.producer[out] = len(self._rows) - 1
        return len(self._rows) - 1

    @property
    def n_ops(self):
        return len(self._rows)

    def row(self, index):
        return OpRow(self._rows[index], self._fargs[index])

    def set_flag(self, index, flag):
        self._rows[index][1] |= _C.OP_FLAGS[flag]

    def fold_relus(self, keep):
        """Folds each ReLU whose only reader is a max pool into that pool (its RELU argument) and
        flags the ReLU fused, so neither pass runs it: max(relu(x)) is relu(max(x)) bit for bit and
        the pool routes a gradient only where relu would pass it (csrc/pool.c), so training gives
        the same floats without the ReLU's pass over its output, that gradient, or their zeroing.
        keep: buffers read outside the ops (outputs, masks, losses)."""
        readers, writers = {}, {}
        for row in self._rows:
            for b in row[_IN0 : _IN0 + row[3]]:
                readers[int(b)] = readers.get(int(b), 0) + 1
            writers[int(row[2])] = writers.get(int(row[2]), 0) + 1
        relu = _C.ACTIVATIONS["relu"]
        pool, flag = _C.OPS["maxpool2d"], _C.OP_FLAGS["fused"]
        relu_arg = _IARG0 + pool["iargs"].index("relu")
        for row in self._rows:
            b = int(row[_IN0])
            if row[0] != pool["id"] or row[1] or readers.get(b) != 1 or writers.get(b) != 1 or b in keep:
                continue
            j = self.producer[b]
            act = self.row(j)
            if act.name == "activation" and not self._rows[j][1] and act.iarg("kind") == relu:
                row[_IN0], row[relu_arg] = act.inputs[0], 1
                self._rows[j][1] |= flag

    def tables(self):
        n = len(self._rows)
        ops = np.array(self._rows, dtype=np.int64).reshape(n, _C.OP_ROW)
        fargs = np.array(self._fargs, dtype=np.float64).reshape(n, _C.MAX_FARG)
        return ops, fargs, np.array(self.sizes, dtype=np.int64)
