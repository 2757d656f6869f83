"""One test per row of docs/stream-properties.md: what `vidmatte replace`/`matte` does with each
stream property FFmpeg reports (issue 23, item 8). Rows whose test lives elsewhere name it
in the table; the media here are made with PyAV.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from media import make_clip, read_frames, read_pts
from vidmatte_cli.main import main


def cli(capsys, *args):
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("vidmatte: warning:")], err


def replace(capsys, src, out, *extra):
    bg = () if "--color" in extra else ("--blur",)
    code, warnings, err = cli(capsys, "replace", src, "-o", out, "--model", "chroma", *bg, "--no-smooth", "-q", *extra)
    assert code == 0, err
    return warnings


def _write(path, frames, *, pix_fmt="yuv420p", codec="libx264", options=None, setup=None, rate=24,
           tag=None, container_setup=None, full_range=False):
    """Encode RGB ``frames`` (list of (H,W,3) uint8); ``setup(stream)`` / ``tag(frame)`` set properties;
    ``full_range``: YUV levels 0-255, tagged so (else 16-235)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate, options={"qp": "0", **(options or {})} if codec == "libx264" else options or {})
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        cc = s.codec_context  # tag what the frames hold: BT.709, limited range
        cc.colorspace = cc.color_primaries = cc.color_trc = cc.color_range = 1
        if full_range:
            cc.color_range = 2
        if setup:
            setup(s)
        if container_setup:
            container_setup(c)
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace="ITU709", dst_color_range="JPEG" if full_range else "MPEG")
            if full_range:
                f.color_range = 2
            if tag:
                tag(f)
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def solid(colour, n=4, size=(48, 64)):
    return [np.full((*size, 3), colour, np.uint8) for _ in range(n)]


# -- rotation / display matrix: converted (upright pixels, no matrix in the output) -----------
def test_rotation_is_applied_to_the_pixels_and_not_written_again(tmp_path, capsys):
    clip = make_clip(tmp_path / "rot.mp4", frames=4, size=(64, 48), rotation=-90)
    out = tmp_path / "out.mp4"
    replace(capsys, clip.path, out)
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
        assert (f.width, f.height) == (48, 64)  # upright: portrait
        assert not f.rotation and "rotate" not in c.streams.video[0].metadata


# -- colour range: converted (full-range input decoded as full range, output limited) --------
def test_full_range_input_keeps_its_levels(tmp_path, capsys):
    h, w = 48, 64
    frames = []
    for i in range(4):
        img = np.full((h, w, 3), 200, np.uint8)
        img[:, :8] = 10  # a near-black band: full range puts it below limited range's 16
        frames.append(img)
    src = _write(tmp_path / "full.mkv", frames, pix_fmt="yuv444p", full_range=True)
    out = tmp_path / "out.mkv"
    replace(capsys, src, out, "--color", "#000000")  # grey, no green: the composite is the input
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.color_range == 1  # written limited, tagged so
    img = read_frames(out)[0].astype(int)
    assert abs(img[:, 20:].mean() - 200) <= 3 and abs(img[:, 1:6].mean() - 10) <= 4, (img[:, 20:].mean(), img[:, 1:6].mean())


# -- matrix / primaries / transfer (SDR): converted to BT.709 tags ----------------------------
@pytest.mark.parametrize("colorspace", [6, 5])  # SMPTE 170M and BT.470BG: the two BT.601 matrices
def test_bt601_input_comes_out_with_its_colours_in_bt709(tmp_path, capsys, colorspace):
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:] = (200, 40, 60)
    src = tmp_path / "sd601.mkv"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=24, options={"qp": "0"})
        s.width, s.height, s.pix_fmt = 64, 48, "yuv444p"
        s.codec_context.colorspace, s.codec_context.color_primaries, s.codec_context.color_trc = colorspace, 6, 6
        for i in range(3):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p", dst_colorspace="ITU601",
                                                                        dst_color_range="MPEG")
            f.colorspace, f.pts = colorspace, i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    out = tmp_path / "out.mp4"
    replace(capsys, src, out, "--color", "#000000")
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_primaries, cc.color_trc) == (1, 1, 1)
        f = next(c.decode(video=0))
        got = f.to_ndarray(format="rgb24", src_colorspace="ITU709")[20:28, 20:40].reshape(-1, 3).mean(0)
    assert np.abs(got - (200, 40, 60)).max() <= 6, got  # read as 709 it would be ~(205, 52, 61)+


# -- chroma siting: not kept (decoded with swscale's default; output the encoder default) ------
def test_chroma_siting_tag_is_harmless(tmp_path, capsys):
    src = _write(tmp_path / "sited.mkv", solid((200, 40, 60)), options={"x264-params": "chromaloc=2"})  # top-left
    out = tmp_path / "out.mp4"
    assert replace(capsys, src, out, "--color", "#000000") == []
    got = read_frames(out)[0][10:30, 10:50].reshape(-1, 3).mean(0)
    assert np.abs(got - (200, 40, 60)).max() <= 6


# -- field order / interlacing: converted (deinterlaced with bwdif), warned -------------------
def _comb(img):
    g = img.astype(np.int32).mean(-1)
    return float(np.abs(g[1:-1] - (g[:-2] + g[2:]) / 2).mean())


def test_interlaced_input_is_deinterlaced_with_one_warning(tmp_path, capsys):
    frames = []
    for i in range(8):  # a bar moving 8 px a frame, the odd field 4 px later: combing
        img = np.full((48, 96, 3), 40, np.uint8)
        img[0::2, 8 * i:8 * i + 16] = 220
        img[1::2, 8 * i + 4:8 * i + 20] = 220
        frames.append(img)
    src = _write(tmp_path / "tff.mkv", frames, pix_fmt="yuv420p", options={"x264-params": "interlaced=1:tff=1"},
                 rate=25)
    with av.open(str(src)) as c:
        assert all(f.interlaced_frame for f in c.decode(video=0))
    before = np.mean([_comb(f) for f in read_frames(src)[1:]])
    out = tmp_path / "out.mkv"
    warnings = replace(capsys, src, out, "--color", "#000000")
    assert len(warnings) == 1 and "interlaced" in warnings[0] and "top field first" in warnings[0], warnings
    outs = read_frames(out)
    assert len(outs) == 8 and read_pts(out)[0] == read_pts(src)[0]
    after = np.mean([_comb(f) for f in outs[1:]])
    assert after < before / 4, (before, after)
    with av.open(str(out)) as c:
        assert not any(f.interlaced_frame for f in c.decode(video=0))


# -- sample aspect ratio: kept on video outputs, warned for image sequences -------------------
@pytest.mark.parametrize("ext", ["mp4", "mkv", "mov"])
def test_non_square_pixels_keep_their_aspect_ratio(tmp_path, capsys, ext):
    def setup(s):
        s.codec_context.sample_aspect_ratio = Fraction(16, 11)

    src = _write(tmp_path / "anamorphic.mkv", solid((90, 90, 90)), setup=setup)
    out = tmp_path / f"out.{ext}"
    args = ("--format", "prores") if ext == "mov" else ()
    assert replace(capsys, src, out, *args) == []
    with av.open(str(out)) as c:
        st = c.streams.video[0]  # the container's (MOV pasp, Matroska) or the bitstream's (H.264 VUI)
        assert (st.sample_aspect_ratio or st.codec_context.sample_aspect_ratio) == Fraction(16, 11)
    code, warnings, err = cli(capsys, "matte", src, "-o", tmp_path / "seq", "--model", "chroma", "-q")
    assert code == 0, err
    assert any("16/11" in w and "image sequences" in w for w in warnings), warnings


# -- alpha of the input: ignored, warned --------------------------------------------------------
def test_an_input_with_alpha_says_its_alpha_is_not_used(tmp_path, capsys):
    clip = make_clip(tmp_path / "rgba.mov", frames=4, codec="prores_ks", with_alpha=True)
    out = tmp_path / "out.mp4"
    warnings = replace(capsys, clip.path, out)
    assert len(warnings) == 1 and "alpha channel is not used" in warnings[0], warnings
    vp9 = make_clip(tmp_path / "rgba.webm", frames=4, codec="libvpx-vp9", with_alpha=True)
    warnings = replace(capsys, vp9.path, tmp_path / "out2.mp4")
    assert len(warnings) == 1 and "alpha channel is not used" in warnings[0], warnings


# -- edit lists: honoured by the demuxer (B-frame delay edit; every frame, times from 0) -------
def test_an_mp4_edit_list_is_honoured(tmp_path, capsys):
    clip = make_clip(tmp_path / "bframes.mp4", frames=12, options={"bf": "2"})  # x264 B-frames: an edit list
    out = tmp_path / "out.mp4"
    replace(capsys, clip.path, out)
    assert read_pts(out) == read_pts(clip.path)
    assert read_pts(out)[0][0] == 0


# -- container tags and video-stream language/title: kept -------------------------------------
def _tagged(tmp_path, *, chapters=True, attachment=True):
    def container_setup(c):
        c.metadata["title"] = "Ferry at dawn"
        c.metadata["comment"] = "shot on a phone"
        if attachment:
            c.add_attachment("font.ttf", "application/x-truetype-font", b"\x00\x01\x00\x00FONT" * 8)
        if chapters:
            c.set_chapters([{"id": 1, "start": 0, "end": 12, "time_base": Fraction(1, 24), "metadata": {"title": "One"}},
                            {"id": 2, "start": 12, "end": 24, "time_base": Fraction(1, 24),
                             "metadata": {"title": "Two"}}])

    def setup(s):
        s.metadata["language"] = "fra"

    return _write(tmp_path / "tagged.mkv", solid((90, 90, 90), n=24), setup=setup, container_setup=container_setup)


@pytest.mark.parametrize("ext", ["mkv", "mp4", "mov"])
def test_tags_and_chapters_are_kept(tmp_path, capsys, ext):
    src = _tagged(tmp_path, attachment=False)
    out = tmp_path / f"out.{ext}"
    replace(capsys, src, out)
    with av.open(str(out)) as c:
        meta = {k.lower(): v for k, v in c.metadata.items()}
        assert meta["title"] == "Ferry at dawn" and meta["comment"] == "shot on a phone"
        assert c.streams.video[0].metadata.get("language") == "fra"
        chapters = c.chapters()
        assert [ch["metadata"].get("title") for ch in chapters] == ["One", "Two"]
        assert float(chapters[1]["start"] * chapters[1]["time_base"]) == pytest.approx(0.5, abs=0.01)


def test_chapters_into_a_ts_stream_are_named_as_left_out(tmp_path, capsys):
    import subprocess
    import sys

    src = _tagged(tmp_path, attachment=False)
    res = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "replace", str(src), "-o", "-", "--format", "ts",
                          "--model", "chroma", "--blur", "-q"], capture_output=True, timeout=120)
    assert res.returncode == 0 and b"2 chapter(s) are not kept" in res.stderr, res.stderr


# -- attachments: kept in Matroska, named as dropped elsewhere ---------------------------------
def test_attachments_are_kept_in_matroska_and_named_elsewhere(tmp_path, capsys):
    src = _tagged(tmp_path, chapters=False)
    out = tmp_path / "out.mkv"
    assert replace(capsys, src, out) == []
    with av.open(str(out)) as c:
        att = [s for s in c.streams if s.type == "attachment"]
        assert len(att) == 1 and att[0].name == "font.ttf" and bytes(att[0].data) == b"\x00\x01\x00\x00FONT" * 8
    warnings = replace(capsys, src, tmp_path / "out.mp4")
    assert len(warnings) == 1 and "font.ttf" in warnings[0] and "Matroska" in warnings[0], warnings
