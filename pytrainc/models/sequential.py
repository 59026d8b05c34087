"""`keras.Sequential`: a linear stack of layers."""

from pytrainc import layers as layers_module
from pytrainc.layers import InputLayer, KerasTensor, Layer
from pytrainc.models.model import Model


class Sequential(Model):
    """A linear stack of layers, as `keras.Sequential`.

    Args:
        layers: Optional list of layers; it may start with `Input(shape)`.
        trainable: Whether the model's layers train (`model.trainable`). Defaults to True.
        name: Optional name.

    Example:

    >>> model = Sequential()
    >>> model.add(Dense(10, input_dim=8, activation="relu"))
    >>> model.add(Dense(1, activation="sigmoid"))
    >>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    """

    _default_name = "sequential"

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name)
        self._stack = []
        self._input = None
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    def add(self, layer):
        """Append a layer (or set the input with `Input(shape)` / `InputLayer`)."""
        if isinstance(layer, KerasTensor):
            if layer._inputs or not isinstance(layer._layer, InputLayer):
                raise ValueError("Sequential accepts Input(shape) tensors, not outputs of other layers.")
            layer = layer._layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input is not None:
                raise ValueError("An InputLayer must come first in a Sequential model.")
            self._input = layer
        elif isinstance(layer, Model):  # a model as one stage (its layers and weights shared)
            if layer is self or any(layer is l for l in self._stack):
                raise ValueError(f"Model '{layer.name}' is already in this model.")
            if not self._stack and self._input is None and layer.built:
                self._input = InputLayer(shape=tuple(layer._graph["input"].sample_shape))
            self._stack.append(layer)
        elif isinstance(layer, Layer):
            if any(layer is l for l in self._stack):
                raise ValueError(f"Layer '{layer.name}' is already in this model.")
            if not self._stack and self._input is None and layer._input_shape_arg is not None:
                self._input = InputLayer(shape=layer._input_shape_arg)
            self._stack.append(layer)
        else:
            raise TypeError(f"Sequential.add expects a pytrainc layer. Received: {type(layer).__name__}")
        self._rebuild()

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._rebuild()
        return layer

    def _rebuild(self):
        if self._input is None or not self._stack:
            self._graph = None
            self._plan = None
            return
        t = self._input.output
        for layer in self._stack:
            t = layer(t)
            if isinstance(t, list):  # Keras's Sequential refuses these too
                self._stack.remove(layer)
                raise ValueError(
                    "All layers in a Sequential model should have a single output tensor. For multi-output "
                    f"layers, use the functional API. Received: layer '{layer.name}' with {len(t)} outputs"
                )
        self._set_graph(self._input.output, t)

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape` (with or without the batch axis None)."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            self._build_from_data(shape)

    def _build_from_data(self, sample_shape):
        if self._input is not None:
            return
        self._input = InputLayer(shape=tuple(sample_shape))
        self._rebuild()
        if self._graph is None:
            raise ValueError("Sequential model has no layers.")

    @property
    def layers(self):
        """The stack's layers, a model in it contributing its own layers (as pytrainc's functional
        models list the layers of a model called inside them; Keras lists the model as one)."""
        out = []
        for layer in self._stack:
            out += layer._own_layers if isinstance(layer, Model) else [layer]
        return out

    @property
    def _own_layers(self):
        return self.layers  # Keras 3's Sequential.layers holds no InputLayer

    def get_config(self):
        config = {"name": self.name, "layers": [layers_module.serialize(l) for l in self._stack]}
        if self._input is not None:
            config["layers"].insert(0, layers_module.serialize(self._input))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from pytrainc.saving import object_registration

        with object_registration.loading_scope(custom_objects):  # Keras's argument: custom layers
            return cls([_deserialize(c) for c in config["layers"]], name=config.get("name"))


def _deserialize(config):
    """A stage of a Sequential's config: a layer, or a nested Sequential or functional model."""
    kind = config.get("class_name") if isinstance(config, dict) else None
    if kind == "Sequential":
        return Sequential.from_config(dict(config.get("config", {})))
    if kind in ("Functional", "Model"):
        return Model.from_config(dict(config.get("config", {})))
    return layers_module.deserialize(config)
