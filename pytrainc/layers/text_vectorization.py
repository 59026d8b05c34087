"""TextVectorization, as `keras.layers.TextVectorization`: raw strings to token ids or to
multi-hot, count or TF-IDF vectors.

Like StringLookup (pytrainc/layers/lookup.py) it runs in Python/NumPy on the raw strings before
the data reaches the C plan (Keras recommends it in the data pipeline); inside a model it
refuses, since a plan holds float tensors. The steps are Keras 3's (keras/src/layers/preprocessing/
text_vectorization.py and index_lookup.py), written without TensorFlow:
standardize (ASCII lower-casing as `tf.strings.lower`, and Keras's punctuation regex), split on
whitespace runs or into characters, n-grams joined by spaces for each width in turn, then a
StringLookup with one OOV id ('[UNK]'). TF-IDF weights are
`log(1 + documents / (1 + documents containing the token))`, the special ids getting their mean.
In 'int' mode id 0 is the padding "" and 1 the OOV token; the vector modes have no padding id
(OOV is 0, as Keras's lookup layers in those modes).
The vocabulary and IDF weights are in `get_config`, so they are saved with the model.
"""

import collections
import re

import numpy as np

from pytrainc.layers.core import KerasTensor, Layer
from pytrainc.layers.lookup import StringLookup

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')  # Keras's DEFAULT_STRIP_REGEX
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _choice(name, value, allowed):
    if value is not None and not callable(value) and value not in allowed:
        raise ValueError(
            f"Unkown value for `{name}`. Valid values are {allowed} or a callable. Received: {name}={value!r}"
        )
    return value


class TextVectorization(Layer):
    """Maps raw strings to token ids (`output_mode='int'`) or to vectors over the vocabulary.

    Args:
        max_tokens: Optional size limit of the vocabulary, the padding and OOV ids included.
            Defaults to None.
        standardize: 'lower_and_strip_punctuation', 'lower', 'strip_punctuation', None or a callable
            on a NumPy array of str. Defaults to 'lower_and_strip_punctuation'.
        split: 'whitespace', 'character', None or a callable (str -> list of tokens).
            Defaults to 'whitespace'.
        ngrams: None, an int n (widths 1..n) or a tuple of widths. Defaults to None.
        output_mode: 'int', 'multi_hot', 'count', 'tf_idf' ('one_hot' when split is None).
            Defaults to 'int'.
        output_sequence_length: With 'int', pad or cut every row to this length. Defaults to None
            (the longest row of the call).
        pad_to_max_tokens: With vector modes, make vectors max_tokens long. Defaults to False.
        vocabulary: Optional list of tokens (without the padding and OOV tokens). Defaults to None.
        idf_weights: With 'tf_idf' and a vocabulary, the IDF weight of each token. Defaults to None.

    Example:

    >>> vec = TextVectorization(output_sequence_length=4)
    >>> vec.adapt(["the cat sat", "the dog"])
    >>> vec(["The cat!", "a dog"]).tolist()
    [[2, 5, 0, 0], [1, 4, 0, 0]]
    """

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        name=None,
        *,
        vocabulary_size=None,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.standardize = _choice("standardize", standardize, ("lower_and_strip_punctuation", "lower",
                                                                "strip_punctuation"))  # fmt: skip
        self.split = _choice("split", split, ("whitespace", "character"))
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"`output_mode` must be one of {_MODES}. Received: output_mode={output_mode!r}")
        if output_mode == "one_hot" and split is not None:
            raise ValueError("pytrainc's TextVectorization gives 'one_hot' for split=None only (one token a string)")
        if not (ngrams is None or (isinstance(ngrams, int) and ngrams > 0) or
                (isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) and n > 0 for n in ngrams))):  # fmt: skip
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(
                    "`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                    f"Received output_sequence_length={output_sequence_length}."
                )
            if not isinstance(output_sequence_length, int) or output_sequence_length < 1:
                raise ValueError(
                    "`output_sequence_length` must be either None or a positive integer when `output_mode` is "
                    f"'int'. Received: output_sequence_length={output_sequence_length}"
                )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if sparse or ragged:
            raise ValueError(
                f"pytrainc's TextVectorization gives dense NumPy arrays. Received: sparse={sparse}, ragged={ragged}"
            )
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`.")
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("In TF-IDF output mode with a vocabulary, the `idf_weights` argument must be set.")
        self.ngrams = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else self.ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.encoding = bool(pad_to_max_tokens), encoding
        # Keras: the padding token "" is id 0 in 'int' mode only; vector modes start with the OOV id
        mask = "" if output_mode == "int" else None
        self._lookup = StringLookup(max_tokens=max_tokens, mask_token=mask, name=f"{self.name}_lookup")
        self.max_tokens = max_tokens
        self._idf = None  # (vocabulary size,) with the special ids' weights in front
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- vocabulary
    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (tokens without the padding and OOV tokens, or starting with them)
        and, for 'tf_idf', the IDF weight of each token."""
        vocabulary = [t.decode(self.encoding) if isinstance(t, bytes) else str(t) for t in vocabulary]
        start = self._lookup._start()
        special = vocabulary[:start] == self._lookup.get_vocabulary()[:start]
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
            idf = np.asarray(idf_weights, np.float64).ravel()
            if len(idf) != len(vocabulary):
                raise ValueError(
                    "`idf_weights` must be the same length as vocabulary. "
                    f"len(idf_weights) is {len(idf)}; len(vocabulary) is {len(vocabulary)}"
                )
            self._idf = idf if special else np.concatenate([[idf.mean() if len(idf) else 0.0] * start, idf])
        self._lookup.set_vocabulary(vocabulary[start:] if special else vocabulary)

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (most frequent tokens first, ties in reverse token order, as Keras)
        and, for 'tf_idf', the document frequencies, from an array or list of strings."""
        docs = self._tokenize(data)
        self._lookup.adapt(np.array([t for d in docs for t in d if t != ""], dtype=object))
        if self.output_mode == "tf_idf":
            vocab = self._lookup.get_vocabulary(include_special_tokens=False)
            seen = collections.Counter(t for d in docs for t in set(d))
            idf = np.log(1.0 + len(docs) / (1.0 + np.array([seen[t] for t in vocab], np.float64)))
            self._idf = np.concatenate([[idf.mean() if len(idf) else 0.0] * self._lookup._start(), idf])

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup.vocabulary_size()

    # -- the steps
    def _standardize(self, texts):
        if callable(self.standardize):
            return [str(t) for t in np.asarray(self.standardize(np.asarray(texts, dtype=str))).ravel()]
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            texts = [t.translate(_ASCII_LOWER) for t in texts]
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = [_PUNCTUATION.sub("", t) for t in texts]
        return texts

    def _tokens(self, text):
        if self.split is None:
            tokens = [text]
        elif self.split == "whitespace":
            tokens = text.split()
        elif self.split == "character":
            tokens = list(text)
        else:
            tokens = [str(t) for t in self.split(text)]
        if self._widths is None:
            return tokens
        return [" ".join(tokens[i : i + n]) for n in self._widths for i in range(len(tokens) - n + 1)]

    def _tokenize(self, data):
        """A list of token lists, one per string of data ((N,) or (N, 1) strings, or one string)."""
        array = np.asarray(data, dtype=object)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(
                "TextVectorization takes a batch of strings, shape (batch,) or (batch, 1). "
                f"Received: shape={array.shape}"
            )
        texts = [t.decode(self.encoding) if isinstance(t, bytes) else str(t) for t in array]
        docs = [self._tokens(t) for t in self._standardize(texts)]
        return docs if self.output_mode == "int" else [[t for t in d if t != ""] for d in docs]  # mask dropped

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor):
            raise TypeError(
                f"TextVectorization '{self.name}' runs on raw strings, not inside a model (pytrainc's models "
                "compute on float tensors only). Apply it to the data before fit/predict, e.g. "
                "`x = vectorizer(texts)`, as Keras recommends for the data pipeline."
            )
        return self.call(inputs)

    def call(self, inputs):
        docs = self._tokenize(inputs)
        ids = [self._lookup(np.array(d, dtype=object)) if d else np.zeros(0, np.int64) for d in docs]
        if self.output_mode == "int":
            length = self.output_sequence_length
            if length is None:
                length = max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), length), np.int64)
            for row, r in zip(out, ids):
                row[: min(len(r), length)] = r[:length]
            return out
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        out = np.zeros((len(ids), depth), np.float32)
        for row, r in zip(out, ids):
            np.add.at(row, r[r < depth], 1.0)
        if self.output_mode in ("multi_hot", "one_hot"):
            return np.minimum(out, 1.0)
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError("TextVectorization in 'tf_idf' mode needs adapt() or idf_weights first")
            idf = np.zeros(depth)
            idf[: min(depth, len(self._idf))] = self._idf[:depth]
            return (out * idf).astype(np.float32)
        return out

    def get_config(self):
        idf = None if self._idf is None else [float(w) for w in self._idf]
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": self.ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            # with the padding and OOV tokens, so that idf_weights keeps their weights too
            "vocabulary": self.get_vocabulary() if self.get_vocabulary(False) else None,
            "idf_weights": idf if self.get_vocabulary(False) else None,
            "encoding": self.encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)


LAYERS = {"TextVectorization": TextVectorization}
