"""`vidmatte batch` on the local engine: segments match a single `replace`, re-runs skip,
bad inputs fail alone, nothing half-written is left (the Ray engine: test_batch_ray.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from batchcheck import CHROMA, assert_same_as_replace, only_outputs
from media import make_clip, make_corrupt, make_truncated, read_alpha, read_audio_packets, read_pts
from vidmatte.jobs.batches import batch
from vidmatte.jobs.files import replace
from vidmatte.scale.inputs import expand_inputs, output_name


def test_local_segments_give_what_replace_gives(tmp_path):
    (tmp_path / "in").mkdir()
    long = make_clip(tmp_path / "in" / "long.mp4", frames=130, size=(96, 64), audio=True, options={"g": "24"})
    vfr = make_clip(tmp_path / "in" / "vfr.mp4", frames=80, size=(96, 64), audio=True, vfr=True, options={"g": "12"})
    report = batch([tmp_path / "in"], tmp_path / "out", segment=2, **CHROMA)
    assert report.ok and len(report.done) == 2 and report.frames == 210
    for clip in (long, vfr):
        ref = tmp_path / f"ref-{clip.path.name}"
        replace(clip.path, ref, matter="chroma", background="#2060ff", progress=False)
        assert_same_as_replace(ref, tmp_path / "out" / clip.path.name)
    assert only_outputs(tmp_path / "out") == ["long.mp4", "vfr.mp4"]


def test_rerun_skips_finished_and_redoes_what_changed(tmp_path):
    a = make_clip(tmp_path / "a.mp4", frames=6).path
    b = make_clip(tmp_path / "b.mov", frames=6).path
    out = tmp_path / "out"
    assert len(batch([a, b], out, **CHROMA).done) == 2
    again = batch([a, b], out, **CHROMA)
    assert not again.done and [why for _, why in again.skipped] == [f"{out / 'a.mp4'} is done (same input and options)",
                                                                   f"{out / 'b.mov'} is done (same input and options)"]
    threads = batch([a, b], out, model_options={"onnx_options": {"threads": 1}}, **CHROMA)
    assert len(threads.skipped) == 2  # threads change the speed, not the pixels
    os.utime(a, ns=(os.stat(a).st_atime_ns, os.stat(a).st_mtime_ns + 10**9))  # the input changed
    assert [inp for inp, _ in batch([a, b], out, **CHROMA).done] == [str(a)]
    other = batch([a, b], out, **{**CHROMA, "background": "#ff0000"})  # other options: new outputs
    assert len(other.done) == 2
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.mp4").write_bytes(b"somebody's file")
    kept = batch([a], tmp_path / "mine", **CHROMA)
    assert not kept.done and "not made by vidmatte batch" in kept.skipped[0][1]
    assert (tmp_path / "mine" / "a.mp4").read_bytes() == b"somebody's file"
    assert len(batch([a], tmp_path / "mine", overwrite=True, **CHROMA).done) == 1


def test_a_bad_input_fails_alone_with_its_reason(tmp_path):
    good = make_clip(tmp_path / "good.mp4", frames=8, audio=True).path
    bad = make_corrupt(tmp_path / "bad.mp4")
    cut = make_truncated(make_clip(tmp_path / "full.mp4", frames=30).path, tmp_path / "cut.mp4", 0.05)
    report = batch([bad, good, cut, tmp_path / "missing.mp4", str(tmp_path / "none-*.mov")], tmp_path / "out",
                   segment=0.2, **CHROMA)
    assert [inp for inp, _ in report.done] == [str(good)]
    reasons = dict(report.failed)
    assert "not a media file, or corrupt" in reasons[str(bad)]
    assert str(cut) in reasons and reasons[str(tmp_path / "missing.mp4")] == "no such file or folder"
    assert reasons[str(tmp_path / "none-*.mov")] == "no file matches this pattern"
    assert all("\n" not in why for why in reasons.values())
    assert only_outputs(tmp_path / "out") == ["good.mp4"]
    assert "failed" in report.summary() and str(bad) in report.summary()


def test_interrupted_batch_leaves_nothing_half_written(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=72, options={"g": "12"}).path

    def stop(frames):
        if frames >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch([clip], tmp_path / "out", segment=0.5, **{**CHROMA, "progress": stop})
    assert only_outputs(tmp_path / "out") == []
    assert len(batch([clip], tmp_path / "out", segment=0.5, **CHROMA).done) == 1  # and a re-run finishes it


def test_a_killed_writers_partial_is_removed(tmp_path):
    """A partial output whose writer process is gone (a SIGKILLed worker) goes when its item ends."""
    clip = make_clip(tmp_path / "in.mp4", frames=6).path
    (tmp_path / "out").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tmp_path / "out" / f".in.partial-{int(dead.stdout)}-0123abcd.mp4"
    left.write_bytes(b"half")
    assert len(batch([clip], tmp_path / "out", **CHROMA).done) == 1
    assert only_outputs(tmp_path / "out") == ["in.mp4"]


def test_matte_mode_and_transparent_outputs(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(96, 64), audio=True)
    plates = batch([clip.path], tmp_path / "plates", matte=True, format="prores", matter="chroma", progress=False)
    alphas = read_alpha(plates.done[0][1])
    assert plates.done[0][1].endswith("in.mov") and len(alphas) == 6
    assert alphas[3][clip.alphas[3] == 255].mean() > 235 and alphas[3][clip.alphas[3] == 0].mean() < 25
    cut = batch([clip.path], tmp_path / "cut", background=None, matter="chroma", progress=False)
    assert cut.done[0][1].endswith("in.mov") and len(read_alpha(cut.done[0][1])) == 6


def test_inputs_and_output_names(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ("x.mp4", "y.webm", "notes.txt"):
        (tmp_path / "d" / name).write_bytes(b"")
    files, problems = expand_inputs([tmp_path / "d", str(tmp_path / "d" / "*.mp4"), tmp_path / "nope"])
    assert [f.name for f in files] == ["x.mp4", "y.webm"]
    assert problems == [(str(tmp_path / "nope"), "no such file or folder")]
    assert output_name("a.mp4", mode="replace") == "a.mp4"
    assert output_name("a.webm", mode="replace") == "a.mp4"
    assert output_name("a.mp4", mode="replace", transparent=True) == "a.mov"
    assert output_name("a.webm", mode="replace", transparent=True) == "a.webm"
    assert output_name("a.mp4", mode="matte") == "a.mp4"  # an alpha matte, as `vidmatte matte a.mp4` writes
    assert output_name("a.avi", mode="matte") == "a.mov"
    assert output_name("a.mp4", mode="matte", format="png") == "a"
    assert output_name("a.mp4", mode="matte", format="tiff") == "a"   # every image-sequence format: a folder


def test_cli_batch_and_its_one_line_errors(tmp_path, capsys):
    from vidmatte_cli.main import main

    clip = make_clip(tmp_path / "in.mp4", frames=6).path
    assert main(["batch", str(clip), "-o", str(tmp_path / "out"), "--model", "chroma", "--green", "-q"]) == 0
    assert (tmp_path / "out" / "in.mp4").exists()
    assert main(["batch", str(clip), "-o", str(tmp_path / "out"), "--model", "chroma", "--green"]) == 0
    assert "0 done, 1 skipped, 0 failed" in capsys.readouterr().err
    assert main(["batch", str(clip), "-o", str(tmp_path / "o2"), "--model", "chroma"]) == 2
    assert "give a background" in capsys.readouterr().err
    assert main(["batch", str(clip), "-o", str(tmp_path / "o2"), "--matte", "--color", "#fff"]) == 2
    assert capsys.readouterr().err.startswith("vidmatte: error: --matte writes plates without a background")
    bad = make_corrupt(tmp_path / "bad.mp4")
    assert main(["batch", str(bad), str(clip), "-o", str(tmp_path / "o3"), "--model", "chroma", "--green", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"failed  {bad}: ") and "not a media file" in err[0]


def test_engine_ray_without_ray_says_what_to_install(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=4).path
    code = ("import sys; sys.modules['ray'] = None; from vidmatte_cli.main import main; "
            f"sys.exit(main(['batch', {str(clip)!r}, '-o', {str(tmp_path / 'out')!r}, '--model', 'chroma', "
            "'--green', '--engine', 'ray']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == ("vidmatte: error: --engine ray needs Ray: pip install 'vidmatte[ray]' "
                                  "(or use --engine local)")


def test_bench_batch_times_the_engines_against_one_by_one():
    from vidmatte.bench.batch import bench_batch

    res = bench_batch(count=2, frames=6, width=64, height=48, ray=False)
    assert list(res.seconds) == ["one by one", "batch local"] and res.frames == 12
    assert all(s > 0 for s in res.seconds.values()) and res.ratio("one by one") == 1.0
    assert "of one by one" in res.summary() and set(res.as_dict()["ratios"]) == set(res.seconds)


def test_bench_batch_command_prints_its_result():
    out = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "bench", "batch", "--count", "2", "--frames", "6",
                          "--resolution", "64x48", "--no-ray", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data["seconds"]) == ["one by one", "batch local"] and data["frames"] == 12


def test_transparent_webm_segments_keep_alpha_times_and_audio(tmp_path):
    """VP9 pieces carry their alpha as Matroska side data: it must survive the remux."""
    clip = make_clip(tmp_path / "in.webm", frames=40, size=(96, 64), codec="libvpx-vp9", audio=True,
                     options={"g": "10"})
    from vidmatte.scale.segments import plan_segments, scan

    assert len(plan_segments(scan(clip.path), 0.5)) >= 2
    whole = tmp_path / "whole.webm"
    replace(clip.path, whole, matter="chroma", background=None, progress=False)
    report = batch([clip.path], tmp_path / "out", background=None, matter="chroma", segment=0.5, progress=False)
    out = tmp_path / "out" / "in.webm"
    assert report.done and read_pts(out) == read_pts(whole)
    assert read_audio_packets(out) == read_audio_packets(whole)
    ref, got = read_alpha(whole), read_alpha(out)
    assert len(got) == 40 and max(abs(a.astype(int) - b).mean() for a, b in zip(ref, got)) <= 3


def test_a_matter_object_is_recorded_by_its_kind_so_reruns_skip(tmp_path):
    from vidmatte import ChromaKeyMatter

    clip = make_clip(tmp_path / "in.mp4", frames=4).path
    assert batch([clip], tmp_path / "out", matter=ChromaKeyMatter(), background="#fff", progress=False).done
    assert batch([clip], tmp_path / "out", matter=ChromaKeyMatter(), background="#fff", progress=False).skipped
