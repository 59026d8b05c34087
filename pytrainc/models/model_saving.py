"""A model's configuration and files: `get_config`/`from_config`, the compile configuration,
`save`, `save_weights`/`load_weights`, `export` and pickling. `Model` inherits `ModelSaving`; the
formats themselves live in `pytrainc.saving`."""

from pytrainc import h5, saving
from pytrainc import layers as layers_module
from pytrainc import losses as losses_module
from pytrainc import metrics as metrics_module
from pytrainc import optimizers as optimizers_module
from pytrainc.layers import InputLayer, _outputs
from pytrainc.saving import model_file
from pytrainc.saving.model_file import _refuse_keras_formats, save_model


class ModelSaving:
    """The configuration and file half of `Model`."""

    def get_config(self):
        self._require_built("get_config")
        order = self._graph["order"]
        index = {id(t): i for i, t in enumerate(order)}
        layer_index, layer_configs = {}, []
        nodes = []
        for t in order:
            layer = t._layer
            if id(layer) not in layer_index and not _outputs.is_call_output(t):
                layer_index[id(layer)] = len(layer_configs)
                layer_configs.append(layers_module.serialize(layer))
            nodes.append(_outputs.node_config(t, layer_index, index))
        g = self._graph
        config = {"name": self.name, "layers": layer_configs, "nodes": nodes}
        for key in ("input", "output"):
            tensors, struct = g[key + "s"], g[key + "_struct"]
            if struct == "single":
                config[key] = index[id(tensors[0])]
            elif struct == "list":
                config[key] = [index[id(t)] for t in tensors]
            else:
                config[key] = {n: index[id(t)] for n, t in zip(g[key + "_names"], tensors)}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        with saving.object_registration.loading_scope(custom_objects):  # Keras's argument: custom layers
            layers = [layers_module.deserialize(c) for c in config["layers"]]
        tensors = []
        for node in config["nodes"]:
            layer, parents = _outputs.node_layer(layers, node), node[1]
            if not parents:
                if not isinstance(layer, InputLayer):
                    raise ValueError("model config: a node without inputs must be an InputLayer")
                tensors.append(layer.output)
            else:
                tensors.append(_outputs.recall(layer, [tensors[i] for i in parents], _outputs.node_masked(node)))

        def pick(ref):
            if isinstance(ref, dict):
                return {n: tensors[i] for n, i in ref.items()}
            if isinstance(ref, list):
                return [tensors[i] for i in ref]
            return tensors[ref]

        from pytrainc.models.model import Model

        return Model(inputs=pick(config["input"]), outputs=pick(config["output"]), name=config["name"])

    def _compile_config(self):
        if not self.compiled:
            return None

        def listed(specs):
            return [metrics_module.serialize(m) for m in specs]

        heads = self._heads
        config = {"optimizer": optimizers_module.serialize(self.optimizer)}
        if len(heads) == 1:
            head = heads[0]
            config.update(loss=losses_module.serialize(head.loss), metrics=listed(head.metric_specs))
            if head.weighted_specs:
                config["weighted_metrics"] = listed(head.weighted_specs)
            if head.weight is not None:
                config["loss_weights"] = float(head.weight)
            return config
        # Several outputs: each entry keyed by output name, as compile takes them.
        config["loss"] = {h.name: losses_module.serialize(h.loss) for h in heads}
        config["metrics"] = {h.name: listed(h.metric_specs) for h in heads}
        config["weighted_metrics"] = {h.name: listed(h.weighted_specs) for h in heads}
        config["loss_weights"] = {h.name: h.loss_weight for h in heads}
        return config

    def save(self, filepath, overwrite=True):
        """Save architecture, weights and optimizer state to one file, as `keras.Model.save`.

        Args:
            filepath: str or PathLike. `.keras` writes Keras 3's format
                (`keras.models.load_model` reads it), `.ptc` pytrainc's own and
                `.h5` / `.hdf5` HDF5; other suffixes are refused.
            overwrite: Whether to replace an existing file. Defaults to True.

        Raises:
            ValueError: for another suffix, or an unbuilt model.

        Example:

        >>> model.save("model.keras")
        >>> restored = pytrainc.models.load_model("model.keras")
        """
        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath):
        """Save the weights atomically: `.h5` / `.hdf5` in Keras's legacy HDF5 layout and
        `.weights.h5` in Keras 3's (both load into Keras with `load_weights`; see
        `pytrainc.h5`, needs h5py), `.npz` as NumPy's format, any other extension in
        the safetensors layout (the state dict).

        Raises:
            ValueError: for `.keras` paths (a `.keras` file holds a whole model: use `save`).
            ImportError: for an HDF5 path when h5py is not installed.
        """
        _refuse_keras_formats(filepath)
        self._require_built("save_weights")
        if h5.is_h5_path(filepath):
            h5.save_weights(self, filepath)
        else:
            saving.save(self.state_dict(), filepath)

    def load_weights(self, filepath):
        """Load weights saved by `save_weights` (or `pytrainc.save(model.state_dict(), ...)`),
        or saved by Keras in HDF5 (`.h5` / `.hdf5` / `.weights.h5`; layers with weights are
        matched by order, see `pytrainc.h5.load_weights`).

        Raises:
            StateDictError: if the file's names or shapes do not fit this model.
        """
        _refuse_keras_formats(filepath)
        self._require_built("load_weights")
        if h5.is_h5_path(filepath):
            h5.load_weights(self, filepath)
        else:
            self.load_state_dict(saving.load(filepath), strict=True)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Export the model for inference, as `keras.Model.export`; pytrainc writes `format="onnx"`.

        See `pytrainc.onnx.export`: a graph of ONNX operators that computes what
        `predict` computes, for onnxruntime and other ONNX runtimes.

        Args:
            filepath: str or PathLike, the file to write, e.g. 'model.onnx'.
            format: Only "onnx"; Keras's default "tf_saved_model" (TensorFlow's
                format) and its other formats are refused. Defaults to "tf_saved_model".
            verbose: Accepted for Keras compatibility; nothing is printed. Defaults to None.
            input_signature: Must be None: the input is the model's, with a
                dynamic batch dimension. Defaults to None.
            **kwargs: `opset_version` (13 to 17, defaults to 17).

        Returns:
            The `onnx.ModelProto` written.

        Raises:
            ValueError: for another format, an input signature, or a layer with no ONNX form.
            ImportError: if onnx is not installed.

        Example:

        >>> proto = model.export("model.onnx", format="onnx")
        """
        if format != "onnx":
            raise ValueError(
                f"pytrainc exports format='onnx' only (Keras's other formats need TensorFlow, "
                f"OpenVINO or LiteRT). Received: format={format!r}"
            )
        if input_signature is not None:
            raise ValueError(
                "pytrainc exports the model's own input (with a dynamic batch dimension); "
                f"input_signature must be None. Received: {input_signature!r:.100}"
            )
        unknown = sorted(set(kwargs) - {"opset_version"})
        if unknown:
            raise TypeError(f"export got unexpected keyword argument(s): {unknown}")
        from pytrainc import onnx

        return onnx.export(self, filepath, **kwargs)

    def __reduce__(self):
        """Pickling, `copy.copy` and `copy.deepcopy` go through the configuration, weights and optimizer state.

        The copy is what saving and loading the model would give (see
        `pytrainc.saving.model_file.model_state`): the same architecture and
        compile settings, copies of the weights, of the optimizer's slots and
        iteration count and of the Dropout generators, so it predicts bitwise
        as the original and continues training bitwise as the original would.
        `copy.copy` gives such an independent copy too: two models sharing one
        flat parameter buffer and one C plan could not train apart. Making a
        copy draws nothing from the global generator.

        Raises:
            TypeError: for a subclass of `Model` or `Sequential`, whose own
                attributes a configuration cannot carry.
        """
        from pytrainc.models.model import Model, _restore_model
        from pytrainc.models.sequential import Sequential

        if type(self) not in (Model, Sequential):
            raise TypeError(
                f"Cannot pickle or copy a {type(self).__name__}: pytrainc copies Model and Sequential "
                "through their configuration, which a subclass's own attributes are not part of"
            )
        return _restore_model, model_file.model_state(self)
