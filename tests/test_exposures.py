"""The exposure strip of ``--preview``: the photo beside the HDR at -4, -2 and 0 EV."""

import numpy as np
import pytest

from singlehdr_tf import color, io
from singlehdr_tf.errors import SingleHDRError


@pytest.fixture
def pair(rng):
    """A 40x48 photo clipped to white in its top-left corner, and an HDR four stops brighter there."""
    photo = rng.integers(20, 200, (40, 48, 3), dtype=np.uint8)
    photo[:10, :12] = 255
    hdr = color.srgb_decode(photo / 255.0).astype(np.float32)
    hdr[:10, :12] = 12.0
    return photo, hdr


def test_the_strip_is_the_photo_and_three_exposures_side_by_side(pair, tmp_path):
    photo, hdr = pair
    io.write_exposures(tmp_path / "cat_exposures.png", photo, hdr)
    strip = io.read_ldr(tmp_path / "cat_exposures.png")
    width = photo.shape[1]
    assert strip.shape == (io.EXPOSURE_LABEL_HEIGHT + 40, 4 * width + 3 * io.EXPOSURE_GAP, 3)
    frames = [strip[io.EXPOSURE_LABEL_HEIGHT:, index * (width + io.EXPOSURE_GAP):][:, :width] for index in range(4)]
    np.testing.assert_array_equal(frames[0], photo)
    np.testing.assert_array_equal(frames[3], io.to_uint8(color.srgb_encode(np.clip(hdr, 0, 1))))
    minus_four = frames[1][:10, :12]
    assert (photo[:10, :12] == 255).all() and (minus_four < 255).all() and minus_four.min() > 200  # 12 / 16 = 0.75
    assert frames[2][:10, :12].min() == 255  # at -2 EV the highlight (12 / 4 = 3) clips again


def test_a_16bit_photo_and_mismatched_shapes(pair, tmp_path):
    photo, hdr = pair
    strip = io.exposure_strip(photo.astype(np.uint16) * 257, hdr)
    np.testing.assert_array_equal(strip, io.exposure_strip(photo, hdr))
    with pytest.raises(SingleHDRError, match="differ in shape"):
        io.exposure_strip(photo[:20], hdr)
