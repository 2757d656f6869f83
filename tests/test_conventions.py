"""CLI conventions: sizes as WxH (like ffmpeg), -y, `python -m vidmatte`."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from vidmatte.matting import round_size
from vidmatte.frame import as_size, format_size, parse_size
from vidmatte_cli.main import build_parser
from vidmatte_cli.options import parse_size as cli_parse_size


def test_sizes_read_as_width_x_height():
    assert parse_size("640x360") == (360, 640)  # (H, W) inside, as numpy/torch shapes
    assert parse_size("512") == 512 and parse_size(" 1920 X 1080 ") == (1080, 1920)
    assert format_size((360, 640)) == "640x360"
    assert as_size("640x360") == (360, 640) and as_size((360, 640)) == (360, 640) and as_size(None) is None
    assert round_size("500x280") == (288, 512)  # the Python API reads text the same way
    for bad in ("0x10", "x", "10x", "-5", "12.5"):
        with pytest.raises(ValueError, match="WxH"):
            parse_size(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="WxH"):
        cli_parse_size("big")


def test_model_size_flag_is_wxh_and_help_says_what_n_means():
    args = build_parser().parse_args(["replace", "in.mp4", "-o", "out.mp4", "--color", "red", "--model-size", "512x288"])
    assert args.model_size == (288, 512)
    sub = build_parser()._subparsers._group_actions[0].choices["replace"]
    helps = {a.dest: a for a in sub._actions}
    assert helps["model_size"].metavar == "N|WxH" and "long side" in helps["model_size"].help


def test_onnx_model_size_text_is_wxh():
    from vidmatte.models.factory import bundled_model_path
    from vidmatte.models.onnx import OnnxMatter

    assert OnnxMatter(bundled_model_path(), size="320x192").size == (192, 320)


def test_y_is_overwrite():
    p = build_parser()
    assert p.parse_args(["replace", "a.mp4", "-o", "b.mp4", "--color", "red", "-y"]).overwrite
    assert p.parse_args(["matte", "a.mp4", "-o", "b.mov", "-y"]).overwrite
    assert p.parse_args(["webcam", "--preview", "-y"]).overwrite


def test_python_m_vidmatte_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "vidmatte", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("vidmatte ")
    bad = subprocess.run([sys.executable, "-m", "vidmatte", "replace", "missing.mp4", "-o", "x.mp4", "--color", "red"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("vidmatte: error:")
