"""Background videos play at their own speed and their transparency shows a black underlay
(issue 23, item 5), checked through the `vidmatte replace` command on media made here.

The input is the chroma-keyable disc clip: its corner is the green plate, which
``--model chroma`` keys out completely, so the output corner is the background itself.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from media import make_clip, read_frames, read_pts
from vidmatte_cli.main import main

LEVEL = [20 + 20 * i for i in range(10)]  # background frame i is grey LEVEL[i]


def cli(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def index_clip(path, *, fps, n=10, size=(64, 48), codec="libx264", durations=None):
    """Background whose frame ``i`` is grey ``LEVEL[i]`` (lossless); ``durations``: per-frame
    display times in 1/100 s (GIF delays) instead of a constant ``fps``."""
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=fps)
        s.width, s.height = size
        s.pix_fmt = "yuv444p" if codec == "libx264" else "pal8"
        if codec == "libx264":
            s.options = {"qp": "0"}
        tb = Fraction(1, 100) if durations else Fraction(1, fps)
        s.codec_context.time_base = tb
        pts = 0
        for i in range(n):
            img = np.full((size[1], size[0], 3), LEVEL[i], np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            if codec != "libx264":
                f = _pal8(img)
            f.pts, f.time_base = pts, tb
            pts += durations[i] if durations else 1
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _pal8(rgb, alpha=None):
    """An RGB(A) image of few colours as a pal8 frame (what the GIF encoder takes)."""
    h, w = rgb.shape[:2]
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8) if alpha is None else alpha])
    colours, idx = np.unique(rgba.reshape(-1, 4), axis=0, return_inverse=True)
    f = av.VideoFrame(w, h, "pal8")
    plane = np.frombuffer(f.planes[0], np.uint8).reshape(f.planes[0].height, -1)
    plane[:h, :w] = idx.reshape(h, w)
    pal = np.frombuffer(f.planes[1], np.uint8).reshape(-1, 4)
    pal[:] = 0
    pal[: len(colours)] = colours[:, [2, 1, 0, 3]]  # BGRA
    return f


def corner_levels(path):
    return [int(f[2:6, 2:6].mean()) for f in read_frames(path)]


def expected(times, starts, loop):
    """Index of the background frame on screen at each time (starts: its frames' times)."""
    out = []
    for t in times:
        t = (t + 1e-6) % loop
        out.append(max(i for i, s in enumerate(starts) if s <= t))
    return out


def level_index(v):
    return int(np.argmin([abs(v - x) for x in LEVEL]))


@pytest.mark.parametrize("vfr", [False, True])
def test_a_12fps_background_plays_at_its_own_speed_under_a_30fps_input(tmp_path, capsys, vfr):
    bg = index_clip(tmp_path / "bg12.mp4", fps=12)  # 10 frames: 0.833 s, loops in the output
    clip = make_clip(tmp_path / "in.mp4", frames=40, fps=30, vfr=vfr)
    out = tmp_path / "out.mkv"
    code, err = cli(capsys, "replace", clip.path, "-o", out, "--model", "chroma", "--background", bg, "--no-smooth",
                    "--fg-estimation", "none", "-q")
    assert code == 0, err
    times = [float((p - clip.pts[0]) * clip.time_base) for p in clip.pts]  # exact (Matroska keeps ms)
    assert len(read_pts(out)[0]) == len(times)
    got = [level_index(v) for v in corner_levels(out)]
    want = expected(times, [i / 12 for i in range(10)], 10 / 12)
    assert got == want, (got, want)
    assert len(set(got)) == 10  # every background frame shows, none is skipped or sped up


def test_an_animated_gif_background_keeps_its_frame_delays(tmp_path, capsys):
    delays = [10, 30, 20, 10, 10]  # 1/100 s; the GIF muxer gives the last frame the delay before it
    bg = index_clip(tmp_path / "bg.gif", fps=10, n=5, codec="gif", durations=delays)
    clip = make_clip(tmp_path / "in.mp4", frames=48, fps=24)
    out = tmp_path / "out.mkv"
    code, err = cli(capsys, "replace", clip.path, "-o", out, "--model", "chroma", "--background", bg, "--no-smooth",
                    "--fg-estimation", "none", "-q")
    assert code == 0, err
    starts = list(np.cumsum([0] + delays[:-1]) / 100)
    got = [level_index(v) for v in corner_levels(out)]
    want = expected([i / 24 for i in range(48)], starts, sum(delays) / 100)
    assert got == want, (got, want)


def _half_transparent(path, codec, hidden=(255, 255, 255)):
    """A background whose left half is opaque red and right half fully transparent, with
    ``hidden`` stored under the transparency."""
    w, h = 64, 48
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (255, 0, 0)
    rgb[:, w // 2:] = hidden
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, : w // 2] = 255
    if codec == "png":
        from vidmatte.io.stills import write_image

        write_image(path, np.dstack([rgb, alpha]))
        return path
    with av.open(str(path), "w") as out:
        if codec == "gif":
            s = out.add_stream("gif", rate=10)
            s.pix_fmt = "pal8"
        else:
            opts = {"profile": "4444", "alpha_bits": "16"} if codec == "prores_ks" else {"auto-alt-ref": "0"}
            s = out.add_stream(codec, rate=10, options=opts)
            s.pix_fmt = "yuva444p10le" if codec == "prores_ks" else "yuva420p"
        s.width, s.height = w, h
        for i in range(3):
            f = _pal8(rgb, alpha) if codec == "gif" else av.VideoFrame.from_ndarray(
                np.dstack([rgb, alpha]), format="rgba").reformat(format=s.pix_fmt)
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


@pytest.mark.parametrize("name,codec", [("bg.webm", "libvpx-vp9"), ("bg.mov", "prores_ks"), ("bg.gif", "gif"),
                                        ("bg.png", "png")])
def test_transparent_background_areas_show_black_not_the_hidden_colour(tmp_path, capsys, name, codec):
    bg = _half_transparent(tmp_path / name, codec)
    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(64, 48))
    out = tmp_path / "out.mkv"
    code, err = cli(capsys, "replace", clip.path, "-o", out, "--model", "chroma", "--background", bg, "--no-smooth",
                    "--fg-estimation", "none", "-q")
    assert code == 0, err
    for f in read_frames(out):
        left, right = f[2:6, 2:10].reshape(-1, 3).mean(0), f[2:6, -10:-2].reshape(-1, 3).mean(0)
        assert left[0] > 200 and left[1] < 40 and left[2] < 40, left  # opaque red stays red
        assert right.max() < 24, right  # black underlay, not the stored white
