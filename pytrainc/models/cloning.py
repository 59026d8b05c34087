"""`clone_model`, as `keras.models.clone_model`: the same architecture with new weights."""


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A new model with the architecture of `model` and newly initialized weights, as Keras.

    The layers are rebuilt from their configurations (drawing their weights from the global
    generator, as a new model would); nothing is shared with `model`, and the clone is not
    compiled.

    Args:
        model: A built pytrainc `Model` or `Sequential`.
        input_tensors: Must be None: the clone has inputs of its own. Defaults to None.
        clone_function: Must be None (pytrainc clones every layer from its config). Defaults to None.
        call_function: Must be None. Defaults to None.
        recursive: Accepted for Keras compatibility. Defaults to False.

    Returns:
        The new model, of the same class.

    Raises:
        TypeError: for a model that is not a pytrainc Model or Sequential.
        ValueError: for an unbuilt model or a Keras argument pytrainc does not take.

    Example:

    >>> twin = pytrainc.models.clone_model(model)
    >>> twin.count_params() == model.count_params()
    True
    """
    from pytrainc.models.model import Model
    from pytrainc.models.sequential import Sequential

    if type(model) not in (Model, Sequential):
        raise TypeError(f"clone_model expects a pytrainc Model or Sequential. Received: {type(model).__name__}")
    extra = {"input_tensors": input_tensors, "clone_function": clone_function, "call_function": call_function}
    extra.update(kwargs)
    given = sorted(k for k, v in extra.items() if v is not None)
    if given:
        raise ValueError(f"pytrainc's clone_model takes only the model. Received: {given}")
    model._require_built("clone_model")
    return type(model).from_config(model.get_config())
