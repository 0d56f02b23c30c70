"""The settings of the HDR-SYNTH training-pair pipeline, one dataclass, loadable from YAML."""

from __future__ import annotations

import dataclasses
from typing import Any

from singlehdr_tf.errors import SingleHDRError

Range = tuple[float, float]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """How :func:`singlehdr_tf.data.make_dataset` turns HDR images into training pairs.

    Defaults switch on every augmentation that helps the networks generalise beyond the
    training scenes (see the "Training data" section of the README). A range ``(a, a)`` turns
    the corresponding random draw into a constant; ``(1, 1)`` turns a gain or power off.

    Example:
        >>> config = DataConfig.from_dict({"crop_size": 128, "jpeg": True})
        >>> config.to_dict()["crop_size"]
        128
    """

    crop_size: int = 256
    """Side ``S`` of the square crops, in pixels."""
    max_side: int = 1024
    """Images with a longer side are downscaled (area filter) once, when loaded."""
    scale_range: Range = (0.5, 2.0)
    """Flat crops: source pixels per output pixel, drawn log-uniformly (random rescale)."""
    flip: bool = True
    """Random horizontal flips."""
    rotate90: bool = True
    """Random rotations by multiples of 90 degrees."""
    perspective_fraction: float = 0.8
    """Share of panorama (2:1 equirectangular) samples cut as pinhole views; the rest are flat
    crops of the panorama's middle band. 0 turns perspective views off."""
    fov_range: Range = (50.0, 100.0)
    """Horizontal field of view of perspective views, degrees."""
    max_pitch: float = 35.0
    """Perspective views look at most this many degrees above or below the horizon."""
    panorama_band: float = 0.6
    """Flat crops of panoramas stay in this middle fraction of the height (poles are stretched)."""
    exposure_percentile_range: Range = (50.0, 99.9)
    """The exposure maps a random percentile (in this range) of the crop's luminance ..."""
    exposure_value_range: Range = (0.1, 1.5)
    """... to a random value in this range (log-uniform); the clipping level is 1. With the
    defaults, on the training folder, the median crop has about 6% of its pixels clipped, about
    30% of crops are nearly unclipped (< 1%) and close to 20% are heavily clipped (> 30%); the
    median 8-bit value is about 0.45, as in typical photos (``tools/bench_data.py`` measures it)."""
    white_balance_range: Range = (0.8, 1.25)
    """Per-channel gains, drawn log-uniformly."""
    power_range: Range = (1.0, 1.0)
    """Random power ``p`` on the normalised linear image ``H ** p``, log-uniform. Off by default:
    a scene ``H ** p`` under curve ``F`` gives the same photo as ``H`` under ``F(x ** p)``, so with
    it on the true curve of a training photo is ambiguous by construction."""
    modern_curve_fraction: float = 0.6
    """Share of training samples using a modern camera encoding
    (:func:`singlehdr_tf.modern_curves.sample_modern_curves`) instead of a DoRF training-split curve."""
    modern_curves: int = 2000
    """Modern curves drawn (from the dataset's seed) when a dataset is built."""
    held_out_dorf_curves: int = 0
    """Unique DoRF training-split curves left out of training (:func:`singlehdr_tf.crf.dorf_holdout`):
    the curve set ``"held_out"`` of :func:`~singlehdr_tf.data.make_dataset` renders them, so the
    release choices are measured on real camera curves the run never saw, as the test curves are."""
    procedural_scenes: int = 0
    """Procedural dead-leaves scenes (:mod:`singlehdr_tf.data.procedural`, from the dataset's seed)
    added to the training images, so the curve estimator cannot learn the few real scenes by heart.
    Evaluation on held-out scenes leaves them out."""
    curves_per_crop: int = 1
    """Consecutive elements render the same crop (same geometry and exposure) through this many
    curves, so that within a batch the content cannot predict the curve."""
    sensor_noise: bool = True
    """Heteroscedastic sensor noise on the exposed linear image, before clipping and the curve
    (where a sensor adds it): variance ``a x + b**2``, ``a``, ``b`` per image from the ranges below;
    at most about 3 % of the signal at mid-grey (0.18)."""
    shot_noise_range: Range = (0.0, 1.5e-4)
    read_noise_range: Range = (0.0, 1.0e-3)
    jpeg: bool = True
    """Re-encode the 8-bit input as JPEG (most photos are JPEGs)."""
    jpeg_quality_range: tuple[int, int] = (70, 100)

    def __post_init__(self) -> None:
        def fail(name: str, reason: str) -> None:
            raise SingleHDRError(f"data config: {name} = {getattr(self, name)!r} {reason}")

        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if "Range" in str(field.type) or "tuple" in str(field.type):
                if not (isinstance(value, tuple) and len(value) == 2 and value[0] <= value[1]):
                    fail(field.name, "must be a pair (low, high) with low <= high")
        if self.crop_size < 8:
            fail("crop_size", "must be at least 8")
        if self.modern_curves < 1:
            fail("modern_curves", "must be at least 1")
        if self.procedural_scenes < 0:
            fail("procedural_scenes", "must be at least 0")
        if not 0 <= self.held_out_dorf_curves <= 100:
            fail("held_out_dorf_curves", "must be between 0 and 100 (of the 180 unique training curves)")
        if self.curves_per_crop < 1:
            fail("curves_per_crop", "must be at least 1")
        if self.max_side < self.crop_size:
            fail("max_side", "must be at least crop_size")
        for name in ("perspective_fraction", "modern_curve_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                fail(name, "must be in [0, 1]")
        if not 0.0 < self.panorama_band <= 1.0:
            fail("panorama_band", "must be in (0, 1]")
        if not 0.0 <= self.max_pitch < 90.0:
            fail("max_pitch", "must be in [0, 90)")
        if not (0.0 < self.fov_range[0] and self.fov_range[1] < 180.0):
            fail("fov_range", "must lie in (0, 180) degrees")
        if not (0.0 <= self.exposure_percentile_range[0] and self.exposure_percentile_range[1] <= 100.0):
            fail("exposure_percentile_range", "must lie in [0, 100]")
        for name in ("scale_range", "exposure_value_range", "white_balance_range", "power_range"):
            if getattr(self, name)[0] <= 0.0:
                fail(name, "must be positive")
        if not (1 <= self.jpeg_quality_range[0] and self.jpeg_quality_range[1] <= 100):
            fail("jpeg_quality_range", "must lie in [1, 100]")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DataConfig":
        """Build from a plain dict (e.g. a YAML section); unknown keys or wrong types raise
        :class:`~singlehdr_tf.SingleHDRError` naming the key."""
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise SingleHDRError(f"data config: unknown keys {unknown}; known keys: {sorted(fields)}")
        defaults = cls()
        converted = {}
        for name, value in values.items():
            default = getattr(defaults, name)
            converted[name] = _convert(name, value, default)
        return cls(**converted)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (pairs as lists), the inverse of :meth:`from_dict`."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in dataclasses.asdict(self).items()
        }


def _convert(name: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of ``default`` (bool, int, float or a pair of those)."""
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise SingleHDRError(f"data config: {name} must be a pair [low, high], got {value!r}")
        return tuple(_convert(name, item, default[0]) for item in value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SingleHDRError(f"data config: {name} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SingleHDRError(f"data config: {name} must be an integer, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SingleHDRError(f"data config: {name} must be a number, got {value!r}")
    return float(value)
