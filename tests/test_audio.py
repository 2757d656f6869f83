"""Audio passthrough: bit-identical stream copy where the container allows it, re-encode where not."""

from __future__ import annotations

import av
import pytest
from media import audio_duration, make_clip, read_audio_packets, read_pts

from vidmatte.io import VideoSink, VideoSource


def _process(src_path, out_path, **kw):
    with VideoSource(src_path) as src:
        with VideoSink(out_path, width=src.width, height=src.height, time_base=src.time_base, fps=src.fps,
                       audio_from=src_path, codec_preset="ultrafast", **kw) as sink:
            for f in src:
                sink.write(f)
    return sink


@pytest.mark.parametrize("src_name,out_name", [("in.mp4", "out.mp4"), ("in.mp4", "out.mov"), ("vfr.mp4", "out_vfr.mp4")])
def test_stream_copy_is_bit_identical(tmp_path, src_name, out_name):
    clip = make_clip(tmp_path / src_name, frames=24, audio=True, vfr=src_name.startswith("vfr"))
    sink = _process(clip.path, tmp_path / out_name)
    assert sink.audio.mode == "copy"
    a_in, a_out = read_audio_packets(clip.path), read_audio_packets(tmp_path / out_name)
    assert len(a_out) == len(a_in) > 40
    assert [b for _, b in a_out] == [b for _, b in a_in]  # payload bytes
    assert [t for t, _ in a_out] == [t for t, _ in a_in]  # and their times
    assert read_pts(tmp_path / out_name) == read_pts(clip.path)  # video untouched by the muxing


def test_matroska_copy_keeps_bytes_and_sync(tmp_path):
    # Matroska stores milliseconds and no negative times: FFmpeg shifts every stream by the
    # AAC priming delay (21.3 ms), audio and video alike, so sync is what must hold.
    clip = make_clip(tmp_path / "in.mov", frames=24, audio=True)
    out = tmp_path / "out.mkv"
    assert _process(clip.path, out).audio.mode == "copy"
    a_in, a_out = read_audio_packets(clip.path), read_audio_packets(out)
    assert [b for _, b in a_out] == [b for _, b in a_in]
    (v_in, _), (v_out, _) = read_pts(clip.path), read_pts(out)
    for (t_in, _), (t_out, _) in zip(a_in, a_out):
        assert abs(float((t_out - v_out[0]) - (t_in - v_in[0]))) <= 0.001
    assert all(abs(float((b - v_out[0]) - (a - v_in[0]))) <= 0.001 for a, b in zip(v_in, v_out))


def test_audio_is_interleaved_with_video(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=48, audio=True)
    _process(clip.path, tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as c:
        kinds = "".join(p.stream.type[0] for p in c.demux() if p.size)
    half = len(kinds) // 2
    assert "a" in kinds[:half] and "v" in kinds[half:]  # not all audio at one end


def test_aac_into_webm_is_reencoded_to_opus_with_the_same_duration(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=24, audio=True)
    sink = _process(clip.path, tmp_path / "out.webm")
    assert sink.audio.mode == "libopus"
    with av.open(str(tmp_path / "out.webm")) as c:
        assert c.streams.audio[0].codec_context.name == "opus"
    d_in, d_out = audio_duration(clip.path), audio_duration(tmp_path / "out.webm")
    assert abs(d_out - d_in) <= 1024 / 48000  # within one audio frame
    assert abs(d_out - 1.0) <= 1024 / 48000


def test_opus_from_webm_is_copied_into_mp4(tmp_path):
    clip = make_clip(tmp_path / "in.webm", frames=12, audio=True, codec="libvpx-vp9")
    sink = _process(clip.path, tmp_path / "out.mp4")
    assert sink.audio.mode == "copy"
    assert [b for _, b in read_audio_packets(tmp_path / "out.mp4")] == [b for _, b in read_audio_packets(clip.path)]


def test_no_audio_in_source_means_no_audio_stream(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=6, audio=False)
    sink = _process(clip.path, tmp_path / "out.mp4")
    assert sink.audio.mode is None
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert not c.streams.audio and len(c.streams.video) == 1
