"""Sources and sinks by name: the registry picks a kind, plugins register, one aggregated error."""

from __future__ import annotations

import numpy as np
import pytest

from media import make_clip
from vidmatte.errors import InputError, OutputError
from vidmatte.frame import Frame
from vidmatte.io import ImageSequenceSink, VideoSink, VideoSource
from vidmatte.io.registry import SINKS, Sink, Source, open_sink, open_source, register_sink


class MemorySink:
    accepts = ("rgb24",)

    def __init__(self, spec, **kw):
        self.spec, self.frames, self.closed = spec, [], False

    def write(self, frame):
        self.frames.append(frame)

    def close(self):
        self.closed = True

    def abort(self):
        self.frames.clear()


def test_builtin_kinds_are_picked_and_fit_the_protocols(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=2)
    with open_source(clip.path) as src:
        assert isinstance(src, VideoSource) and isinstance(src, Source)
    kw = dict(width=64, height=48, fps=25)
    video = open_sink(tmp_path / "o.mp4", **kw)
    seq = open_sink(tmp_path / "frames", **kw)
    assert isinstance(video, VideoSink) and isinstance(seq, ImageSequenceSink)
    assert isinstance(video, Sink) and video.accepts == ("rgb24", "yuv420p")
    assert open_sink(tmp_path / "p.mov", format="prores", **kw).accepts == ("rgba", "rgba64", "rgb24", "rgb48")
    assert seq.accepts[0] == "rgba"
    for s in (video, seq):
        s.abort()


def test_a_plugin_sink_registers_by_name(tmp_path):
    register_sink("memory", MemorySink, lambda spec: spec.startswith("memory:"), "in-memory frames")
    try:
        sink = open_sink("memory:test")
        assert isinstance(sink, MemorySink) and isinstance(sink, Sink)
        sink.write(Frame(np.zeros((4, 4, 3), np.uint8)))
        assert len(sink.frames) == 1
    finally:
        SINKS.pop("memory")


def test_errors_name_what_was_tried(tmp_path):
    with pytest.raises(InputError, match="tried: video file, image file, image folder"):
        open_source(tmp_path / "missing.mov")
    with pytest.raises(InputError, match="unknown input kind"):
        open_source(tmp_path, kind="nope")
    with pytest.raises(OutputError, match="supported: .mp4"):
        open_sink(tmp_path / "o.avi", width=8, height=8, fps=25)


def test_a_plugin_source_scheme_is_not_refused_before_its_own_check(tmp_path):
    """A registered kind (``myserver://``) opens its specs; the up-front missing-file check
    only applies to kinds that read a local path, and its message lists the registered kinds."""
    from vidmatte.io.registry import SOURCES, check_source, register_source

    class Server:
        width, height = 4, 2

        def __init__(self, spec, **kw):
            self.spec = spec

        def __iter__(self):
            return iter(())

        def close(self):
            pass

    register_source("myserver", Server, lambda t: t.startswith("myserver://"), "my server (myserver://…)")
    try:
        check_source("myserver://host/cam1")
        src = open_source("myserver://host/cam1")
        assert isinstance(src, Server) and src.spec == "myserver://host/cam1"
        with pytest.raises(InputError, match=r"no such file or folder \(tried: video file, image file, my server"):
            open_source(tmp_path / "missing.mp4")
    finally:
        SOURCES.pop("myserver")
    clip = tmp_path / "take[1].mp4"  # an existing file is a file, whatever its name holds
    make_clip(clip, frames=3)
    assert type(open_source(clip)).__name__ == "VideoSource"
