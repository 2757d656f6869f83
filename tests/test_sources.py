"""VideoSource / ImageSource / ImageSequenceSource / open_source on real files made with PyAV."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from media import (
    make_audio_only,
    make_clip,
    make_corrupt,
    make_empty,
    make_no_frames,
    make_truncated,
    make_undecodable,
)

from vidmatte.errors import InputError
from vidmatte.io import ImageSequenceSource, ImageSource, VideoSource, open_source, write_image
from vidmatte.matting import ChromaKeyMatter


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_cfr_clip_frames_pts_and_pixels(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=12, audio=True, keep_images=True)
    with VideoSource(clip.path) as src:
        assert (src.width, src.height) == clip.size
        assert src.fps == 24 and src.has_audio and src.rotation == 0
        assert src.frame_count == 12
        assert src.duration == pytest.approx(0.5, abs=0.05)
        frames = list(src)
    assert [f.index for f in frames] == list(range(12))
    assert [f.pts * f.time_base for f in frames] == clip.times
    for f, truth, alpha in zip(frames, clip.images, clip.alphas):
        assert f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8
        plate = f.image[:2].astype(int)  # rows the disc never reaches: pure green, if BT.709 is right
        assert np.abs(plate - (0, 255, 0)).mean() < 2 and np.abs(plate - (0, 255, 0)).max() <= 8
        assert np.abs(f.image.astype(int) - truth).mean() < 8.0  # fine texture loses chroma
        keyed = ChromaKeyMatter().predict(f.image)[0, 0].numpy() * 255
        assert _iou(keyed, alpha) > 0.9


def test_smooth_picture_decodes_within_two_levels(tmp_path):
    clip = make_clip(tmp_path / "grad.mp4", frames=3, pattern="gradient", keep_images=True, size=(96, 64))
    with VideoSource(clip.path) as src:
        for f, truth in zip(src, clip.images):
            assert np.abs(f.image.astype(int) - truth).mean() < 2.0


def test_vfr_pts_come_through(tmp_path):
    clip = make_clip(tmp_path / "vfr.mp4", frames=16, vfr=True)
    with VideoSource(clip.path) as src:
        times = [f.pts * f.time_base for f in src]
    assert times == clip.times
    assert len(set(np.diff([float(t) for t in times]).round(4))) > 3  # really irregular


def test_second_pass_and_threading_modes_agree(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", frames=8)
    with VideoSource(clip.path) as src:
        first = [f.image for f in src]
        second = [f.image for f in src]
    for mode in ("slice", "none"):
        with VideoSource(clip.path, threading=mode) as src:
            other = [f.image for f in src]
        assert all(np.array_equal(a, b) for a, b in zip(first, other)) and len(other) == 8
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_gives_upright_frames(tmp_path, rotation):
    clip = make_clip(tmp_path / "rot.mp4", frames=3, size=(64, 48), rotation=rotation, keep_images=True,
                     pattern="gradient")
    with VideoSource(clip.path) as src:
        assert src.rotation == rotation % 360
        frames = [f.image for f in src]
        assert (src.width, src.height) == ((48, 64) if rotation % 180 else (64, 48))
    for got, coded in zip(frames, clip.images):
        upright = np.rot90(coded, k=rotation // 90)
        assert got.shape == upright.shape
        assert np.abs(got.astype(int) - upright).mean() < 2.0


def test_webm_alpha_only_when_asked(tmp_path):
    clip = make_clip(tmp_path / "a.webm", frames=6, codec="libvpx-vp9", with_alpha=True, size=(64, 48))
    with VideoSource(clip.path) as src:
        assert next(iter(src)).image.shape == (48, 64, 3)
    with VideoSource(clip.path, with_alpha=True) as src:
        assert src.has_alpha
        frames = list(src)
    for f, truth in zip(frames, clip.alphas):
        assert f.image.shape == (48, 64, 4)
        assert np.abs(f.image[..., 3].astype(int) - truth).mean() < 2.0
        assert _iou(f.image[..., 3], truth) > 0.95


def test_prores_alpha_read_at_8_bit(tmp_path):
    clip = make_clip(tmp_path / "a.mov", frames=4, codec="prores_ks", with_alpha=True)
    with VideoSource(clip.path, with_alpha=True) as src:
        for f, truth in zip(src, clip.alphas):
            assert np.abs(f.image[..., 3].astype(int) - truth).max() <= 1


def test_rgb_only_file_with_alpha_requested_is_opaque(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=2)
    with VideoSource(clip.path, with_alpha=True) as src:
        assert not src.has_alpha
        assert all((f.image[..., 3] == 255).all() for f in src)


def _one_line_error(path, match):
    with pytest.raises(InputError, match=match) as info:
        VideoSource(path)
    assert "\n" not in str(info.value)


def test_bad_inputs_raise_one_line_input_errors(tmp_path):
    _one_line_error(tmp_path / "missing.mp4", "not found")
    _one_line_error(make_empty(tmp_path / "empty.mp4"), "empty")
    _one_line_error(make_corrupt(tmp_path / "random.mp4"), "not a media file")
    (tmp_path / "notes.txt").write_text("hello\n" * 50)
    _one_line_error(tmp_path / "notes.txt", "not a media file")
    _one_line_error(make_audio_only(tmp_path / "tone.m4a"), "no video stream.*audio")
    _one_line_error(make_no_frames(tmp_path / "noframes.mp4"), "no video stream")
    _one_line_error(tmp_path, "is a folder")


def test_zero_decodable_frames_is_an_error(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _one_line_error(make_undecodable(tmp_path / "noise.mp4", frames=6), "no decodable frame")


def test_truncated_files(tmp_path):
    # MP4 keeps its index (moov) at the end: half a file cannot be opened at all
    clip = make_clip(tmp_path / "whole.mp4", frames=48)
    _one_line_error(make_truncated(clip.path, tmp_path / "half.mp4"), "corrupt/truncated")
    # faststart MP4 and MKV: the readable half is decoded, the rest is reported, no crash
    for name, opts in (("fs.mp4", {"movflags": "faststart"}), ("whole.mkv", None)):
        clip = make_clip(tmp_path / name, frames=48, size=(96, 64), container_options=opts)
        cut = make_truncated(clip.path, tmp_path / f"cut_{name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with VideoSource(cut) as src:
                n = sum(1 for _ in src)
        assert 0 < n < 48
        assert isinstance(src.errors, list)


def test_image_source_png_and_exr(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "a.exr", img)  # linearised on write, sRGB-encoded on read
    for name in ("a.png", "a.exr"):
        src = ImageSource(tmp_path / name)
        frames = list(src)
        assert len(frames) == 1 and frames[0].pts is None
        assert np.abs(frames[0].image.astype(int) - img[..., :3]).max() <= (0 if name == "a.png" else 1)
        rgba = ImageSource(tmp_path / name, with_alpha=True).image
        assert np.array_equal(rgba[..., 3], img[..., 3])
    with pytest.raises(InputError, match="not found"):
        ImageSource(tmp_path / "nope.png")
    make_corrupt(tmp_path / "bad.png")
    with pytest.raises(InputError, match="cannot read image"):
        ImageSource(tmp_path / "bad.png")


def test_image_sequence_orders_naturally_and_times_by_fps(tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in (10, 2, 1):  # natural order 1, 2, 10 — not 1, 10, 2
        write_image(folder / f"f{i}.png", np.full((8, 10, 3), i * 20, np.uint8))
    for spec in (folder, str(folder / "f*.png"), str(folder / "f%d.png")):
        src = open_source(spec, fps=12)
        assert isinstance(src, ImageSequenceSource)
        frames = list(src)
        assert [int(f.image[0, 0, 0]) for f in frames] == [20, 40, 200]
        assert [f.pts for f in frames] == [0, 1, 2] and src.time_base == Fraction(1, 12)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        ImageSequenceSource(tmp_path / "empty")


def test_image_sequence_decodes_each_file_once(tmp_path, monkeypatch):
    import vidmatte.io.stills as stills

    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"f{i}.png", np.full((8, 10, 3), 30 * i, np.uint8))
    decoded = []
    real = stills._decode_first
    monkeypatch.setattr(stills, "_decode_first", lambda path: decoded.append(path.name) or real(path))
    src = ImageSequenceSource(folder, fps=10)
    frames = list(src)
    assert decoded == ["f0.png", "f1.png", "f2.png"]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 30, 60]
    assert [int(f.image[0, 0, 0]) for f in src] == [0, 30, 60]  # a second pass reads the first file again


def test_open_source_picks_and_lists_what_it_tried(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=2)
    write_image(tmp_path / "still.jpg", np.zeros((8, 8, 3), np.uint8))
    assert isinstance(open_source(clip.path), VideoSource)
    assert isinstance(open_source(tmp_path / "still.jpg"), ImageSource)
    with pytest.raises(InputError, match="tried: video file, image file, image folder") as info:
        open_source(tmp_path / "nothing_here")
    assert "\n" not in str(info.value)
