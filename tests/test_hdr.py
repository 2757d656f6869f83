"""HDR input (10-bit BT.2020 PQ or HLG, HEVC or H.264) is tone-mapped to SDR BT.709 with one
warning: the model sees a sensible SDR picture and the output's BT.709 tags are true
(issue 23, item 2). Media made here with PyAV."""

from __future__ import annotations

import av
import numpy as np
import pytest

from media import read_frames
from vidmatte_cli.main import main

#: signal levels of the three bands: 18 % grey, reference white (203 nits), a highlight (BT.2408)
BANDS = {16: (0.38, 0.58, 0.75), 18: (0.38, 0.75, 0.95)}


def make_hdr(path, codec: str, trc: int, *, frames: int = 4, size=(96, 48)) -> None:
    """Three grey bands at the :data:`BANDS` signal levels, 10-bit 4:2:0 tagged BT.2020 + ``trc``."""
    w, h = size
    with av.open(str(path), "w") as c:
        opts = {"x265-params": "log-level=error:lossless=1"} if codec == "libx265" else {"qp": "0"}
        s = c.add_stream(codec, rate=24, options=opts)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p10le"
        cc = s.codec_context
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 9, trc, 9, 1
        for i in range(frames):
            f = av.VideoFrame(w, h, "yuv420p10le")
            y = np.frombuffer(f.planes[0], np.uint16).reshape(f.planes[0].height, -1)
            for k, level in enumerate(BANDS[trc]):
                y[:, k * w // 3:(k + 1) * w // 3] = int(round(64 + level * 876))
            for p in (1, 2):
                np.frombuffer(f.planes[p], np.uint16).reshape(f.planes[p].height, -1)[:] = 512
            f.color_primaries, f.color_trc, f.colorspace, f.color_range = 9, trc, 9, 1
            f.pts = i
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def band_levels(image):
    w = image.shape[1]
    return [float(image[:, k * w // 3 + 4:(k + 1) * w // 3 - 4].mean()) for k in range(3)]


CASES = [("pq.mkv", "libx265", 16), ("hlg.mp4", "libx264", 18), ("pq264.mp4", "libx264", 16),
         ("hlg265.mov", "libx265", 18)]


@pytest.mark.parametrize("name,codec,trc", CASES)
def test_the_model_sees_an_sdr_picture(tmp_path, name, codec, trc):
    from vidmatte.io.registry import open_source

    make_hdr(tmp_path / name, codec, trc)
    with pytest.warns(UserWarning, match="HDR input .* tone-mapped to SDR BT.709"):
        src = open_source(tmp_path / name, deep=None)
    with src:
        frame = next(iter(src))
    img = frame.image.astype(np.float32) / (65535.0 if frame.image.dtype == np.uint16 else 255.0) * 255.0
    grey, white, high = band_levels(img)
    assert 100 <= grey <= 125, grey  # 18 % grey lands at SDR mid-grey, not at the PQ code (97)
    assert 232 <= white <= 250, white  # reference white near SDR white, headroom above it
    assert white < high <= 255, high  # highlights compressed, still brighter, not clipped below white
    assert src.hdr == trc


@pytest.mark.parametrize("name,codec,trc", CASES[:2])
@pytest.mark.parametrize("out_name", ["out.mp4", "out.mov"])
def test_hdr_input_gives_a_true_bt709_output_and_one_warning(tmp_path, capsys, name, codec, trc, out_name):
    make_hdr(tmp_path / name, codec, trc)
    out = tmp_path / out_name
    args = ["replace", tmp_path / name, "-o", out, "--model", "chroma", "--color", "#000000", "--no-smooth"]
    if out_name.endswith(".mov"):
        args += ["--format", "prores"]
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("vidmatte: warning:")]
    assert len(warnings) == 1 and "tone-mapped" in warnings[0] and ("PQ" in warnings[0] or "HLG" in warnings[0])
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.color_primaries, cc.color_trc, cc.colorspace) == (1, 1, 1)
    grey, white, high = band_levels(read_frames(out)[0].astype(np.float32))
    assert 90 <= grey <= 130 and 225 <= white <= 252 and high > white, (grey, white, high)
