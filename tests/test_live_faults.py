"""Bad live input: a stream that stalls, a camera/stream that disappears, a sink that blocks.
Neither memory nor latency grows without bound (only the newest frame is ever held), and the
run ends with one line saying what happened."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from fakes import ListSink
from test_capture import _listener, _mpegts, _serve
from vidmatte import ChromaKeyMatter
from vidmatte.errors import DeviceError
from vidmatte.io.capture import LiveSource
from vidmatte.runtime.live import LiveRunner
from vidmatte.runtime.processor import Processor


def _proc():
    return Processor(ChromaKeyMatter(), (0, 0, 255), smoothing=None, refine="none")


@pytest.mark.slow
def test_a_stream_that_stalls_ends_the_run_with_one_line():
    srv, port = _listener()

    def serve_then_hang():  # frames for 1 s, then the connection stays open and silent
        conn, _ = srv.accept()
        data = _mpegts(30, (200, 0, 0))
        conn.sendall(data)
        time.sleep(6)
        conn.close()

    threading.Thread(target=serve_then_hang, daemon=True).start()
    src = LiveSource(f"tcp://127.0.0.1:{port}", timeout_s=8.0)
    sink = ListSink()
    with pytest.raises(DeviceError) as exc:
        LiveRunner(src, _proc(), [sink], stall_timeout=1.0).run()
    srv.close()
    msg = str(exc.value)
    assert "\n" not in msg and "no frame for 1 s" in msg and "check the camera or stream" in msg
    assert sink.frames and sink.aborted == 1  # what came through was delivered, the sink released


@pytest.mark.slow
def test_a_stream_that_disappears_ends_cleanly_and_says_so(tmp_path):
    from vidmatte.jobs.live import webcam

    srv, port = _listener()
    threading.Thread(target=lambda: _serve(srv, _mpegts(45, (0, 0, 200)), 1.5), daemon=True).start()
    stats = webcam(f"tcp://127.0.0.1:{port}", matter=ChromaKeyMatter(), background="#00ff00",
                   output=tmp_path / "rec.mp4", smoothing=None, refine="none")
    srv.close()
    assert stats.processed > 0 and (tmp_path / "rec.mp4").stat().st_size > 0  # the recording is finalised
    assert "\n" not in stats.stopped_by
    assert "stopped delivering frames" in stats.stopped_by and "did not come back" in stats.stopped_by


class BlockingSink(ListSink):
    """Blocks ``seconds`` on write number ``at`` (a virtual camera nobody reads, a full pipe)."""

    def __init__(self, at: int, seconds: float):
        super().__init__()
        self.at, self.seconds = at, seconds

    def write(self, frame):
        if len(self.frames) == self.at:
            time.sleep(self.seconds)
        super().write(frame)


def test_a_sink_that_blocks_drops_frames_instead_of_queueing_them():
    src = LiveSource("lavfi:testsrc2=size=96x64:rate=30")
    sink = BlockingSink(at=5, seconds=1.5)
    stats = LiveRunner(src, _proc(), [sink], frames=30).run()
    assert stats.processed == 30 and len(sink.frames) == 30
    # the 45 frames the camera made while the sink blocked were not queued: all but the newest dropped
    assert stats.dropped >= 35
    assert 0 <= stats.captured - stats.processed - stats.dropped <= 1
    lat = np.asarray(stats.latency_ms)
    assert lat[5] >= 1400  # the blocked frame
    # and latency comes back: the frames after it are as late as those before it, not later
    assert np.median(lat[10:]) < 400, lat.tolist()
