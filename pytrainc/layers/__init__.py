"""Layers, as `keras.layers`. A layer validates its arguments in `__init__`,
creates its weights in `build`, and adds its ops to the model's plan in
`_emit`; the C engine runs them."""

from pytrainc.layers import activation, convolutional, merging, normalization, pooling, regularization, reshaping
from pytrainc.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from pytrainc.layers.convolutional import Conv1D, Conv2D
from pytrainc.layers.core import (
    Activation,
    Input,
    InputLayer,
    KerasTensor,
    Lambda,
    Layer,
    Variable,
    _unique_name,
)
from pytrainc.layers.dense import Dense
from pytrainc.layers.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from pytrainc.layers.merging import add, average, concatenate, maximum, minimum, multiply, subtract
from pytrainc.layers.normalization import BatchNormalization
from pytrainc.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from pytrainc.layers.regularization import ActivityRegularization, Dropout
from pytrainc.layers.reshaping import Flatten, Reshape

# Sequences and layer normalization (issue #11)
from pytrainc.layers import embedding, layer_normalization, rnn
from pytrainc.layers.embedding import Embedding
from pytrainc.layers.layer_normalization import LayerNormalization
from pytrainc.layers.rnn import GRU, LSTM, SimpleRNN
from pytrainc.layers import rnn_cells
from pytrainc.layers.rnn_cells import RNN, GRUCell, LSTMCell, SimpleRNNCell

# Masks, sequence wrappers and attention (issue #11, session 9)
from pytrainc.layers import attention, normalization_traced, sequence_wrappers
from pytrainc.layers.attention import MultiHeadAttention
from pytrainc.layers.embedding import Masking
from pytrainc.layers.normalization_traced import Dot, GroupNormalization, UnitNormalization
from pytrainc.layers.sequence_wrappers import Bidirectional, Permute, RepeatVector, TimeDistributed

# Convolution variants, resampling (issue #11)
from pytrainc.layers import conv_depthwise, conv_transpose, lookup, noise, prelu, preprocessing, resampling
from pytrainc.layers.conv_depthwise import DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D
from pytrainc.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose
from pytrainc.layers.lookup import IntegerLookup, StringLookup
from pytrainc.layers.noise import (
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from pytrainc.layers.prelu import PReLU
from pytrainc.layers.preprocessing import CategoryEncoding, Discretization, Normalization, Rescaling
from pytrainc.layers.resampling import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)

# Keras's aliases
MaxPool2D, AvgPool2D, MaxPool1D, AvgPool1D = MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D

_LAYER_CLASSES = {"InputLayer": InputLayer, "Dense": Dense, "Activation": Activation}
for _module in (activation, convolutional, merging, normalization, pooling, regularization, reshaping):
    _LAYER_CLASSES.update(_module.LAYERS)
for _module in (embedding, layer_normalization, rnn, rnn_cells):
    _LAYER_CLASSES.update(_module.LAYERS)
_LAYER_CLASSES.update(sequence_wrappers.LAYERS)
_LAYER_CLASSES.update(normalization_traced.LAYERS)
_LAYER_CLASSES.update(attention.LAYERS)
for _module in (conv_depthwise, conv_transpose, lookup, noise, prelu, preprocessing, resampling):
    _LAYER_CLASSES.update(_module.LAYERS)


def deserialize(config, custom_objects=None):
    """A new layer from `serialize`'s dict: pytrainc's own class, or a registered or given custom one
    (`custom_objects`, a dict of name to class, as Keras's)."""
    from pytrainc.saving import object_registration

    if custom_objects:
        with object_registration.loading_scope(dict(custom_objects)):
            return deserialize(config)

    name, registered = config.get("class_name"), config.get("registered_name")
    cls = object_registration.find([registered], Layer) if registered else None
    cls = cls or _LAYER_CLASSES.get(name) or object_registration.find([name], Layer)
    if cls is None:
        raise ValueError(
            f"Unknown layer class: {name!r} (registered_name {registered!r}). {object_registration.LOAD_HINT}. "
            f"pytrainc's own layers: {sorted(_LAYER_CLASSES)}"
        )
    return cls.from_config(dict(config.get("config", {})))


def serialize(layer):
    from pytrainc.saving import object_registration

    return object_registration.tagged({"class_name": type(layer).__name__, "config": layer.get_config()}, layer)


# Attention, AdditiveAttention (issue #11, session 10)
from pytrainc.layers import attention_dot
from pytrainc.layers.attention_dot import AdditiveAttention, Attention

_LAYER_CLASSES.update(attention_dot.LAYERS)

# 3-D layers and Identity (issue #11, session 10)
from pytrainc.layers import volumetric
from pytrainc.layers.volumetric import (
    AveragePooling3D,
    Conv3D,
    Cropping3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    Identity,
    MaxPooling3D,
    UpSampling3D,
    ZeroPadding3D,
)

_LAYER_CLASSES.update(volumetric.LAYERS)
# More of Keras's aliases
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
MaxPool3D, AvgPool3D = MaxPooling3D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool3D = GlobalAveragePooling1D, GlobalAveragePooling3D
GlobalMaxPool1D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling3D

# TextVectorization (issue #11, session 10)
from pytrainc.layers import text_vectorization
from pytrainc.layers.text_vectorization import TextVectorization

_LAYER_CLASSES.update(text_vectorization.LAYERS)

# RMSNormalization (issue #11, session 10)
from pytrainc.layers import rms_normalization
from pytrainc.layers.rms_normalization import RMSNormalization

_LAYER_CLASSES.update(rms_normalization.LAYERS)
