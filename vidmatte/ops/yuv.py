"""YUV 4:2:0 ↔ RGB on the frame's device: decoded planes in, encoder planes out.

On a GPU the host's swscale conversions cost more than the model's input and output
copies (H200: 5.1 ms a 1080p frame to turn the decoder's YUV into RGB on the CPU). These
ops take the decoder's planes as uploaded (1.5 bytes a pixel instead of 3) and convert
where the model runs; the reverse gives the encoder its planes (``yuv420p`` or ``nv12``).

**Planes.** ``y (B,H,W)``; ``yuv420p``: ``u, v (B,ceil(H/2),ceil(W/2))``; ``nv12``:
``uv (B,ceil(H/2),ceil(W/2),2)`` (Cb, Cr interleaved, as the NV12 plane's bytes). 8-bit planes
are uint8; ``bits`` 9-16 (``yuv420p10le``: 10) are integers (uint16, int16 or int32 tensors:
CUDA has few uint16 kernels, so 10-bit planes travel as int16 bits and come back as int16).

**Maths** (ITU-R BT.601 / BT.709 / BT.2020-NCL; ``K_R, K_B`` per matrix, ``K_G = 1-K_R-K_B``;
``s = 2^(bits-8)``, ``m = 2^bits - 1``)::

    limited range:  Y' = (Y - 16 s) / (219 s)     Pb = (Cb - 128 s) / (224 s)   (Pr alike)
    full range:     Y' = Y / m                    Pb = (Cb - 128 s) / m
    R = Y' + 2 (1-K_R) Pr
    B = Y' + 2 (1-K_B) Pb
    G = Y' - 2 K_R (1-K_R) / K_G · Pr - 2 K_B (1-K_B) / K_G · Pb

and its inverse for RGB → YUV. (Full range above 8 bits: swscale encodes with ``m`` but
decodes with ``255 s``, 1020 at 10 bits; these ops use ``m`` both ways, as ITU-R BT.2100
does, which is within a level of swscale's decode.) The whole affine map is one 3x3 matrix plus an offset
(one ``einsum``); 8-bit results are rounded half up and clamped.

**Chroma siting.** YUV → RGB repeats each chroma sample over its 2x2 block (swscale's
``POINT`` and its fast unscaled path do the same); RGB → YUV averages each 2x2 block
(swscale's ``AREA``); an odd last row/column is edge-replicated first.

Agreement (``tests/test_yuv_device.py``): within 1 level of swscale's accurate conversion
(``ACCURATE_RND|FULL_CHR_H_INT|FULL_CHR_H_INP``) both ways, all matrices, ranges, 8 and 10
bits. The project's host path (:func:`vidmatte.io.convert.to_rgb`, swscale's default fast
path) itself sits 1-3 levels below the exact maths (mean −1.0 R/B, −1.5 G on noise), so
against it these ops agree within 3 levels.

Example:
    >>> import torch
    >>> from vidmatte.ops.yuv import rgb_to_yuv, yuv420_to_rgb
    >>> rgb = torch.tensor([[[[255]], [[0]], [[0]]]], dtype=torch.uint8)   # one red pixel
    >>> y, u, v = rgb_to_yuv(rgb, matrix="bt709")
    >>> int(y[0, 0, 0]), int(u[0, 0, 0]), int(v[0, 0, 0])
    (63, 102, 240)
    >>> yuv420_to_rgb(y, u, v, matrix="bt709", out="uint8")[0, 0, 0].tolist()  # 8-bit codes: within a level
    [255, 1, 0]
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MATRICES", "yuv420_to_rgb", "nv12_to_rgb", "rgb_to_yuv", "rgb_to_nv12", "Yuv420ToRgb", "Nv12ToRgb",
           "RgbToYuv", "RgbToNv12", "yuv_matrix"]

#: ``(K_R, K_B)`` of each colour matrix by name (``"601"``, ``"709"``, ``"2020"`` are accepted too)
MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def _kr_kb(matrix: str) -> tuple[float, float]:
    key = str(matrix).lower().replace("itu", "bt").replace("-", "").replace("_", "")
    key = key if key.startswith("bt") else "bt" + key
    if key == "bt2020ncl":
        key = "bt2020"
    if key not in MATRICES:
        raise ValueError(f"unknown YUV matrix {matrix!r}; choose one of {', '.join(MATRICES)}")
    return MATRICES[key]


def _check_bits(bits: int) -> int:
    if int(bits) != bits or not 8 <= bits <= 16:
        raise ValueError(f"YUV bit depth must be an integer in 8..16, got {bits}")
    return int(bits)


def _levels(bits: int, full_range: bool) -> tuple[float, float, float, float]:
    """``(y_offset, y_scale, c_offset, c_scale)``: code value = offset + scale · normalised."""
    s = float(2 ** (bits - 8))
    if full_range:
        m = float(2 ** bits - 1)
        return 0.0, m, 128.0 * s, m
    return 16.0 * s, 219.0 * s, 128.0 * s, 224.0 * s


def yuv_matrix(matrix: str = "bt709", full_range: bool = False, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M (3,3), offset (3,))`` float64 with ``[Y, Cb, Cr] = M @ [R, G, B] + offset``, RGB in [0, 1]
    and YUV in code values of ``bits`` bits (module docstring). Its inverse is the decode map."""
    kr, kb = _kr_kb(matrix)
    kg = 1.0 - kr - kb
    yo, ys, co, cs = _levels(_check_bits(bits), full_range)
    m = torch.tensor([[kr, kg, kb],
                      [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
                      [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))]], dtype=torch.float64)
    m = m * torch.tensor([ys, cs, cs], dtype=torch.float64)[:, None]
    return m, torch.tensor([yo, co, co], dtype=torch.float64)


@functools.lru_cache(maxsize=64)
def _coefficients(matrix: str, full_range: bool, bits: int, decode: bool, scale: float,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 ``(3,3)`` map and ``(3,)`` offset on ``device``, built once per device: a tensor
    copied from the host on every call would make each call wait for the CUDA stream.
    Encode: ``codes = M·scale @ rgb + offset``; decode: ``rgb = M⁻¹ @ codes - M⁻¹ @ offset``."""
    m, off = yuv_matrix(matrix, full_range, bits)
    if decode:
        m = torch.linalg.inv(m)
        off = -(m @ off)
    else:
        m = m * scale
    return m.to(device, torch.float32), off.to(device, torch.float32)


def _as_float(p: torch.Tensor) -> torch.Tensor:
    if p.dtype == torch.uint16:  # few kernels for uint16: reinterpret as int16 bits, widen, unmask
        return p.view(torch.int16).to(torch.int32).bitwise_and_(0xFFFF).float()
    if p.dtype == torch.int16:
        return p.to(torch.int32).bitwise_and_(0xFFFF).float()
    return p.float()


def _batched(p: torch.Tensor, nd: int, name: str) -> torch.Tensor:
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(p).__name__}")
    if p.ndim == nd - 1:
        p = p.unsqueeze(0)
    if p.ndim != nd:
        raise ValueError(f"{name}: expected {nd - 1} or {nd} dims, got shape {tuple(p.shape)}")
    return p


def _finish(rgb: torch.Tensor, out: str) -> torch.Tensor:
    """``(B,3,H,W)`` float → ``out``: ``"float"`` (B,3,H,W) in [0, 1] or ``"uint8"`` (B,H,W,3)."""
    if out == "float":
        return rgb.clamp_(0.0, 1.0)
    if out == "uint8":
        return rgb.mul_(255.0).add_(0.5).clamp_(0.0, 255.0).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    raise ValueError(f"out must be 'float' or 'uint8', got {out!r}")


def yuv420_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, *, matrix: str = "bt709",
                  full_range: bool = False, bits: int = 8, out: str = "float") -> torch.Tensor:
    """Planar YUV 4:2:0 → RGB where the planes are (module docstring for the maths).

    Args:
        y: ``(B,H,W)`` (or ``(H,W)``) luma codes; uint8 for 8 bits, else uint16/int16/int32.
        u, v: ``(B,ceil(H/2),ceil(W/2))`` Cb and Cr codes.
        matrix: ``"bt601"``, ``"bt709"`` or ``"bt2020"``. full_range: JPEG levels (else limited).
        bits: code depth (``yuv420p``: 8, ``yuv420p10le``: 10).
        out: ``"float"``: ``(B,3,H,W)`` float32 in [0, 1]; ``"uint8"``: ``(B,H,W,3)`` uint8
            rounded half up, the layout ``Processor.infer(frames, images=)`` takes.
    """
    y = _batched(y, 3, "y")
    u, v = _batched(u, 3, "u"), _batched(v, 3, "v")
    b, h, w = y.shape
    ch = ((h + 1) // 2, (w + 1) // 2)
    if tuple(u.shape) != (b, *ch) or tuple(v.shape) != (b, *ch):
        raise ValueError(f"chroma planes {tuple(u.shape)}, {tuple(v.shape)} do not fit luma {tuple(y.shape)}: "
                         f"need ({b}, {ch[0]}, {ch[1]})")
    inv, bias = _coefficients(matrix, bool(full_range), bits, True, 1.0, y.device)
    uv = torch.stack([_as_float(u), _as_float(v)], 1)  # (B,2,h2,w2)
    uv = uv.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)[..., :h, :w]
    yuv = torch.cat([_as_float(y).unsqueeze(1), uv], 1)  # (B,3,H,W) codes
    rgb = torch.einsum("bchw,kc->bkhw", yuv, inv).add_(bias.view(1, 3, 1, 1))
    return _finish(rgb, out)


def nv12_to_rgb(y: torch.Tensor, uv: torch.Tensor, **kw) -> torch.Tensor:
    """NV12 (``y (B,H,W)``, interleaved ``uv (B,ceil(H/2),ceil(W/2),2)``) → RGB; the keywords
    and the result as :func:`yuv420_to_rgb` (P010-style 10-bit: give ``bits=10`` with the
    codes already shifted down to 0..1023)."""
    uv = _batched(uv, 4, "uv")
    if uv.shape[-1] != 2:
        raise ValueError(f"uv: expected (B,h,w,2) interleaved Cb/Cr, got shape {tuple(uv.shape)}")
    return yuv420_to_rgb(y, uv[..., 0], uv[..., 1], **kw)


def rgb_to_yuv(rgb: torch.Tensor, *, matrix: str = "bt709", full_range: bool = False,
               bits: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RGB → planar YUV 4:2:0 codes ``(y (B,H,W), u, v (B,ceil(H/2),ceil(W/2)))``.

    ``rgb``: ``(B,3,H,W)`` (or ``(3,H,W)``) uint8, or float in [0, 1]. Chroma is the mean of
    each 2x2 block (odd edges replicated). Codes are rounded half up and clamped to the
    ``bits``-bit range; uint8 for 8 bits, int16 (the bits of uint16) above. The 8-bit BT.709
    limited result equals :func:`vidmatte.ops.color.rgb_to_yuv420` (what the video sink takes)."""
    rgb = _batched(rgb, 4, "rgb")
    if rgb.shape[1] != 3:
        raise ValueError(f"expected (B,3,H,W) RGB, got shape {tuple(rgb.shape)}")
    bits = _check_bits(bits)
    if rgb.dtype == torch.uint8:
        x, scale = rgb.float(), 1.0 / 255.0  # folded into the matrix
    else:
        x, scale = rgb.float().clamp(0.0, 1.0), 1.0
    m, off = _coefficients(matrix, bool(full_range), bits, False, scale, x.device)
    top = float(2 ** bits - 1)
    dtype = torch.uint8 if bits == 8 else torch.int16
    y = torch.einsum("bchw,c->bhw", x, m[0]).add_(off[0] + 0.5).clamp_(0.0, top).to(dtype)
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    c = torch.einsum("bchw,kc->bkhw", F.avg_pool2d(x, kernel_size=2, stride=2), m[1:])
    c = c.add_(off[1:].view(1, 2, 1, 1) + 0.5).clamp_(0.0, top).to(dtype)
    return y, c[:, 0], c[:, 1]


def rgb_to_nv12(rgb: torch.Tensor, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB → NV12 ``(y (B,H,W), uv (B,ceil(H/2),ceil(W/2),2))``; keywords as :func:`rgb_to_yuv`.
    ``uv[b].reshape(h2, -1)`` is the NV12 chroma plane's bytes (Cb, Cr, Cb, Cr, ...)."""
    y, u, v = rgb_to_yuv(rgb, **kw)
    return y, torch.stack([u, v], -1)


class Yuv420ToRgb(nn.Module):
    """Module form of :func:`yuv420_to_rgb`: ``(y, u, v) -> rgb``."""

    def __init__(self, matrix: str = "bt709", full_range: bool = False, bits: int = 8, out: str = "float"):
        super().__init__()
        _kr_kb(matrix), _check_bits(bits), _finish(torch.zeros(1, 3, 1, 1), out)  # fail at construction
        self.matrix, self.full_range, self.bits, self.out = matrix, full_range, bits, out

    def forward(self, y: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return yuv420_to_rgb(y, u, v, matrix=self.matrix, full_range=self.full_range, bits=self.bits, out=self.out)


class Nv12ToRgb(Yuv420ToRgb):
    """Module form of :func:`nv12_to_rgb`: ``(y, uv) -> rgb``."""

    def forward(self, y: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return nv12_to_rgb(y, uv, matrix=self.matrix, full_range=self.full_range, bits=self.bits, out=self.out)


class RgbToYuv(nn.Module):
    """Module form of :func:`rgb_to_yuv`: ``rgb -> (y, u, v)``."""

    def __init__(self, matrix: str = "bt709", full_range: bool = False, bits: int = 8):
        super().__init__()
        _kr_kb(matrix), _check_bits(bits)
        self.matrix, self.full_range, self.bits = matrix, full_range, bits

    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return rgb_to_yuv(rgb, matrix=self.matrix, full_range=self.full_range, bits=self.bits)


class RgbToNv12(RgbToYuv):
    """Module form of :func:`rgb_to_nv12`: ``rgb -> (y, uv)``."""

    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        return rgb_to_nv12(rgb, matrix=self.matrix, full_range=self.full_range, bits=self.bits)

