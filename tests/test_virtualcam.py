"""VirtualCamSink through pyvirtualcam, with test backends registered by its public API."""

from __future__ import annotations

import platform

import av
import numpy as np
import pytest
import pyvirtualcam
import torch

from vcam_backends import EncodingBackend, RecordingBackend
from vidmatte.errors import DeviceError
from vidmatte.frame import Frame
from vidmatte.io.virtualcam import VirtualCamSink, as_rgb24, resolve_backend


@pytest.fixture
def recording():
    pyvirtualcam.register_backend("test-recording", RecordingBackend)
    RecordingBackend.instances.clear()
    yield "test-recording"
    pyvirtualcam.camera.BACKENDS.pop("test-recording", None)


def test_frames_reach_the_backend_in_every_layout(recording):
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    chw = torch.from_numpy(u8).permute(2, 0, 1).float() / 255.0
    small = np.full((90, 160, 3), (10, 200, 30), np.uint8)
    with VirtualCamSink(320, 180, 30, backend=recording) as cam:
        assert cam.backend == recording and cam.device == "recording-cam"
        cam.write(Frame(u8))
        cam.write(Frame(chw))
        cam.write(Frame(small))  # wrong size: resized, not refused
        assert cam.frames_sent == 3
    (backend,) = RecordingBackend.instances
    assert [f.shape for f in backend.frames] == [(180, 320, 3)] * 3
    np.testing.assert_array_equal(backend.frames[0], u8)
    assert np.abs(backend.frames[1].astype(int) - u8).max() <= 1  # float → uint8 rounding
    assert (backend.frames[2] == (10, 200, 30)).all()
    cam.close()  # idempotent
    assert backend.closed == 1
    with pytest.raises(DeviceError, match="already closed"):
        cam.send(u8)


def test_module_class_backend_is_imported_and_registered():
    name = "vcam_backends:RecordingBackend"
    pyvirtualcam.camera.BACKENDS.pop(name, None)
    assert resolve_backend(name) == name
    assert pyvirtualcam.camera.BACKENDS[name] is RecordingBackend
    with VirtualCamSink(64, 48, 15, backend=name, device="named-cam") as cam:
        assert cam.device == "named-cam"
    pyvirtualcam.camera.BACKENDS.pop(name)


@pytest.mark.parametrize("name, text", [
    ("no-such-backend", "unknown virtual camera backend 'no-such-backend'"),
    ("no_such_module:Cam", "cannot load virtual camera backend 'no_such_module:Cam'"),
])
def test_bad_backend_names(name, text):
    with pytest.raises(DeviceError) as err:
        VirtualCamSink(64, 48, 30, backend=name)
    assert text in str(err.value) and "\n" not in str(err.value)


@pytest.mark.skipif(platform.system() != "Linux", reason="v4l2loopback is the Linux backend")
def test_missing_loopback_device_says_how_to_create_one():
    with pytest.raises(DeviceError) as err:
        VirtualCamSink(320, 180, 30, device="/dev/video97", backend="v4l2loopback")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("virtual camera /dev/video97 is not available")
    assert "tried backends: v4l2loopback" in msg
    assert msg.endswith("sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vidmatte")


def test_receiving_app_reads_back_what_was_sent(tmp_path):
    out = tmp_path / "received.mkv"
    pyvirtualcam.register_backend("test-encoding", EncodingBackend)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (17, 130, 240)]
    with VirtualCamSink(96, 64, 30, backend="test-encoding", device=str(out)) as cam:
        for c in colours:
            cam.write(Frame(np.full((64, 96, 3), c, np.uint8)))
    with av.open(str(out)) as c:
        got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(got) == len(colours)
    for img, c in zip(got, colours):
        assert img.shape == (64, 96, 3) and (img == c).all()


def test_as_rgb24_layouts():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 9
    assert as_rgb24(rgba).shape == (4, 5, 3) and (as_rgb24(rgba)[..., 0] == 9).all()
    f = np.full((3, 4, 5), 2.0, np.float32)  # CHW float out of range → clipped
    assert as_rgb24(f).shape == (4, 5, 3) and (as_rgb24(f) == 255).all()
    assert as_rgb24(np.zeros((40, 50, 3), np.uint8), size=(20, 25)).shape == (20, 25, 3)
