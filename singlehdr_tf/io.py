"""Reading and writing images: 8/16-bit photos (LDR), linear HDR files, tone-mapped previews.

* LDR photos (JPEG, PNG, TIFF, WebP) are read with Pillow: grey and palette images become RGB,
  alpha is dropped, the EXIF orientation is applied, 8-bit files give ``uint8`` and 16-bit files
  ``uint16`` (16-bit colour, which Pillow would cut to 8 bits, is decoded with OpenImageIO), and
  a photo tagged with an ICC profile or an EXIF colour space is converted to sRGB
  (:mod:`singlehdr_tf.color`).
* HDR files (Radiance ``.hdr``, OpenEXR ``.exr`` half or float, float TIFF) go through OpenImageIO.
* Every write is atomic (:func:`atomic_write`): a crash never leaves a partial file under the
  final name.
* Every failure of a file raises :class:`SingleHDRError` ``"<path>: <reason>"``.

This module imports nothing from the package that imports TensorFlow, so tools can read images
without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import warnings
from collections.abc import Iterator

import numpy as np
import OpenImageIO as oiio
from PIL import ExifTags, Image, ImageDraw

from singlehdr_tf import color, metrics
from singlehdr_tf.errors import SingleHDRError

PathLike = str | os.PathLike

MAX_PIXELS = 1 << 27
"""Largest image (width x height, about 134 megapixels) any reader decodes. Checked against the
file header before decoding, so a small file announcing a huge image (a decompression bomb) is
refused without allocating memory. Below Pillow's own hard limit, so this is the one that applies."""

LDR_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp")
HDR_EXTENSIONS = (".hdr", ".exr", ".tif", ".tiff")
_LDR_FORMATS = {"JPEG", "MPO", "PNG", "TIFF", "WEBP"}  # Pillow's names; MPO is a multi-picture JPEG
_LDR_WRITERS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
_FLOAT_FORMATS = {"half", "float", "double"}

PREVIEW_KEY = 0.18
"""Middle grey that :func:`tonemap` maps the log-average luminance to (Reinhard et al. 2002)."""
PREVIEW_WHITE_PERCENTILE = 99.5
"""Luminance percentile that :func:`tonemap` maps to white (it is never set below 1)."""
EXPOSURE_STOPS = (-4.0, -2.0, 0.0)
"""Exposures (stops relative to the photo's white) at which :func:`exposure_strip` shows the HDR."""
EXPOSURE_GAP = 4
"""Black pixels between the frames of :func:`exposure_strip`."""
EXPOSURE_LABEL_HEIGHT = 14
"""Height of the band above the frames of :func:`exposure_strip` that holds their labels."""


def _fail(path: PathLike, reason: str) -> SingleHDRError:
    reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
    return SingleHDRError(f"{os.fspath(path)}: {reason}")


def _check_readable(path: PathLike, extensions: tuple[str, ...], kind: str) -> pathlib.Path:
    """The path as ``Path`` if it names a non-empty file with one of ``extensions``."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in extensions:
        raise _fail(path, f"unsupported extension {path.suffix!r} for {kind} (expected one of {', '.join(extensions)})")
    if not path.exists():
        raise _fail(path, "file not found")
    if not path.is_file():
        raise _fail(path, "not a regular file")
    if path.stat().st_size == 0:
        raise _fail(path, "empty file")
    return path


def _check_pixels(path: PathLike, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise _fail(path, f"image too large ({width}x{height} pixels, limit MAX_PIXELS={MAX_PIXELS})")


def _as_rgb(pixels: np.ndarray, channel_names: tuple[str, ...]) -> np.ndarray:
    """``[H, W, C]`` -> ``[H, W, 3]``: the R, G, B channels, or the first (grey) one three times."""
    if all(name in channel_names for name in "RGB"):
        return pixels[..., [channel_names.index(name) for name in "RGB"]]
    if pixels.shape[-1] >= 3 and "Y" not in channel_names:
        return pixels[..., :3]
    grey = channel_names.index("Y") if "Y" in channel_names else 0
    return np.repeat(pixels[..., grey : grey + 1], 3, axis=-1)


def _read_oiio(path: pathlib.Path, sample_type: str) -> tuple[np.ndarray, str]:
    """Decode the first subimage as ``[H, W, 3]`` of ``sample_type``; also returns the file's own
    sample format. The pixel count is checked from the header before decoding."""
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)  # keep the stored colour; alpha is dropped, not multiplied in
    image_input = oiio.ImageInput.open(str(path), config)
    if image_input is None:
        raise _fail(path, f"cannot open ({oiio.geterror() or 'unknown format'})")
    try:
        spec = image_input.spec()
        _check_pixels(path, spec.width, spec.height)
        pixels = image_input.read_image(0, 0, 0, spec.nchannels, sample_type)
        if pixels is None:
            raise _fail(path, f"cannot decode ({image_input.geterror() or 'read failed'})")
    finally:
        image_input.close()
    pixels = pixels.reshape(spec.height, spec.width, spec.nchannels)
    return np.ascontiguousarray(_as_rgb(pixels, tuple(spec.channelnames))), str(spec.format)


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply the EXIF orientation tag (1-8) to ``[H, W, C]``, as ``PIL.ImageOps.exif_transpose`` does."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    transform = transforms.get(orientation)
    return pixels if transform is None else np.ascontiguousarray(transform(pixels))


def _is_16bit_colour(image: Image.Image) -> bool:
    """True for 16-bit colour/grey-alpha files, which Pillow decodes to 8 bits (16-bit grey it keeps)."""
    if image.mode.startswith("I") or image.mode == "F":
        return False
    rawmodes = [tile.args if isinstance(tile.args, str) else tile.args[0] for tile in image.tile if tile.args]
    return any(";16" in str(rawmode) for rawmode in rawmodes)


def _pil_to_rgb(path: pathlib.Path, image: Image.Image) -> np.ndarray:
    """Decode a Pillow image to ``[H, W, 3]`` uint8 or (16-bit grey) uint16."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        grey = np.asarray(image).astype(np.uint16)
        return np.repeat(grey[..., None], 3, axis=-1)
    if image.mode in ("I", "F"):
        raise _fail(path, f"unsupported sample format (Pillow mode {image.mode}); HDR files go through read_hdr")
    return np.asarray(image.convert("RGB"))


def read_ldr(path: PathLike) -> np.ndarray:
    """Read a JPEG, PNG, TIFF or WebP photo as sRGB ``[H, W, 3]`` uint8 (8-bit files) or uint16
    (16-bit): :func:`read_photo` without the colour description."""
    return read_photo(path)[0]


def read_photo(path: PathLike) -> tuple[np.ndarray, color.InputColour]:
    """Read a JPEG, PNG, TIFF or WebP photo as ``[H, W, 3]`` uint8 (8-bit files) or uint16 (16-bit)
    in sRGB, and the colour space it was stored in.

    Grey and palette images become RGB, alpha is dropped and the EXIF orientation is applied; an
    embedded ICC profile or EXIF colour space is converted to sRGB (:mod:`singlehdr_tf.color`).
    Raises :class:`SingleHDRError` for a missing, empty, truncated, corrupted, oversized or
    unsupported file, and for an ICC profile that cannot be parsed or does not fit the image.
    """
    path = _check_readable(path, LDR_EXTENSIONS, "an LDR image")
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own soft limit; MAX_PIXELS below is the limit that applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format not in _LDR_FORMATS:
                    raise _fail(path, f"unsupported image format {image.format} (expected JPEG, PNG, TIFF or WebP)")
                _check_pixels(path, image.width, image.height)
                if _is_16bit_colour(image):  # before anything loads the image, which empties image.tile
                    pixels = _read_oiio(path, "uint16")[0]
                else:
                    pixels = _pil_to_rgb(path, image)
                colour = color.input_colour(path, image)
                orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except SingleHDRError:
        raise
    except Image.DecompressionBombError as error:
        raise _fail(path, f"image too large ({error})") from None
    except Image.UnidentifiedImageError:
        raise _fail(path, "cannot decode: not a JPEG, PNG, TIFF or WebP image Pillow can read") from None
    except Exception as error:  # noqa: BLE001 - Pillow raises many types on corrupt data; report them all
        raise _fail(path, f"cannot decode ({type(error).__name__}: {error})") from None
    return _orient(color.to_srgb(pixels, colour), orientation), colour


def to_float(image: np.ndarray) -> np.ndarray:
    """An image as float32 in [0, 1]: uint8 / 255, uint16 / 65535, floats clipped to [0, 1]."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255.0)
    if image.dtype == np.uint16:
        return image.astype(np.float32) / np.float32(65535.0)
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(image, 0.0, 1.0).astype(np.float32)
    raise SingleHDRError(f"to_float: unsupported image dtype {image.dtype} (expected uint8, uint16 or float)")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An image as uint8: :func:`to_float` scaled to 255 and rounded (uint8 comes back unchanged)."""
    return np.floor(to_float(image) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)


def _sanitize(hdr: np.ndarray) -> np.ndarray:
    """float32 copy with negative and non-finite values (NaN, +-inf) set to 0."""
    hdr = np.asarray(hdr, dtype=np.float32)
    return np.where(np.isfinite(hdr) & (hdr > 0), hdr, np.float32(0.0))


def read_hdr(path: PathLike) -> np.ndarray:
    """Read a Radiance ``.hdr``, OpenEXR ``.exr`` or float TIFF as linear ``[H, W, 3]`` float32.

    Grey becomes RGB, alpha and extra channels are dropped, negative and non-finite values become 0.
    Raises :class:`SingleHDRError` for a missing, empty, truncated, corrupted, oversized or
    unsupported file (an integer TIFF is a photo: read it with :func:`read_ldr`).
    """
    path = _check_readable(path, HDR_EXTENSIONS, "an HDR image")
    pixels, sample_format = _read_oiio(path, "float")
    if sample_format not in _FLOAT_FORMATS:
        raise _fail(path, f"{sample_format} samples are not HDR (expected float or half); photos go through read_ldr")
    return _sanitize(pixels)


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path in ``path``'s folder, with the same extension; when the block ends
    without error, rename it to ``path`` (``os.replace``, atomic on POSIX and Windows). On any error
    the temporary file is removed and ``path`` is left as it was."""
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise _fail(path, f"folder {os.fspath(path.parent)!r} does not exist")
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.tmp{path.suffix}")
    try:
        yield temporary
        if not temporary.is_file():
            raise _fail(path, "the writer produced no file")
        os.replace(temporary, path)
    except OSError as error:
        raise _fail(path, f"cannot write ({error.strerror or error})") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_json(path: PathLike, data, indent: int = 1) -> str:
    """Write ``data`` as indented JSON to ``path`` (atomic, see :func:`atomic_write`); returns the text."""
    text = json.dumps(data, indent=indent)
    with atomic_write(path) as temporary:
        temporary.write_text(text + "\n")
    return text


def _check_image(path: PathLike, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or 0 in image.shape:
        raise _fail(path, f"expected an [H, W, 3] image, got shape {image.shape}")
    return image


def write_hdr(path: PathLike, image: np.ndarray, half: bool = False) -> None:
    """Write linear ``[H, W, 3]`` radiance atomically; the format follows the extension: ``.hdr``
    (Radiance RGBE, about 1% precision, no negatives), ``.exr`` (OpenEXR) or ``.tif``/``.tiff``
    (32-bit float TIFF). ``half=True`` stores 16-bit floats (``.exr`` only). An ``.exr`` states its
    primaries, sRGB / Rec. 709 with a D65 white (:data:`singlehdr_tf.color.SRGB_CHROMATICITIES`), in
    its ``chromaticities`` attribute."""
    image = np.ascontiguousarray(_check_image(path, image), dtype=np.float32)
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in HDR_EXTENSIONS:
        raise _fail(path, f"unsupported extension {suffix!r} for HDR (expected one of {', '.join(HDR_EXTENSIONS)})")
    if half and suffix != ".exr":
        raise _fail(path, f"half=True needs .exr (OpenImageIO writes {suffix} as 32-bit float)")
    spec = oiio.ImageSpec(image.shape[1], image.shape[0], 3, "half" if half else "float")
    spec.attribute("tiff:write_exif", 0)  # libtiff reports a spurious error writing an empty EXIF block
    if suffix == ".exr":
        spec.attribute("chromaticities", "float[8]", color.SRGB_CHROMATICITIES)
    with atomic_write(path) as temporary:
        output = oiio.ImageOutput.create(str(temporary))
        if output is None:
            raise _fail(path, f"no writer ({oiio.geterror()})")
        written = output.open(str(temporary), spec) and output.write_image(image)
        output.close()
        error = output.geterror()
        if not written:
            raise _fail(path, f"cannot write ({error or 'write failed'})")


def write_ldr(path: PathLike, image: np.ndarray) -> None:
    """Write a ``[H, W, 3]`` uint8 image atomically as PNG, JPEG (quality 95), TIFF or lossless WebP,
    chosen by the extension."""
    image = _check_image(path, image)
    if image.dtype != np.uint8:
        raise _fail(path, f"expected a uint8 image, got {image.dtype} (tonemap HDR first)")
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in _LDR_WRITERS:
        raise _fail(path, f"unsupported extension {suffix!r} for LDR (expected one of {', '.join(_LDR_WRITERS)})")
    options = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(_LDR_WRITERS[suffix], {})
    with atomic_write(path) as temporary:
        try:
            Image.fromarray(image).save(temporary, format=_LDR_WRITERS[suffix], **options)
        except (OSError, ValueError) as error:
            raise _fail(path, f"cannot write ({error})") from None


def tonemap(hdr: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """A global tone map of linear ``[H, W, 3]`` radiance to an sRGB ``uint8`` preview, deterministic.

    Reinhard et al. 2002 ("Photographic tone reproduction"), global operator: with Rec. 709
    luminance ``Y``, scale the image so the log-average of ``Y`` is ``PREVIEW_KEY`` (0.18), compress
    the scaled luminance with ``L (1 + L / white**2) / (1 + L)``, where ``white`` is the
    ``PREVIEW_WHITE_PERCENTILE`` (99.5th) percentile of ``L`` but at least 1 (so an image without
    bright highlights is only exposed, not compressed); scale RGB by the luminance ratio (hue
    kept), clip to [0, 1], sRGB-encode and round. Negative and non-finite values count as 0.
    With a ``reference`` image, the exposure and ``white`` come from it instead, so several images
    (a ground truth and its reconstructions) are tone-mapped alike.
    """
    hdr = _sanitize(_check_image("tonemap input", hdr)).astype(np.float64)
    luminance = metrics.luminance(hdr)
    if reference is not None:
        reference = _sanitize(_check_image("tonemap reference", reference))
    statistics = luminance if reference is None else metrics.luminance(reference)
    exposure = PREVIEW_KEY / np.exp(np.mean(np.log(statistics + 1e-6)))
    exposed = luminance * exposure
    white = max(float(np.percentile(statistics * exposure, PREVIEW_WHITE_PERCENTILE)), 1.0)
    compressed = exposed * (1.0 + exposed / white**2) / (1.0 + exposed)
    ratio = np.divide(compressed, luminance, out=np.zeros_like(luminance), where=luminance > 0)
    return _display(hdr * ratio[..., None])


def _display(linear: np.ndarray) -> np.ndarray:
    """Linear light as it shows on an sRGB screen: clipped to [0, 1], sRGB-encoded, rounded to uint8."""
    return np.floor(color.srgb_encode(np.clip(linear, 0.0, 1.0)) * 255.0 + 0.5).astype(np.uint8)


def write_preview(path: PathLike, hdr: np.ndarray) -> None:
    """Write the :func:`tonemap` preview of linear ``[H, W, 3]`` radiance (PNG or another LDR format
    by extension), atomically."""
    write_ldr(path, tonemap(hdr))


def exposure_strip(photo: np.ndarray, hdr: np.ndarray) -> np.ndarray:
    """The photo beside the linear HDR at each of :data:`EXPOSURE_STOPS`, as one sRGB uint8 image
    ``[EXPOSURE_LABEL_HEIGHT + H, 4 W + 3 EXPOSURE_GAP, 3]`` with a label above each frame.

    Each exposure scales the HDR by ``2 ** stop``, clips and sRGB-encodes it: at -4 EV everything
    up to 16 times the photo's white shows, so clipped skies and lamps can be seen to come back.
    """
    photo = to_uint8(_check_image("exposure strip photo", photo))
    hdr = _sanitize(_check_image("exposure strip HDR", hdr))
    if photo.shape != hdr.shape:
        raise SingleHDRError(f"exposure strip: the photo {photo.shape} and the HDR {hdr.shape} differ in shape")
    frames = [("input", photo)] + [(f"{stop:g} EV", _display(hdr * 2.0**stop)) for stop in EXPOSURE_STOPS]
    height, width = photo.shape[:2]
    strip = Image.new("RGB", (len(frames) * width + (len(frames) - 1) * EXPOSURE_GAP, EXPOSURE_LABEL_HEIGHT + height))
    draw = ImageDraw.Draw(strip)
    for index, (label, frame) in enumerate(frames):
        left = index * (width + EXPOSURE_GAP)
        strip.paste(Image.fromarray(frame), (left, EXPOSURE_LABEL_HEIGHT))
        draw.text((left + 2, 1), label, fill=(255, 255, 255))
    return np.asarray(strip)


def write_exposures(path: PathLike, photo: np.ndarray, hdr: np.ndarray) -> None:
    """Write the :func:`exposure_strip` of ``photo`` (uint8, uint16 or float ``[H, W, 3]``) and its
    linear HDR reconstruction (PNG or another LDR format by extension), atomically."""
    write_ldr(path, exposure_strip(photo, hdr))
