"""Colour-managed input: ICC-tagged and EXIF-tagged photos read as sRGB, bad profiles reported,
the shipped profiles reproducible, and HDR outputs stating their primaries."""

import pathlib
import subprocess
import sys

import numpy as np
import OpenImageIO as oiio
import pytest
from PIL import ExifTags, Image, ImageCms

from singlehdr_tf import color, io
from singlehdr_tf.errors import SingleHDRError

REPO = pathlib.Path(__file__).resolve().parents[1]
PROFILES = {"Display P3": color.DISPLAY_P3_PROFILE, "A98 RGB (compatible with Adobe RGB (1998))": color.ADOBE_RGB_PROFILE}


@pytest.fixture(scope="module")
def photo():
    """A 48x64 crop of the bundled cat photo (sRGB, so every colour lies inside sRGB)."""
    return io.read_ldr(REPO / "examples" / "chelsea.png")[100:148, 180:244]


def _convert(pixels, profile_path):
    """The sRGB ``pixels`` converted to the profile's space by LittleCMS, as uint8."""
    transform = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(str(profile_path)),
                                        "RGB", "RGB", ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform))


def _difference(a, b):
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


@pytest.mark.parametrize("description", PROFILES)
def test_a_tagged_photo_reads_as_its_srgb_original(photo, tmp_path, description):
    tagged = _convert(photo, PROFILES[description])
    assert _difference(tagged, photo) > 5  # the encodings really differ
    Image.fromarray(tagged).save(tmp_path / "tagged.png", icc_profile=PROFILES[description].read_bytes())
    pixels, colour = io.read_photo(tmp_path / "tagged.png")
    assert (colour.description, colour.source, colour.converted) == (description, "icc", True)
    assert pixels.dtype == np.uint8 and _difference(pixels, photo) <= 2


def test_a_16bit_tagged_photo_stays_16bit(photo, tmp_path):
    tagged = _convert(photo, color.DISPLAY_P3_PROFILE).astype(np.uint16) * 257
    icc = color.DISPLAY_P3_PROFILE.read_bytes()
    spec = oiio.ImageSpec(tagged.shape[1], tagged.shape[0], 3, "uint16")
    spec.attribute("ICCProfile", oiio.TypeDesc(f"uint8[{len(icc)}]"), np.frombuffer(icc, np.uint8))
    output = oiio.ImageOutput.create(str(tmp_path / "deep.png"))
    assert output.open(str(tmp_path / "deep.png"), spec) and output.write_image(tagged), output.geterror()
    output.close()
    pixels, colour = io.read_photo(tmp_path / "deep.png")
    assert colour.description == "Display P3" and pixels.dtype == np.uint16
    assert _difference(pixels, photo.astype(np.uint16) * 257) <= 2 * 257


def test_the_exif_adobe_rgb_tag_is_honoured(photo, tmp_path):
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.ColorSpace] = 0xFFFF  # uncalibrated
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.IFD.Interop] = {ExifTags.Interop.InteropIndex: "R03"}
    Image.fromarray(_convert(photo, color.ADOBE_RGB_PROFILE)).save(tmp_path / "camera.jpg", exif=exif, quality=98)
    pixels, colour = io.read_photo(tmp_path / "camera.jpg")
    assert (colour.description, colour.source) == ("Adobe RGB (1998)", "exif")
    assert np.abs(pixels.astype(np.float32) - photo).mean() < 1.5  # JPEG error only
    stored = np.asarray(Image.open(tmp_path / "camera.jpg"))
    assert np.abs(stored.astype(np.float32) - photo).mean() > 3  # not read as stored


def test_untagged_and_srgb_tagged_photos_are_read_as_stored(photo, tmp_path):
    Image.fromarray(photo).save(tmp_path / "plain.png")
    pixels, colour = io.read_photo(tmp_path / "plain.png")
    assert colour == color.SRGB and np.array_equal(pixels, photo)
    Image.fromarray(photo).save(tmp_path / "srgb.png", icc_profile=color.srgb_icc_profile())
    pixels, colour = io.read_photo(tmp_path / "srgb.png")
    assert colour.source == "icc" and not colour.converted and np.array_equal(pixels, photo)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_corrupt_profile_is_reported_naming_the_file(photo, tmp_path, suffix):
    path = tmp_path / f"corrupt{suffix}"
    Image.fromarray(photo).save(path, icc_profile=b"not an ICC profile at all" * 8)
    with pytest.raises(SingleHDRError, match=f"{path.name}: the embedded ICC profile cannot be parsed"):
        io.read_ldr(path)


def test_a_profile_for_another_colour_model_is_reported(tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (8, 8), 128).save(path, icc_profile=color.DISPLAY_P3_PROFILE.read_bytes())
    with pytest.raises(SingleHDRError, match="grey.png: the embedded ICC profile is for RGB data but the image is GRAY"):
        io.read_ldr(path)


def test_the_shipped_profiles_are_reproduced_by_their_generator(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tools" / "make_icc_profiles.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for shipped in (color.DISPLAY_P3_PROFILE, color.ADOBE_RGB_PROFILE):
        assert (tmp_path / shipped.name).read_bytes() == shipped.read_bytes()


def test_an_exr_states_its_primaries(tmp_path):
    io.write_hdr(tmp_path / "out.exr", np.ones((4, 4, 3), np.float32))
    image_input = oiio.ImageInput.open(str(tmp_path / "out.exr"))
    chromaticities = image_input.spec().getattribute("chromaticities")
    image_input.close()
    np.testing.assert_allclose(chromaticities, color.SRGB_CHROMATICITIES, atol=1e-6)


def test_tagged_photos_reconstruct_to_the_same_hdr(photo, tmp_path, tiny_model):
    from singlehdr_tf.api import Reconstructor

    reconstructor = Reconstructor(tiny_model)
    Image.fromarray(photo).save(tmp_path / "srgb.png")
    reference = reconstructor.reconstruct(tmp_path / "srgb.png")
    for index, profile in enumerate(PROFILES.values()):
        path = tmp_path / f"tagged{index}.png"
        Image.fromarray(_convert(photo, profile)).save(path, icc_profile=profile.read_bytes())
        stops = np.abs(np.log2(reconstructor.reconstruct(path) + 1e-4) - np.log2(reference + 1e-4))
        assert np.median(stops) < 0.05
