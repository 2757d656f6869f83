"""HDR (PQ / HLG) pictures → SDR BT.709, so the model and every output see a sensible picture.

vidmatte's outputs are SDR BT.709 (H.264, VP9, ProRes, PNG, EXR as written here), so an
HDR input — transfer SMPTE ST 2084 (PQ) or ARIB STD-B67 (HLG), usually BT.2020 primaries,
10-bit HEVC or H.264 — is tone-mapped on decoding (:func:`vidmatte.io.convert.to_rgb`), and
the source says so in one warning. The steps, all in float32 numpy with look-up tables
(no per-pixel Python):

1. R'G'B' from Y'CbCr with the BT.2020 matrix (swscale, 16 bits).
2. To display light in nits: PQ's EOTF (ST 2084); HLG's inverse OETF then its OOTF for a
   1000-nit display (BT.2100: ``Fd = 1000 · Ys^0.2 · E``).
3. BT.2020 → BT.709 primaries (linear 3×3 matrix, BT.2087), out-of-gamut clipped at 0.
4. Scaled so HDR reference white (203 nits, BT.2408) is SDR white 1.0, then a curve that is
   the identity up to 0.75 and rolls off smoothly (``0.75 + 0.25 (1 - e^{-(x-0.75)/0.25})``,
   continuous slope) so highlights up to the PQ peak compress into the top of the range.
5. BT.1886 inverse (``V = L^{1/2.4}``) to SDR code values.

So PQ mid-grey (18 % grey at 26 nits, code 0.38 by BT.2408) becomes SDR code ≈ 0.42
(108 of 255), reference white ≈ 0.96 (245 of 255).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["PQ", "HLG", "hdr_transfer", "describe_hdr", "tone_map_to_sdr", "REFERENCE_WHITE_NITS"]

PQ, HLG = 16, 18  # AVColorTransferCharacteristic: SMPTE ST 2084, ARIB STD-B67
_TRC_NAMES = {PQ: "PQ (SMPTE ST 2084)", HLG: "HLG (ARIB STD-B67)"}
_PRIMARIES = {1: "BT.709", 9: "BT.2020", 11: "DCI-P3", 12: "Display P3"}
REFERENCE_WHITE_NITS = 203.0
KNEE = 0.75
#: linear BT.2020 → BT.709 (ITU-R BT.2087)
BT2020_TO_709 = np.array([[1.6605, -0.5876, -0.0728],
                          [-0.1246, 1.1329, -0.0083],
                          [-0.0182, -0.1006, 1.1187]], np.float32)
_X_MAX = 10000.0 / REFERENCE_WHITE_NITS  # PQ peak in SDR-white units
_LUTS: dict = {}


def hdr_transfer(frame) -> Optional[int]:
    """``PQ`` or ``HLG`` when ``frame`` (an ``av.VideoFrame``) is tagged with an HDR transfer, else ``None``."""
    trc = getattr(frame, "color_trc", None)
    return int(trc) if trc in (PQ, HLG) else None


def describe_hdr(frame) -> str:
    """``BT.2020 PQ (SMPTE ST 2084)``: how an HDR frame is named in the warning."""
    prim = _PRIMARIES.get(getattr(frame, "color_primaries", None), "untagged primaries")
    return f"{prim} {_TRC_NAMES.get(hdr_transfer(frame), 'HDR')}"


def _pq_eotf_lut() -> np.ndarray:
    """16-bit PQ code → display light in nits (ST 2084)."""
    m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    e = np.arange(65536, dtype=np.float64) / 65535.0
    p = e ** (1 / m2)
    return (10000.0 * (np.maximum(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)).astype(np.float32)


def _hlg_inverse_oetf_lut() -> np.ndarray:
    """16-bit HLG code → scene light in [0, 1] (BT.2100)."""
    a, b = 0.17883277, 0.28466892
    c = 0.5 - a * np.log(4 * a)
    e = np.arange(65536, dtype=np.float64) / 65535.0
    out = np.where(e <= 0.5, e * e / 3.0, (np.exp((e - c) / a) + b) / 12.0)
    return out.astype(np.float32)


def _sdr_lut() -> np.ndarray:
    """Index ``sqrt(x / X_MAX) · 65535`` (x in SDR-white units) → SDR code value in [0, 1]
    (the roll-off curve then the BT.1886 inverse)."""
    x = (np.arange(65536, dtype=np.float64) / 65535.0) ** 2 * _X_MAX
    y = np.where(x <= KNEE, x, KNEE + (1 - KNEE) * (1 - np.exp(-(x - KNEE) / (1 - KNEE))))
    return (np.clip(y, 0, 1) ** (1 / 2.4)).astype(np.float32)


def _lut(name: str) -> np.ndarray:
    if name not in _LUTS:
        _LUTS[name] = {"pq": _pq_eotf_lut, "hlg": _hlg_inverse_oetf_lut, "sdr": _sdr_lut}[name]()
    return _LUTS[name]


def tone_map_to_sdr(rgb16: np.ndarray, transfer: int, *, deep: bool = False) -> np.ndarray:
    """``(H, W, 3)`` uint16 BT.2020 R'G'B' in ``transfer`` (PQ or HLG) → SDR BT.709 R'G'B'
    as uint8 (``deep``: uint16), following the steps in the module notes."""
    planes = [rgb16[..., k] for k in range(3)]
    if transfer == PQ:
        lut = _lut("pq")
        lin = [np.take(lut, p) for p in planes]
    elif transfer == HLG:
        lut = _lut("hlg")
        lin = [np.take(lut, p) for p in planes]
        ys = lin[0] * np.float32(0.2627) + lin[1] * np.float32(0.6780) + lin[2] * np.float32(0.0593)
        gain = np.power(np.maximum(ys, np.float32(1e-6)), np.float32(0.2)) * np.float32(1000.0)
        lin = [c * gain for c in lin]
    else:
        raise ValueError(f"not an HDR transfer: {transfer}")
    m = BT2020_TO_709 * np.float32(1.0 / (REFERENCE_WHITE_NITS * _X_MAX))  # straight to [0, 1] of the LUT domain
    h, w = rgb16.shape[:2]
    idx = np.empty((h, w, 3), np.uint16)
    tmp = np.empty((h, w), np.float32)
    for k in range(3):  # 3x3 matrix as plane-wise multiply-adds (numpy's matmul is slow with 3-wide rows)
        np.multiply(lin[0], m[k, 0], out=tmp)
        tmp += lin[1] * m[k, 1]
        tmp += lin[2] * m[k, 2]
        np.clip(tmp, 0.0, 1.0, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp *= np.float32(65535.0)
        tmp += np.float32(0.5)
        idx[..., k] = tmp
    top = 65535.0 if deep else 255.0
    lut = _LUTS.get(("out", deep))
    if lut is None:
        lut = _LUTS[("out", deep)] = (_lut("sdr") * top + 0.5).astype(np.uint16 if deep else np.uint8)
    return np.take(lut, idx)
