"""Keras's image helpers (`keras.utils.load_img`, `img_to_array`, `array_to_img`,
`save_img`), channels last, on Pillow (`pip install pillow`), imported only when used."""

import io
import os

import numpy as np

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("The image helpers of pytrainc.utils need Pillow: pip install pillow") from None
    return Image


def _channels_last(data_format):
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'. Received: {data_format!r}")
    return data_format != "channels_first"


def load_img(
    path,
    color_mode="rgb",
    target_size=None,
    interpolation="nearest",
    keep_aspect_ratio=False,
):
    """Loads an image into a PIL image, as `keras.utils.load_img`.

    Args:
        path: A path (str or `pathlib.Path`) or an `io.BytesIO`.
        color_mode: "grayscale", "rgb" or "rgba". Defaults to "rgb".
        target_size: Optional `(height, width)`. Defaults to None (the file's size).
        interpolation: Pillow's resampling: "nearest", "bilinear", "bicubic", "hamming",
            "box" or "lanczos". Defaults to "nearest".
        keep_aspect_ratio: Whether to crop the center to the target aspect ratio
            before resizing. Defaults to False.

    Returns:
        A PIL image.

    Raises:
        ImportError: without Pillow.
        ValueError: for an unknown `color_mode` or `interpolation`.
        TypeError: for a `path` of another type.
    """
    return _load(path, color_mode, target_size, interpolation, keep_aspect_ratio, False)


def _load(path, color_mode, target_size, interpolation, keep_aspect_ratio, pad_to_aspect_ratio):
    """load_img, and with `pad_to_aspect_ratio` (image_dataset_from_directory's) the image padded
    with zeros, centered, to the target aspect ratio before resizing."""
    image = _pil()
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img expects a path or an io.BytesIO. Received: {type(path).__name__}")
    modes = {"grayscale": ("L", ("L", "I;16", "I")), "rgb": ("RGB", ("RGB",)), "rgba": ("RGBA", ("RGBA",))}
    if color_mode not in modes:
        raise ValueError(f"`color_mode` must be 'grayscale', 'rgb' or 'rgba'. Received: {color_mode!r}")
    mode, kept = modes[color_mode]
    if img.mode not in kept:
        img = img.convert(mode)
    if target_size is None:
        return img
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {list(_INTERPOLATIONS)}. Received: {interpolation!r}")
    size = (int(target_size[1]), int(target_size[0]))  # PIL's (width, height)
    if img.size == size:
        return img
    resample = getattr(image.Resampling, interpolation.upper())
    box = None
    if keep_aspect_ratio:  # Keras's centered crop to the target's aspect ratio
        width, height = img.size
        crop_h = min(height, (width * size[1]) // size[0])
        crop_w = min(width, (height * size[0]) // size[1])
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        box = (left, top, left + crop_w, top + crop_h)
    elif pad_to_aspect_ratio:  # Keras's ops.image.resize(pad_to_aspect_ratio=True): zeros on both sides
        width, height = img.size
        pad_h = (max(height, int(width * size[1] / size[0])) - height) // 2
        pad_w = (max(width, int(height * size[0] / size[1])) - width) // 2
        canvas = image.new(img.mode, (width + 2 * pad_w, height + 2 * pad_h))
        canvas.paste(img, (pad_w, pad_h))
        img = canvas
    return img.resize(size, resample, box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a 3D NumPy array, as `keras.utils.img_to_array`.

    Args:
        img: A PIL image.
        data_format: "channels_last" (height, width, channels) or "channels_first".
            Defaults to None (channels_last).
        dtype: Defaults to None (float32).

    Returns:
        A 3D array.

    Raises:
        ValueError: for an image of another rank or a bad `data_format`.
    """
    last = _channels_last(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"Expected an image (2D, or 3D with channels). Received: shape={x.shape}")
    return x if last else x.transpose(2, 0, 1)


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3D array as a PIL image, as `keras.utils.array_to_img`.

    Args:
        x: A 3D array with 1 (grayscale), 3 (RGB) or 4 (RGBA) channels.
        data_format: "channels_last" or "channels_first". Defaults to None (channels_last).
        scale: Whether to rescale the values to [0, 255]. Defaults to True.
        dtype: Defaults to None (float32).

    Returns:
        A PIL image.

    Raises:
        ImportError: without Pillow.
        ValueError: for an array of another rank or channel count.
    """
    image = _pil()
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"Expected an image array of rank 3 (one image). Received: shape={x.shape}")
    if not _channels_last(data_format):
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"Expected 1, 3 or 4 channels. Received: shape={x.shape}")
    if channels == 1 and np.max(x) > 255:  # 32-bit grayscale, as Keras
        return image.fromarray(x[:, :, 0].astype("int32"), "I")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    x = x.astype("uint8")
    return image.fromarray(x[:, :, 0] if channels == 1 else x, mode)


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves a 3D array as an image file, as `keras.utils.save_img`.

    Args:
        path: A path or file object.
        x: A 3D array.
        data_format: "channels_last" or "channels_first". Defaults to None (channels_last).
        file_format: Optional format ("png", "jpeg"...). Defaults to None: from the suffix.
        scale: Whether to rescale the values to [0, 255]. Defaults to True.
        **kwargs: Passed to `PIL.Image.save`.
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpeg" or str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")  # JPEG has no alpha channel (Keras warns and does the same)
    img.save(path, format=file_format, **kwargs)
