"""Resampling written with ``keras.ops`` that converts to TFLite builtins for dynamic ``H, W``:
reflect padding (by a width or to a multiple), x2 upsampling (nearest, bilinear), area downscaling
and cutting a grid of windows at native resolution.

``keras.ops.pad(mode="reflect")`` needs pads smaller than the image and ``keras.ops.image.resize``
needs a static size, so both are done here with gathers, depth-to-space and matrix products.
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


def _slice(images, axis: int, start, stop):
    index = [slice(None)] * 4
    index[axis] = slice(start, stop)
    return images[tuple(index)]


def reflect_pad(images, width: int):
    """Reflect-pad ``[B, H, W, C]`` by ``width`` on every side: ``[B, H + 2w, W + 2w, C]``.

    Where the axis is known to hold more than ``width`` samples, the mirrored samples are cut by
    slices and concatenated (ops XNNPACK runs in TFLite); otherwise read by a gather that also
    works for any padding of any size."""
    for axis in (1, 2):
        size = images.shape[axis]
        if size is not None and size > width:
            before = [_slice(images, axis, index, index + 1) for index in range(width, 0, -1)]
            after = [_slice(images, axis, size - 1 - index, size - index) for index in range(1, width + 1)]
            images = ops.concatenate([*before, images, *after], axis=axis)
        else:
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


def _neighbours(images, axis: int):
    """The previous and the next sample along spatial ``axis`` (1 or 2 of ``[B, H, W, C]``), the
    edge sample standing in for its missing neighbour. Slicing and concatenation, not gathers:
    static slices stay cheap copies in TensorFlow and XNNPACK runs them in TFLite."""
    return (ops.concatenate([_slice(images, axis, 0, 1), _slice(images, axis, 0, -1)], axis=axis),
            ops.concatenate([_slice(images, axis, 1, None), _slice(images, axis, -1, None)], axis=axis))


def upsample2x(images, interpolation: str = "nearest"):
    """``[B, H, W, C] -> [B, 2H, 2W, C]`` by ``"nearest"`` or ``"bilinear"`` interpolation.

    The four output phases (even/odd row x even/odd column) are computed at the input size,
    concatenated along channels and interleaved by ``depth_to_space``: TFLite's DEPTH_TO_SPACE,
    which XNNPACK runs and whose output shape follows from its input, so no shape arithmetic
    (SHAPE, PACK, RESHAPE, each splitting the delegated graph) is needed for a dynamic size.
    Bilinear uses half-pixel centres and edge clamping (the result of ``tf.image.resize(...,
    "bilinear")``): each sample becomes ``0.75 * self + 0.25 * neighbour`` along each axis.
    """
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', not {interpolation!r}")
    if interpolation == "nearest":
        phases = [images] * 4
    else:
        above, below = _neighbours(images, 1)
        rows = [0.75 * images + 0.25 * above, 0.75 * images + 0.25 * below]
        phases = []
        for row in rows:
            left, right = _neighbours(row, 2)
            phases += [0.75 * row + 0.25 * left, 0.75 * row + 0.25 * right]
    # depth_to_space reads channel block (2 i + j) into output pixel (2 h + i, 2 w + j).
    return ops.depth_to_space(ops.concatenate(phases, axis=-1), 2)


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
    # Rank 4 like the planes, so the products are batched matrix products (TFLite BATCH_MATMUL),
    # not tensordots with their reshapes of dynamic shape.
    rows = _area_matrix(shape[1], size)[None, None]  # [1, 1, size, H]
    columns = ops.transpose(_area_matrix(shape[2], size))[None, None]  # [1, 1, W, size]
    planes = ops.transpose(ops.cast(images, "float32"), (0, 3, 1, 2))  # [B, C, H, W]
    planes = ops.matmul(ops.matmul(rows, planes), columns)  # [B, C, size, size]
    # The reshape restores the static size, which the products lose for a dynamic input: what
    # follows (histogram, convolutions) then converts to TFLite without shape arithmetic.
    return ops.reshape(ops.transpose(planes, (0, 2, 3, 1)), (-1, size, size, images.shape[-1]))


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
