"""What the batch tests share: the acceptance bar against a single `replace`, and a look
at what is left in an output folder."""

from __future__ import annotations

import os

import pytest

from media import compare_videos, read_audio_packets
from vidmatte.scale.manifest import MANIFEST_NAME

#: a cheap matter on the green-plate clips: the tests measure the engine, not the model
CHROMA = {"matter": "chroma", "background": "#2060ff", "progress": False}


def assert_same_as_replace(ref, out):
    """The acceptance bar: frames and times, audio packets, pixels (3 levels on average, 8 per frame)."""
    d = compare_videos(ref, out)
    assert d["frames"][0] == d["frames"][1], d
    assert d["time_error"] <= 0.002, d
    assert d["mean"] <= 3 and d["worst_frame"] <= 8, d
    try:
        assert read_audio_packets(out) == read_audio_packets(ref)
    except IndexError:  # no audio stream: then neither has one
        with pytest.raises(IndexError):
            read_audio_packets(out)


def only_outputs(folder):
    """Everything in ``folder`` except the manifest: no pieces, no partial files."""
    return sorted(p for p in os.listdir(folder) if p != MANIFEST_NAME)
