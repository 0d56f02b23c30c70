"""Ultra HDR (gain-map) JPEG: the user's own photo, plus a gain map that restores the HDR.

SDR screens and old viewers show the base image, the photo itself, unchanged; HDR screens (Android
14+, Chrome, Apple Photos) multiply it by the gain map to show the reconstructed highlights. The
file is Google's Ultra HDR v1: Adobe's gain map metadata (XMP ``hdrgm`` 1.0) in a multi-picture
JPEG (CIPA DC-007 MPF index), the primary image listing both images in a GContainer XMP directory.

Written with Pillow's MPO writer, which encodes both JPEGs and the MPF index (maintained, already
a dependency); only the XMP packets are written here. No maintained gain-map encoder installs with
pip: libultrahdr has no Python bindings on PyPI, and the pure-Python ``pyultrahdr`` is an unused
0.1 release. ISO 21496-1 binary gain-map metadata is not written: Ultra HDR v1 readers take the XMP.

The gain map is RGB, one gain per channel and pixel, so hallucinated highlights keep the colour
the networks gave them:

    gain = log2((HDR + OFFSET) / (SDR + OFFSET))        (SDR: the photo decoded to linear sRGB)
    encoded = round(255 * ((gain - GainMapMin) / (GainMapMax - GainMapMin)) ** GAMMA)

with GainMapMin / GainMapMax the image's own least and greatest gain, so nothing is clipped; the
HDR capacity runs from 0 stops (an SDR screen: the base image) to GainMapMax (the full HDR).
"""

from __future__ import annotations

import io as bytes_io
import math
import os
import pathlib
import struct
import xml.etree.ElementTree as ElementTree

import numpy as np
from PIL import Image

from singlehdr_tf import color, io
from singlehdr_tf.errors import SingleHDRError

OFFSET = 1.0 / 256.0
"""OffsetSDR and OffsetHDR: keep the gain finite in black pixels. Below the Adobe reference's
1/64, so the gain map's precision holds down to about 1/256 of the photo's white."""
GAMMA = 1.0
"""hdrgm:Gamma of the encoded gain map."""
DEFAULT_QUALITY = 95
"""JPEG quality of the base image and the gain map (both without chroma subsampling)."""
MIN_GAIN_SPAN = 1.0 / 64.0
"""Least GainMapMax - GainMapMin in stops, so a flat gain map still has a valid range."""

_HDRGM = "http://ns.adobe.com/hdr-gain-map/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PRIMARY_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="singlehdr_tf">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:Container="http://ns.google.com/photos/1.0/container/"
    xmlns:Item="http://ns.google.com/photos/1.0/container/item/" xmlns:hdrgm="{hdrgm}" hdrgm:Version="1.0">
   <Container:Directory>
    <rdf:Seq>
     <rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/></rdf:li>
     <rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" Item:Mime="image/jpeg" Item:Length="{length}"/></rdf:li>
    </rdf:Seq>
   </Container:Directory>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""
_GAINMAP_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="singlehdr_tf">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:hdrgm="{hdrgm}" hdrgm:Version="1.0" hdrgm:GainMapMin="{low:.6f}"
    hdrgm:GainMapMax="{high:.6f}" hdrgm:Gamma="{gamma:g}" hdrgm:OffsetSDR="{offset:.8f}" hdrgm:OffsetHDR="{offset:.8f}"
    hdrgm:HDRCapacityMin="0" hdrgm:HDRCapacityMax="{capacity:.6f}" hdrgm:BaseRenditionIsHDR="False"/>
 </rdf:RDF>
</x:xmpmeta>"""


def _sdr_linear(sdr_uint8: np.ndarray) -> np.ndarray:
    return color.srgb_decode(sdr_uint8.astype(np.float64) / 255.0)


def _check_pair(path: str | os.PathLike, hdr_linear: np.ndarray, sdr_uint8: np.ndarray) -> None:
    if sdr_uint8.dtype != np.uint8 or sdr_uint8.ndim != 3 or sdr_uint8.shape[-1] != 3:
        raise SingleHDRError(f"{os.fspath(path)}: the base image must be [H, W, 3] uint8, got "
                             f"{sdr_uint8.dtype} {sdr_uint8.shape}")
    if hdr_linear.shape != sdr_uint8.shape:
        raise SingleHDRError(f"{os.fspath(path)}: the HDR image {hdr_linear.shape} and the base image "
                             f"{sdr_uint8.shape} differ in shape")


def write_gainmap_jpeg(path: str | os.PathLike, hdr_linear: np.ndarray, sdr_uint8: np.ndarray,
                       quality: int = DEFAULT_QUALITY) -> None:
    """Write an Ultra HDR JPEG atomically: ``sdr_uint8`` (the photo, ``[H, W, 3]`` sRGB uint8) as the
    base image and the gain map that turns it into ``hdr_linear`` (``[H, W, 3]`` linear sRGB, 1 = the
    photo's white) at full HDR capacity (see the module doc).

    Raises:
        SingleHDRError: mismatched or malformed images, or a file that cannot be written.
    """
    sdr_uint8 = np.asarray(sdr_uint8)
    hdr_linear = np.asarray(hdr_linear)
    _check_pair(path, hdr_linear, sdr_uint8)
    hdr = np.where(np.isfinite(hdr_linear) & (hdr_linear > 0), hdr_linear, 0.0).astype(np.float64)
    options = {"quality": int(quality), "subsampling": 0}
    base = Image.fromarray(sdr_uint8)
    # The gain is taken against the base as a decoder will see it, so it also undoes the base's
    # JPEG error (as libultrahdr does).
    encoded_base = bytes_io.BytesIO()
    base.save(encoded_base, format="JPEG", **options)
    with Image.open(encoded_base) as decoded:
        gain = np.log2((hdr + OFFSET) / (_sdr_linear(np.asarray(decoded.convert("RGB"))) + OFFSET))
    low = float(gain.min())
    high = max(float(gain.max()), low + MIN_GAIN_SPAN)
    encoded = np.floor(255.0 * ((gain - low) / (high - low)) ** GAMMA + 0.5).astype(np.uint8)
    gainmap_xmp = _GAINMAP_XMP.format(hdrgm=_HDRGM, low=low, high=high, gamma=GAMMA, offset=OFFSET,
                                      capacity=max(high, MIN_GAIN_SPAN)).encode()
    gainmap = Image.fromarray(encoded)
    encoded_gainmap = bytes_io.BytesIO()
    gainmap.save(encoded_gainmap, format="JPEG", xmp=gainmap_xmp, **options)
    # Pillow's MPO writer encodes the appended image again with the same settings (libjpeg is
    # deterministic), so the length the primary's directory states is the length written.
    gainmap.encoderinfo = {"xmp": gainmap_xmp, "icc_profile": None, **options}
    primary_xmp = _PRIMARY_XMP.format(hdrgm=_HDRGM, length=len(encoded_gainmap.getvalue())).encode()
    with io.atomic_write(path) as temporary:
        try:
            base.save(temporary, format="MPO", save_all=True, append_images=[gainmap],
                                            xmp=primary_xmp, icc_profile=color.srgb_icc_profile(), **options)
        except (OSError, ValueError) as error:
            raise SingleHDRError(f"{os.fspath(path)}: cannot write ({error})") from None


def _mpf_images(data: bytes) -> list[tuple[int, int]]:
    """``(offset, size)`` in ``data`` of every image the primary JPEG's MPF index lists (CIPA
    DC-007: an APP2 ``MPF\\0`` segment holding a TIFF header and an IFD whose tag 0xB002 lists
    16-byte entries: attribute, size, offset from the TIFF header, two dependents); [] without
    one. Pillow reads Ultra HDR files as plain JPEGs and keeps its MPF parser private, hence this."""
    position = 2
    while position + 8 <= len(data) and data[position] == 0xFF and 0xE0 <= data[position + 1] <= 0xEF:
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        if data[position + 1] == 0xE2 and data[position + 4 : position + 8] == b"MPF\0":
            header = position + 8
            index = data[header : position + 2 + length]
            order = "<" if index[:2] == b"II" else ">"
            ifd = struct.unpack(order + "I", index[4:8])[0]
            for entry in range(struct.unpack(order + "H", index[ifd : ifd + 2])[0]):
                tag, _, count, value = struct.unpack(order + "HHII", index[ifd + 2 + 12 * entry : ifd + 14 + 12 * entry])
                if tag == 0xB002:
                    entries = [struct.unpack(order + "IIIHH", index[value + 16 * image : value + 16 * image + 16])
                               for image in range(count // 16)]
                    return [(header + offset if offset else 0, size) for _, size, offset, _, _ in entries]
            return []
        position += 2 + length
    return []


def _gainmap_bytes(path: pathlib.Path, data: bytes) -> bytes:
    """The second image an MPF index lists (the gain map of an Ultra HDR file), as JPEG bytes."""
    try:
        images = _mpf_images(data)
    except struct.error:
        raise SingleHDRError(f"{os.fspath(path)}: corrupt multi-picture (MPF) index") from None
    if len(images) < 2:
        raise SingleHDRError(f"{os.fspath(path)}: not a gain-map JPEG (no second image in a multi-picture (MPF) index)")
    start, size = images[1]
    if start + size > len(data) or data[start : start + 2] != b"\xff\xd8":
        raise SingleHDRError(f"{os.fspath(path)}: truncated or corrupt gain-map JPEG (the MPF index points "
                             f"at bytes {start}-{start + size} of a {len(data)}-byte file that hold no JPEG)")
    return data[start : start + size]


def _hdrgm_fields(path: pathlib.Path, xmp: bytes) -> dict[str, list[str]]:
    """The ``hdrgm`` fields of an XMP packet by name: one text, or one per channel. They may be
    attributes or elements (holding an ``rdf:Seq`` for per-channel values)."""
    try:
        root = ElementTree.fromstring(xmp.decode("utf-8", "replace").strip("\0 \n"))
    except ElementTree.ParseError as error:
        raise SingleHDRError(f"{os.fspath(path)}: the gain map's XMP cannot be parsed ({error})") from None
    prefix = f"{{{_HDRGM}}}"
    fields: dict[str, list[str]] = {}
    for element in root.iter():
        for name, text in element.attrib.items():
            if name.startswith(prefix):
                fields[name[len(prefix):]] = [text]
        if element.tag.startswith(prefix):
            items = [item.text or "" for item in element.iter(f"{{{_RDF}}}li")]
            fields[element.tag[len(prefix):]] = items or [element.text or ""]
    return fields


def _number(path: pathlib.Path, fields: dict[str, list[str]], name: str, default: float | None) -> np.ndarray:
    """hdrgm field ``name`` as 1 or 3 floats; ``default`` if absent (None: the field is required)."""
    if name not in fields:
        if default is None:
            raise SingleHDRError(f"{os.fspath(path)}: the gain map's hdrgm metadata lacks {name}")
        return np.array([default])
    try:
        values = np.array([float(text) for text in fields[name]])
    except ValueError:
        values = np.array([math.nan])
    if values.size not in (1, 3) or not np.isfinite(values).all():
        raise SingleHDRError(f"{os.fspath(path)}: hdrgm:{name} is not 1 or 3 numbers ({fields[name]})")
    return values


def read_gainmap_jpeg(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an Ultra HDR (gain-map) JPEG as its base image (``[H, W, 3]`` uint8, converted to sRGB
    by :func:`singlehdr_tf.io.read_ldr` if tagged otherwise) and the linear HDR ``[H, W, 3]`` float32
    it shows at full HDR capacity (the gain applied at ``HDRCapacityMax``, in the base's primaries).

    Raises:
        SingleHDRError: a missing, empty or corrupt file, one without a gain map, a truncated gain
            map, or gain-map metadata that is missing or not a number.
    """
    sdr = io.read_ldr(path)
    path = pathlib.Path(path)
    gainmap_jpeg = _gainmap_bytes(path, path.read_bytes())
    try:
        with Image.open(bytes_io.BytesIO(gainmap_jpeg)) as image:
            xmp = image.info.get("xmp", b"")
            gainmap = image.convert("RGB" if image.mode not in ("L", "1") else "L")
            if gainmap.size != (sdr.shape[1], sdr.shape[0]):
                gainmap = gainmap.resize((sdr.shape[1], sdr.shape[0]), Image.Resampling.BILINEAR)
            recovery = np.asarray(gainmap, np.float64) / 255.0
    except Exception as error:  # noqa: BLE001 - Pillow raises many types on corrupt data
        raise SingleHDRError(f"{os.fspath(path)}: cannot decode the gain map ({type(error).__name__}: {error})") from None
    fields = _hdrgm_fields(path, xmp) if xmp else {}
    if not fields:
        raise SingleHDRError(f"{os.fspath(path)}: the second image carries no hdrgm gain-map metadata")
    if fields.get("BaseRenditionIsHDR", ["False"])[0].strip().lower() == "true":
        raise SingleHDRError(f"{os.fspath(path)}: HDR base renditions (BaseRenditionIsHDR=True) are not supported")
    low, high = _number(path, fields, "GainMapMin", 0.0), _number(path, fields, "GainMapMax", None)
    gamma = _number(path, fields, "Gamma", 1.0)
    offset_sdr, offset_hdr = _number(path, fields, "OffsetSDR", OFFSET), _number(path, fields, "OffsetHDR", OFFSET)
    if recovery.ndim == 2:
        recovery = recovery[..., None]
    log_boost = low + (high - low) * recovery ** (1.0 / gamma)
    hdr = (_sdr_linear(sdr) + offset_sdr) * np.exp2(log_boost) - offset_hdr
    return sdr, np.maximum(hdr, 0.0).astype(np.float32)
