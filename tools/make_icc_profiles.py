"""Write the ICC profiles in ``singlehdr_tf/resources/icc/`` from the published colorimetry.

Pillow's LittleCMS bindings create only sRGB, Lab and XYZ profiles, and no maintained Python
package writes RGB ICC profiles, so this script writes two minimal ICC v2.1 display
(matrix/TRC) profiles itself:

* ``display-p3.icc``: Display P3 (SMPTE EG 432-1 primaries, D65 white, the sRGB transfer curve of
  IEC 61966-2-1 sampled at 1024 points), what iPhones tag their photos with;
* ``a98-rgb.icc``: A98 RGB, compatible with Adobe RGB (1998) (primaries and D65 white of the
  Adobe RGB (1998) encoding specification, pure gamma 563/256), what cameras write when set to
  "Adobe RGB" and what EXIF's ColorSpace "uncalibrated" + InteroperabilityIndex "R03" means.

Each holds desc, cprt, wtpt, rXYZ/gXYZ/bXYZ and rTRC/gTRC/bTRC tags. The colorants are the
primaries' XYZ (white Y = 1) adapted from D65 to the D50 connection space with the Bradford
transform, as ICC requires; wtpt is D50, the adapted white of a v2 display profile (LittleCMS
assumes so for v2 display profiles whatever the tag says). The output is deterministic (fixed
creation date), so rerunning the script reproduces the shipped files byte for byte.

Usage: python tools/make_icc_profiles.py [OUT_DIR]   (default: singlehdr_tf/resources/icc)
"""

from __future__ import annotations

import pathlib
import struct
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
D50 = np.array([0.9642, 1.0, 0.8249])
D65_XY = (0.3127, 0.3290)
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
COPYRIGHT = "No copyright: generated from public colorimetric specifications (CC0)"


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def d50_colorants(primaries: tuple[tuple[float, float], ...], white_xy: tuple[float, float]) -> np.ndarray:
    """``[3, 3]``: the XYZ of the red, green and blue primaries (rows), scaled so they add up to the
    white with Y = 1, then Bradford-adapted from that white to D50."""
    columns = np.stack([_xyz(xy) for xy in primaries], axis=1)
    white = _xyz(white_xy)
    to_xyz = columns * np.linalg.solve(columns, white)
    cone_ratio = (BRADFORD @ D50) / (BRADFORD @ white)
    adapt = np.linalg.solve(BRADFORD, cone_ratio[:, None] * BRADFORD)
    return (adapt @ to_xyz).T


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", int(round(value * 65536.0)))


def _xyz_tag(xyz: np.ndarray) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15f16(value) for value in xyz)


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _desc_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    # textDescriptionType: ASCII count + text, then empty Unicode and ScriptCode parts (67 bytes).
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def _gamma_curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(gamma * 256.0))) + b"\0\0"


def _srgb_curve(points: int = 1024) -> bytes:
    encoded = np.linspace(0.0, 1.0, points)
    linear = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
    table = np.round(linear * 65535.0).astype(">u2").tobytes()
    return b"curv\0\0\0\0" + struct.pack(">I", points) + table


def icc_profile(description: str, colorants: np.ndarray, curve: bytes) -> bytes:
    """A complete ICC v2.1 RGB display profile (header, tag table, tag data, 4-byte aligned)."""
    tags = [(b"desc", _desc_tag(description)), (b"cprt", _text_tag(COPYRIGHT)), (b"wtpt", _xyz_tag(D50)),
            (b"rXYZ", _xyz_tag(colorants[0])), (b"gXYZ", _xyz_tag(colorants[1])), (b"bXYZ", _xyz_tag(colorants[2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data, placed = b"", b"", {}
    for signature, payload in tags:
        if payload not in placed:  # the three TRCs share one copy of the curve, as ICC allows
            placed[payload] = offset + len(data)
            data += payload + b"\0" * (-len(payload) % 4)
        table += signature + struct.pack(">II", placed[payload], len(payload))
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"\0\0\0\0" + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4
              + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
              + b"".join(_s15f16(value) for value in D50) + b"\0" * 4)
    header += b"\0" * (128 - len(header))
    return header + body


PROFILES = {
    "display-p3.icc": ("Display P3", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), _srgb_curve()),
    "a98-rgb.icc": ("A98 RGB (compatible with Adobe RGB (1998))",
                    ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)), _gamma_curve(563.0 / 256.0)),
}


def main(argv: list[str]) -> int:
    out_dir = pathlib.Path(argv[0]) if argv else REPO / "singlehdr_tf" / "resources" / "icc"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (description, primaries, curve) in PROFILES.items():
        (out_dir / name).write_bytes(icc_profile(description, d50_colorants(primaries, D65_XY), curve))
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
