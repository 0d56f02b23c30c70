"""Procedural linear HDR scenes ("dead leaves"), added to the training scenes for content diversity.

The camera-curve estimator has only ~45 real training scenes and learns them by heart (its curve
error on held-out scenes rises while the training loss falls). A dead-leaves image, overlapping
disks with power-law radii (Lee, Mumford and Huang, "Occlusion models for natural images", IJCV
2001), has the scale-invariant edge and size statistics of natural images and unlimited variety,
so on it the only way to tell the curve is what the curve does to the image: the shape of
blurred edges between two flat colours (blends are linear in radiance, bent by the curve; Lin
et al., "Radiometric calibration from a single image", CVPR 2004), gradients of smooth shading and
the spread of the histogram. The scenes span about 14 stops, carry smooth illumination falloff,
fine texture, a few small very bright lights (clipped highlights) and an optical blur.

Written here in NumPy (no maintained library generates radiance-valued dead-leaves scenes; the
generators in image-quality tools make 8-bit test charts), seeded, so a run's scenes are the
same on every machine.
"""

from __future__ import annotations

import numpy as np

SCENE_SHAPE = (512, 640)
"""``(height, width)`` of a procedural scene; not 2:1, so the pipeline treats it as a flat photo."""


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``[H, W, C]`` with standard deviation ``sigma`` pixels (FFT, wrap-around)."""
    height, width = image.shape[:2]
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fy**2 + fx**2))[..., None]
    return np.fft.irfft2(np.fft.rfft2(image, axes=(0, 1)) * transfer, s=(height, width), axes=(0, 1))


def dead_leaves_scene(rng: np.random.Generator, shape: tuple[int, int] = SCENE_SHAPE) -> np.ndarray:
    """One linear HDR scene ``[H, W, 3]`` float32 (relative radiance, median about 0.2)."""
    height, width = shape
    rows, columns = np.arange(height)[:, None], np.arange(width)[None, :]
    # Disk colours: log-uniform luminance over 12 stops, chroma scattered around grey.
    image = np.empty((height, width, 3), np.float32)
    image[:] = 2.0 ** rng.uniform(-8, 1) * np.exp(rng.normal(0, 0.3, 3))
    r_min, r_max = 3.0, min(shape) / 2
    disks = int(rng.integers(2000, 5000) * height * width / (SCENE_SHAPE[0] * SCENE_SHAPE[1]))  # most of the frame
    # Power-law radii p(r) ~ r^-3 (inverse-CDF sampling), drawn back to front.
    u = rng.uniform(size=disks)
    radii = 1.0 / np.sqrt(u / r_max**2 + (1 - u) / r_min**2)
    for radius in np.sort(radii)[::-1]:
        cy, cx = rng.uniform(-radius, height + radius), rng.uniform(-radius, width + radius)
        top, bottom = max(0, int(cy - radius)), min(height, int(cy + radius) + 1)
        left, right = max(0, int(cx - radius)), min(width, int(cx + radius) + 1)
        if top >= bottom or left >= right:
            continue
        inside = (rows[top:bottom] - cy) ** 2 + (columns[:, left:right] - cx) ** 2 <= radius**2
        colour = 2.0 ** rng.uniform(-10, 2) * np.exp(rng.normal(0, 0.35, 3))
        image[top:bottom, left:right][inside] = colour
    # Fine multiplicative texture and smooth illumination falloff over about 3 stops.
    texture = 1.0 + rng.uniform(0.0, 0.3) * _blur(rng.normal(size=(height, width, 1)), rng.uniform(0.7, 2.5))
    falloff = _blur(rng.normal(size=(height, width, 1)), rng.uniform(40, 120) * min(shape) / SCENE_SHAPE[0])
    falloff *= 3.0 / max(np.ptp(falloff), 1e-3)
    image = image * np.clip(texture, 0.2, None) * 2.0**falloff
    # A few small lights far above the rest: clipped highlights with halos from the blur.
    for _ in range(int(rng.integers(0, 6))):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(2, 12)
        inside = (rows - cy) ** 2 + (columns - cx) ** 2 <= radius**2
        image[inside] = 2.0 ** rng.uniform(4, 10) * np.exp(rng.normal(0, 0.2, 3))
    image = np.maximum(_blur(image, rng.uniform(0.4, 1.5)), 0.0)
    return (image / np.median(image) * 0.2).astype(np.float32)


def dead_leaves_scenes(count: int, seed: int, max_side: int = max(SCENE_SHAPE)) -> list[np.ndarray]:
    """``count`` scenes from ``seed`` (the same seed gives the same scenes), of
    :data:`SCENE_SHAPE` shrunk so that the longer side is at most ``max_side``."""
    factor = min(1.0, max_side / max(SCENE_SHAPE))
    shape = (max(8, round(SCENE_SHAPE[0] * factor)), max(8, round(SCENE_SHAPE[1] * factor)))
    rng = np.random.default_rng([seed, 0x5CE7E])
    return [dead_leaves_scene(rng, shape) for _ in range(count)]
