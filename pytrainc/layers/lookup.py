"""StringLookup and IntegerLookup, as `keras.layers`: vocabularies that map tokens to integer ids.

They run in Python/NumPy on raw data before it reaches the C plan, as Keras recommends them in the
data pipeline (`ids = lookup(strings)`, then `model.fit(ids, ...)`). Called on a symbolic tensor
inside a model they refuse, since a plan holds float tensors only. The vocabulary (given or from
`adapt`, most frequent first, ties in reverse token order as Keras sorts them) is in `get_config`,
so it is saved with the model's configuration.

Ids, for `output_mode="int"` and one OOV index: with no mask token, 0 is out-of-vocabulary and the
vocabulary starts at 1; with a mask token, 0 is the mask, 1 out-of-vocabulary, the vocabulary from 2.
"""

import collections

import numpy as np

from pytrainc.layers._args import _unsupported
from pytrainc.layers.core import KerasTensor, Layer


class _IndexLookup(Layer):
    _default_oov = "[UNK]"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 invert=False, output_mode="int", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if num_oov_indices not in (0, 1):
            raise ValueError(
                "pytrainc's lookup layers support num_oov_indices 0 or 1 (Keras hashes further OOV indices "
                f"with TensorFlow's fingerprint). Received: num_oov_indices={num_oov_indices!r}"
            )
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(
                "output_mode must be one of 'int', 'one_hot', 'multi_hot', 'count'. "
                f"Received: output_mode={output_mode!r}"
            )
        if invert and output_mode != "int":
            raise ValueError(f"invert=True needs output_mode='int'. Received: output_mode={output_mode!r}")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValueError(f"`max_tokens` must be a positive int or None. Received: max_tokens={max_tokens!r}")
        self.max_tokens, self.num_oov_indices, self.mask_token = max_tokens, num_oov_indices, mask_token
        self.oov_token = self._default_oov if oov_token is None else oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self._vocab = []
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def _key(self, token):
        return token

    def _start(self):
        return (self.mask_token is not None) + self.num_oov_indices

    def set_vocabulary(self, vocabulary):
        vocab = [self._key(t) for t in vocabulary]
        if len(set(vocab)) != len(vocab):
            raise ValueError(f"The vocabulary has repeated tokens: {vocabulary!r:.200}")
        special = {self._key(t) for t in (self.mask_token, self.oov_token) if t is not None}
        if special & set(vocab):
            raise ValueError(f"The vocabulary must not hold the mask or OOV token. Received: {vocabulary!r:.200}")
        self._vocab = vocab
        self._index = {t: i + self._start() for i, t in enumerate(vocab)}

    def adapt(self, data, batch_size=None, steps=None):
        """Builds the vocabulary from `data`: most frequent first, as Keras orders it."""
        tokens = [self._key(t) for t in np.asarray(data, dtype=object).ravel()]
        special = {self._key(t) for t in (self.mask_token, self.oov_token) if t is not None}
        counts = collections.Counter(t for t in tokens if t not in special)
        ordered = sorted(counts, key=lambda t: (counts[t], t), reverse=True)  # Keras: lexsort by (count, token)
        if self.max_tokens is not None:
            ordered = ordered[: max(self.max_tokens - self._start(), 0)]
        self.set_vocabulary(ordered)

    def get_vocabulary(self, include_special_tokens=True):
        """The tokens by id: [mask_token,] [oov_token,] then the vocabulary."""
        head = ([self.mask_token] if self.mask_token is not None else []) + [self.oov_token] * self.num_oov_indices
        return (head if include_special_tokens else []) + list(self._vocab)

    def vocabulary_size(self):
        return len(self._vocab) + self._start()

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor) or (
            isinstance(inputs, (list, tuple)) and any(isinstance(t, KerasTensor) for t in inputs)
        ):
            raise TypeError(
                f"{type(self).__name__} '{self.name}' runs on raw data, not inside a model (pytrainc's models "
                "compute on float tensors only). Apply it to the data before fit/predict, e.g. "
                "`ids = lookup(raw_tokens)`, as Keras recommends for the data pipeline."
            )
        return self.call(inputs)

    def call(self, inputs):
        array = np.asarray(inputs, dtype=object)
        if self.invert:
            vocab = self.get_vocabulary()
            return np.vectorize(lambda i: vocab[int(i)] if 0 <= int(i) < len(vocab) else self.oov_token, otypes=[object])(
                array
            )  # fmt: skip
        mask = self._key(self.mask_token) if self.mask_token is not None else None
        oov = (self.mask_token is not None) if self.num_oov_indices else -1

        def index(token):
            key = self._key(token)
            if mask is not None and key == mask:
                return 0
            found = self._index.get(key, oov)
            if found == -1:
                raise ValueError(f"{type(self).__name__}: {token!r} is not in the vocabulary and num_oov_indices=0")
            return found

        ids = np.vectorize(index, otypes=[np.int64])(array) if array.size else np.zeros(array.shape, np.int64)
        if self.output_mode == "int":
            return ids
        depth = self.vocabulary_size()
        hits = ids[..., None] == np.arange(depth)
        if self.output_mode == "one_hot" and ids.shape[-1:] != (1,):
            return hits.astype(np.float32)
        return (hits.sum(-2) if self.output_mode == "count" else hits.any(-2)).astype(np.float32)

    def get_config(self):
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "vocabulary": list(self._vocab),
            "invert": self.invert,
            "output_mode": self.output_mode,
        }


class StringLookup(_IndexLookup):
    """Maps strings to integer ids from a vocabulary (given, or learned with `adapt`).

    Args:
        max_tokens: Optional size limit of the vocabulary, special tokens included. Defaults to None.
        num_oov_indices: 0 or 1. Defaults to 1.
        mask_token: Optional token mapped to 0. Defaults to None.
        oov_token: Defaults to '[UNK]'.
        vocabulary: Optional list of strings. Defaults to None.
        idf_weights: Keras's TF-IDF weights; output_mode 'tf_idf' is not supported, so None.
        invert: Map ids back to strings. Defaults to False.
        output_mode: 'int', 'one_hot', 'multi_hot' or 'count'. Defaults to 'int'.
        pad_to_max_tokens, sparse: Not supported: must be False. Default to False.
        encoding: Of bytes tokens; 'utf-8' only. Defaults to 'utf-8'.
        name: Optional name. Defaults to None.
        salt: Keras's hashing salt for several OOV indices; no effect here. Defaults to None.

    Example:

    >>> lookup = StringLookup(vocabulary=["a", "b", "c"])
    >>> lookup(np.array([["a", "c", "z"]])).tolist()
    [[1, 3, 0]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        name=None,
        salt=None,
        **kwargs,
    ):
        _unsupported("StringLookup", idf_weights=idf_weights, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse)
        if encoding not in ("utf-8", "utf8"):
            raise ValueError(f"StringLookup decodes bytes as utf-8 only. Received: encoding={encoding!r}")
        del salt  # Keras hashes with it only for num_oov_indices > 1, which pytrainc refuses
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, invert, output_mode,
                         name=name, **kwargs)  # fmt: skip

    def _key(self, token):
        return token.decode() if isinstance(token, bytes) else str(token)


class IntegerLookup(_IndexLookup):
    """Maps integers to contiguous ids from a vocabulary. Args as StringLookup, with oov_token -1,
    and `vocabulary_dtype` ('int64' or 'int32') and `oov_method` (Keras's hashing of several OOV
    indices: no effect with one) in place of `encoding`.

    Example:

    >>> IntegerLookup(vocabulary=[12, 36, 1138])(np.array([12, 1138, 5])).tolist()
    [1, 3, 0]
    """

    _default_oov = -1

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        _unsupported("IntegerLookup", idf_weights=idf_weights, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse)
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"vocabulary_dtype must be 'int64' or 'int32'. Received: {vocabulary_dtype!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"oov_method must be 'floormod' or 'farmhash'. Received: oov_method={oov_method!r}")
        del salt  # both only hash for num_oov_indices > 1, which pytrainc refuses
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, invert, output_mode,
                         name=name, **kwargs)  # fmt: skip

    def _key(self, token):
        return int(token)


LAYERS = {"StringLookup": StringLookup, "IntegerLookup": IntegerLookup}
