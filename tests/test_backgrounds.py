"""Backgrounds: colours, cover-fit still images (RGB order), looped video, blur, parsing,
and one-line InputErrors for missing or corrupt files."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
import torch

from vidmatte.compose import (
    BlurBackground,
    ColorBackground,
    GreenBackground,
    ImageBackground,
    VideoBackground,
    cover_geometry,
    parse_background,
    parse_color,
)
from vidmatte.compose.backgrounds import parse_background as parse_from_module
from vidmatte.errors import InputError

RED, GREEN, BLUE, WHITE = (230, 20, 20), (20, 200, 40), (30, 40, 220), (250, 250, 250)


def frames(b=1, h=60, w=80, dtype=torch.float32):
    return torch.rand(b, 3, h, w, dtype=dtype)


def rgb_at(bg: torch.Tensor, y: int, x: int, i: int = 0) -> tuple:
    return tuple(int(round(v)) for v in (bg[i, :, y, x] * 255).tolist())


@pytest.fixture
def quadrants_png(tmp_path):
    """A 100x200 (HxW) PNG: top-left red, top-right green, bottom-left blue, bottom-right white."""
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:50, :100], rgb[:50, 100:], rgb[50:, :100], rgb[50:, 100:] = RED, GREEN, BLUE, WHITE
    path = tmp_path / "quadrants.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_clip(path, colours, size=(48, 64), codec="libx264", fmt="yuv420p"):
    """One solid colour per frame, encoded with PyAV."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.height, stream.width = size
        stream.pix_fmt = fmt
        if codec == "libx264":
            stream.options = {"qp": "0"}
        for i, c in enumerate(colours):
            frame = av.VideoFrame.from_ndarray(np.full((*size, 3), c, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


# ---------------------------------------------------------------- colours
def test_colour_forms_and_output():
    assert parse_color("#3366ff") == (0x33, 0x66, 0xFF)
    assert parse_color("#36f") == (0x33, 0x66, 0xFF)
    assert parse_color("10, 20, 30") == (10, 20, 30)
    assert parse_color("White") == (255, 255, 255)
    assert parse_color((1.0, 0.0, 0.5)) == (255, 0, 128)
    assert parse_color((0, 177, 64)) == GreenBackground().rgb == (0, 177, 64)
    x = frames(3, dtype=torch.float64)
    bg = ColorBackground("#ff8000")(x, 0)
    assert bg.shape == x.shape and bg.dtype == torch.float64
    assert rgb_at(bg, 10, 10, 2) == (255, 128, 0)


@pytest.mark.parametrize("bad", ["#12345", "#ggg", "rgb(1,2)", "rgb(300,0,0)", "#11223344", "1,2", "300,0,0",
                                 "notacolour", (1, 2), (0.5, 2.0, 0.1)])
def test_bad_colours_raise_input_error(bad):
    with pytest.raises(InputError):
        parse_color(bad)


def test_frames_must_be_b3hw():
    with pytest.raises(ValueError):
        ColorBackground("red")(torch.rand(1, 4, 8, 8), 0)
    with pytest.raises(ValueError):
        ColorBackground("red")(torch.rand(3, 8, 8), 0)


# ---------------------------------------------------------------- still images
def test_cover_geometry():
    assert cover_geometry((100, 200), (100, 100)) == (100, 200, 0, 50)
    assert cover_geometry((100, 200), (300, 300)) == (300, 600, 0, 150)
    assert cover_geometry((100, 200), (200, 50)) == (200, 400, 0, 175)
    assert cover_geometry((1080, 1920), (540, 960)) == (540, 960, 0, 0)


def test_image_cover_fit_and_rgb_order(quadrants_png):
    bg = ImageBackground(quadrants_png)
    # square frame: the centre 100 columns of the source, unscaled
    out = bg(frames(h=100, w=100), 0)
    assert rgb_at(out, 10, 10) == RED and rgb_at(out, 10, 90) == GREEN
    assert rgb_at(out, 90, 10) == BLUE and rgb_at(out, 90, 90) == WHITE
    # 3x enlargement, then the centre crop
    out = bg(frames(2, h=300, w=300), 5)
    assert out.shape == (2, 3, 300, 300)
    assert rgb_at(out, 30, 30, 1) == RED and rgb_at(out, 270, 270, 1) == WHITE
    # tall frame: scaled 2x to 200x400, columns 175..224 straddle the red/green border at 200
    out = bg(frames(h=200, w=50), 0)
    assert rgb_at(out, 20, 5) == RED and rgb_at(out, 20, 45) == GREEN
    assert rgb_at(out, 180, 5) == BLUE and rgb_at(out, 180, 45) == WHITE
    # wide frame: scaled to 400 columns, rows 75..124 of 200 around the centre line
    out = bg(frames(h=50, w=400), 0)
    assert rgb_at(out, 5, 20) == RED and rgb_at(out, 45, 380) == WHITE


def test_image_is_cached_per_size(quadrants_png):
    bg = ImageBackground(quadrants_png)
    a = bg(frames(h=64, w=64), 0)
    b = bg(frames(2, h=64, w=64), 1)
    assert a.data_ptr() == b.data_ptr()  # the same fitted tensor, broadcast over the batch
    c = bg(frames(h=32, w=32), 0)
    assert c.shape[-2:] == (32, 32)


def test_image_missing_or_corrupt(tmp_path):
    with pytest.raises(InputError, match="not found"):
        ImageBackground(tmp_path / "nope.png")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage, not a jpeg")
    with pytest.raises(InputError) as err:
        ImageBackground(bad)
    assert "\n" not in str(err.value) and "broken.jpg" in str(err.value)


# ---------------------------------------------------------------- video
def test_video_background_loops_in_order(tmp_path):
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200)]
    path = write_clip(tmp_path / "bg.mp4", colours)
    with VideoBackground(path) as bg:
        seen = []
        for start in range(0, 12, 4):  # batches of 4 output frames
            out = bg(frames(4, h=30, w=40), start)
            assert out.shape == (4, 3, 30, 40)
            seen += [rgb_at(out, 15, 20, i) for i in range(4)]
        assert bg.frame_count == 5
        for i, got in enumerate(seen):
            assert np.abs(np.subtract(got, colours[i % 5])).max() <= 4, (i, got)
        back = bg(frames(1, h=30, w=40), 2)  # going backwards restarts the decoder
        assert np.abs(np.subtract(rgb_at(back, 0, 0), colours[2])).max() <= 4


def test_video_background_cover_fit(tmp_path):
    # a frame whose left half is red and right half blue, 40x80
    path = tmp_path / "halves.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=5)
        stream.height, stream.width, stream.pix_fmt = 40, 80, "bgr0"
        img = np.zeros((40, 80, 3), np.uint8)
        img[:, :40], img[:, 40:] = RED, BLUE
        out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    bg = VideoBackground(path)
    out = bg(frames(h=120, w=120), 0)  # scaled 3x to 120x240, columns 60..179 kept
    assert rgb_at(out, 60, 10) == RED and rgb_at(out, 60, 110) == BLUE
    bg.close()
    bg.close()  # idempotent


def test_video_missing_corrupt_or_without_video(tmp_path):
    with pytest.raises(InputError, match="not found"):
        VideoBackground(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(InputError) as err:
        VideoBackground(junk)
    assert "\n" not in str(err.value)
    audio = tmp_path / "tone.wav"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(InputError, match="no video stream"):
        VideoBackground(audio)


# ---------------------------------------------------------------- blur
def test_blur_background_approximates_a_gaussian():
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.random((34, 60, 3)).astype(np.float32), (480, 270), interpolation=cv2.INTER_NEAREST)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    for sigma_1080 in (4.0, 20.0, 60.0):
        sigma = sigma_1080 * 270 / 1080
        out = BlurBackground(sigma_1080)(x, 0)[0].permute(1, 2, 0).numpy()
        ref = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        m = int(3 * sigma) + 2  # borders are handled differently when downscaled
        err = np.abs(out - ref)[m:-m, m:-m]
        assert err.mean() * 255 < 1.0 and err.max() * 255 < 8, sigma_1080
    flat = torch.full((1, 3, 64, 64), 0.3)
    torch.testing.assert_close(BlurBackground(30)(flat, 0), flat)
    assert BlurBackground(0)(x, 0) is x
    with pytest.raises(InputError):
        BlurBackground(-1)


# ---------------------------------------------------------------- parsing
def test_parse_background(tmp_path, quadrants_png):
    clip = write_clip(tmp_path / "loop.webm", [(10, 20, 30)] * 2, codec="libvpx-vp9")
    assert isinstance(parse_background(str(quadrants_png)), ImageBackground)
    assert isinstance(parse_background(str(clip)), VideoBackground)
    assert isinstance(parse_background("green"), GreenBackground)
    assert parse_background("#102030").rgb == (16, 32, 48)
    assert parse_background("black").rgb == (0, 0, 0)
    assert parse_background("blur").sigma == 20.0 and parse_background("blur:7.5").sigma == 7.5
    odd = tmp_path / "picture.data"  # unknown extension: sniffed
    odd.write_bytes(quadrants_png.read_bytes())
    assert isinstance(parse_background(str(odd)), ImageBackground)
    assert isinstance(parse_from_module("green"), GreenBackground)


@pytest.mark.parametrize("spec", ["", "blur:x", "blur:-2", "/no/such/file.png", "/no/such/clip.mp4", "purple-ish"])
def test_parse_background_errors_are_one_line(spec):
    with pytest.raises(InputError) as err:
        parse_background(spec)
    assert "\n" not in str(err.value)


def test_css_colour_names_and_syntax():
    """CSS names and syntax through Pillow's ImageColor: ``blue`` is CSS blue; ``green`` stays
    the documented broadcast green (keying), CSS green is #008000; chroma-blue is the old ``blue``."""
    assert parse_color("blue") == (0, 0, 255)
    assert parse_color("RebeccaPurple") == (102, 51, 153)
    assert parse_color("rgb(10, 20, 30)") == (10, 20, 30)
    assert parse_color("rgb(100%,0%,50%)") == (255, 0, 128)
    assert parse_color("#abc") == (0xAA, 0xBB, 0xCC) and parse_color("2060ff") == (0x20, 0x60, 0xFF)
    assert parse_color("green") == (0, 177, 64) and parse_color("#008000") == (0, 128, 0)
    assert parse_color("chroma-blue") == (0, 71, 187) and parse_color("chroma-green") == (0, 177, 64)
    assert parse_background("blue").rgb == (0, 0, 255)
    with pytest.raises(InputError, match="CSS name"):
        parse_color("bleu")


def test_cli_color_takes_names_and_bare_hex():
    import argparse

    from vidmatte_cli.options import background_spec

    def spec(color):
        return background_spec(argparse.Namespace(transparent=False, background=None, color=color, blur=None,
                                                  green=False))

    assert spec("blue") == "blue" and spec("3366ff") == "#3366ff" and spec("36f") == "#36f"
    assert spec("rgb(1,2,3)") == "rgb(1,2,3)"
    with pytest.raises(InputError):
        parse_background(spec("bleu"))
