"""Edge controls: choke moves the 0.5 contour by about PX (sub-pixel, both ways), feather widens
the edge, torch and OpenCV twins agree, and the options reach the Processor and the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vidmatte.ops.edges import MatteEdges, adjust_edges, adjust_edges_np, choke, feather

H, W, R = 160, 200, 50.0


def disc(r=R, soft=1.0, h=H, w=W):
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    rho = np.hypot(yy - h / 2 + 0.3, xx - w / 2 - 0.2)
    return np.clip((r - rho) / soft + 0.5, 0, 1).astype(np.float32)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)[None, None]


def radius_of_half_contour(a: np.ndarray) -> float:
    """Radius of the disc's 0.5 contour from the area inside it (pixels with a >= 0.5; the
    ~300 edge pixels of a 50 px disc average the pixel grid out to a fraction of a pixel)."""
    return math.sqrt(float((a >= 0.5).sum()) / math.pi)


def radius_of_coverage(a: np.ndarray) -> float:
    """Radius of the disc the matte covers (sum of alpha = area): the edge's position to a
    fraction of a pixel also when it lies between pixel centres."""
    return math.sqrt(float(a.sum()) / math.pi)


def edge_width(a: np.ndarray) -> float:
    """Mean 10-90 % width (px) of the disc's edge: pixels in that band / circumference."""
    r = radius_of_half_contour(a)
    return float(((a > 0.1) & (a < 0.9)).sum()) / (2 * math.pi * r)


@pytest.mark.parametrize("px", [0.5, 1.0, 2.5, 4.0, 7.0])
@pytest.mark.parametrize("soft", [1.0, 4.0])
def test_choke_moves_the_half_contour_by_px(px, soft):
    a = disc(soft=soft)
    r0 = radius_of_half_contour(a)
    shrunk = choke(t(a), px)[0, 0].numpy()
    grown = choke(t(a), -px)[0, 0].numpy()
    assert r0 - radius_of_half_contour(shrunk) == pytest.approx(px, abs=0.15 + 0.03 * px)
    assert radius_of_half_contour(grown) - r0 == pytest.approx(px, abs=0.15 + 0.03 * px)
    # the edge keeps its profile: a hard edge moved between pixel centres gains at most a
    # ring of in-between values (antialiasing), nothing like a feather
    assert edge_width(shrunk) == pytest.approx(edge_width(a), abs=1.0)
    assert edge_width(grown) == pytest.approx(edge_width(a), abs=1.0)


@pytest.mark.parametrize("px", [0.25, 0.5, 1.5, 2.75, 6.4])
def test_choke_by_fractions_of_a_pixel(px):
    a = disc(soft=1.0)
    r0 = radius_of_coverage(a)
    assert r0 - radius_of_coverage(choke(t(a), px)[0, 0].numpy()) == pytest.approx(px, abs=0.03 + 0.01 * px)
    assert radius_of_coverage(choke(t(a), -px)[0, 0].numpy()) - r0 == pytest.approx(px, abs=0.03 + 0.01 * px)


def test_choke_is_smooth_in_subpixel_steps():
    a = t(disc())
    radii = [radius_of_coverage(choke(a, px)[0, 0].numpy()) for px in np.arange(-2.0, 2.01, 0.25)]
    steps = -np.diff(radii)  # each quarter pixel of choke shrinks the radius by about a quarter pixel
    assert np.all(steps > 0.2) and np.all(steps < 0.3), steps


@pytest.mark.parametrize("px", [1.0, 3.0, 8.0])
def test_feather_softens_the_edge(px):
    a = disc(soft=1.0)
    w0 = edge_width(a)
    soft = feather(t(a), px)[0, 0].numpy()
    w1 = edge_width(soft)
    assert w1 == pytest.approx(math.hypot(w0, 1.28 * px), rel=0.2), (w0, w1)
    # feathering leaves the contour where it was (within a fraction of a pixel at this radius)
    assert radius_of_half_contour(soft) == pytest.approx(radius_of_half_contour(a), abs=0.1 + 0.02 * px)


def test_zero_is_the_identity_and_defaults_do_nothing():
    a = t(disc())
    assert adjust_edges(a) is a and choke(a, 0) is a and feather(a, 0.0) is a
    assert not MatteEdges().active and MatteEdges(0.5).active


@pytest.mark.parametrize("c,f", [(2.5, 0.0), (-3.75, 0.0), (0.0, 2.2), (1.3, 4.0), (-0.4, 0.3)])
def test_torch_and_opencv_twins_agree(c, f):
    rng = np.random.default_rng(3)
    a = np.stack([disc(), rng.random((H, W), dtype=np.float32)])[:, None]
    ta = torch.from_numpy(a)
    tt = adjust_edges(ta, c, f, backend="torch")
    tn = adjust_edges(ta, c, f, backend="auto")
    torch.testing.assert_close(tn, tt, atol=2e-6, rtol=0)
    np.testing.assert_allclose(adjust_edges_np(a[1, 0], c, f), tt[1, 0].numpy(), atol=2e-6)
    torch.testing.assert_close(MatteEdges(c, f, backend="torch")(ta), tt)
    assert float(tt.min()) >= 0 and float(tt.max()) <= 1


def test_bad_values():
    a = t(disc())
    for bad in (dict(choke_px=float("nan")), dict(choke_px=1e6), dict(feather_px=-1.0), dict(feather_px="x")):
        with pytest.raises(ValueError, match="choke|feather"):
            adjust_edges(a, **bad)


def test_processor_applies_the_edges_to_the_matte_and_the_composite():
    from vidmatte.matting import ChromaKeyMatter
    from vidmatte.runtime.processor import Processor

    frame = np.zeros((H, W, 3), np.uint8)
    frame[..., 1] = 255  # green screen
    person = disc(soft=1.0) > 0.5
    frame[person] = (200, 40, 40)
    base = Processor(ChromaKeyMatter(), smoothing=None, format="gray")
    base(frame)
    a0 = base.alpha
    for c, f in ((3.0, 0.0), (-2.5, 0.0), (0.0, 4.0)):
        proc = Processor(ChromaKeyMatter(), smoothing=None, format="gray", choke=c, feather=f)
        out = proc(frame)
        want = adjust_edges_np(a0, c, f)
        np.testing.assert_allclose(proc.alpha, want, atol=1e-5)
        assert np.abs(out.astype(np.float32)[..., 0] / 255 - want).max() <= 0.5 / 255 + 1e-6
    comp = Processor(ChromaKeyMatter(), "#000000", smoothing=None, fg_estimation="none", choke=4)
    shrunk = comp(frame)
    assert radius_of_half_contour(comp.alpha) < radius_of_half_contour(a0) - 3.5
    assert (shrunk[..., 0] > 100).sum() < (frame[..., 0] > 100).sum()
    with pytest.raises(ValueError, match="feather"):
        Processor(ChromaKeyMatter(), smoothing=None, feather=-1)


# ---------------------------------------------------------------- the commands
COMMANDS = {
    "replace": ["in.mp4", "-o", "out.mp4", "--color", "#000000"],
    "matte": ["in.mp4", "-o", "out.mp4"],
    "image": ["in.png", "-o", "out.png"],
    "webcam": ["--preview"],
    "batch": ["in.mp4", "-o", "outdir", "--color", "#000000"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_takes_choke_and_feather(command):
    from vidmatte_cli.main import build_parser
    from vidmatte_cli.options import edges_from_args

    parser = build_parser()
    plain = parser.parse_args([command, *COMMANDS[command]])
    assert edges_from_args(plain) == {"choke": 0.0, "feather": 0.0}  # defaults unchanged: off
    args = parser.parse_args([command, *COMMANDS[command], "--choke", "-1.5", "--feather", "2.25"])
    assert edges_from_args(args) == {"choke": -1.5, "feather": 2.25}


def _run_cli(*args):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "vidmatte_cli.main", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.slow
def test_image_command_chokes_cutouts_and_composites(tmp_path):
    """Both still paths: the numpy cut-out path and the processor (composite) path."""
    from vidmatte.io.stills import read_image, write_image

    frame = np.zeros((H, W, 3), np.uint8)
    frame[..., 1] = 255
    frame[disc(soft=1.0) > 0.5] = (200, 40, 40)
    write_image(tmp_path / "in.png", frame)
    areas = {}
    for name, extra in (("plain", []), ("choke", ["--choke", "4"]), ("grow", ["--choke", "-3"])):
        res = _run_cli("image", tmp_path / "in.png", "-o", tmp_path / f"{name}.png", "--model", "chroma", "-q", *extra)
        assert res.returncode == 0, res.stderr
        areas[name] = read_image(tmp_path / f"{name}.png", with_alpha=True)[..., 3].astype(np.float32).sum() / 255
    r = {k: math.sqrt(v / math.pi) for k, v in areas.items()}
    assert r["plain"] - r["choke"] == pytest.approx(4.0, abs=0.3)
    assert r["grow"] - r["plain"] == pytest.approx(3.0, abs=0.3)
    res = _run_cli("image", tmp_path / "in.png", "-o", tmp_path / "comp.png", "--model", "chroma", "--color",
                   "#000000", "--fg-estimation", "none", "--feather", "6", "-q")
    assert res.returncode == 0, res.stderr
    comp = read_image(tmp_path / "comp.png")[..., 0].astype(np.float32) / 200.0  # red = alpha * 200
    assert edge_width(comp) > 2.5 * max(edge_width(disc(soft=1.0)), 1.0)


def test_bad_edge_values_are_one_line_errors(tmp_path):
    res = _run_cli("image", tmp_path / "nothing.png", "-o", tmp_path / "o.png", "--feather", "-2")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("vidmatte: error: --feather"), res.stderr
    assert not (tmp_path / "o.png").exists()


@pytest.mark.slow
def test_replace_video_with_choke(tmp_path):
    from media import make_clip, read_frames

    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(96, 72))
    reds = {}
    for name, extra in (("plain", []), ("choke", ["--choke", "3"])):
        out = tmp_path / f"{name}.mp4"
        res = _run_cli("replace", clip.path, "-o", out, "--model",
                       "chroma", "--color", "#000000", "--no-smooth", "-q", *extra)
        assert res.returncode == 0, res.stderr
        reds[name] = np.mean([(f.max(-1) > 60).sum() for f in read_frames(out)])
    assert reds["choke"] < 0.9 * reds["plain"], reds


def test_batch_spec_carries_the_edges():
    from vidmatte.scale.worker import JobSpec

    assert "choke" not in JobSpec().options()  # manifests of batches without edges stay as they were
    spec = JobSpec(choke=1.5, feather=2.0)
    assert spec.options()["choke"] == 1.5 and spec.options()["feather"] == 2.0
