"""The awkward and broken input files of the robustness suite, and what each surface does with them.

Every case is made in memory from one small photo. ``api`` is the documented outcome of the Python
API and the CLI (they read files the same way, through :func:`singlehdr_tf.io.read_ldr`);
``serving`` is the outcome of the SavedModel's ``encoded_image`` signature, which decodes in the
graph. An outcome is ``("ok", (H, W))``, the shape of the HDR result, or ``("error", pattern)``, a
regular expression the error message must match.
"""

from __future__ import annotations

import dataclasses
import io as bytes_io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from PIL import Image

HEIGHT, WIDTH = 40, 48
"""Size of the base photo every case is made from."""


def photo() -> np.ndarray:
    """The base photo: a smooth uint8 ``[40, 48, 3]`` gradient with a saturated patch."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH] / WIDTH
    image = np.stack([0.5 + 0.4 * np.sin(5 * x + c) * np.cos(3 * y - c) for c in range(3)], axis=-1)
    image[8:16, 20:30] = 1.0
    return np.round(image * 255).astype(np.uint8)


def encode(image: Image.Image | np.ndarray, file_format: str, **options) -> bytes:
    """The bytes of ``image`` saved by Pillow as ``file_format``."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = bytes_io.BytesIO()
    image.save(buffer, format=file_format, **options)
    return buffer.getvalue()


def _jpeg() -> bytes:
    return encode(photo(), "JPEG", quality=90)


def _png() -> bytes:
    return encode(photo(), "PNG")


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header announces ``width x height`` RGB pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes(3 * width + 1))  # one row of zeros: a valid start of the stream
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """The base JPEG with its frame header (SOF0) patched to announce ``width x height`` pixels."""
    data = bytearray(_jpeg())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _corrupt_jpeg_header() -> bytes:
    """The quantization and Huffman tables overwritten: the decoder cannot start."""
    data = bytearray(_jpeg())
    start = data.index(b"\xff\xdb")  # DQT
    data[start : data.index(b"\xff\xda")] = bytes(data.index(b"\xff\xda") - start)  # up to SOS
    return bytes(data)


def _corrupt_jpeg_scan() -> bytes:
    """Bytes in the middle of the entropy-coded scan overwritten (JPEG has no checksum)."""
    data = bytearray(_jpeg())
    middle = (data.index(b"\xff\xda") + len(data)) // 2
    data[middle : middle + 40] = bytes(range(1, 41))
    return bytes(data)


def _corrupt_png() -> bytes:
    """Bytes in the middle of the compressed pixels (IDAT) overwritten: the chunk CRC no longer matches."""
    data = bytearray(_png())
    middle = data.index(b"IDAT") + 40
    data[middle : middle + 8] = b"\x00\xff" * 4
    return bytes(data)


def _sixteen_bit() -> bytes:
    image = photo().astype(np.uint16) * 257 + np.arange(WIDTH, dtype=np.uint16)[None, :, None]  # low byte used
    return tf.io.encode_png(tf.constant(image)).numpy()


def _animated_gif() -> bytes:
    frames = [Image.fromarray(photo()).convert("P"), Image.fromarray(photo()[::-1].copy()).convert("P")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    return encode(photo(), "JPEG", quality=90, exif=exif.tobytes())


Outcome = tuple[str, object]


@dataclasses.dataclass(frozen=True)
class Case:
    """One input file: its name, its bytes, the documented outcomes and a line for the README table."""

    name: str
    make: Callable[[], bytes]
    api: Outcome
    serving: Outcome
    what: str

    @property
    def good(self) -> bool:
        return self.api[0] == "ok"


NOT_DECODABLE = "cannot decode"
TOO_LARGE = "image too large"
SERVED_TOO_LARGE = "image_bytes: image too large"
TOO_SMALL = "is too small"

CASES = [
    Case("good.png", _png, ("ok", (HEIGHT, WIDTH)), ("ok", (HEIGHT, WIDTH)), "a normal photo (control)"),
    Case("good_jpeg.jpg", _jpeg, ("ok", (HEIGHT, WIDTH)), ("ok", (HEIGHT, WIDTH)), "a normal photo (control)"),
    Case("empty.jpg", lambda: b"", ("error", "empty file"), ("error", "image_bytes: empty"), "0-byte file"),
    Case("truncated_jpeg.jpg", lambda: _half(_jpeg()), ("error", NOT_DECODABLE), ("error", "Invalid JPEG data"),
         "truncated JPEG"),
    Case("truncated.png", lambda: _half(_png()), ("error", NOT_DECODABLE), ("error", "Invalid PNG data"),
         "truncated PNG"),
    Case("corrupt_header.jpg", _corrupt_jpeg_header, ("error", NOT_DECODABLE), ("error", "Invalid JPEG data"),
         "JPEG with its tables destroyed"),
    Case("corrupt_scan.jpg", _corrupt_jpeg_scan, ("ok", (HEIGHT, WIDTH)), ("ok", (HEIGHT, WIDTH)),
         "JPEG with damaged compressed data (JPEG has no checksum)"),
    Case("corrupt.png", _corrupt_png, ("error", NOT_DECODABLE), ("error", "Invalid PNG data"),
         "PNG with damaged compressed data"),
    Case("text.jpg", lambda: b"this is not an image\n" * 4, ("error", "not a JPEG, PNG, TIFF or WebP"),
         ("error", "image_bytes: not a JPEG or PNG file"), "a text file named .jpg"),
    Case("1x1.png", lambda: encode(photo()[:1, :1], "PNG"), ("error", TOO_SMALL), ("ok", (1, 1)), "1x1 image"),
    Case("1x100000.png", lambda: encode(np.tile(photo()[:1], (1, 2084, 1))[:, :100000], "PNG"),
         ("error", TOO_SMALL), ("ok", (1, 100000)), "1x100000 image"),
    Case("16bit.png", _sixteen_bit, ("ok", (HEIGHT, WIDTH)), ("ok", (HEIGHT, WIDTH)), "16-bit RGB PNG"),
    Case("grey.png", lambda: encode(Image.fromarray(photo()).convert("L"), "PNG"), ("ok", (HEIGHT, WIDTH)),
         ("ok", (HEIGHT, WIDTH)), "greyscale PNG"),
    Case("palette.png", lambda: encode(Image.fromarray(photo()).convert("P"), "PNG"), ("ok", (HEIGHT, WIDTH)),
         ("ok", (HEIGHT, WIDTH)), "palette PNG"),
    Case("rgba.png", lambda: encode(Image.fromarray(photo()).convert("RGBA"), "PNG"), ("ok", (HEIGHT, WIDTH)),
         ("ok", (HEIGHT, WIDTH)), "RGBA PNG"),
    Case("cmyk.jpg", lambda: encode(Image.fromarray(photo()).convert("CMYK"), "JPEG", quality=95),
         ("ok", (HEIGHT, WIDTH)), ("ok", (HEIGHT, WIDTH)), "CMYK JPEG"),
    Case("animated.gif", _animated_gif, ("error", "unsupported extension '.gif'"),
         ("error", "image_bytes: not a JPEG or PNG file"), "animated GIF"),
    Case("exif_rotated.jpg", _exif_rotated, ("ok", (WIDTH, HEIGHT)), ("ok", (HEIGHT, WIDTH)),
         "JPEG with EXIF orientation 6 (rotate 90 degrees)"),
    Case("bomb.png", lambda: png_claiming(20_000, 20_000), ("error", TOO_LARGE), ("error", SERVED_TOO_LARGE),
         "60-byte PNG announcing 20000x20000 pixels"),
    Case("bomb_jpeg.jpg", lambda: jpeg_claiming(65_000, 65_000), ("error", TOO_LARGE), ("error", SERVED_TOO_LARGE),
         "JPEG announcing 65000x65000 pixels"),
]
"""Every input case, in the order of the README table (file stems are unique: one CLI batch takes them all)."""
