"""Resampling written with ``keras.ops`` that converts to TFLite builtins for dynamic ``H, W``:
reflect padding (by a width or to a multiple), x2 upsampling (nearest, bilinear) and area downscaling.

``keras.ops.pad(mode="reflect")`` needs pads smaller than the image and ``keras.ops.image.resize``
needs a static size, so both are done here with gathers, stack-and-reshape and matrix products.
"""

from __future__ import annotations

from keras import ops


def _reflect_take(images, axis: int, before, padded_size):
    """Read ``padded_size`` samples along ``axis`` starting ``before`` samples ahead of the first,
    mirroring at the borders (without repeating the edge) and periodically, so any amount of padding
    works, even for a size of 1."""
    last = ops.shape(images)[axis] - 1
    period = ops.maximum(2 * last, 1)
    index = ops.mod(ops.arange(padded_size) - before, period)
    return ops.take(images, last - ops.abs(index - last), axis=axis)


def reflect_pad(images, width: int):
    """Reflect-pad ``[B, H, W, C]`` by ``width`` on every side: ``[B, H + 2w, W + 2w, C]``."""
    for axis in (1, 2):
        images = _reflect_take(images, axis, width, ops.shape(images)[axis] + 2 * width)
    return images


def reflect_pad_to_multiple(images, multiple: int):
    """Reflect-pad ``[B, H, W, C]`` at the bottom and right to ``[B, H', W', C]`` with ``H'`` and
    ``W'`` the next multiples of ``multiple``. Crop back with ``padded[:, :H, :W]``."""
    if multiple == 1:
        return images
    for axis in (1, 2):
        size = ops.shape(images)[axis]
        images = _reflect_take(images, axis, 0, (size + multiple - 1) // multiple * multiple)
    return images


def _interleave(even, odd, axis: int):
    """Samples ``even[0], odd[0], even[1], ...`` along ``axis``; static dimensions stay static
    (``keras.ops.repeat`` loses the channel count, which TFLite convolutions need)."""
    shape = list(ops.shape(even))
    shape[axis] = shape[axis] * 2
    return ops.reshape(ops.stack([even, odd], axis=axis + 1), shape)


def _upsample_axis(images, axis: int, interpolation: str):
    """x2 along one spatial axis. Bilinear uses half-pixel centres and edge clamping (the result of
    ``tf.image.resize(..., "bilinear")``): each sample becomes ``0.75 * self + 0.25 * neighbour``."""
    if interpolation == "nearest":
        return _interleave(images, images, axis)
    size = ops.shape(images)[axis]
    previous = ops.take(images, ops.maximum(ops.arange(size) - 1, 0), axis=axis)
    following = ops.take(images, ops.minimum(ops.arange(size) + 1, size - 1), axis=axis)
    return _interleave(0.75 * images + 0.25 * previous, 0.75 * images + 0.25 * following, axis)


def upsample2x(images, interpolation: str = "nearest"):
    """``[B, H, W, C] -> [B, 2H, 2W, C]`` by ``"nearest"`` or ``"bilinear"`` interpolation."""
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', not {interpolation!r}")
    return _upsample_axis(_upsample_axis(images, 1, interpolation), 2, interpolation)


def _area_matrix(size, target: int):
    """``[target, size]`` box-filter weights: the overlap of source pixel ``j`` with the span of
    target pixel ``i``, divided by the span (rows sum to 1; works for up- and downscaling)."""
    scale = ops.cast(size, "float32") / target
    start = ops.cast(ops.arange(target), "float32")[:, None] * scale
    source = ops.cast(ops.arange(size), "float32")[None, :]
    overlap = ops.minimum(source + 1.0, start + scale) - ops.maximum(source, start)
    return ops.relu(overlap) / scale


def area_resize(images, size: int):
    """Resize ``[B, H, W, C]`` to ``[B, size, size, C]`` by area averaging (antialiased), as two
    matrix products, so it converts to TFLite builtins for any ``H, W``."""
    shape = ops.shape(images)
    rows = _area_matrix(shape[1], size)  # [size, H]
    columns = _area_matrix(shape[2], size)  # [size, W]
    planes = ops.transpose(ops.cast(images, "float32"), (0, 3, 1, 2))  # [B, C, H, W]
    planes = ops.matmul(ops.matmul(rows, planes), ops.transpose(columns))  # [B, C, size, size]
    return ops.transpose(planes, (0, 2, 3, 1))
