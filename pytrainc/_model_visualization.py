"""`utils.model_to_dot` and `utils.plot_model`: a model's layer graph through pydot and Graphviz,
as `keras.utils.plot_model` draws it. pydot and Graphviz are optional (`pip install ".[plot]"`
brings pydot; Graphviz's `dot` program comes from the system's packages)."""

import html
import os


def _pydot():
    try:
        import pydot
    except ImportError:
        return None
    return pydot


def _graphviz_ok(pydot):
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _graph(model):
    """(nodes, edges): the layers to draw in order, and (source, destination) pairs."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        raise ValueError(
            "This model has not yet been built. Build it first by calling `build()` or by calling it on a batch "
            "of data (a Sequential model with an Input, or a functional Model, is built)."
        )
    from pytrainc.models import Sequential

    if isinstance(model, Sequential):  # Keras draws a Sequential's layers (no InputLayer), one after the other
        nodes = list(model._own_layers)
        return nodes, list(zip(nodes, nodes[1:]))
    nodes, edges, seen = [], [], set()
    for t in graph["order"]:
        if id(t._layer) not in seen:
            seen.add(id(t._layer))
            nodes.append(t._layer)
        for parent in t._inputs:
            if (parent._layer, t._layer) not in edges:
                edges.append((parent._layer, t._layer))
    return nodes, edges


def _shapes(model):
    """layer -> (input shapes, output shape) from the model's graph."""
    shapes = {}
    for t in model._graph["order"]:
        shapes[id(t._layer)] = ([p.shape for p in t._inputs], t.shape)
    return shapes


def _label(layer, shapes, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    name = type(layer).__name__
    title = f"<b>{html.escape(layer.name)}</b> ({name})" if show_layer_names else f"<b>{name}</b>"
    cols = []
    if show_shapes:
        ins, out = shapes.get(id(layer), (None, None))
        if name != "InputLayer":
            text = "?" if not ins else ", ".join(str(s) for s in ins)
            cols.append(f"Input shape: <b>{html.escape(text)}</b>")
        cols.append(f"Output shape: <b>{html.escape(str(out) if out is not None else '?')}</b>")
    if show_dtype:
        cols.append("Output dtype: <b>float32</b>")
    if show_trainable and layer.weights:
        cols.append(f"Trainable: <b>{'T' if layer.trainable else 'F'}</b>")
    span = max(1, len(cols))
    rows = [f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">{title}</font></td></tr>']
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        act = getattr(activation, "__name__", None) or getattr(activation, "name", None) or str(activation)
        rows.append(
            f'<tr><td bgcolor="white" colspan="{span}"><font point-size="14">Activation: <b>{html.escape(act)}</b>'
            "</font></td></tr>"
        )
    if cols:
        rows.append(
            "<tr>" + "".join(f'<td bgcolor="white"><font point-size="14">{c}</font></td>' for c in cols) + "</tr>"
        )
    return '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">' + "".join(rows) + "</table>>"


def model_to_dot(
    model,
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    subgraph=False,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """The model's layer graph as a `pydot.Dot`, as `keras.utils.model_to_dot`.

    Args:
        model: A built pytrainc model.
        show_shapes: Whether to show each layer's input and output shapes. Defaults to False.
        show_dtype: Whether to show the output dtype (float32). Defaults to False.
        show_layer_names: Whether to show layer names. Defaults to True.
        rankdir: `"TB"` (vertical) or `"LR"` (horizontal). Defaults to `"TB"`.
        expand_nested: Accepted for Keras's signature; pytrainc models hold no nested models yet.
            Defaults to False.
        dpi: Image resolution. Defaults to 200.
        subgraph: Whether to return a `pydot.Cluster` (for nesting). Defaults to False.
        show_layer_activations: Whether to show activations. Defaults to False.
        show_trainable: Whether to show if a layer with weights is trainable. Defaults to False.
        splines: How edges are drawn (Graphviz's `splines`). Defaults to `"ortho"`.

    Returns:
        A `pydot.Dot` (or `pydot.Cluster`).

    Raises:
        ImportError: without pydot.
        ValueError: for a model not built yet, or unknown keyword arguments.

    Example:

    >>> dot = pytrainc.utils.model_to_dot(model, show_shapes=True)  # doctest: +SKIP
    >>> print(dot.to_string())  # doctest: +SKIP
    """
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported (as in Keras 3).")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    nodes, edges = _graph(model)
    pydot = _pydot()
    if pydot is None:
        raise ImportError('You must install pydot (`pip install pydot`, or pip install ".[plot]") for model_to_dot.')
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    shapes = _shapes(model)
    for layer in nodes:
        label = _label(layer, shapes, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
        dot.add_node(pydot.Node(str(id(layer)), label=label))
    for source, destination in edges:
        edge = pydot.Edge(str(id(source)), str(id(destination)))
        edge.set("penwidth", "2")
        dot.add_edge(edge)
    return dot


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=False,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """Draws the model's layer graph into an image file, as `keras.utils.plot_model`.

    Needs pydot (`pip install ".[plot]"`) and Graphviz's `dot` program (from the system's
    packages, e.g. `apt install graphviz`). The format follows the file's extension (png when
    there is none).

    Args:
        model: A built pytrainc model.
        to_file: The image file. Defaults to `"model.png"`.
        show_shapes, show_dtype, rankdir, expand_nested, dpi, show_layer_activations, show_trainable, splines:
            As `model_to_dot`.
        show_layer_names: Whether to show layer names. Defaults to False (as Keras 3's plot_model).

    Returns:
        An `IPython.display.Image` of the file when IPython is installed, else None.

    Raises:
        ImportError: without pydot or Graphviz, saying which to install.
        ValueError: for a model not built yet, or unknown keyword arguments.

    Example:

    >>> pytrainc.utils.plot_model(model, to_file="model.png", show_shapes=True)  # doctest: +SKIP
    """
    pydot = _pydot()
    if pydot is None:
        raise ImportError('You must install pydot (`pip install pydot`, or pip install ".[plot]") for plot_model.')
    if not _graphviz_ok(pydot):
        raise ImportError(
            "You must install graphviz (its `dot` program: e.g. `apt install graphviz`; see "
            "https://graphviz.gitlab.io/download/) for plot_model."
        )
    dot = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        splines=splines,
        **kwargs,
    )
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display

            return display.Image(filename=to_file)
        except ImportError:
            return None
    return None
