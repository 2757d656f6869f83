"""VideoSink / ImageSequenceSink / open_sink / atomic outputs, read back with PyAV."""

from __future__ import annotations

import json
import os
from fractions import Fraction

import av
import numpy as np
import pytest
from media import make_clip, read_frames, read_pts

from vidmatte.errors import OutputError
from vidmatte.frame import Frame
from vidmatte.io import (
    ImageSequenceSink,
    ImageSequenceSource,
    VideoSink,
    VideoSource,
    atomic_path,
    open_sink,
)
from vidmatte.ops.color import rgb_to_yuv420


def _copy(src_path, out_path, **kw):
    with VideoSource(src_path) as src:
        with VideoSink(out_path, width=src.width, height=src.height, time_base=src.time_base, fps=src.fps, **kw) as sink:
            for f in src:
                sink.write(f)
    return sink


def _leftovers(folder):
    return sorted(p for p in os.listdir(folder) if ".partial-" in p)


@pytest.mark.parametrize("name,vfr", [("cfr.mp4", False), ("vfr.mp4", True), ("vfr.mov", True), ("cfr.mkv", False)])
def test_frame_count_and_every_pts_pass_through(tmp_path, name, vfr):
    clip = make_clip(tmp_path / name, frames=20, vfr=vfr)
    out = tmp_path / f"out_{name}"
    _copy(clip.path, out, codec_preset="ultrafast")
    times_in, n_in = read_pts(clip.path)
    times_out, n_out = read_pts(out)
    assert n_out == n_in == 20
    assert times_out == times_in  # exact, as Fractions of a second
    assert not _leftovers(tmp_path)


def test_pts_in_another_time_base_are_rescaled_not_renumbered(tmp_path):
    out = tmp_path / "o.mp4"
    with VideoSink(out, width=32, height=32, time_base=Fraction(1, 1000), fps=10) as sink:
        for ms in (0, 100, 250, 300, 700):  # given in 1/90000 s
            sink.write(Frame(np.zeros((32, 32, 3), np.uint8), pts=ms * 90, time_base=Fraction(1, 90000)))
    times, n = read_pts(out)
    assert [t * 1000 for t in times] == [0, 100, 250, 300, 700]


def test_h264_is_tagged_bt709_and_colours_survive(tmp_path):
    clip = make_clip(tmp_path / "grad.mkv", frames=4, pattern="gradient", keep_images=True, size=(96, 64))
    out = tmp_path / "o.mp4"
    with VideoSink(out, width=96, height=64, fps=24, crf=12) as sink:
        for i, img in enumerate(clip.images):
            sink.write(Frame(img, pts=i, time_base=Fraction(1, 24)))
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range) == (1, 1, 1, 1)
        assert cc.name == "h264" and c.streams.video[0].format.name == "yuv420p"
    for got, truth in zip(read_frames(out), clip.images):
        assert np.abs(got.astype(int) - truth).mean() < 2.0


def test_odd_size_is_padded_to_even_by_repeating_the_edge(tmp_path):
    rng = np.random.default_rng(0)
    w, h = 321, 241
    base = np.dstack([*np.meshgrid(np.linspace(0, 255, w), np.linspace(0, 255, h)), np.full((h, w), 90.0)])
    img = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
    out = tmp_path / "odd.mp4"
    with VideoSink(out, width=w, height=h, fps=24, crf=10) as sink:
        assert sink.coded_size == (322, 242)
        for i in range(3):
            sink.write(Frame(img, pts=i, time_base=Fraction(1, 24)))
    frames = read_frames(out)
    assert len(frames) == 3 and frames[0].shape == (242, 322, 3)
    got = frames[0].astype(int)
    assert np.abs(got[:h, :w] - img).mean() < 2.5
    assert np.abs(got[h, :w] - got[h - 1, :w]).mean() < 3 and np.abs(got[:h, w] - got[:h, w - 1]).mean() < 3
    # VP9 and ProRes code odd sizes as they are
    for name, preset in (("odd.webm", "webm"), ("odd.mov", "prores")):
        with VideoSink(tmp_path / name, width=w, height=h, fps=24, preset=preset, codec_preset="ultrafast") as sink:
            sink.write(Frame(img, pts=0, time_base=Fraction(1, 24)))
        assert read_frames(tmp_path / name)[0].shape == (h, w, 3)


def test_yuv420_planes_encode_like_rgb(tmp_path):
    import torch

    clip = make_clip(tmp_path / "grad.mkv", frames=3, pattern="gradient", keep_images=True, size=(64, 48))
    yuv = rgb_to_yuv420(torch.from_numpy(np.stack(clip.images)).permute(0, 3, 1, 2)).unbind()
    out = tmp_path / "yuv.mp4"
    with VideoSink(out, width=64, height=48, fps=24, crf=10) as sink:
        for i, planes in enumerate(yuv):
            sink.write(Frame(planes, pts=i, time_base=Fraction(1, 24)))
    for got, truth in zip(read_frames(out), clip.images):
        assert np.abs(got.astype(int) - truth).mean() < 2.0


def test_output_errors_are_one_line_and_leave_nothing(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=2)
    kw = dict(width=64, height=48, fps=24)
    cases = [
        (lambda: open_sink(tmp_path / "o.avi", **kw), "supported: .mp4"),
        (lambda: open_sink(tmp_path / "o.gif", **kw), "cannot write .gif"),
        (lambda: VideoSink(clip.path, input_path=clip.path, overwrite=True, **kw), "is the input"),
        (lambda: VideoSink(tmp_path / "in.mp4", audio_from=str(clip.path), overwrite=True, **kw), "is the input"),
        (lambda: VideoSink(clip.path, **kw), "--overwrite"),
        (lambda: VideoSink(tmp_path / "o.mp4", preset="prores", **kw), "use .mov or .mkv"),
        (lambda: VideoSink(tmp_path / "o.mp4", preset="gif", **kw), "unknown video format"),
        (lambda: VideoSink(tmp_path / "no_dir" / "o.mp4", **kw), "does not exist"),
        (lambda: open_sink(tmp_path / "one.png", **kw), "names one image"),
    ]
    for make, match in cases:
        with pytest.raises(OutputError, match=match) as info:
            make()
        assert "\n" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["in.mp4"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_exception_mid_write_deletes_the_partial_file(tmp_path, exc):
    out = tmp_path / "o.mp4"
    with pytest.raises(exc):
        with VideoSink(out, width=32, height=32, fps=24, audio_from=make_clip(tmp_path / "a.mp4", audio=True).path) as sink:
            for i in range(5):
                sink.write(Frame(np.zeros((32, 32, 3), np.uint8), pts=i, time_base=Fraction(1, 24)))
            assert _leftovers(tmp_path)  # the temporary file exists while writing
            raise exc()
    assert not out.exists() and not _leftovers(tmp_path)


def test_abort_overwrite_and_empty_output(tmp_path):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"old")
    sink = VideoSink(out, width=32, height=32, fps=24, overwrite=True)
    sink.write(Frame(np.zeros((32, 32, 3), np.uint8), pts=0, time_base=Fraction(1, 24)))
    sink.abort()
    sink.abort()
    assert out.read_bytes() == b"old" and not _leftovers(tmp_path)  # the old file is untouched
    sink = VideoSink(out, width=32, height=32, fps=24, overwrite=True)
    with pytest.raises(OutputError, match="no frames"):
        sink.close()
    assert out.read_bytes() == b"old" and not _leftovers(tmp_path)
    with VideoSink(out, width=32, height=32, fps=24, overwrite=True) as sink:
        sink.write(Frame(np.zeros((32, 32, 3), np.uint8)))
    assert read_pts(out)[1] == 1


def test_open_sink_picks_by_extension(tmp_path):
    kw = dict(width=32, height=32, fps=24)
    assert open_sink(tmp_path / "a.mp4", **kw).preset.name == "h264"
    assert open_sink(tmp_path / "b.mov", **kw).preset.name == "h264"
    assert open_sink(tmp_path / "c.mov", format="prores", **kw).preset.name == "prores"
    assert open_sink(tmp_path / "d.webm", **kw).preset.name == "webm"
    assert open_sink(tmp_path / "e.mp4", format="alpha", **kw).preset.matte
    seq = open_sink(tmp_path / "frames" / "f_%04d.exr", **kw)
    assert isinstance(seq, ImageSequenceSink) and seq.format == "exr" and seq.pattern == "f_%04d"
    assert isinstance(open_sink(tmp_path / "pngs", **kw), ImageSequenceSink)
    for s in (seq,):
        s.abort()


def test_image_sequence_sink_writes_sidecar_and_round_trips_timing(tmp_path):
    clip = make_clip(tmp_path / "vfr.mp4", frames=6, vfr=True)
    folder = tmp_path / "frames"
    with VideoSource(clip.path) as src, ImageSequenceSink(folder) as sink:
        for f in src:
            sink.write(f)
    names = sorted(os.listdir(folder))
    assert names == [f"frame_{i:06d}.png" for i in range(6)] + ["timestamps.json"]
    side = json.loads((folder / "timestamps.json").read_text())
    assert [e["index"] for e in side["frames"]] == list(range(6))
    back = ImageSequenceSource(folder)
    assert [f.pts * f.time_base for f in back] == clip.times
    assert not _leftovers(tmp_path)
    with pytest.raises(OutputError, match="--overwrite"):
        ImageSequenceSink(folder)
    with pytest.raises(ValueError):
        with ImageSequenceSink(folder, overwrite=True) as sink:
            sink.write(Frame(np.zeros((4, 4, 3), np.uint8), pts=0, time_base=Fraction(1, 24)))
            raise ValueError("boom")
    assert sorted(os.listdir(folder)) == names and not _leftovers(tmp_path)  # old sequence intact
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="holds other files"):
        ImageSequenceSink(tmp_path / "mine", overwrite=True)


def test_atomic_path(tmp_path):
    target = tmp_path / "x.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    with pytest.raises(ZeroDivisionError):
        with atomic_path(target, overwrite=True) as tmp:
            tmp.write_bytes(b"half")
            1 / 0
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.bin"]


def test_unreadable_audio_source_fails_cleanly(tmp_path):
    from media import make_corrupt

    from vidmatte.errors import InputError

    bad = make_corrupt(tmp_path / "bad.mp4")
    with pytest.raises(InputError, match="cannot read audio") as info:
        VideoSink(tmp_path / "o.mp4", width=32, height=32, fps=24, audio_from=bad)
    assert "\n" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["bad.mp4"]


def test_repeated_pts_are_bumped_and_counted(tmp_path):
    out = tmp_path / "o.mp4"
    with VideoSink(out, width=32, height=32, time_base=Fraction(1, 1000), fps=25) as sink:
        for ms in (0, 40, 40, 120):  # a broken source repeats a timestamp
            sink.write(Frame(np.zeros((32, 32, 3), np.uint8), pts=ms, time_base=Fraction(1, 1000)))
    assert sink.pts_adjusted == 1
    times, n = read_pts(out)
    assert n == 4 and [t * 1000 for t in times] == [0, 40, 41, 120]
