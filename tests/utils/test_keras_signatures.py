"""Keras 3's signatures where pytrainc's had drifted: the optimizers' common arguments, the
module deserializers' custom_objects, and the utils/saving arguments added with them; each
against keras 3.15.1 (torch backend) and with the clear error for what pytrainc refuses."""

import inspect

import numpy as np
import pytest

import pytrainc
from pytrainc import initializers, optimizers, regularizers, testing, utils
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

keras = testing.keras_torch()

OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "Adadelta", "Adagrad", "Nadam", "RMSprop", "Ftrl", "Lion", "Lamb",
              "Adafactor"]  # fmt: skip


def _params(fn):
    return [
        (p.name, p.default)
        for p in inspect.signature(fn).parameters.values()
        if p.name != "self" and p.kind is not p.VAR_KEYWORD
    ]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_signature_is_keras(name):
    assert _params(getattr(optimizers, name).__init__) == _params(getattr(keras.optimizers, name).__init__)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_takes_the_common_arguments_positionally_and_names_itself(name):
    theirs = _params(getattr(keras.optimizers, name).__init__)
    values = {"weight_decay": 0.01, "clipnorm": 0.5, "ema_momentum": 0.9}
    args = [values.get(k, default) for k, default in theirs[: [k for k, _ in theirs].index("name")]]
    opt = getattr(optimizers, name)(*args)
    assert (opt.weight_decay, opt.clipnorm, opt.ema_momentum) == (0.01, 0.5, 0.9)
    assert opt.name == ("SGD" if name == "SGD" else name.lower())


def test_optimizer_refuses_unknown_and_retired_keywords_as_keras():
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized: {'foo': 1}"):
        optimizers.Adam(foo=1)
    with pytest.raises(ValueError, match="`lr` is no longer supported"):
        optimizers.SGD(lr=0.1)
    with pytest.raises(ValueError, match="`decay` is no longer supported"):
        optimizers.RMSprop(decay=1e-4)
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized"):
        keras.optimizers.Adam(foo=1)  # the same rule


def test_optimizers_deserialize_keras_configs_and_custom_classes():
    config = keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.02, weight_decay=0.1, amsgrad=True))
    opt = optimizers.deserialize(config)
    assert isinstance(opt, optimizers.Adam)
    assert (opt.learning_rate, opt.weight_decay, opt.amsgrad) == (pytest.approx(0.02), 0.1, True)

    class Slow(optimizers.SGD):
        pass

    got = optimizers.deserialize(
        {"class_name": "Slow", "config": {"learning_rate": 0.3}}, custom_objects={"Slow": Slow}
    )
    assert type(got) is Slow and got.learning_rate == 0.3 and got.name == "slow"
    with pytest.raises(TypeError, match="Could not locate class 'Slow'"):
        optimizers.deserialize({"class_name": "Slow", "config": {"learning_rate": 0.3}, "module": "my.module"})


def test_initializers_and_regularizers_deserialize_keras_configs():
    init = initializers.deserialize(
        keras.initializers.serialize(keras.initializers.TruncatedNormal(stddev=0.3, seed=4))
    )
    assert isinstance(init, initializers.TruncatedNormal) and init.get_config()["stddev"] == 0.3
    reg = regularizers.deserialize(keras.regularizers.serialize(keras.regularizers.L1L2(l1=0.1, l2=0.2)))
    assert isinstance(reg, regularizers.L1L2) and reg.get_config() == pytest.approx({"l1": 0.1, "l2": 0.2})

    class Tiny(regularizers.Regularizer):
        def __init__(self, scale=1.0):
            self.scale = scale

        def get_config(self):
            return {"scale": self.scale}

    got = regularizers.deserialize({"class_name": "Tiny", "config": {"scale": 3.0}}, custom_objects={"Tiny": Tiny})
    assert isinstance(got, Tiny) and got.scale == 3.0
    assert _params(regularizers.serialize) == _params(keras.regularizers.serialize)


def _png(path, array):
    from PIL import Image

    Image.fromarray(array.astype(np.uint8)).save(path)


def test_image_dataset_pads_to_the_aspect_ratio_as_keras(tmp_path):
    pytest.importorskip("PIL")
    (tmp_path / "a").mkdir()
    image = np.arange(2 * 4 * 3).reshape(2, 4, 3) * 10  # height 2, width 4
    _png(tmp_path / "a" / "x.png", image)
    ds = utils.image_dataset_from_directory(
        tmp_path, image_size=(4, 4), pad_to_aspect_ratio=True, interpolation="nearest", verbose=False
    )
    got = next(iter(ds))[0][0]
    want = keras.ops.image.resize(image.astype("float32"), (4, 4), interpolation="nearest", pad_to_aspect_ratio=True)
    np.testing.assert_array_equal(got, keras.ops.convert_to_numpy(want))
    assert got[0].sum() == 0 and got[3].sum() == 0  # a zero row above and below

    first = utils.image_dataset_from_directory(tmp_path, image_size=(4, 4), data_format="channels_first", verbose=False)
    assert next(iter(first))[0].shape == (1, 3, 4, 4)
    with pytest.raises(ValueError, match="Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`"):
        utils.image_dataset_from_directory(tmp_path, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="`data_format` must be"):
        utils.image_dataset_from_directory(tmp_path, data_format="NHWC")
    with pytest.raises(ValueError, match='`format` should be "tf"'):
        utils.image_dataset_from_directory(tmp_path, format="grain")


def test_format_and_backend_arguments_are_keras():
    for name in ("image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array",
                 "split_dataset"):  # fmt: skip
        assert _params(getattr(utils, name)) == _params(getattr(keras.utils, name))
    windows = utils.timeseries_dataset_from_array(np.arange(6), None, sequence_length=2, batch_size=8, format="tf")
    assert next(iter(windows)).shape == (5, 2)
    with pytest.raises(ValueError, match="format=.grain."):
        utils.timeseries_dataset_from_array(np.arange(6), None, sequence_length=2, format="grain")
    left, right = utils.split_dataset(np.arange(10), left_size=0.6, preferred_backend="torch")
    assert (len(left), len(right)) == (6, 4)
    with pytest.raises(ValueError, match="`preferred_backend` must be"):
        utils.split_dataset(np.arange(10), left_size=0.6, preferred_backend="mxnet")


def test_save_model_and_convert_to_tensor_arguments(tmp_path):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(loss="mse")
    pytrainc.models.save_model(model, tmp_path / "m.keras", zipped=True)
    assert (tmp_path / "m.keras").exists()
    with pytest.raises(ValueError, match="zipped `.keras` files only. Received: zipped=False"):
        pytrainc.saving.save_model(model, tmp_path / "n.keras", zipped=False)
    assert _params(pytrainc.models.save_model) == _params(keras.models.save_model)
    assert pytrainc.ops.convert_to_tensor([1.0, 2.0], ragged=False).dtype == np.float32
    with pytest.raises(ValueError, match="no ragged tensors"):
        pytrainc.ops.convert_to_tensor([1.0], ragged=True)


@pytest.mark.parametrize(
    "path",
    ["optimizers.schedules.serialize", "optimizers.schedules.deserialize", "callbacks.ReduceLROnPlateau",
     "saving.save_weights"],
)  # fmt: skip
def test_signature_is_keras(path):
    def get(root):
        for part in path.split("."):
            root = getattr(root, part)
        return root

    assert inspect.signature(get(pytrainc)) == inspect.signature(get(keras))


def test_what_those_new_arguments_do(tmp_path):
    with pytest.warns(UserWarning, match="`epsilon` argument is deprecated"):
        assert pytrainc.callbacks.ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\): \['patient'\]"):
        pytrainc.callbacks.ReduceLROnPlateau(patient=3)
    model = Sequential([Input((2,)), Dense(1)])
    with pytest.raises(ValueError, match="max_shard_size must be None"):
        pytrainc.saving.save_weights(model, tmp_path / "m.weights.h5", max_shard_size=1.0)

    class Halving(optimizers.schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return self.rate / 2

        def get_config(self):
            return {"rate": self.rate}

    config = optimizers.schedules.serialize(learning_rate_schedule=Halving(0.2))
    assert optimizers.schedules.deserialize(config, custom_objects={"Halving": Halving}).rate == 0.2
