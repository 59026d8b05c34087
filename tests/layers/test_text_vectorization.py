"""TextVectorization (issue #11) against the outputs Keras 3.15's own tests and docstring give
(keras/src/layers/preprocessing/text_vectorization_test.py; Keras needs TensorFlow for this
layer, so the expected values are copied), plus TF-IDF from adapt by Keras's formula, configs
that keep the vocabulary, and a model trained on the vectorized text."""

import math
import pickle

import numpy as np
import pytest

from pytrainc import layers as L
from pytrainc.models import Sequential

T = L.TextVectorization
SENTENCE = ["Hello, World!. This is just a nice test!"]


@pytest.mark.parametrize(
    "kwargs,data,expected",
    [
        ({"output_mode": "multi_hot"}, [["foo bar"], ["baz foo foo"]], [[0, 1, 1, 0], [0, 1, 0, 1]]),
        ({"output_mode": "count"}, ["foo bar", "baz foo foo"], [[0, 1, 1, 0], [0, 2, 0, 1]]),
        ({"output_mode": "tf_idf", "idf_weights": [0.3, 0.5, 0.2]}, ["foo bar", "baz foo foo"],
         [[0.0, 0.3, 0.5, 0.0], [0.0, 0.6, 0.0, 0.2]]),
        ({"split": None}, [["foo"], ["bar"], ["unknown"]], [[2], [3], [1]]),
        ({"output_sequence_length": 2}, [["foo qux bar"], ["qux baz"], ["foo"]], [[4, 1], [1, 2], [4, 0]]),
        ({"pad_to_max_tokens": True, "max_tokens": 6, "output_mode": "count"}, ["bar bar"], [[0, 0, 2, 0, 0, 0]]),
    ],
)  # fmt: skip
def test_outputs_of_keras_tests_with_a_vocabulary(kwargs, data, expected):
    vocab = ["foo", "bar", "baz"] if "output_sequence_length" not in kwargs else ["baz", "bar", "foo"]
    out = T(vocabulary=vocab, **kwargs)(data)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == (np.int64 if kwargs.get("output_mode", "int") == "int" else np.float32)


@pytest.mark.parametrize(
    "kwargs,vocab,data,expected",
    [
        ({}, ["hello", "world", "this", "is", "nice", "test"], SENTENCE, [[2, 3, 4, 5, 1, 1, 6, 7]]),
        ({"standardize": "lower"}, ["hello,", "hello", "world", "this", "is", "nice", "test"], SENTENCE,
         [[2, 1, 5, 6, 1, 1, 7, 1]]),
        ({"standardize": "strip_punctuation"}, ["Hello", "World", "Test"], ["Hello, World! Test."], [[2, 3, 4]]),
        ({"standardize": None}, ["Hello", "world"], ["Hello hello"], [[2, 1]]),
        ({"standardize": lambda t: np.char.replace(t, "-", " ")}, ["foo", "bar"], ["foo-bar"], [[2, 3]]),
        ({"split": "character"}, list("abcde"), ["abcf"], [[2, 3, 4, 1]]),
        ({"split": lambda s: s.split("|"), "standardize": None}, ["foo", "bar"], ["foo|bar"], [[2, 3]]),
        ({"standardize": "lower"}, ["straße"], ["STRASSE Straße ÄB"], [[1, 2, 1]]),  # tf.strings.lower: ASCII only
    ],
)  # fmt: skip
def test_standardize_and_split_as_keras(kwargs, vocab, data, expected):
    np.testing.assert_array_equal(T(vocabulary=vocab, **kwargs)(data), expected)


def test_adapt_orders_by_count_then_token_and_keras_docstring_example():
    layer = T(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    np.testing.assert_array_equal(layer([["foo qux bar"], ["qux baz"]]), [[4, 1, 3, 0], [1, 2, 0, 0]])
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    small = T(max_tokens=5)
    small.adapt(["a b c d e f g h i j"])
    assert small.get_vocabulary() == ["", "[UNK]", "j", "i", "h"] and small.vocabulary_size() == 5
    assert T(vocabulary=["earth", "wind", "and", "fire"]).get_vocabulary() == ["", "[UNK]", "earth", "wind", "and",
                                                                                "fire"]  # fmt: skip


def test_ngrams_as_keras():
    layer = T(ngrams=2)
    layer.adapt(["foo bar baz"])
    assert {"foo bar", "bar baz", "foo"} <= set(layer.get_vocabulary())
    layer = T(ngrams=(1, 3))
    layer.adapt(["foo bar baz"])
    vocab = layer.get_vocabulary()
    assert "foo" in vocab and "foo bar baz" in vocab and "foo bar" not in vocab


def test_tf_idf_from_adapt_uses_keras_formula():
    docs = ["the cat sat", "the dog", "a cat cat"]
    layer = T(output_mode="tf_idf")
    layer.adapt(docs)
    vocab = layer.get_vocabulary()
    assert vocab[0] == "[UNK]" and vocab[1:3] == ["cat", "the"]
    n_docs = {"cat": 2, "the": 2, "sat": 1, "dog": 1, "a": 1}
    idf = {t: math.log(1 + 3 / (1 + n)) for t, n in n_docs.items()}
    out = layer(["cat cat the zebra"])
    mean = np.mean([idf[t] for t in vocab[1:]])
    expected = np.zeros(len(vocab))
    expected[0], expected[1], expected[2] = mean, 2 * idf["cat"], idf["the"]
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)


def test_config_keeps_the_vocabulary_and_pickles(tmp_path):
    layer = T(output_mode="tf_idf", ngrams=2, max_tokens=20, name="vec")
    layer.adapt(["a b c", "b c d", "c d e"])
    data = ["a b d", "e e c"]
    config = layer.get_config()
    assert config["vocabulary"][0] == "[UNK]" and len(config["idf_weights"]) == len(config["vocabulary"])
    again = T.from_config(config)
    np.testing.assert_array_equal(again(data), layer(data))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(layer))(data), layer(data))
    assert L.deserialize(L.serialize(layer)).get_vocabulary() == layer.get_vocabulary()


def test_errors_and_refusal_inside_a_model():
    with pytest.raises(ValueError, match="output_sequence_length"):
        T(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="pad_to_max_tokens"):
        T(pad_to_max_tokens=True, output_mode="count")
    with pytest.raises(ValueError, match="idf_weights"):
        T(output_mode="tf_idf", vocabulary=["a"])
    with pytest.raises(ValueError, match="ngrams"):
        T(ngrams="invalid")
    with pytest.raises(ValueError, match="standardize"):
        T(standardize="upper")
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 1\)"):
        T(vocabulary=["a"])(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="runs on raw strings"):
        T()(L.Input((1,)))


def test_vectorized_text_trains_a_model():
    rng = np.random.default_rng(0)
    good, bad = ["great", "fine", "good"], ["awful", "bad", "poor"]
    texts = [" ".join(rng.choice(good if k % 2 else bad, 3)) + " movie" for k in range(64)]
    y = np.array([k % 2 for k in range(64)], np.float32)
    layer = T(output_sequence_length=4)
    layer.adapt(texts)
    x = layer(texts).astype(np.float32)
    model = Sequential([L.Input((4,)), L.Embedding(layer.vocabulary_size(), 8), L.GlobalAveragePooling1D(),
                        L.Dense(1, activation="sigmoid")])  # fmt: skip
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] == 1.0
