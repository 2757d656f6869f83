"""Busy procedural backgrounds for the live quality gate (vidmatte/eval/busy.py)."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from vidmatte.eval.busy import KINDS, busy_picture, write_busy_video


@pytest.mark.parametrize("kind", KINDS)
def test_busy_pictures_are_deterministic_and_busy(kind):
    a = busy_picture(kind, 180, 320, seed=3)
    assert a.shape == (180, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, busy_picture(kind, 180, 320, seed=3))
    assert not np.array_equal(a, busy_picture(kind, 180, 320, seed=4))
    grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    # busy: strong local contrast everywhere, unlike a plain wall or a blurred room
    edges = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    assert edges.mean() > 20 and grey.std() > 20, (edges.mean(), grey.std())


def test_busy_video_drifts_like_a_hand_held_camera(tmp_path):
    path = write_busy_video(tmp_path / "wall.mp4", "wall", frames=10, height=96, width=160, drift=1.0)
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (96, 160, 3)
    d = np.abs(frames[0].astype(int) - frames[9].astype(int)).mean()
    assert d > 5  # it moves


def test_unknown_kind():
    with pytest.raises(ValueError, match="wall, books, plants"):
        busy_picture("brick")
