"""Keras's dataset helpers (`keras.utils.timeseries_dataset_from_array`, `split_dataset`,
`text_dataset_from_directory`, `image_dataset_from_directory`), returning
`pytrainc.data.Dataset` pipelines that `fit`, `evaluate` and `predict` read.

Shuffles with a seed draw as Keras's do (NumPy's `RandomState(seed)`, Python's
`random` for `split_dataset`), so a seeded split or file order is the one Keras gives; without a seed, the seed is drawn from
pytrainc's generator (`pytrainc.utils.set_random_seed` makes it reproducible).
"""

import os
import random

import numpy as np

from pytrainc import _C, io_utils
from pytrainc.data.dataset import Dataset

__all__ = [
    "image_dataset_from_directory",
    "split_dataset",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
]


def _check_format(format):
    """Keras's `format=` of the dataset builders: "tf" (pytrainc's own Dataset, read by fit as Keras
    reads a tf.data.Dataset); "grain" needs Google's grain, which pytrainc does not use."""
    if format != "tf":
        raise ValueError(
            f'`format` should be "tf" (pytrainc returns its own Dataset for it). Received: format={format!r}'
        )


def _seed(seed):
    from pytrainc import utils

    return int(_C.rng_next(utils.global_rng())) % 2**32 if seed is None else utils._check_seed(seed) % 2**32


def _positive(name, value, limit=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    if limit is not None and value >= limit:
        raise ValueError(f"`{name}` must be lower than the length of the data ({limit}). Received: {name}={value}")
    return int(value)


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
    format="tf",
):
    """Sliding windows over a timeseries, as `keras.utils.timeseries_dataset_from_array`.

    Window i holds `data[start + p_i + k * sampling_rate]` for k < sequence_length,
    with p_i = i * sequence_stride, and its target is `targets[start + p_i]`.

    Args:
        data: Array (or list) of timesteps, axis 0 the time.
        targets: Targets per timestep, or None for windows only.
        sequence_length: Timesteps per window.
        sequence_stride: Steps between two windows' starts. Defaults to 1.
        sampling_rate: Steps between two timesteps of a window. Defaults to 1.
        batch_size: Windows per batch, or None for single windows. Defaults to 128.
        shuffle: Whether to shuffle the windows. Defaults to False.
        seed: Optional shuffle seed. Defaults to None.
        start_index: First timestep used. Defaults to None (0).
        end_index: Timestep before which data stops. Defaults to None (all).
        format: Keras's "tf" (pytrainc gives its own `Dataset`); "grain" is refused. Defaults to "tf".

    Returns:
        A `pytrainc.data.Dataset` of `(windows, targets)` batches, or of windows
        when `targets` is None.

    Raises:
        ValueError: for a non-positive length, stride or rate, or a bad index range.

    Example:

    >>> import numpy as np
    >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
    >>> next(iter(ds)).tolist()
    [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    """
    _check_format(format)
    data = np.asarray(data)
    n = len(data)
    sequence_length = _positive("sequence_length", sequence_length)
    sampling_rate = _positive("sampling_rate", sampling_rate, n)
    sequence_stride = _positive("sequence_stride", sequence_stride, n)
    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    if not 0 <= start < n or not start < end <= n:
        raise ValueError(
            f"Expected 0 <= start_index < end_index <= len(data) = {n}. "
            f"Received: start_index={start_index}, end_index={end_index}"
        )
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets) - start)
    positions = np.arange(0, max(count, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        np.random.RandomState(_seed(seed)).shuffle(positions)
    offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate

    def windows(p):
        x = data[start + p[..., None] + offsets]
        return x if targets is None else (x, targets[start + p])

    ds = Dataset.from_tensor_slices(positions)
    if batch_size is not None:
        ds = ds.batch(_positive("batch_size", batch_size))
    return ds.map(windows)


def _split_sizes(left_size, right_size, n):
    """Keras's `_rescale_dataset_split_sizes`: ints are counts, floats fractions of n."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset needs `left_size` or `right_size`. Received: both None")
    sizes = []
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            sizes.append(None)
        elif type(size) is int and 0 < size < n:
            sizes.append(size)
        elif type(size) is float and 0 < size < 1:
            sizes.append(round(size * n))
        else:
            raise ValueError(
                f"`{name}` must be an int in (0, {n}) or a float in (0, 1), or None. Received: {name}={size!r}"
            )
    left, right = sizes
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n or not left or not right:
        raise ValueError(
            f"split_dataset of {n} samples: left_size={left_size!r} and right_size={right_size!r} give "
            f"{left} and {right} samples; expected both > 0 and at most {n} in total"
        )
    return left, right


def _take(structure, indices):
    if isinstance(structure, tuple):
        return tuple(_take(s, indices) for s in structure)
    if isinstance(structure, dict):
        return {k: _take(v, indices) for k, v in structure.items()}
    return structure[indices]


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None):
    """Splits arrays (or a finite `Dataset`) in two, as `keras.utils.split_dataset`.

    Args:
        dataset: An array, a tuple or dict of arrays with the same first axis, a
            list of samples, or a finite `pytrainc.data.Dataset` of samples.
        left_size: Samples (int) or fraction (float) on the left. Defaults to None:
            all that the right leaves.
        right_size: The same for the right. Defaults to None.
        shuffle: Whether to shuffle the samples before splitting. Defaults to False.
        seed: Optional shuffle seed. Defaults to None.
        preferred_backend: Keras's choice of the returned datasets' kind ("tensorflow" or
            "torch"); pytrainc returns its own `Dataset` whatever it says, as `fit` reads
            that like either. Defaults to None.

    Returns:
        A tuple of two `pytrainc.data.Dataset`: the first `left_size` samples and
        the last `right_size` ones.

    Raises:
        ValueError: for sizes out of range or both None, or arrays of different lengths.

    Example:

    >>> import numpy as np
    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> len(left), len(right)
    (8, 2)
    """
    if preferred_backend not in (None, "tensorflow", "torch", "jax", "numpy"):
        raise ValueError(
            "`preferred_backend` must be None, 'tensorflow', 'torch', 'jax' or 'numpy'. "
            f"Received: preferred_backend={preferred_backend!r}"
        )
    if isinstance(dataset, Dataset):
        from pytrainc.data.dataset import _stack

        dataset = _stack(list(dataset))
    elif isinstance(dataset, list):
        dataset = np.asarray(dataset)
    leaves = (
        list(dataset.values())
        if isinstance(dataset, dict)
        else list(dataset)
        if isinstance(dataset, tuple)
        else [dataset]
    )
    lengths = {len(leaf) for leaf in leaves}
    if len(lengths) != 1:
        raise ValueError(f"split_dataset expects arrays with the same first axis. Received lengths {sorted(lengths)}")
    n = lengths.pop()
    left, right = _split_sizes(left_size, right_size, n)
    order = list(range(n))
    if shuffle:  # Keras's tf.data path: Python's `random.seed(seed); random.shuffle(samples)`
        random.Random(_seed(seed)).shuffle(order)
    order = np.asarray(order, dtype=np.int64)
    return (
        Dataset.from_tensor_slices(_take(dataset, order[:left])),
        Dataset.from_tensor_slices(_take(dataset, order[n - right :])),
    )


def _index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links):
    """Keras's `index_directory`: file paths, their labels and the class names."""
    if not os.path.isdir(directory):
        raise ValueError(f"Expected a directory of files or of one subdirectory per class. Received: {directory!r}")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            if sorted(class_names) != subdirs:
                raise ValueError(
                    f"`class_names` must be the subdirectories of {directory!r}: {subdirs}. Received: {class_names}"
                )
            subdirs = list(class_names)
        roots = [(os.path.join(directory, d), i) for i, d in enumerate(subdirs)]
    else:
        subdirs, roots = [], [(directory, None)]
    paths, found = [], []
    for root, label in roots:
        for parent, dirs, files in sorted(os.walk(root, followlinks=follow_links)):
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(formats):
                    paths.append(os.path.join(parent, name))
                    found.append(label)
    if labels in ("inferred", None):
        labels = None if labels is None else np.asarray(found, dtype=np.int32)
    else:
        labels = np.asarray(labels)
        if len(labels) != len(paths):
            raise ValueError(
                f"Expected one label per file: {len(paths)} files found in {directory!r}. Received {len(labels)} labels"
            )
        subdirs = [str(c) for c in sorted(set(labels.tolist()))]
    if shuffle:
        seed = _seed(seed)
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, subdirs


def _files_dataset(
    directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split, subset, follow_links,
    verbose, formats, load,
):  # fmt: skip
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"`label_mode` must be 'int', 'categorical', 'binary' or None. Received: {label_mode!r}")
    if subset not in (None, "training", "validation", "both") or (subset is None) != (validation_split is None):
        raise ValueError(
            "`validation_split` and `subset` ('training', 'validation' or 'both') go together. "
            f"Received: validation_split={validation_split!r}, subset={subset!r}"
        )
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be in (0, 1). Received: {validation_split!r}")
    seed = _seed(seed)
    paths, ids, names = _index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs exactly 2 classes. Received {len(names)}: {names}")
    if verbose:
        io_utils.print_msg(f"Found {len(paths)} files belonging to {len(names)} classes.")

    def make(chosen):
        items = [load(paths[i]) for i in chosen]
        x = np.stack(items) if items else np.zeros((0,), np.float32)
        if ids is None or label_mode is None:
            data = x
        elif label_mode == "int":
            data = (x, ids[chosen].astype(np.int32))
        elif label_mode == "binary":
            data = (x, ids[chosen].astype(np.float32)[:, None])
        else:
            data = (x, np.eye(len(names), dtype=np.float32)[ids[chosen]])
        ds = Dataset.from_tensor_slices(data)
        if shuffle:
            ds = ds.shuffle(batch_size * 8 if batch_size else 1024, seed=seed)
        ds = ds.batch(batch_size) if batch_size is not None else ds
        ds.class_names = names
        ds.file_paths = [paths[i] for i in chosen]
        return ds

    every = np.arange(len(paths))
    if validation_split is None:
        return make(every)
    val = int(validation_split * len(paths))
    train, valid = every[: len(paths) - val], every[len(paths) - val :]
    if verbose and subset in ("training", "both"):
        io_utils.print_msg(f"Using {len(train)} files for training.")
    if verbose and subset in ("validation", "both"):
        io_utils.print_msg(f"Using {len(valid)} files for validation.")
    if subset == "both":
        return make(train), make(valid)
    return make(train if subset == "training" else valid)


def text_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    batch_size=32,
    max_length=None,
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    follow_links=False,
    format="tf",
    verbose=True,
):
    """Text files in one subdirectory per class, as `keras.utils.text_dataset_from_directory`.

    Args:
        directory: The directory; with `labels="inferred"`, one subdirectory
            per class holding `.txt` files (searched recursively).
        labels: "inferred", None, or a list of labels in the sorted order of the files.
            Defaults to "inferred".
        label_mode: "int", "categorical", "binary" or None. Defaults to "int".
        class_names: Optional order of the subdirectories (the class ids). Defaults to None.
        batch_size: Texts per batch, or None. Defaults to 32.
        max_length: Optional number of characters kept from each text. Defaults to None.
        shuffle: Whether to shuffle the files. Defaults to True.
        seed: Optional shuffle seed. Defaults to None.
        validation_split: Optional fraction of the files kept for validation. Defaults to None.
        subset: "training", "validation" or "both" with `validation_split`. Defaults to None.
        follow_links: Whether to follow symbolic links. Defaults to False.
        format: Keras's "tf" (pytrainc gives its own `Dataset`); "grain" is refused. Defaults to "tf".
        verbose: Whether to print the number of files found. Defaults to True.

    Returns:
        A `pytrainc.data.Dataset` of `(texts, labels)` batches (texts a NumPy str array),
        with `class_names` and `file_paths`; two of them for `subset="both"`.

    Raises:
        ValueError: for a missing directory or inconsistent arguments.
    """
    _check_format(format)

    def load(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return np.str_(text if max_length is None else text[:max_length])

    return _files_dataset(
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split, subset,
        follow_links, verbose, (".txt",), load,
    )  # fmt: skip


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    interpolation="bilinear",
    follow_links=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    data_format=None,
    format="tf",
    verbose=True,
):
    """Images in one subdirectory per class, as `keras.utils.image_dataset_from_directory`.

    Reads `.bmp`, `.gif` (its first frame), `.jpeg`, `.jpg` and `.png` files with Pillow
    (`pip install pillow`), resized to `image_size`, as float32 (n, height, width,
    channels) batches with values in [0, 255].

    Args:
        directory: The directory; with `labels="inferred"`, one subdirectory per class.
        labels: "inferred", None, or a list of labels in the sorted order of the files.
            Defaults to "inferred".
        label_mode: "int", "categorical", "binary" or None. Defaults to "int".
        class_names: Optional order of the subdirectories (the class ids). Defaults to None.
        color_mode: "grayscale", "rgb" or "rgba". Defaults to "rgb".
        batch_size: Images per batch, or None. Defaults to 32.
        image_size: `(height, width)` of the images given. Defaults to (256, 256).
        shuffle: Whether to shuffle the files. Defaults to True.
        seed: Optional shuffle seed. Defaults to None.
        validation_split: Optional fraction of the files kept for validation. Defaults to None.
        subset: "training", "validation" or "both" with `validation_split`. Defaults to None.
        interpolation: "nearest", "bilinear", "bicubic", "lanczos", "box" or "hamming".
            Defaults to "bilinear".
        follow_links: Whether to follow symbolic links. Defaults to False.
        crop_to_aspect_ratio: Whether to crop the center to the target aspect ratio
            before resizing. Defaults to False.
        pad_to_aspect_ratio: Whether to pad the image with zeros, centered, to the target
            aspect ratio before resizing, as Keras. Defaults to False.
        data_format: "channels_last" (height, width, channels) or "channels_first".
            Defaults to None (channels_last).
        format: Keras's "tf" (the default; pytrainc gives its own `Dataset`, which `fit`
            takes as Keras takes a `tf.data.Dataset`); "grain" is refused. Defaults to "tf".
        verbose: Whether to print the number of files found. Defaults to True.

    Returns:
        A `pytrainc.data.Dataset` of `(images, labels)` batches, with `class_names`
        and `file_paths`; two of them for `subset="both"`.

    Raises:
        ImportError: without Pillow.
        ValueError: for a missing directory or inconsistent arguments.
    """
    from pytrainc import image_utils

    _check_format(format)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True. Received: "
            f"crop_to_aspect_ratio={crop_to_aspect_ratio}, pad_to_aspect_ratio={pad_to_aspect_ratio}"
        )
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last', 'channels_first' or None. Received: {data_format!r}")
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f"`color_mode` must be one of {list(modes)}. Received: {color_mode!r}")
    size = tuple(int(v) for v in image_size)

    def load(path):
        img = image_utils._load(path, color_mode, size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio)
        return image_utils.img_to_array(img, data_format=data_format)

    return _files_dataset(
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split, subset,
        follow_links, verbose, (".bmp", ".gif", ".jpeg", ".jpg", ".png"), load,
    )  # fmt: skip
