"""Ultra HDR (gain-map) JPEG: round trip, base image, container and metadata, bad files, API."""

import io as bytes_io
import json
import os
import pathlib
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PIL import Image

from singlehdr_tf import api, color, gainmap, io
from singlehdr_tf.errors import SingleHDRError

REPO = pathlib.Path(__file__).resolve().parents[1]
HDRGM = "{http://ns.adobe.com/hdr-gain-map/1.0/}"
ITEM = "{http://ns.google.com/photos/1.0/container/item/}"
HDRIFY_DECODE = """
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [prefix, jpeg, raw] = process.argv.slice(2);
const { readJpegGainMap } = await import(pathToFileURL(`${prefix}/node_modules/hdrify/dist/index.js`).href);
const image = readJpegGainMap(new Uint8Array(readFileSync(jpeg)));  // linear RGBA float32, full capacity
writeFileSync(raw, Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength));
console.log(JSON.stringify({ width: image.width, height: image.height, format: image.metadata.format }));
"""


def stops(a, b):
    """Per-value difference in stops, with a floor of 2**-10 of the photo's white."""
    return np.abs(np.log2(np.asarray(a, np.float64) + 2.0**-10) - np.log2(np.asarray(b, np.float64) + 2.0**-10))


@pytest.fixture(scope="module")
def pair():
    """A photo (a 64x80 crop of the bundled cat, clipped to white where brightest) and an HDR
    reconstruction of it: the photo's linear light, brightened by up to 4 stops where it clipped."""
    sdr = io.read_ldr(REPO / "examples" / "chelsea.png")[100:164, 180:260].copy()
    sdr[:20, :30] = 255
    linear = color.srgb_decode(sdr / 255.0)
    ramp = np.linspace(1.0, 16.0, 30)[None, :, None]
    hdr = linear.copy()
    hdr[:20, :30] *= ramp
    return sdr, (0.8 * hdr).astype(np.float32)


@pytest.fixture(scope="module")
def written(pair, tmp_path_factory):
    path = tmp_path_factory.mktemp("uhdr") / "photo_hdr.jpg"
    gainmap.write_gainmap_jpeg(path, pair[1], pair[0])
    return path


def _xmp(jpeg_bytes):
    with Image.open(bytes_io.BytesIO(jpeg_bytes)) as image:
        return ElementTree.fromstring(image.info["xmp"])


def _images(path):
    """The JPEGs of the file, located by Pillow's own MPF parser (not ours)."""
    data = path.read_bytes()
    with Image.open(path) as image:
        entries, header = image._getmp()[0xB002], image.info["mpoffset"]
    return [data[: entries[0]["Size"]]] + [data[header + entry["DataOffset"]:][: entry["Size"]] for entry in entries[1:]]


def test_the_round_trip_recovers_the_hdr(pair, written):
    sdr, hdr = pair
    base, recovered = gainmap.read_gainmap_jpeg(written)
    assert base.shape == recovered.shape == hdr.shape and recovered.dtype == np.float32
    error = stops(recovered, hdr)
    assert np.median(error) < 0.1 and np.percentile(error, 99) < 0.3
    clipped = error[:20, :30]
    assert np.median(clipped) < 0.1 and np.percentile(clipped, 99) < 0.3
    assert recovered[:20, :30].max() > 8 * 0.8  # the highlights came back above the photo's white


def test_the_base_image_is_the_photo(pair, written):
    with Image.open(written) as image:  # any JPEG reader shows the primary image
        assert image.format == "JPEG"
        base = np.asarray(image.convert("RGB")).astype(np.float32)
    plain = bytes_io.BytesIO()  # the same photo as a plain JPEG of the same quality
    Image.fromarray(pair[0]).save(plain, format="JPEG", quality=gainmap.DEFAULT_QUALITY, subsampling=0)
    np.testing.assert_array_equal(base, np.asarray(Image.open(plain).convert("RGB")))
    assert np.abs(base - pair[0]).mean() < 2


def test_the_container_lists_two_images_with_their_lengths(written):
    primary, second = _images(written)
    assert second[:2] == b"\xff\xd8" and len(primary) + len(second) == written.stat().st_size
    items = [element.attrib for element in _xmp(primary).iter() if f"{ITEM}Semantic" in element.attrib]
    assert [item[f"{ITEM}Semantic"] for item in items] == ["Primary", "GainMap"]
    assert int(items[1][f"{ITEM}Length"]) == len(second)
    with Image.open(written) as image:
        assert image.info["icc_profile"] == color.srgb_icc_profile()


def test_the_metadata_states_the_images_gain_range(pair, written):
    description = next(element for element in _xmp(_images(written)[1]).iter() if f"{HDRGM}Version" in element.attrib)
    fields = {name[len(HDRGM):]: value for name, value in description.attrib.items() if name.startswith(HDRGM)}
    assert fields["Version"] == "1.0" and fields["BaseRenditionIsHDR"] == "False"
    low, high = float(fields["GainMapMin"]), float(fields["GainMapMax"])
    sdr, hdr = pair
    gain = np.log2((hdr + gainmap.OFFSET) / (color.srgb_decode(sdr / 255.0) + gainmap.OFFSET))
    assert low <= gain.min() + 0.1 and high >= gain.max() - 0.1 and 3.5 < high < 4.5 and low < 0
    assert float(fields["HDRCapacityMin"]) == 0 and float(fields["HDRCapacityMax"]) == pytest.approx(high)
    assert float(fields["Gamma"]) == 1 and float(fields["OffsetSDR"]) == float(fields["OffsetHDR"]) == gainmap.OFFSET


def test_an_independent_decoder_reads_the_file(pair, written, tmp_path):
    """hdrify (npm, pure JavaScript, its own JPEG, MPF and XMP parsing) decodes the file to the same HDR."""
    prefix = os.environ.get("SINGLEHDR_HDRIFY_DIR", "")
    if shutil.which("node") is None or not (pathlib.Path(prefix) / "node_modules" / "hdrify").is_dir():
        pytest.skip("the npm package hdrify is not installed (.ci/run installs it and sets SINGLEHDR_HDRIFY_DIR)")
    (tmp_path / "decode.mjs").write_text(HDRIFY_DECODE)
    result = subprocess.run(["node", str(tmp_path / "decode.mjs"), prefix, str(written), str(tmp_path / "hdr.f32")],
                            capture_output=True, text=True, timeout=120, check=True)
    sdr, hdr = pair
    assert json.loads(result.stdout) == {"width": sdr.shape[1], "height": sdr.shape[0], "format": "ultrahdr"}
    decoded = np.fromfile(tmp_path / "hdr.f32", np.float32).reshape(*sdr.shape[:2], 4)[..., :3]
    error = stops(decoded, hdr)
    assert np.median(error) < 0.1 and np.percentile(error, 99) < 0.3
    assert np.median(error[:20, :30]) < 0.1 and np.percentile(error[:20, :30], 99) < 0.3  # the clipped corner


def test_bad_files_get_the_packages_error(pair, written, tmp_path):
    io.write_ldr(tmp_path / "plain.jpg", pair[0])
    with pytest.raises(SingleHDRError, match="plain.jpg: not a gain-map JPEG"):
        gainmap.read_gainmap_jpeg(tmp_path / "plain.jpg")
    data = written.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) - 200])
    with pytest.raises(SingleHDRError, match="cut.jpg: truncated or corrupt gain-map JPEG"):
        gainmap.read_gainmap_jpeg(tmp_path / "cut.jpg")
    (tmp_path / "no_metadata.jpg").write_bytes(data.replace(b"hdr-gain-map", b"hdr-gain-mop"))  # same length
    with pytest.raises(SingleHDRError, match="no_metadata.jpg: the second image carries no hdrgm"):
        gainmap.read_gainmap_jpeg(tmp_path / "no_metadata.jpg")
    (tmp_path / "bad_xmp.jpg").write_bytes(data.replace(b"hdrgm:GainMapMax", b"other:GainMapMax"))
    with pytest.raises(SingleHDRError, match="bad_xmp.jpg: the gain map's XMP cannot be parsed"):
        gainmap.read_gainmap_jpeg(tmp_path / "bad_xmp.jpg")
    with pytest.raises(SingleHDRError, match="missing.jpg: file not found"):
        gainmap.read_gainmap_jpeg(tmp_path / "missing.jpg")
    with pytest.raises(SingleHDRError, match="differ in shape"):
        gainmap.write_gainmap_jpeg(tmp_path / "x.jpg", pair[1][:10], pair[0])
    assert not (tmp_path / "x.jpg").exists()


def test_reconstruct_file_writes_an_ultra_hdr_jpeg(pair, tiny_model, tmp_path):
    io.write_ldr(tmp_path / "cat.png", pair[0])
    reconstructor = api.Reconstructor(tiny_model)
    written = reconstructor.reconstruct_file(tmp_path / "cat.png", tmp_path, file_format="uhdr", preview=True)
    assert [path.name for path in written] == ["cat_hdr.jpg", "cat_preview.png", "cat_exposures.png"]
    assert all(path.is_file() for path in written)
    base, hdr = gainmap.read_gainmap_jpeg(written[0])
    expected = reconstructor.reconstruct(pair[0])
    assert np.abs(base.astype(np.float32) - pair[0]).mean() < 2
    assert np.median(stops(hdr, expected)) < 0.1 and np.percentile(stops(hdr, expected), 99) < 0.3
