"""Hardware encoding: NVENC when it opens, libx264 otherwise, and the sink says which it used."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from media import read_frames
from vidmatte.frame import Frame
from vidmatte.io.encoders import PROBED, hardware_encoder, nvenc_options
from vidmatte.io.sinks import VideoSink


def _write(path, hw: bool) -> VideoSink:
    sink = VideoSink(path, width=64, height=48, fps=25, hw_encode=hw, crf=20)
    rng = np.random.default_rng(0)
    with sink:
        for i in range(10):
            sink.write(Frame(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), pts=i))
    return sink


def test_sink_falls_back_to_x264_and_says_why(tmp_path):
    nvenc = hardware_encoder("libx264")
    sink = _write(tmp_path / "o.mp4", hw=True)
    assert sink.encoder == (nvenc or "libx264")
    if nvenc is None:  # this machine has no NVENC (no GPU, or one without encoder hardware)
        assert PROBED["h264_nvenc"], "the reason is kept"
    assert len(read_frames(tmp_path / "o.mp4")) == 10
    assert _write(tmp_path / "p.mp4", hw=False).encoder == "libx264"


def test_nvenc_options_map_x264_names():
    assert nvenc_options(18, "medium") == {"preset": "p4", "tune": "hq", "rc": "vbr", "cq": "18", "b": "0"}
    assert nvenc_options(23, "ultrafast")["preset"] == "p1" and nvenc_options(23, "veryslow")["preset"] == "p7"
    assert hardware_encoder("prores_ks") is None  # no hardware path for other codecs


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_nvenc_on_gpu_writes_frames_when_it_opens(tmp_path):
    sink = _write(tmp_path / "n.mp4", hw=True)
    frames = read_frames(tmp_path / "n.mp4")
    assert len(frames) == 10 and sink.encoder in ("h264_nvenc", "libx264")
