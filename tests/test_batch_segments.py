"""Segments of long videos: keyframe scan and cuts, warm-up, exact seeking, and joining the
pieces without re-encoding (no Ray: the worker runs in this process)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from media import make_clip, read_alpha, read_frames, read_pts
from vidmatte.errors import OutputError
from vidmatte.scale.join import join_pieces
from vidmatte.scale.segments import (
    DEFAULT_WARMUP,
    MAX_WARMUP,
    Scan,
    SegmentSink,
    plan_segments,
    scan,
    warmup_frames,
)
from vidmatte.scale.worker import JobSpec, Task, Worker
from vidmatte.temporal import GatedEMA, NoSmoothing, PlainEMA

#: B-frames and a keyframe every 12 frames (no extra ones at scene cuts)
GOP12 = {"preset": "medium", "x264-params": "keyint=12:min-keyint=12:scenecut=0"}


def test_scan_lists_every_frame_time_and_the_keyframes(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=50, vfr=True, options=GOP12)
    sc = scan(clip.path)
    times, n = read_pts(clip.path)
    assert sc.frames == n == 50
    assert [p * sc.time_base for p in sc.pts] == times  # presentation order, exact
    assert sc.keyframes == (0, 12, 24, 36, 48)


def test_plan_cuts_at_keyframes_and_covers_every_frame_once():
    sc = Scan(Fraction(1, 25), tuple(range(100)), tuple(range(0, 100, 10)))
    segs = plan_segments(sc, 1.0, context=5, after=2, shift=True)
    starts = [s.first_index + s.keep[0] for s in segs]
    assert starts == [0, 30, 60, 90]  # the first keyframe at least 25 frames (1 s) after the last cut
    kept = [p for s in segs for p in s.pts[s.keep[0]:s.keep[1]]]
    assert kept == list(range(100))
    second = segs[1]
    assert second.pts[0] == 25 and second.pts[-1] == 61  # 5 frames of warm-up, 2 of look-ahead
    assert second.shift == 30 and second.frames == 30
    assert segs[0].keep == (0, 30) and segs[-1].pts[-1] == 99  # clipped at both ends of the file
    with pytest.raises(ValueError):
        plan_segments(sc, 0)


def test_warmup_frames_forget_the_start_below_half_a_level():
    n = warmup_frames(GatedEMA(strength=0.8))
    assert 0.8 ** n * 255 <= 0.5 < 0.8 ** (n - 1) * 255
    assert warmup_frames(PlainEMA(weight=0.5)) == math.ceil(math.log(0.5 / 255) / math.log(0.5))
    assert warmup_frames(None) == warmup_frames(NoSmoothing()) == 0
    assert warmup_frames(GatedEMA(strength=1.0)) <= MAX_WARMUP
    assert warmup_frames(type("Own", (), {"warmup": 7})()) == 7
    assert warmup_frames(object()) == DEFAULT_WARMUP


def test_read_from_gives_the_frames_of_a_full_decode(tmp_path):
    from vidmatte.io.sources import VideoSource

    clip = make_clip(tmp_path / "in.mp4", frames=40, vfr=True, options=GOP12)
    with VideoSource(clip.path) as src:
        full = list(src)
        for k in (0, 5, 12, 13, 23, 39):  # on, after and just before keyframes
            got = list(src.read_from(full[k].pts))
            assert [f.pts for f in got] == [f.pts for f in full[k:]]
            assert all(np.array_equal(a.image, b.image) for a, b in zip(got[:3], full[k:k + 3]))


def _segmented_matte(tmp_path, clip, spec: JobSpec, context: int, name: str):
    """Run ``clip`` as segments of 0.5 s through one worker and join the pieces."""
    sc = scan(clip.path)
    segs = plan_segments(sc, 0.5, context=context, shift=True)
    assert len(segs) >= 3
    worker, pieces = Worker(spec), []
    for j, seg in enumerate(segs):
        piece = tmp_path / f"{name}-{j}.mov"
        assert worker.run(Task(str(j), str(clip.path), str(piece), seg)).frames == seg.frames
        pieces.append((piece, seg.shift * sc.time_base))
    out = tmp_path / f"{name}.mov"
    assert join_pieces(pieces, out, muxer="mov") == sc.frames
    return out


def test_warm_up_makes_the_seams_invisible(tmp_path):
    """ProRes is intra-only, so the only differences from a whole run are at the seams; a
    plain EMA lags the moving disc, so a cold start shows there."""
    from vidmatte.jobs.files import matte

    clip = make_clip(tmp_path / "in.mp4", frames=60, size=(96, 64), options=GOP12)
    spec = JobSpec(mode="matte", matter="chroma", format="prores", smoothing="ema", strength=0.8)
    whole = tmp_path / "whole.mov"
    matte(clip.path, whole, matter="chroma", format="prores", smoothing="ema", strength=0.8, progress=False)
    ref = [a.astype(int) for a in read_alpha(whole)]
    warm = _segmented_matte(tmp_path, clip, spec, warmup_frames(PlainEMA(weight=0.2)), "warm")
    cold = _segmented_matte(tmp_path, clip, spec, 0, "cold")
    assert read_pts(warm) == read_pts(whole)
    warm_err = max(int(np.abs(a - b).max()) for a, b in zip(ref, read_alpha(warm)))
    cold_err = max(int(np.abs(a - b).max()) for a, b in zip(ref, read_alpha(cold)))
    assert warm_err <= 1, warm_err
    assert cold_err > 20, cold_err  # the test can see a seam


def test_segment_sink_writes_what_a_look_ahead_smoother_still_holds(tmp_path):
    """At the end of a segment the sink asks the processor for the frames it held back."""
    from vidmatte.frame import Frame
    from vidmatte.io.sinks import VideoSink

    seg = plan_segments(Scan(Fraction(1, 24), tuple(range(10)), (0,)), 100)[0]
    frames = [Frame(np.zeros((16, 16, 3), np.uint8), pts=i, time_base=Fraction(1, 24), index=i) for i in range(10)]

    class Held:  # what Processor.flush() returns: frames complete only at the end of the stream
        def flush(self):
            return frames[7:]

    with VideoSink(tmp_path / "p.mp4", width=16, height=16, time_base=Fraction(1, 24), fps=24) as sink:
        out = SegmentSink(sink, seg, Held())
        for f in frames[:7]:
            out.write(f)
        out.close()
    assert out.frames == 10 and read_pts(tmp_path / "p.mp4")[1] == 10


def test_join_refuses_pieces_from_other_encoder_settings(tmp_path):
    from vidmatte.io.sinks import VideoSink
    from vidmatte.io.sources import VideoSource

    clip = make_clip(tmp_path / "in.mp4", frames=8)
    with VideoSource(clip.path) as src:
        frames = list(src)
    pieces = []
    for j, speed in enumerate(("medium", "ultrafast")):
        path = tmp_path / f"p{j}.mp4"
        with VideoSink(path, width=64, height=48, time_base=src.time_base, fps=src.fps, codec_preset=speed) as sink:
            for f in frames[4 * j:4 * j + 4]:
                sink.write(f)
        pieces.append((path, Fraction(0)))
    with pytest.raises(OutputError, match="other codec settings"):
        join_pieces(pieces, tmp_path / "out.mp4", muxer="mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "p0.mp4", "p1.mp4"]  # nothing half-written
    assert len(read_frames(pieces[0][0])) == 4
