"""Faults, round 3 (issue 23, items 1, 3, 4, 7): phone photos' EXIF orientation, a size change
mid-stream, a still given to replace/matte, and ONNX models whose output is not a matte.

Everything runs through the real ``vidmatte`` command on media made here: JPEGs with a real
EXIF APP1 segment (written byte by byte), MPEG-TS files of two sizes joined as a broadcast
would, and tiny ONNX graphs serialised with a minimal protobuf writer (the ``onnx`` package
is not a dependency).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from media import make_clip
from onnxwriter import _int, _msg, _value_info

VIDMATTE = [sys.executable, "-m", "vidmatte_cli.main"]


def run(*args, timeout=180):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([*VIDMATTE, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


def one_line_error(res, *needles) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("vidmatte: error: "), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def only(folder: Path, *names: str) -> None:
    """Nothing but ``names`` in ``folder``: no output, no temporary left behind."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


# --- item 4: a still image given to replace / matte --------------------------------------
@pytest.mark.parametrize("cmd, ext, extra", [(["replace", "--blur"], ".png", []), (["replace", "--blur"], ".jpg", ["--fps", "10"]),
                                             (["matte"], ".tif", []), (["matte"], ".png", ["--fps", "10"])])
def test_still_to_replace_or_matte_says_use_image(tmp_path, cmd, ext, extra):
    from vidmatte.io.stills import write_image

    img = np.zeros((48, 64, 3), np.uint8)
    img[10:40, 20:50] = 220
    still = tmp_path / f"photo{ext}"
    write_image(still, img)
    out = tmp_path / ("o.mp4" if cmd[0] == "replace" else "o.mov")
    res = run(cmd[0], still, "-o", out, *cmd[1:], "--model", "chroma", *extra)
    one_line_error(res, "still image", "vidmatte image")
    only(tmp_path, still.name)


# --- item 7: ONNX outputs that are not a matte ------------------------------------------
def _node(op: str, src: str, dst: str, axes=None, keepdims=None) -> bytes:
    attrs = b""
    if axes is not None:
        attrs += _msg(5, _msg(1, "axes") + b"".join(_int(8, a) for a in axes) + _int(20, 7))
    if keepdims is not None:
        attrs += _msg(5, _msg(1, "keepdims") + _int(3, keepdims) + _int(20, 2))
    return _msg(1, _msg(1, src) + _msg(2, dst) + _msg(4, op) + attrs)


def tiny_onnx(path: Path, in_dims, out_dims, op: str, **attrs) -> Path:
    """One-node graph ``input`` → ``output`` (opset 13: Reduce* take ``axes`` as an attribute)."""
    graph = (_node(op, "input", "output", **attrs) + _msg(2, "tiny") + _msg(11, _value_info("input", in_dims))
             + _msg(12, _value_info("output", out_dims)))
    path.write_bytes(_int(1, 7) + _msg(8, _int(2, 13)) + _msg(7, graph))
    return path


# (name, input dims, declared output dims, op, attrs, extra CLI options, words the error names)
NOT_A_MATTE = [
    ("rgb-fixed", [1, 3, 64, 64], [1, 3, 64, 64], "Identity", {}, [], ["(1,3,64,64)", "3 channels"]),
    ("rgb-dynamic", [1, 3, "h", "w"], [1, "c", "h", "w"], "Identity", {}, [], ["(1,3,", "3 channels"]),
    ("rgb-sigmoid", [1, 3, "h", "w"], ["b", "c", "h", "w"], "Identity", {}, ["--sigmoid"], ["3 channels"]),
    ("row", [1, 3, 64, 64], [1, 1, 1, 64], "ReduceMean", {"axes": [1, 2], "keepdims": 1}, [], ["(1,1,1,64)"]),
    ("row-dynamic", [1, 3, "h", "w"], [1, 1, 1, "w"], "ReduceMean", {"axes": [1, 2], "keepdims": 1}, [],
     ["(1,1,1,96)", "does not follow"]),
    ("rank2", [1, 3, "h", "w"], [1, "w"], "ReduceMean", {"axes": [1, 2], "keepdims": 0}, [], ["(1,"]),
    # MODNet's normalisation puts each channel in [-1, 1]: their mean is no matte
    ("logits", [1, 3, "h", "w"], [1, 1, "h", "w"], "ReduceMean", {"axes": [1], "keepdims": 1},
     [], ["values in [-", "--sigmoid"]),
    ("logits-1024", [1, 3, 1024, 1024], [1, 1, 1024, 1024], "ReduceMean", {"axes": [1], "keepdims": 1},
     ["--preset", "birefnet", "--no-sigmoid"], ["(1,1,1024,1024)", "values in [-", "--sigmoid"]),  # fixed 1024²: the first batch
]


@pytest.mark.parametrize("case", NOT_A_MATTE, ids=[c[0] for c in NOT_A_MATTE])
def test_onnx_output_that_is_not_a_matte_is_refused(tmp_path, case):
    name, in_dims, out_dims, op, attrs, extra, needles = case
    model = tiny_onnx(tmp_path / f"{name}.onnx", in_dims, out_dims, op, **attrs)
    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(96, 64))
    res = run("replace", clip.path, "-o", tmp_path / "o.mp4", "--blur", "--model", model, "--preset", "modnet",
              *extra)
    line = one_line_error(res, f"{name}.onnx", *needles)
    assert "internal error" not in line
    only(tmp_path, model.name, "in.mp4")


def test_onnx_matte_and_logit_outputs_still_run(tmp_path):
    """The check lets real mattes through: a mean over channels is a matte in [0, 1]
    (mean 0, std 1); the same graph on [-1, 1] input is refused alone, accepted with --sigmoid."""
    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(96, 64))
    mean = tiny_onnx(tmp_path / "mean.onnx", [1, 3, "h", "w"], [1, 1, "h", "w"], "ReduceMean", axes=[1], keepdims=1)
    res = run("replace", clip.path, "-o", tmp_path / "a.mp4", "--blur", "--model", mean, "--preset", "modnet",
              "--mean", "0", "--std", "1")
    assert res.returncode == 0, res.stderr
    res = run("matte", clip.path, "-o", tmp_path / "b.mov", "--model", mean, "--preset", "modnet", "--sigmoid")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "a.mp4").stat().st_size > 0 and (tmp_path / "b.mov").stat().st_size > 0


def test_onnx_check_on_the_library_and_image_paths(tmp_path):
    from vidmatte.errors import InputError
    from vidmatte.io.stills import write_image
    from vidmatte.models.onnx import OnnxMatter

    rgb = tiny_onnx(tmp_path / "rgb.onnx", [1, 3, "h", "w"], [1, "c", "h", "w"], "Identity")
    with pytest.raises(InputError, match=r"rgb.onnx: output 0 .*\(1,3,.*3 channels"):
        OnnxMatter(rgb, preset="modnet")  # at load
    logits = tiny_onnx(tmp_path / "l.onnx", [1, 3, "h", "w"], [1, 1, "h", "w"], "ReduceMean", axes=[1], keepdims=1)
    with pytest.raises(InputError, match=r"l.onnx: output 0 has shape \(1,1,64,96\) .* values in \[-"):
        OnnxMatter(logits, preset="modnet")  # at load: the probe run sees the values
    assert OnnxMatter(logits, preset="modnet", sigmoid=True).predict_array(np.zeros((8, 8, 3), np.uint8)).shape \
        == (1, 1, 8, 8)
    photo = tmp_path / "p.png"
    write_image(photo, np.full((40, 60, 3), 128, np.uint8))
    res = run("image", photo, "-o", tmp_path / "out.png", "--model", rgb, "--preset", "modnet")
    one_line_error(res, "rgb.onnx", "3 channels")
    assert not (tmp_path / "out.png").exists()


# --- item 1: EXIF orientation --------------------------------------------------------------
GREEN_BG = (0, 200, 0)


def exif_tiff(orientation: int, big_endian: bool = False) -> bytes:
    """A minimal EXIF TIFF structure: IFD0 with one entry, Orientation (274, SHORT)."""
    import struct

    e = ">" if big_endian else "<"
    return ((b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8) + struct.pack(e + "H", 1)
            + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0))


def with_exif(data: bytes, orientation: int, big_endian: bool = False) -> bytes:
    """``data`` (a JPEG or PNG file) with an EXIF Orientation tag put in, as cameras do:
    JPEG: an APP1 ``Exif`` segment right after SOI; PNG: an ``eXIf`` chunk after IHDR."""
    import struct
    import zlib

    tiff = exif_tiff(orientation, big_endian)
    if data[:2] == b"\xff\xd8":
        app1 = b"Exif\x00\x00" + tiff
        return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def stored_for(upright_img: np.ndarray, orientation: int) -> np.ndarray:
    """What a camera stores so that showing it with ``orientation`` gives ``upright_img``
    (written out per the EXIF definition, independently of vidmatte's table)."""
    u = upright_img
    return np.ascontiguousarray({
        1: u, 2: u[:, ::-1], 3: u[::-1, ::-1], 4: u[::-1],
        5: u.swapaxes(0, 1),                      # transpose is its own inverse
        6: np.rot90(u, 1),                        # shown turned 90° clockwise: stored turned back
        7: u[::-1, ::-1].swapaxes(0, 1),          # transverse is its own inverse
        8: np.rot90(u, -1),
    }[orientation])


def subject(h=48, w=80) -> np.ndarray:
    """An upright picture with nothing symmetric: green, a red block top-left and a blue bar
    along the bottom-right."""
    img = np.empty((h, w, 3), np.uint8)
    img[...] = GREEN_BG
    img[4:20, 6:30] = (220, 40, 40)
    img[h - 12: h - 4, w // 2: w - 4] = (40, 40, 220)
    return img


def photo(tmp_path: Path, name: str, upright_img: np.ndarray, orientation: int, ext: str = ".jpg",
          big_endian: bool = False) -> Path:
    from vidmatte.io.stills import write_image

    path = tmp_path / f"{name}{ext}"
    write_image(path, stored_for(upright_img, orientation))
    path.write_bytes(with_exif(path.read_bytes(), orientation, big_endian))
    return path


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_read_image_is_upright_for_all_eight_orientations(tmp_path, ext):
    from vidmatte.io.orientation import exif_orientation
    from vidmatte.io.stills import read_image

    up = subject()
    for o in range(1, 9):
        path = photo(tmp_path, f"o{o}", up, o, ext, big_endian=o % 2 == 0)
        assert exif_orientation(path) == o
        got = read_image(path)
        assert got.shape == up.shape, (o, got.shape)
        if ext == ".png":
            np.testing.assert_array_equal(got, up, err_msg=f"orientation {o}")
        else:
            assert np.abs(got.astype(int) - up).mean() < 4, f"orientation {o}"
        try:  # an outside reader agrees (Pillow comes with torchvision)
            from PIL import Image, ImageOps
        except ImportError:
            continue
        ref = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        assert np.abs(got.astype(int) - ref).mean() < 2, f"orientation {o} differs from Pillow's"


def _alpha_mask(up: np.ndarray) -> np.ndarray:
    return ~np.all(up == np.array(GREEN_BG, np.uint8), axis=2)


def test_image_command_cuts_out_upright_without_the_tag(tmp_path):
    """All eight orientations in one `vidmatte image` run: each cut-out is upright (the
    chroma keyer's alpha sits where the subject stands upright) and carries no EXIF."""
    from vidmatte.io.stills import read_image

    up = subject()
    ins = [photo(tmp_path, f"o{o}", up, o) for o in range(1, 9)]
    out = tmp_path / "out"
    res = run("image", *ins, "-o", f"{out}/", "--model", "chroma")
    assert res.returncode == 0, res.stderr
    want = _alpha_mask(up)
    for o in range(1, 9):
        png = out / f"o{o}.png"
        assert b"eXIf" not in png.read_bytes() and b"Exif" not in png.read_bytes()
        rgba = read_image(png, mode="rgba")
        assert rgba.shape[:2] == up.shape[:2], (o, rgba.shape)
        agree = ((rgba[..., 3] > 127) == want).mean()
        assert agree > 0.97, (o, agree)


def test_background_image_and_jpeg_sequence_are_upright(tmp_path):
    """A phone background (stored sideways, tag 6) fills the frame upright; a JPEG sequence
    tagged 8 comes out at its upright size."""
    from vidmatte.io.stills import read_image, write_image

    clip = make_clip(tmp_path / "in.mp4", frames=3, size=(96, 64))
    bg_up = np.empty((64, 96, 3), np.uint8)
    bg_up[:, :48] = (230, 30, 30)   # left half red
    bg_up[:, 48:] = (30, 30, 230)   # right half blue
    bg = photo(tmp_path, "bg", bg_up, 6)
    res = run("replace", clip.path, "-o", tmp_path / "o.mp4", "--background", bg, "--model", "chroma",
              "--no-smooth")
    assert res.returncode == 0, res.stderr
    import av

    with av.open(str(tmp_path / "o.mp4")) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert first.shape == (64, 96, 3)
    assert first[4, 4, 0] > 150 and first[4, 4, 2] < 100, first[4, 4]      # top-left: red
    assert first[4, 91, 2] > 150 and first[4, 91, 0] < 100, first[4, 91]    # top-right: blue

    seq = tmp_path / "seq"
    seq.mkdir()
    up = subject(40, 72)
    for i in range(3):
        path = photo(seq, f"f_{i:03d}", up, 8)
        assert read_image(path).shape == (40, 72, 3)
    res = run("matte", seq, "-o", tmp_path / "m", "--model", "chroma", "--fps", "10", "--no-smooth")
    assert res.returncode == 0, res.stderr
    frames = sorted((tmp_path / "m").glob("*.png"))
    assert len(frames) == 3
    for f in frames:
        rgba = read_image(f, mode="rgba")
        assert rgba.shape == (40, 72, 4)
        assert ((rgba[..., 3] > 127) == _alpha_mask(up)).mean() > 0.97


# --- item 3: a picture size that changes mid-stream --------------------------------------
def joined_ts(tmp_path: Path) -> Path:
    """Two MPEG-TS clips of different sizes (96x64, then 128x72) joined byte for byte, as a
    broadcast that switches programme or ``cat a.ts b.ts`` gives."""
    a = make_clip(tmp_path / "a.ts", frames=6, size=(96, 64))
    b = make_clip(tmp_path / "b.ts", frames=6, size=(128, 72))
    out = tmp_path / "ab.ts"
    out.write_bytes(a.path.read_bytes() + b.path.read_bytes())
    a.path.unlink()
    b.path.unlink()
    return out


def decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.mark.parametrize("cmd, out_name, extra", [
    ("replace", "o.mp4", ["--blur"]),
    ("replace", "o.mkv", ["--color", "#ffffff", "--no-smooth"]),
    ("matte", "o.mov", ["--no-smooth"]),
    ("matte", "frames", []),
])
def test_size_change_mid_stream_is_fitted_with_one_warning(tmp_path, cmd, out_name, extra):
    from vidmatte.io.image_sources import ImageSequenceSource

    ts = joined_ts(tmp_path)
    with __import__("av").open(str(ts)) as c:  # the input really changes size
        sizes = [(f.width, f.height) for f in c.decode(video=0)]
    assert sizes == [(96, 64)] * 6 + [(128, 72)] * 6
    out = tmp_path / out_name
    res = run(cmd, ts, "-o", out, "--model", "chroma", *extra)
    assert res.returncode == 0, res.stderr
    assert "internal error" not in res.stderr
    warnings = [l for l in res.stderr.splitlines() if "changes picture size" in l]
    assert len(warnings) == 1 and "frames 6-11 (128x72)" in warnings[0] and "96x64" in warnings[0], res.stderr
    if out.is_dir():
        with ImageSequenceSource(out, with_alpha=True) as src:
            frames = [f.image for f in src]
    else:
        frames = decoded(out)
    assert len(frames) == 12 and all(f.shape[:2] == (64, 96) for f in frames)
    if cmd == "replace":  # 128x72 fitted into 96x64 is 96x54: black bars of 5 rows above and below
        for f in frames[6:]:
            assert f[:4].max() < 40 and f[-4:].max() < 40 and f[20:44].mean() > 60
        assert all(f[:4].mean() > 60 for f in frames[:6])
    only(tmp_path, "ab.ts", out_name)


def test_sequence_with_a_size_change_is_fitted_too(tmp_path):
    from media_more import write_frames

    small = np.full((40, 60, 3), 200, np.uint8)
    big = np.full((60, 80, 3), 120, np.uint8)
    seq = write_frames(tmp_path / "seq", [small, small, big, small])
    res = run("matte", seq, "-o", tmp_path / "m.mov", "--model", "chroma", "--fps", "10")
    assert res.returncode == 0, res.stderr
    assert "frames 2 (80x60)" in res.stderr and "60x40" in res.stderr
    frames = decoded(tmp_path / "m.mov")
    assert len(frames) == 4 and all(f.shape[:2] == (40, 60) for f in frames)
