"""`Model.summary()` in Keras 3's layout (keras/src/utils/summary_utils.py).

With `rich` installed (Keras depends on it) the table is rendered by rich exactly
as Keras renders it; without it, the same table is drawn with the same box
characters at the same column widths.
"""

import shutil
import sys

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def readable_memory_size(size):
    """Keras's sizes: `795.04 KB`, `0.00 B` (powers of 1024)."""
    for unit in _UNITS:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} {_UNITS[-1]}"


def _rows(model):
    """(layers' rows, whether the model is a chain): name (type), output shape, params, connections."""
    from pytrainc.models.sequential import Sequential

    from pytrainc.layers import _outputs
    from pytrainc.saving.keras_config import _call_of

    graph = model._graph
    if graph is None and isinstance(model, Sequential):  # Keras 3's table of an unbuilt Sequential
        return [(f"{layer.name} ({type(layer).__name__})", "?", "0 (unbuilt)", "-") for layer in model.layers], True
    order = [t for t in graph["order"] if _call_of(t) is t]  # a call with several outputs is one row
    producers, nodes = {}, {}
    for t in order:
        layer = t._layer
        producers.setdefault(id(layer), []).append(t)
        nodes[id(t)] = len(producers[id(layer)]) - 1

    def connection(p):  # Keras's layer[node][tensor index]
        call = _call_of(p)
        return f"{call._layer.name}[{nodes[id(call)]}][{p._layer.index if call is not p else 0}]"

    chain = all(len(t._inputs) <= 1 for t in order) and all(len(v) == 1 for v in producers.values())
    rows, seen = [], set()
    for t in order:
        layer = t._layer
        if id(layer) in seen or (isinstance(model, Sequential) and not t._inputs):
            continue
        seen.add(id(layer))
        outputs = producers[id(layer)]
        connections = [connection(p) for out in outputs for p in out._inputs]
        shape = str(outputs[0].shape) if len(outputs) == 1 else "?"
        if len(outputs) == 1 and getattr(t, "_several", False):  # Keras lists the outputs' shapes
            shape = "[" + ", ".join(str((None, *s)) for s in _outputs.layout(t)) + "]"
        rows.append(
            (
                f"{layer.name} ({type(layer).__name__})",
                shape,
                f"{layer.count_params():,}",
                ", ".join(connections) or "-",
            )
        )
    return rows, chain or isinstance(model, Sequential)


def _optimizer_params(model):
    """(count, bytes) of the optimizer's state as Keras 3 counts `optimizer.variables` once the
    optimizer is built (a fit or train_on_batch bound it), else None: its iteration counter and
    learning rate (not a variable with a schedule), 4 bytes each, and each slot and scalar."""
    from pytrainc.optimizers.schedules import LearningRateSchedule

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or (not getattr(optimizer, "_state", None) and getattr(optimizer, "_plan", None) is None):
        return None
    lr = optimizer._learning_rate
    count = 1 + (not isinstance(lr, LearningRateSchedule) and not callable(lr))  # Keras: no variable for those
    count += sum(state.size for state in optimizer._state.values())
    return count, 4 * count


def _widths(line_length, positions):
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    return widths


def _cell_widths(widths, line_length):
    """Rendered column widths (padding included) as rich gives them to fixed-width columns in a
    table of line_length: each width + 2, the excess over the table taken evenly (rich's ratio_reduce)."""
    cells = [w + 2 for w in widths]
    excess = sum(cells) - (line_length - len(cells) - 1)
    remaining, slots, out = max(excess, 0), len(cells), []
    for cell in cells:
        cut = min(cell, round(remaining / slots))
        out.append(cell - cut)
        remaining, slots = remaining - cut, slots - 1
    return out


def _plain_table(header, rows, widths, justify):
    """The rich table's look without rich: heavy header box, a rule between rows, one line per row
    (a cell too long for its column is cut with "…" where rich would wrap it)."""

    def cells(values, edge, sep):
        out = []
        for value, width, how in zip(values, widths, justify):
            text = value if len(value) <= width - 2 else value[: width - 3] + "…"
            out.append(" " + (text.rjust(width - 2) if how == "right" else text.ljust(width - 2)) + " ")
        return edge + sep.join(out) + edge

    def rule(left, mid, right, char):
        return left + mid.join(char * w for w in widths) + right

    lines = [rule("┏", "┳", "┓", "━"), cells(header, "┃", "┃"), rule("┡", "╇", "┩", "━")]
    for i, row in enumerate(rows):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines.append(cells(row, "│", "│"))
    lines.append(rule("└", "┴", "┘", "─"))
    return "\n".join(lines)


def _parts(model):
    """(title, header, justify, rows, chain, totals) of the summary."""
    rows, chain = _rows(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    justify = ["left", "left", "right"]
    if chain:
        rows = [r[:3] for r in rows]
    else:
        header.append("Connected to")
        justify.append("left")
    trainable = sum(v._value.size * v._value.itemsize for v in model.trainable_weights)
    frozen = sum(v._value.size * v._value.itemsize for v in model.non_trainable_weights)
    n_trainable = sum(v._value.size for v in model.trainable_weights)
    n_frozen = sum(v._value.size for v in model.non_trainable_weights)
    optimizer = _optimizer_params(model)
    n_optimizer, optimizer_bytes = optimizer or (0, 0)
    totals = [
        f" Total params: {n_trainable + n_frozen + n_optimizer:,} "
        f"({readable_memory_size(trainable + frozen + optimizer_bytes)})",
        f" Trainable params: {n_trainable:,} ({readable_memory_size(trainable)})",
        f" Non-trainable params: {n_frozen:,} ({readable_memory_size(frozen)})",
    ]
    if optimizer is not None:
        totals.append(f" Optimizer params: {n_optimizer:,} ({readable_memory_size(optimizer_bytes)})")
    return f'Model: "{model.name}"', header, justify, rows, chain, totals


def summary_html(model):
    """The summary as an HTML table, for Jupyter's rich display (`Model._repr_html_`)."""
    from html import escape

    title, header, justify, rows, _, totals = _parts(model)
    cell = "<td style='text-align:{}'>{}</td>"
    head = "".join(f"<th style='text-align:{j}'>{escape(h)}</th>" for h, j in zip(header, justify))
    body = "".join("<tr>" + "".join(cell.format(j, escape(v)) for v, j in zip(row, justify)) + "</tr>" for row in rows)
    foot = "<br>".join(escape(t.strip()) for t in totals)
    return (
        f"<div><p><b>{escape(title)}</b></p><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table><p>{foot}</p></div>"
    )


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Print the model's layers, output shapes, parameter counts (and, for a graph
    that is not a chain, what each layer is connected to), then the totals."""
    title, header, justify, rows, chain, totals = _parts(model)
    if chain:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _widths(line_length, positions or default_positions)
    try:
        import rich.console
        import rich.markup
        import rich.table
    except ImportError:
        text = "\n".join([title, _plain_table(header, rows, _cell_widths(widths, line_length), justify)] + totals)
    else:
        columns = [rich.table.Column(h, justify=j, width=w) for h, j, w in zip(header, justify, widths)]
        table = rich.table.Table(*columns, width=line_length, show_lines=True)
        for row in rows:
            table.add_row(*(rich.markup.escape(c) for c in row))
        interactive = print_fn is None and sys.stdout.isatty()
        console = rich.console.Console(
            highlight=False, file=sys.stdout, force_terminal=interactive or None, color_system=None
        )
        console.begin_capture()
        for item in [title, table] + totals:
            console.print(item if item is table else rich.markup.escape(item))
        text = console.end_capture().rstrip("\n")
    if print_fn is None:
        sys.stdout.write(text + "\n")
    else:
        print_fn(text)
