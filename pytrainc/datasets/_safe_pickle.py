"""A reader for the pickled batches of the CIFAR-10 python archive that runs no code.

The batches (`data_batch_1` .. `data_batch_5`, `test_batch`) are protocol-2
pickles written by Python 2's cPickle: a dict of byte-string keys to byte
strings, lists of ints or byte strings, and one `numpy.ndarray` (uint8,
shape (10000, 3072)). A pickle describes an ndarray as calls to numpy:
`numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")`, then
`numpy.dtype("u1", 0, 1)` with a BUILD of its state, then a BUILD of the array
state `(1, shape, dtype, is_fortran, raw_bytes)`. `pickle.load` would call
whatever the file names, which is why pytrainc never uses it.

Why this reader is safe:

- The pickle machine can only call what `find_class` returns: GLOBAL,
  STACK_GLOBAL, INST, OBJ and the EXT opcodes (copyreg's extension registry) all
  go through it, in the C unpickler as in the pure-Python one; PERSID and
  BINPERSID go through `persistent_load`, which refuses. Every other opcode only
  builds str, bytes, int, float, bool, None, tuples, lists, dicts and sets, none
  of which is callable, so REDUCE, NEWOBJ and BUILD have nothing else to call.
- `find_class` here returns objects of this module, never numpy's: for
  `..multiarray._reconstruct` and `numpy.dtype`, stand-ins that check their
  arguments and return inert placeholders; for `numpy.ndarray`, a stand-in
  that refuses to be called. BUILD cannot alter a stand-in (its
  `__setstate__` refuses), and the placeholders' `__setstate__` only record
  checked values. Anything else (`os.system`, `builtins.eval`, `numpy.load`, ...) is
  refused with ValueError before it is looked up, so it is never imported.
  Keras's RestrictedUnpickler (keras/src/datasets/npz_utils.py) hands the real
  numpy callables to the file; here not even numpy sees data from the pickle
  until it has been checked.
- The placeholders accept exactly the shapes of arguments numpy writes for a
  plain uint8 array (no object dtype, no structured fields, no subarrays),
  and the array is then built with `np.frombuffer` from a byte string whose
  length must match the declared shape.
- `_codecs.encode(text, "latin1")` is also accepted, because Python 3 writes
  bytes objects that way under protocol 2 (so batches re-saved by
  `pickle.dump(d, f, protocol=2)` load too); it only encodes a str.

Why it is bounded in memory and time (the archive's SHA-256 is checked against
the pinned official digest before this reader sees it, but a reader must not
depend on that):

- At most `MAX_BYTES` (64 MiB; an official batch is 31 MB) are read, into memory.
- Before anything is unpickled, `pickletools.genops` walks the opcodes without
  building objects: at most `MAX_OPCODES` of them (2**19, walked in under a
  second; an official batch has about 40,000, 90,000 once re-saved by Python 3),
  and no memo index at or past `MAX_OPCODES`. CPython's unpickler
  sizes its memo by the largest index, so 9 bytes (`PROTO 2, NONE, LONG_BINPUT
  0x0fffffff, STOP`) would make it allocate 4 GB. A length prefix larger than the
  data that follows it is refused here too, before the unpickler could allocate
  a buffer of the declared length. Every container is built by opcodes, so none
  can hold more than `MAX_OPCODES` items, and no value can be larger than the
  bytes read.
- The unpickler then reads from those bytes in memory; `_materialize` visits each
  object once. So a batch costs at most a few times `MAX_BYTES` of memory and time
  linear in its size.
"""

import io
import math
import pickle
import pickletools

import numpy as np

__all__ = ["load"]

# The only array type the batches hold. A typestr maps to the dtype built here,
# never to one taken from the file.
_DTYPES = {"u1": np.dtype(np.uint8)}
_BYTE_ORDERS = ("|", "<", ">", "=")
# A CIFAR batch is a dict of flat values; this bounds nesting in `_materialize`.
_MAX_DEPTH = 16
# Bounds on one pickle (see the module docstring): its size, its opcodes, its memo indices.
MAX_BYTES = 64 << 20
MAX_OPCODES = 1 << 19
_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}


class _StandIn:
    """What `find_class` returns: a named wrapper around a checking function.

    BUILD cannot change it (its `__setstate__` refuses), unlike a plain
    function, whose `__dict__` and `__defaults__` BUILD could overwrite for
    the rest of the process.
    """

    __slots__ = ("name", "function")

    def __init__(self, name, function):
        self.name = name
        self.function = function

    def __call__(self, *args):
        if self.function is None:
            raise ValueError(f"Refusing to call {self.name}")
        return self.function(*args)

    def __setstate__(self, state):
        raise ValueError(f"Refusing to set the state of {self.name}: the file may be malicious")

    def __repr__(self):
        return f"<{self.name}>"


class _DtypeSpec:
    """Placeholder for a `numpy.dtype(typestr, align, copy)` call; checked, never executed."""

    __slots__ = ("dtype", "byte_order")

    def __init__(self, dtype):
        self.dtype = dtype
        self.byte_order = "|"

    def __setstate__(self, state):
        # numpy's dtype state: (version, byte_order, subarray, names, fields,
        # elsize, alignment, flags[, metadata]); shorter tuples come from old
        # NumPy versions. A plain numeric dtype has no subarray, names or fields.
        if not isinstance(state, tuple) or not 5 <= len(state) <= 9:
            raise ValueError(f"Expected a numpy dtype state tuple. Received: {_short(state)}")
        byte_order = _text(state[1])
        if byte_order not in _BYTE_ORDERS:
            raise ValueError(f"Expected a dtype byte order in {_BYTE_ORDERS}. Received: {_short(state[1])}")
        if any(item is not None for item in state[2:5]):
            raise ValueError("Expected a plain numeric dtype. Received: a dtype with subarray, names or fields")
        if not all(_is_int(item) for item in (state[0],) + state[5:8]):
            raise ValueError(f"Expected integer fields in a dtype state. Received: {_short(state)}")
        if len(state) == 9 and state[8] is not None:
            raise ValueError("Expected a dtype without metadata. Received: metadata")
        self.byte_order = byte_order


def _dtype(typestr, align=False, copy=False, *rest, dtypes=_DTYPES):
    """Stands for `numpy.dtype` while unpickling."""
    name = _text(typestr)
    if rest or name not in dtypes or not _is_int(align) or not _is_int(copy):
        raise ValueError(
            f"Expected a numpy dtype in {sorted(dtypes)}. Received: dtype{_short((typestr, align, copy) + rest)}"
        )
    return _DtypeSpec(dtypes[name])


# With int_lists=True (imdb.npz, reuters.npz): also object arrays whose items are lists of ints.
_INT_LIST_DTYPES = {**_DTYPES, "O8": np.dtype(object)}


def _int_list(item):
    if not isinstance(item, list) or not all(type(v) is int for v in item):
        raise ValueError(f"Expected an object array of lists of ints. Received an item {_short(item)}")
    return item


class _ArraySpec:
    """Placeholder for an ndarray being unpickled; its checked state becomes `.array`."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if self.array is not None:
            raise ValueError("Expected one state per array. Received: a second BUILD")
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ValueError(f"Expected a numpy array state tuple. Received: {_short(state)}")
        if len(state) == 5:  # (version, shape, dtype, is_fortran, raw); 4 items before version 1
            if not _is_int(state[0]) or state[0] != 1:
                raise ValueError(f"Expected array state version 1. Received: {_short(state[0])}")
            state = state[1:]
        shape, spec, is_fortran, raw = state
        if not isinstance(shape, tuple) or len(shape) > 32 or not all(_is_int(n) and n >= 0 for n in shape):
            raise ValueError(f"Expected an array shape of non-negative ints. Received: {_short(shape)}")
        if not isinstance(spec, _DtypeSpec):
            raise ValueError(f"Expected a numpy dtype in the array state. Received: {_short(spec)}")
        if not _is_int(is_fortran):
            raise ValueError(f"Expected a bool is_fortran flag. Received: {_short(is_fortran)}")
        dtype = spec.dtype
        if dtype == object:  # numpy pickles an object array's items as a list
            if not isinstance(raw, list) or len(raw) != math.prod(shape):
                raise ValueError(f"Expected {math.prod(shape)} items for an object array of shape {shape}")
            array = np.empty(len(raw), dtype=object)
            for i, item in enumerate(raw):
                array[i] = _int_list(item)
            self.array = array.reshape(shape, order="F" if is_fortran else "C")
            return
        if not isinstance(raw, bytes):
            raise ValueError(f"Expected the array data as bytes. Received: {type(raw).__name__}")
        if spec.byte_order in "<>":
            dtype = dtype.newbyteorder(spec.byte_order)
        expected = math.prod(shape) * dtype.itemsize
        if len(raw) != expected:
            raise ValueError(
                f"Expected {expected} data bytes for an array of shape {shape} and "
                f"dtype {dtype}. Received: {len(raw)} bytes"
            )
        array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if is_fortran else "C")
        self.array = np.array(array, dtype=dtype.newbyteorder("="), order="C")  # own, writable copy


def _reconstruct(marker, shape, typecode):
    """Stands for `numpy.core.multiarray._reconstruct` while unpickling."""
    if marker is not _NDARRAY or shape != (0,) or _text(typecode) != "b":
        raise ValueError(
            "Expected _reconstruct(numpy.ndarray, (0,), b'b'). "
            f"Received: _reconstruct{_short((marker, shape, typecode))}"
        )
    return _ArraySpec()


def _latin1_encode(text, encoding):
    """Stands for `_codecs.encode`, which Python 3 uses for bytes under protocol 2."""
    if not isinstance(text, str) or encoding != "latin1":
        raise ValueError(f"Expected _codecs.encode(str, 'latin1'). Received: encode{_short((text, encoding))}")
    return text.encode("latin-1")


_NDARRAY = _StandIn("numpy.ndarray", None)  # only ever passed to _reconstruct
_STAND_INS = {
    ("numpy.core.multiarray", "_reconstruct"): _StandIn("_reconstruct", _reconstruct),  # NumPy < 2
    ("numpy._core.multiarray", "_reconstruct"): _StandIn("_reconstruct", _reconstruct),  # NumPy >= 2
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _StandIn("numpy.dtype", _dtype),
    ("_codecs", "encode"): _StandIn("_codecs.encode", _latin1_encode),
}


_INT_LIST_STAND_INS = {
    **_STAND_INS,
    ("numpy", "dtype"): _StandIn("numpy.dtype", lambda *a: _dtype(*a, dtypes=_INT_LIST_DTYPES)),
}


class _Unpickler(pickle.Unpickler):
    stand_ins = _STAND_INS

    def find_class(self, module, name):
        stand_in = self.stand_ins.get((module, name))
        if stand_in is not None:
            return stand_in
        raise ValueError(
            f"Refusing to load the global {module}.{name}: the file may be "
            "malicious. Only NumPy array reconstruction is allowed"
        )

    def persistent_load(self, pid):
        raise ValueError(f"Refusing to load a persistent id ({_short(pid)}): the file may be malicious")


def load(fileobj, source, max_bytes=None, max_opcodes=None, int_lists=False):
    """Reads one pickled CIFAR batch without running code from it.

    Args:
        fileobj: A binary file object positioned at the pickle.
        source: str, names the file in error messages.
        max_bytes, max_opcodes: The bounds of the module docstring; a caller whose official
            files are larger (CIFAR-100's train batch, imdb.npz) raises them. None (the
            default): `MAX_BYTES` and `MAX_OPCODES`.
        int_lists: Whether object arrays of lists of ints (the sequences of imdb.npz and
            reuters.npz) are allowed too. Defaults to False.

    Returns:
        The unpickled object with byte-string dict keys decoded as UTF-8 and
        every ndarray placeholder replaced by a NumPy array.

    Raises:
        ValueError: if the pickle is damaged, refers to anything but the
            NumPy array reconstruction functions, or does not have the layout
            of a plain uint8 array.
    """
    try:
        max_bytes = MAX_BYTES if max_bytes is None else max_bytes
        blob = fileobj.read(max_bytes + 1)
        if len(blob) > max_bytes:
            raise ValueError(f"Expected a pickle of at most {max_bytes} bytes. Received a larger one")
        _check_opcodes(blob, MAX_OPCODES if max_opcodes is None else max_opcodes)
        unpickler = _Unpickler(io.BytesIO(blob), encoding="bytes")
        if int_lists:
            unpickler.stand_ins = _INT_LIST_STAND_INS
        obj = unpickler.load()
        return _materialize(obj, 0, {})
    except ValueError as err:
        raise ValueError(f"Cannot load '{source}': {err}") from err
    except Exception as err:  # any damage: truncated data, bad opcodes, bad memo, ...
        raise ValueError(
            f"Cannot load '{source}': the pickle is damaged or truncated ({type(err).__name__}: {err})"
        ) from err


def _check_opcodes(blob, max_opcodes=MAX_OPCODES):
    """Walks the opcodes (building nothing) and refuses too many of them or a large memo index."""
    MAX_OPCODES = max_opcodes  # noqa: N806  (the bound of this call, named as the module's)
    ops = pickletools.genops(io.BytesIO(blob))
    for count in range(1, MAX_OPCODES + 2):
        try:
            opcode, arg, _ = next(ops)
        except StopIteration:
            return
        except Exception as err:  # a length past the end, a bad opcode, an overlong decimal, ...
            raise ValueError(f"the pickle is damaged or truncated ({type(err).__name__}: {err})") from None
        if count > MAX_OPCODES:
            raise ValueError(f"Expected at most {MAX_OPCODES} pickle opcodes. Received more")
        if opcode.name in _MEMO_PUTS and not 0 <= arg < MAX_OPCODES:
            raise ValueError(f"Expected memo indices below {MAX_OPCODES}. Received {opcode.name} {arg}")


def _materialize(obj, depth, done):
    """Replaces array placeholders by arrays and decodes byte-string keys.

    `done` maps id(container) to its result, so an object the pickle shares
    (its memo allows that) is converted once: a file cannot make this walk
    exponentially long. A container met again before it is done is a cycle.
    """
    if obj is None or isinstance(obj, (bool, int, float, bytes, str)):
        return obj
    if isinstance(obj, _ArraySpec):
        if obj.array is None:
            raise ValueError("Expected every array to have its state. Received: an array without BUILD")
        return obj.array
    if not isinstance(obj, (list, tuple, dict)):
        raise ValueError(f"Expected only plain values and arrays. Received: {type(obj).__name__}")
    if depth >= _MAX_DEPTH:
        raise ValueError(f"Expected at most {_MAX_DEPTH} levels of nesting. Received more")
    key = id(obj)
    if key in done:
        if done[key] is _IN_PROGRESS:
            raise ValueError("Expected no reference cycles. Received a container that contains itself")
        return done[key]
    done[key] = _IN_PROGRESS
    if isinstance(obj, dict):
        result = {}
        for name, value in obj.items():
            if isinstance(name, bytes):
                try:
                    name = name.decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError(f"Expected UTF-8 dict keys. Received: {_short(name)}") from None
            elif not isinstance(name, str):
                raise ValueError(f"Expected str or bytes dict keys. Received: {type(name).__name__}")
            if name in result:
                raise ValueError(f"Expected distinct dict keys. Received {_short(name)} twice")
            result[name] = _materialize(value, depth + 1, done)
    else:
        items = [_materialize(item, depth + 1, done) for item in obj]
        result = items if isinstance(obj, list) else tuple(items)
    done[key] = result
    return result


_IN_PROGRESS = object()


def _is_int(value):
    return isinstance(value, int)  # bool is an int: numpy writes flags as either


def _text(value):
    # Under encoding="bytes", Python 2 strings arrive as bytes.
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def _short(value, depth=0):
    """A short repr for error messages; never builds the repr of a large value."""
    if isinstance(value, (bytes, str)) and len(value) > 40:
        return f"<{type(value).__name__} of length {len(value)}>"
    if isinstance(value, (tuple, list)):
        if depth >= 2:
            return f"<{type(value).__name__} of length {len(value)}>"
        items = [_short(item, depth + 1) for item in value[:6]]
        if len(value) > 6:
            items.append("...")
        text = ", ".join(items)
        if isinstance(value, list):
            return f"[{text}]"
        return f"({text},)" if len(value) == 1 else f"({text})"
    if isinstance(value, (int, float, bool, bytes, str, type(None), _StandIn)):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return f"<{type(value).__name__}>"
