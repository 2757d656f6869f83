"""Every stream the output container can hold is kept; the rest are named (issue 11, item 6)."""

from __future__ import annotations

import av
import pytest

from media import make_clip
from media_more import make_multistream
from vidmatte_cli.main import main


def cli(capsys, *args):
    code = main([str(a) for a in args])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def streams(path):
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name if s.codec_context else None) for s in c.streams]


def payloads(path, kind, n):
    with av.open(str(path)) as c:
        s = getattr(c.streams, kind)[n]
        return [bytes(p) for p in c.demux(s) if p.size]


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    return make_multistream(tmp_path_factory.mktemp("multi") / "multi.mkv")


def test_mkv_to_mkv_keeps_both_audio_tracks_and_the_subtitles(tmp_path, capsys, multi):
    out = tmp_path / "out.mkv"
    code, lines = cli(capsys, "replace", multi, "--color", "#2060ff", "-o", out, "--model", "chroma", "-q")
    assert code == 0 and lines == []
    assert streams(out) == [("video", "h264"), ("audio", "aac"), ("audio", "flac"), ("subtitle", "srt")]
    for kind, n in (("audio", 0), ("audio", 1), ("subtitles", 0)):
        assert payloads(out, kind, n) == payloads(multi, kind, n)  # copied bit for bit


def test_mkv_to_mp4_keeps_the_audio_and_names_the_dropped_subtitles(tmp_path, capsys, multi):
    out = tmp_path / "out.mp4"
    code, lines = cli(capsys, "replace", multi, "--color", "#2060ff", "-o", out, "--model", "chroma", "-q")
    assert code == 0
    assert len(lines) == 1 and lines[0].startswith("vidmatte: warning: "), lines
    assert "subtitle #3 (srt)" in lines[0] and ".mkv" in lines[0]
    assert streams(out) == [("video", "h264"), ("audio", "aac"), ("audio", "flac")]
    assert payloads(out, "audio", 1) == payloads(multi, "audio", 1)


def test_second_audio_track_into_webm_is_reencoded_not_dropped(tmp_path, capsys, multi):
    out = tmp_path / "cut.webm"
    code, lines = cli(capsys, "replace", multi, "--transparent", "-o", out, "--model", "chroma", "-q")
    assert code == 0
    assert [s for s in streams(out) if s[0] == "audio"] == [("audio", "opus"), ("audio", "opus")]
    assert "subtitle" in " ".join(lines)


def test_matte_plates_keep_audio_and_sequences_say_they_cannot(tmp_path, capsys):
    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(64, 48), audio=True)
    code, lines = cli(capsys, "matte", clip.path, "-o", tmp_path / "matte.mp4", "--format", "alpha", "--model",
                      "chroma", "-q")
    assert code == 0 and lines == []
    assert ("audio", "aac") in streams(tmp_path / "matte.mp4")
    code, lines = cli(capsys, "matte", clip.path, "-o", tmp_path / "seq", "--model", "chroma", "-q")
    assert code == 0
    assert len(lines) == 1 and "audio" in lines[0] and "image sequences" in lines[0]


def test_the_timecode_of_a_mov_plate_is_kept(tmp_path, capsys):
    clip = make_clip(tmp_path / "src.mov", frames=4, size=(64, 48), audio=True)
    tagged = tmp_path / "tc.mov"
    with av.open(str(clip.path)) as i, av.open(str(tagged), "w") as o:  # a camera file: tmcd track
        out = {s.index: o.add_stream_from_template(s) for s in i.streams}
        out[0].metadata["timecode"] = "01:00:00:00"
        for p in i.demux():
            if p.size:
                p.stream = out[p.stream.index]
                o.mux(p)
    assert "data" in [kind for kind, _ in streams(tagged)]
    code, lines = cli(capsys, "matte", tagged, "-o", tmp_path / "plate.mov", "--model", "chroma", "-q")
    assert code == 0 and lines == []  # the tmcd track is not "dropped"
    with av.open(str(tmp_path / "plate.mov")) as c:
        assert c.streams.video[0].metadata.get("timecode") == "01:00:00:00"
        assert c.streams.data and c.streams.audio
