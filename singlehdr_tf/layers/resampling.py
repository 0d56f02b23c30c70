"""Resampling written with ``keras.ops`` that converts to TFLite builtins for dynamic ``H, W``:
reflect padding (by a width or to a multiple), x2 upsampling (nearest, bilinear), area downscaling
and cutting a grid of windows at native resolution.

``keras.ops.pad(mode="reflect")`` needs pads smaller than the image and ``keras.ops.image.resize``
needs a static size, so both are done here with gathers, concatenate-and-reshape and matrix products.
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
    """Samples ``even[0], odd[0], even[1], ...`` along spatial ``axis`` (1 or 2 of ``[B, H, W, C]``).

    Concatenated along the next axis, each odd sample lies right after its even one in memory, so
    a reshape interleaves them. Rank 4 throughout: stacking on a new axis becomes TFLite's PACK,
    which XNNPACK does not run (each one split the delegated graph), and ``keras.ops.repeat``
    loses the channel count, which TFLite convolutions need; static dimensions stay static."""
    shape = list(ops.shape(even))
    shape[axis] = shape[axis] * 2
    return ops.reshape(ops.concatenate([even, odd], axis=axis + 1), shape)


def _upsample_axis(images, axis: int, interpolation: str):
    """x2 along one spatial axis. Bilinear uses half-pixel centres and edge clamping (the result of
    ``tf.image.resize(..., "bilinear")``): each sample becomes ``0.75 * self + 0.25 * neighbour``."""
    if interpolation == "nearest":
        return _interleave(images, images, axis)
    # Neighbours by slicing and concatenation, not gathers: static slices stay cheap copies in
    # TensorFlow and XNNPACK runs them in TFLite (a gather leaves its delegate).
    def part(start, stop):
        index = [slice(None)] * len(images.shape)
        index[axis] = slice(start, stop)
        return images[tuple(index)]

    previous = ops.concatenate([part(0, 1), part(0, -1)], axis=axis)
    following = ops.concatenate([part(1, None), part(-1, None)], axis=axis)
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


def _window_starts(size, grid: int, window: int):
    """``[grid * window]`` source indices along one axis: ``grid`` runs of ``window`` samples spread
    from the first sample to the last, repeating the last sample where the axis is shorter."""
    spare = ops.cast(ops.maximum(size - window, 0), "float32")
    fractions = ops.arange(grid, dtype="float32") / (grid - 1) if grid > 1 else ops.full((1,), 0.5)
    starts = ops.cast(ops.floor(fractions * spare), "int32")
    index = ops.reshape(starts[:, None] + ops.arange(window, dtype="int32")[None, :], (grid * window,))
    return ops.minimum(index, size - 1)


def native_windows(images, grid: int, window: int):
    """``grid`` x ``grid`` windows of ``window`` x ``window`` pixels cut at native resolution,
    spread evenly over the image, corners included: ``[B, H, W, C] -> [grid * grid * B, window,
    window, C]``, window-major (window ``(i, j)`` of every image, then the next). An image
    smaller than a window repeats its last row or column."""
    shape = ops.shape(images)
    rows = ops.take(images, _window_starts(shape[1], grid, window), axis=1)
    cut = ops.take(rows, _window_starts(shape[2], grid, window), axis=2)  # [B, g * w, g * w, C]
    channels = images.shape[-1]
    cut = ops.reshape(cut, (-1, grid, window, grid, window, channels))
    return ops.reshape(ops.transpose(cut, (1, 3, 0, 2, 4, 5)), (-1, window, window, channels))
