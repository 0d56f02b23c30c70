"""Colour-managed input: photos in Display P3, Adobe RGB or any ICC-tagged space become sRGB.

The networks work in sRGB / Rec. 709 primaries (the space of their training data and of every HDR
output, :data:`SRGB_CHROMATICITIES`), so :func:`singlehdr_tf.io.read_ldr` converts each photo to
sRGB with the rules browsers apply:

* an embedded ICC profile (JPEG, PNG, TIFF, WebP) is honoured;
* without one, the EXIF ColorSpace tag: 1 is sRGB; 0xFFFF ("uncalibrated") with the
  InteroperabilityIndex "R03" is Adobe RGB (1998) (the DCF rule cameras follow);
* an untagged photo is sRGB.

Conversions go through LittleCMS by way of Pillow's ImageCms: LittleCMS is maintained, ships inside
Pillow (no extra dependency) and reads every ICC profile version, matrix/TRC and LUT-based alike.
The intent is relative colorimetric: colours inside sRGB keep their values, colours outside are
clipped to its gamut (the working space cannot hold them). A profile LittleCMS cannot parse, or one
for another colour model than the image's, raises :class:`SingleHDRError` naming the file.

Pillow's bindings transform 8-bit pixels only, so a 16-bit photo is converted as the trilinear
blend of the transformed 8-bit codes around each pixel (8-bit accuracy, no banding). A profile whose
transform to sRGB is the identity (an sRGB profile under any name) leaves the pixels untouched.
"""

from __future__ import annotations

import dataclasses
import functools
import io as bytes_io
import itertools
import os
import pathlib

import numpy as np
from PIL import ExifTags, Image, ImageCms

from singlehdr_tf.errors import SingleHDRError

ICC_DIR = pathlib.Path(__file__).resolve().parent / "resources" / "icc"
"""ICC profiles generated from the published colorimetry by ``tools/make_icc_profiles.py``."""

ADOBE_RGB_PROFILE = ICC_DIR / "a98-rgb.icc"
DISPLAY_P3_PROFILE = ICC_DIR / "display-p3.icc"

SRGB_CHROMATICITIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)
"""x, y of the red, green and blue primaries and the white point (D65) of sRGB / Rec. 709, in the
order of OpenEXR's ``chromaticities`` attribute: the primaries of every image the package writes."""

_EXIF_SRGB, _EXIF_UNCALIBRATED = 1, 0xFFFF
_GRID = np.arange(0, 256, 5)  # 52 codes per axis on which a transform is checked for the identity
_PROFILE_MODES = {"RGB": "RGB", "GRAY": "L"}  # ICC colour space -> Pillow mode the transform reads
_GREY_MODES = {"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}


@dataclasses.dataclass(frozen=True)
class InputColour:
    """How a photo's pixels were encoded, and how :func:`to_srgb` turns them into sRGB.

    ``description`` names the space (an ICC profile's description, ``"Adobe RGB (1998)"`` from
    EXIF, or ``"sRGB"``); ``source`` says where it came from: ``"icc"``, ``"exif"`` or
    ``"untagged"``; ``converted`` is False when the pixels are sRGB already.
    """

    description: str
    source: str
    converted: bool
    transform: ImageCms.ImageCmsTransform | None = dataclasses.field(default=None, repr=False, compare=False)
    mode: str = "RGB"


SRGB = InputColour("sRGB", "untagged", False)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1): linear light in [0, 1] -> encoded values."""
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1.0 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """The inverse of :func:`srgb_encode`: encoded values in [0, 1] -> linear light."""
    return np.where(encoded <= 0.04045, encoded / 12.92, np.power((encoded + 0.055) / 1.055, 2.4))


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def srgb_icc_profile() -> bytes:
    """LittleCMS's built-in sRGB profile as ICC bytes, to embed in written photos. Serialised once
    per process: LittleCMS stamps the current time into the header each time, so every photo a
    process writes embeds the same bytes."""
    return _srgb_profile().tobytes()


def _fail(path: str | os.PathLike, reason: str) -> SingleHDRError:
    return SingleHDRError(f"{os.fspath(path)}: {reason}")


def _image_colour_space(image: Image.Image) -> str:
    return "GRAY" if image.mode in _GREY_MODES else "CMYK" if image.mode == "CMYK" else "RGB"


def _is_identity(transform: ImageCms.ImageCmsTransform, mode: str) -> bool:
    """Whether ``transform`` maps every node of ``_GRID`` (every grey code for ``"L"``) to itself
    within one code: the profile is sRGB under another name."""
    if mode == "L":
        nodes = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=-1)
        source = Image.fromarray(nodes[..., 0])
    else:
        nodes = np.stack(np.meshgrid(_GRID, _GRID, _GRID, indexing="ij"), axis=-1).astype(np.uint8).reshape(1, -1, 3)
        source = Image.fromarray(nodes)
    converted = np.asarray(ImageCms.applyTransform(source, transform))
    return int(np.abs(converted.astype(np.int16) - nodes).max()) <= 1


def _from_profile(path: str | os.PathLike, image: Image.Image, data: bytes | None, source: str,
                  description: str | None = None) -> InputColour:
    """Parse ICC ``data`` (or the Adobe RGB profile for ``None``) and build its transform to sRGB."""
    try:
        profile = ImageCms.ImageCmsProfile(bytes_io.BytesIO(data) if data is not None else str(ADOBE_RGB_PROFILE))
        space = profile.profile.xcolor_space.strip()
    except (OSError, ImageCms.PyCMSError, ValueError) as error:
        raise _fail(path, f"the embedded ICC profile cannot be parsed ({error})") from None
    if space != _image_colour_space(image):
        raise _fail(path, f"the embedded ICC profile is for {space} data but the image is "
                          f"{_image_colour_space(image)}")
    if space not in _PROFILE_MODES:
        raise _fail(path, f"ICC profiles for {space} images are not supported (expected RGB or GRAY)")
    mode = _PROFILE_MODES[space]
    description = description or profile.profile.profile_description.strip() or "unnamed ICC profile"
    try:
        transform = ImageCms.buildTransform(profile, _srgb_profile(), mode, "RGB",
                                            ImageCms.Intent.RELATIVE_COLORIMETRIC)
        identity = _is_identity(transform, mode)
    except (OSError, ImageCms.PyCMSError, ValueError) as error:
        raise _fail(path, f"the embedded ICC profile {description!r} is unusable ({error})") from None
    if identity:
        return InputColour(description, source, False)
    return InputColour(description, source, True, transform, mode)


def input_colour(path: str | os.PathLike, image: Image.Image) -> InputColour:
    """The colour space of the opened photo ``image`` read from ``path`` (see the module doc).

    Raises:
        SingleHDRError: an ICC profile that cannot be parsed or used, or that does not fit the image.
    """
    icc = image.info.get("icc_profile")
    if icc:
        return _from_profile(path, image, icc, "icc")
    exif = image.getexif().get_ifd(ExifTags.IFD.Exif)
    colour_space = exif.get(ExifTags.Base.ColorSpace)
    interop = image.getexif().get_ifd(ExifTags.IFD.Interop) if ExifTags.IFD.Interop in exif else {}
    if colour_space == _EXIF_UNCALIBRATED and interop.get(ExifTags.Interop.InteropIndex) == "R03":
        return _from_profile(path, image, None, "exif", "Adobe RGB (1998)")
    if colour_space == _EXIF_SRGB:
        return InputColour("sRGB", "exif", False)
    return SRGB


def _convert_16bit(pixels: np.ndarray, colour: InputColour, rows: int = 256) -> np.ndarray:
    """``[H, W, 3]`` uint16 through the 8-bit transform: each pixel is the trilinear blend of the
    transformed 8-bit codes around it (one code apart, so the blend is smooth), ``rows`` at a time."""
    channels = 1 if colour.mode == "L" else 3
    out = np.empty(pixels.shape, np.uint16)
    for top in range(0, pixels.shape[0], rows):
        position = pixels[top : top + rows, :, :channels].astype(np.float32) / np.float32(257.0)  # 8-bit code units
        low = np.minimum(position.astype(np.uint8), 254)
        fraction = position - low
        total = np.zeros(position.shape[:2] + (3,), np.float32)
        for corner in itertools.product((0, 1), repeat=channels):
            weight = np.prod([fraction[..., axis] if step else 1.0 - fraction[..., axis]
                              for axis, step in enumerate(corner)], axis=0)
            codes = low + np.array(corner, np.uint8)
            source = Image.fromarray(codes[..., 0] if channels == 1 else codes)
            total += weight[..., None] * np.asarray(ImageCms.applyTransform(source, colour.transform), np.float32)
        out[top : top + rows] = np.round(total * np.float32(257.0))
    return out


def to_srgb(pixels: np.ndarray, colour: InputColour) -> np.ndarray:
    """``[H, W, 3]`` uint8 or uint16 pixels (grey repeated in 3 channels) encoded in ``colour``, as
    sRGB of the same dtype (unchanged when ``colour.converted`` is False)."""
    if not colour.converted:
        return pixels
    if pixels.dtype == np.uint16:
        return _convert_16bit(pixels, colour)
    source = Image.fromarray(pixels[..., 0] if colour.mode == "L" else pixels)
    return np.asarray(ImageCms.applyTransform(source, colour.transform))
