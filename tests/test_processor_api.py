"""The plugin API: ``Processor(matter, background, ...)`` called on arrays, and its traps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vidmatte
from vidmatte import ChromaKeyMatter, Frame, Processor
from vidmatte.compose.backgrounds import ColorBackground


def green_frame(h=24, w=32):
    """A pure green plate with a magenta block in the middle (chroma key: alpha 1 in the block)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 1] = 255
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (200, 30, 180)
    return img


def test_four_lines_composite_rgba_and_alpha():
    frame = green_frame()
    proc = Processor(ChromaKeyMatter(), background="#2060ff", smoothing=None)
    out = proc(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert out[0, 0].tolist() == [32, 96, 255]  # keyed plate → the new colour
    assert out[12, 16].tolist() == [200, 30, 180]  # the subject stays
    assert proc.alpha.shape == (24, 32) and proc.alpha.dtype == np.float32
    assert proc.alpha[0, 0] == 0.0 and proc.alpha[12, 16] == 1.0
    rgba = Processor(ChromaKeyMatter(), smoothing=None)(frame)  # no background: RGBA
    assert rgba.shape == (24, 32, 4) and rgba[0, 0, 3] == 0 and rgba[12, 16, 3] == 255
    matte = Processor(ChromaKeyMatter(), format="gray", smoothing=None)(frame)
    assert matte.shape == (24, 32, 1) and matte[12, 16, 0] == 255


def test_batches_colour_tuples_and_background_objects():
    frames = np.stack([green_frame(), green_frame()])
    out = Processor(ChromaKeyMatter(), background=(0, 0, 0), smoothing=None)(frames)
    assert out.shape == (2, 24, 32, 3) and out[1, 0, 0].tolist() == [0, 0, 0]
    out = Processor(ChromaKeyMatter(), background=ColorBackground("white"), smoothing=None)(frames[0])
    assert out[0, 0].tolist() == [255, 255, 255]


def test_bgr_in_and_out():
    rgb = green_frame()
    bgr = rgb[..., ::-1].copy()
    out_rgb = Processor(ChromaKeyMatter(), background="#2060ff", smoothing=None)(rgb)
    out_bgr = Processor(ChromaKeyMatter(), background="#2060ff", smoothing=None, bgr=True)(bgr)
    np.testing.assert_array_equal(out_bgr, out_rgb[..., ::-1])
    rgba = Processor(ChromaKeyMatter(), smoothing=None, bgr=True)(bgr)
    assert rgba[12, 16].tolist() == [180, 30, 200, 255]  # BGRA


def test_grey_frames_are_spread_to_rgb():
    grey = np.full((16, 20), 128, np.uint8)
    for frame in (grey, grey[..., None]):
        out = Processor(ChromaKeyMatter(), background="#000000", smoothing=None)(frame)
        assert out.shape == (16, 20, 3)


@pytest.mark.parametrize("bad, error, needle", [
    (np.zeros((16, 20, 3), np.float32) + 0.5, TypeError, "(frame * 255)"),
    (np.zeros((16, 20, 3), np.float64), TypeError, "uint8"),
    (np.zeros((3, 16, 20), np.uint8), ValueError, "channels-first"),
    (np.zeros((16, 20, 4), np.uint8), ValueError, "drop the alpha"),
    (np.zeros((16, 20, 5), np.uint8), ValueError, "(H,W,3)"),
    ([[1, 2, 3]], TypeError, "numpy array"),
])
def test_wrong_frames_get_a_clear_error(bad, error, needle):
    with pytest.raises(error, match=None) as info:
        Processor(ChromaKeyMatter(), background="#000000")(bad)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_process_takes_frames_and_call_takes_arrays():
    proc = Processor(ChromaKeyMatter(), background="#000000", smoothing=None)
    with pytest.raises(TypeError, match=r"proc\(image\)"):
        proc.process([green_frame()])
    with pytest.raises(TypeError, match="process"):
        proc(Frame(green_frame()))
    out = proc.process([Frame(green_frame(), pts=7, index=3)])
    assert out[0].pts == 7 and out[0].index == 3 and out[0].format == "rgb24"


def test_matter_contract_is_uint8_channels_last():
    matter = ChromaKeyMatter()
    with pytest.raises(TypeError, match="uint8"):
        matter.predict(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="channels-first"):
        matter.predict(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    a = matter.predict(green_frame())
    b = matter.predict(torch.from_numpy(green_frame()[None]))
    torch.testing.assert_close(a, b)


def test_high_bit_depth_frames_keep_their_precision():
    ramp = (np.arange(32, dtype=np.uint32) * 2047 // 31).astype(np.uint16)  # 2048 levels over 32 px
    frame = np.zeros((8, 32, 3), np.uint16)
    frame[..., 0] = ramp * 32
    frame[..., 2] = ramp * 32  # magenta-ish, far from green: alpha 1
    out = Processor(ChromaKeyMatter(), format="rgba64", smoothing=None, fg_estimation="none")(frame)
    assert out.dtype == np.uint16 and out.shape == (8, 32, 4)
    np.testing.assert_array_equal(out[0, :, 0], frame[0, :, 0])  # not squeezed through 8 bits
    assert len(np.unique(out[..., 0])) == 32


def test_format_and_background_must_agree():
    with pytest.raises(ValueError, match="give a background"):
        Processor(ChromaKeyMatter(), format="rgb24")
    with pytest.raises(ValueError, match="drop the background"):
        Processor(ChromaKeyMatter(), "#000000", format="rgba")
    with pytest.raises(ValueError, match="unknown pixel format"):
        Processor(ChromaKeyMatter(), format="rgb555")


class Closing(ColorBackground):
    closed = 0

    def close(self):
        type(self).closed += 1


def test_processor_owns_its_background():
    Closing.closed = 0
    with Processor(ChromaKeyMatter(), Closing("#000000")) as proc:
        proc.set_background(Closing("#ffffff"))  # the replaced one is closed now
        assert Closing.closed == 1
        assert proc(green_frame())[0, 0].tolist() == [255, 255, 255]
    assert Closing.closed == 2  # the current one at exit


def test_library_defaults_match_the_cli():
    """The Processor's default is the live (causal) smoother: ``proc(frame)`` returns that frame;
    the file jobs choose the look-ahead one (tests/test_lookahead_processor.py)."""
    proc = Processor(ChromaKeyMatter(), "#000000")
    from vidmatte.temporal import FlowSmoother

    assert isinstance(proc.smoother, FlowSmoother) and proc.smoother.causal and proc.delay == 0
    assert proc.compositor.fg_estimation == "blur"


def test_public_api_names():
    for name in ("Compositor", "parse_background", "make_smoother", "open_source", "open_sink", "webcam",
                 "replace", "matte", "images", "load_matter", "Processor", "Pipeline"):
        assert callable(getattr(vidmatte, name)), name


# -- issue 11, item 12: the remaining traps -------------------------------------------------
@pytest.mark.parametrize("bad, needle", [
    (np.zeros((16, 20, 3), np.int64), "astype(np.uint8)"),
    (np.zeros((16, 20, 3), bool), "boolean"),
])
def test_integer_and_bool_frames_say_how_to_convert(bad, needle):
    with pytest.raises(TypeError) as info:
        Processor(ChromaKeyMatter(), background="#000000")(bad)
    assert needle in str(info.value)


def test_pil_images_get_a_hint():
    Image = pytest.importorskip("PIL.Image")
    with pytest.raises(TypeError, match=r"np.asarray\(img\)"):
        Processor(ChromaKeyMatter(), background="#000000")(Image.new("RGB", (8, 8)))


@pytest.mark.parametrize("frames, error, needle", [
    ([Frame(np.zeros((8, 8, 3), np.float32))], TypeError, "(frame * 255)"),
    ([Frame(np.zeros((3, 8, 8), np.uint8))], ValueError, "channels-first"),
    ([Frame(np.zeros((8, 8, 4), np.uint8))], ValueError, "(H,W,3)"),
    ([Frame(np.zeros((8, 8, 3), np.uint8)), Frame(np.zeros((8, 9, 3), np.uint8), index=1)], ValueError, "one size"),
    ([Frame(np.zeros((8, 8, 3), np.uint8)), Frame(np.zeros((8, 8, 3), np.uint16), index=1)], ValueError, "dtype"),
])
def test_process_checks_frames_before_the_model(frames, error, needle):
    with pytest.raises(error) as info:
        Processor(ChromaKeyMatter(), background="#000000").process(frames)
    assert needle in str(info.value) and "\n" not in str(info.value)


class BadMatter:
    """A plugin matter that breaks the contract in one of the usual ways."""

    name, size, device = "bad", 8, torch.device("cpu")

    def __init__(self, mistake):
        self.mistake = mistake

    def predict(self, images):
        b, h, w, _ = images.shape
        if self.mistake == "model-size":
            return torch.zeros(b, 1, 4, 4)
        if self.mistake == "no-channel":
            return torch.zeros(b, h, w)
        if self.mistake == "0..255":
            return torch.full((b, 1, h, w), 255.0)
        if self.mistake == "logits":
            return torch.full((b, 1, h, w), -4.0)
        return torch.zeros(b, 1, h, w, dtype=torch.uint8)


@pytest.mark.parametrize("mistake, error, needle", [
    ("model-size", ValueError, "frame size"), ("no-channel", ValueError, "(B,1,H,W)"),
    ("0..255", ValueError, "divide 0..255"), ("logits", ValueError, "sigmoid"), ("uint8", TypeError, "float"),
])
def test_a_plugin_matter_breaking_the_contract_is_named(mistake, error, needle):
    with pytest.raises(error) as info:
        Processor(BadMatter(mistake), background="#000000")(green_frame())
    assert needle in str(info.value) and "bad" in str(info.value)


def test_8bit_values_in_uint16_frames_warn():
    from vidmatte.errors import VidmatteWarning

    with pytest.warns(VidmatteWarning, match="astype"):
        Processor(ChromaKeyMatter(), background="#000000")(green_frame().astype(np.uint16))


def test_8bit_values_in_uint16_frames_warn_once_per_stream():
    import warnings

    from vidmatte.errors import VidmatteWarning

    proc = Processor(ChromaKeyMatter(), background="#000000")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):
            proc(green_frame().astype(np.uint16))
    assert sum(issubclass(w.category, VidmatteWarning) for w in seen) == 1
