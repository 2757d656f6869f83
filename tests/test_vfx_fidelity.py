"""VFX fidelity through the `vidmatte` command (issue 11): image sequences in, high bit depth
kept, EXR premultiplied by default, and folder advice that works."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from media import disc_frame, make_clip, read_alpha, read_frames, read_pts
from media_more import make_ramp10, ramp_levels, write_frames
from vidmatte.io.stills import read_exr, read_image
from vidmatte_cli.main import main

N, SIZE = 5, (64, 48)
DISCS = [disc_frame(i, N, SIZE) for i in range(N)]  # (rgb uint8, alpha) on a green plate


def cli(capsys, *args):
    code = main([str(a) for a in args])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def one_error(code, lines, *needles):
    assert code == 2 and len(lines) == 1 and lines[0].startswith("vidmatte: error: "), (code, lines)
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _encoded(rgb: np.ndarray, ext: str):
    """The disc frame as stored in ``ext``: 8-bit PNG, 16-bit TIFF/DPX, linear float EXR."""
    if ext == "png":
        return rgb
    if ext == "exr":
        from vidmatte.ops.color import srgb_to_linear

        return np.ascontiguousarray(srgb_to_linear(rgb / np.float32(255)), np.float32)
    return rgb.astype(np.uint16) * 257


# -- 9. image sequences as input ------------------------------------------------------------
def test_png_folder_to_prores_has_one_frame_per_image_at_the_given_rate(tmp_path, capsys):
    folder = write_frames(tmp_path / "plate", [rgb for rgb, _ in DISCS], "png")
    out = tmp_path / "plate.mov"
    code, lines = cli(capsys, "matte", folder, "-o", out, "--fps", "24", "--model", "chroma", "-q")
    assert code == 0 and lines == []
    times, n = read_pts(out)
    assert n == N and times == [Fraction(i, 24) for i in range(N)]
    for a, (_, gt) in zip(read_alpha(out), DISCS):
        assert a[gt == 255].mean() > 240 and a[gt == 0].mean() < 15


def test_sequence_without_timing_assumes_25_fps_and_says_so(tmp_path, capsys):
    folder = write_frames(tmp_path / "plate", [rgb for rgb, _ in DISCS[:2]], "png")
    code, lines = cli(capsys, "replace", folder, "--color", "#00f", "-o", tmp_path / "o.mp4", "--model", "chroma", "-q")
    assert code == 0 and len(lines) == 1 and "25 fps" in lines[0] and "--fps" in lines[0]
    assert read_pts(tmp_path / "o.mp4")[0] == [Fraction(0), Fraction(1, 25)]


@pytest.mark.parametrize("ext", ["tif", "exr", "dpx"])
def test_tiff_exr_dpx_frames_are_read_with_their_colours(tmp_path, capsys, ext):
    folder = write_frames(tmp_path / f"plate_{ext}", [_encoded(rgb, ext) for rgb, _ in DISCS], ext)
    out = tmp_path / "o.mp4"
    code, lines = cli(capsys, "replace", folder, "--color", "#0000ff", "-o", out, "--fps", "24", "--model", "chroma",
                      "-q")
    assert code == 0, lines
    frames = read_frames(out)
    assert len(frames) == N
    for got, (rgb, gt) in zip(frames, DISCS):
        bg = got[gt == 0].astype(int).mean(0)
        assert bg[2] > 200 and bg[1] < 60, bg  # the green plate was keyed: colours were read right
        assert np.abs(got[gt == 255].astype(int).mean(0) - rgb[gt == 255].mean(0)).max() < 12


def test_timestamps_json_brings_vfr_timing_back(tmp_path, capsys):
    clip = make_clip(tmp_path / "vfr.mp4", frames=6, size=SIZE, vfr=True)
    code, _ = cli(capsys, "matte", clip.path, "-o", tmp_path / "seq", "--model", "chroma", "-q")
    assert code == 0
    code, lines = cli(capsys, "replace", tmp_path / "seq", "--color", "#00f", "-o", tmp_path / "o.mp4",
                      "--model", "chroma", "-q")
    assert code == 0 and lines == []  # the sidecar gives the timing: no fps warning
    assert read_pts(tmp_path / "o.mp4") == read_pts(clip.path)


def test_missing_frame_numbers_warn_and_strict_refuses(tmp_path, capsys):
    folder = write_frames(tmp_path / "plate", [rgb for rgb, _ in DISCS], "png")
    (folder / "frame_000003.png").unlink()
    code, lines = cli(capsys, "replace", folder, "--color", "#00f", "-o", tmp_path / "o.mp4", "--fps", "24",
                      "--model", "chroma", "-q")
    assert code == 0 and len(lines) == 1 and "frame numbers 3 are missing" in lines[0]
    code, lines = cli(capsys, "replace", folder, "--color", "#00f", "-o", tmp_path / "s.mp4", "--fps", "24",
                      "--model", "chroma", "-q", "--strict")
    one_error(code, lines, "--strict")
    assert not (tmp_path / "s.mp4").exists()


# -- 8. advice for folders and patterns that find nothing ------------------------------------
def test_pattern_advice_names_a_pattern_that_works(tmp_path, capsys):
    folder = write_frames(tmp_path / "plate", [rgb for rgb, _ in DISCS], "png")
    wrong = f"{folder}/%06d.png"
    msg = one_error(*cli(capsys, "matte", wrong, "-o", tmp_path / "a.mov", "--model", "chroma", "-q"))
    suggested = str(folder / "frame_%06d.png")
    assert suggested in msg and f"({folder})" in msg
    for spec in (suggested, folder):  # both suggestions really work
        out = tmp_path / f"ok{len(str(spec))}.mov"
        code, _ = cli(capsys, "matte", spec, "-o", out, "--fps", "24", "--model", "chroma", "-q")
        assert code == 0 and read_pts(out)[1] == N


def test_folder_of_videos_points_at_the_video(tmp_path, capsys):
    (tmp_path / "takes").mkdir()
    clip = make_clip(tmp_path / "takes" / "take1.mp4", frames=3, size=SIZE)
    msg = one_error(*cli(capsys, "replace", tmp_path / "takes", "--color", "#00f", "-o", tmp_path / "o.mp4",
                         "--model", "chroma", "-q"))
    assert str(clip.path) in msg
    code, _ = cli(capsys, "replace", clip.path, "--color", "#00f", "-o", tmp_path / "o.mp4", "--model", "chroma", "-q")
    assert code == 0


def test_image_takes_a_folder_or_a_quoted_pattern(tmp_path, capsys):
    folder = write_frames(tmp_path / "stills", [rgb for rgb, _ in DISCS[:2]], "png")
    for spec, out in ((folder, "cut_a"), (f"{folder}/*.png", "cut_b")):
        code, lines = cli(capsys, "image", spec, "-o", tmp_path / out, "--model", "chroma", "-q")
        assert code == 0, lines
        assert sorted(p.name for p in (tmp_path / out).iterdir()) == ["frame_000001.png", "frame_000002.png"]
    msg = one_error(*cli(capsys, "image", f"{folder}/*.jpg", "-o", tmp_path / "none", "--model", "chroma"))
    assert "frame_%06d.png" in msg


def test_video_source_on_a_folder_does_not_suggest_a_pattern(tmp_path):
    from vidmatte.errors import InputError
    from vidmatte.io.sources import VideoSource

    with pytest.raises(InputError, match="open_source") as info:
        VideoSource(tmp_path)
    assert "%" not in str(info.value)


# -- 10. high bit depth ----------------------------------------------------------------------
def test_10bit_ramp_keeps_its_levels_in_the_prores_plate(tmp_path, capsys):
    src = make_ramp10(tmp_path / "ramp.mkv")  # 640 distinct 10-bit levels
    out = tmp_path / "plate.mov"
    code, lines = cli(capsys, "matte", src, "-o", out, "--model", "chroma", "-q")
    assert code == 0, lines
    levels, per_column = ramp_levels(out)
    assert levels > 600  # through 8-bit RGB it was 397-417
    assert np.abs(per_column - (200 + np.arange(640))).max() < 0.75  # within a 10-bit level


def test_10bit_composite_into_prores_keeps_its_levels_and_webm_takes_composites(tmp_path, capsys):
    src = make_ramp10(tmp_path / "ramp.mkv")  # grey, never green: the composite is the ramp itself
    code, lines = cli(capsys, "replace", src, "--color", "#2060ff", "-o", tmp_path / "comp.mov", "--format", "prores",
                      "--model", "chroma", "-q")
    assert code == 0, lines
    levels, per_column = ramp_levels(tmp_path / "comp.mov")
    assert levels > 600 and np.abs(per_column - (200 + np.arange(640))).max() < 0.75
    code, lines = cli(capsys, "replace", src, "--color", "#2060ff", "-o", tmp_path / "comp.webm", "--model", "chroma",
                      "-q")
    assert code == 0, lines
    assert read_pts(tmp_path / "comp.webm")[1] == 2


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_frames_stay_16bit_in_png_and_tiff_plates_and_composites(tmp_path, capsys, ext):
    ramp = (np.arange(1024, dtype=np.uint32) * 64).astype(np.uint16)  # 1024 levels
    img = np.zeros((8, 1024, 3), np.uint16)
    img[..., 0], img[..., 2] = ramp, 65535 - ramp  # never green: alpha 1
    folder = write_frames(tmp_path / "in", [img, img], ext)
    code, lines = cli(capsys, "matte", folder, "-o", tmp_path / "plate" / f"f_%04d.{ext}", "--fps", "24",
                      "--model", "chroma", "--fg-estimation", "none", "-q")
    assert code == 0, lines
    got = read_image(tmp_path / "plate" / f"f_0000.{ext}", mode="native")
    assert got.dtype == np.uint16 and got.shape == (8, 1024, 4)
    np.testing.assert_array_equal(got[..., :3], img)  # every 16-bit value kept
    code, lines = cli(capsys, "replace", folder, "--color", "#2060ff", "-o", tmp_path / "comp" / f"f_%04d.{ext}",
                      "--fps", "24", "--model", "chroma", "-q")
    assert code == 0, lines
    comp = read_image(tmp_path / "comp" / f"f_0000.{ext}", mode="native")
    assert comp.dtype == np.uint16 and len(np.unique(comp[..., 0])) > 900


def test_10bit_composite_into_exr_keeps_its_levels(tmp_path, capsys):
    src = make_ramp10(tmp_path / "ramp.mkv")
    code, lines = cli(capsys, "replace", src, "--color", "#2060ff", "-o", tmp_path / "exr" / "f_%04d.exr",
                      "--model", "chroma", "-q")
    assert code == 0, lines
    rgb = read_exr(tmp_path / "exr" / "f_0000.exr")[..., :3]
    assert rgb.dtype == np.float32 and len(np.unique(rgb[4, :, 1])) > 600


# -- 11. EXR plates are premultiplied by default -----------------------------------------------
def test_exr_plate_is_premultiplied_by_default_and_png_stays_straight(tmp_path, capsys):
    clip = make_clip(tmp_path / "in.mkv", frames=3, size=(96, 64), codec="ffv1")
    for mode, folder in ((None, "exr"), ("straight", "exr_straight")):
        extra = ["--alpha-mode", mode] if mode else []
        code, _ = cli(capsys, "matte", clip.path, "-o", tmp_path / folder / "f_%04d.exr", "--model", "chroma", "-q",
                      *extra)
        assert code == 0
    exr = read_exr(tmp_path / "exr" / "f_0001.exr")
    clear = exr[..., 3] == 0
    assert clear.mean() > 0.3
    assert np.abs(exr[clear][:, :3]).max() == 0.0  # RGB is 0 where alpha is 0
    straight = read_exr(tmp_path / "exr_straight" / "f_0001.exr")
    assert (straight[straight[..., 3] == 0][:, :3].max(axis=1) > 0.01).sum() > 50  # colour kept under alpha 0
    code, _ = cli(capsys, "matte", clip.path, "-o", tmp_path / "png", "--model", "chroma", "-q")
    png = read_image(tmp_path / "png" / "frame_000001.png", mode="native")
    assert (png[png[..., 3] == 0][:, :3].max(axis=1) > 2).sum() > 50  # PNG: straight
