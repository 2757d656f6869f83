"""`vidmatte batch --engine ray` on a local Ray cluster (``ray.init(num_cpus=2)``): the same
results as one `replace` per file, a worker killed mid-batch, re-runs, a corrupt input.

Ray starts in a few seconds, so these tests are few and share one cluster.
"""

from __future__ import annotations

import os
import signal

import pytest

from batchcheck import CHROMA, assert_same_as_replace, only_outputs
from media import make_clip, make_corrupt
from vidmatte.jobs.batches import batch
from vidmatte.jobs.files import replace

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def _clips(folder):
    folder.mkdir()
    return [
        make_clip(folder / "long.mp4", frames=130, size=(96, 64), audio=True, options={"g": "24"}),  # 5.4 s, AAC
        make_clip(folder / "vfr.mp4", frames=80, size=(96, 64), audio=True, vfr=True, options={"g": "12"}),
        make_clip(folder / "short.mov", frames=20, size=(96, 64)),  # shorter than a segment: one task
    ]


def _refs(tmp_path, clips):
    refs = {}
    for clip in clips:
        refs[clip.path.name] = tmp_path / f"ref-{clip.path.name}"
        replace(clip.path, refs[clip.path.name], matter="chroma", background="#2060ff", progress=False)
    return refs


def test_ray_segments_give_what_replace_gives_and_a_rerun_skips(tmp_path, cluster):
    clips = _clips(tmp_path / "in")
    report = batch([tmp_path / "in"], tmp_path / "out", engine="ray", segment=2, **CHROMA)
    assert report.ok and len(report.done) == 3 and report.workers == 2, report.summary()
    for name, ref in _refs(tmp_path, clips).items():
        assert_same_as_replace(ref, tmp_path / "out" / name)
    assert only_outputs(tmp_path / "out") == ["long.mp4", "short.mov", "vfr.mp4"]
    again = batch([tmp_path / "in"], tmp_path / "out", engine="ray", segment=2, **CHROMA)
    assert not again.done and not again.failed and len(again.skipped) == 3


def test_a_killed_worker_is_restarted_and_a_corrupt_input_fails_alone(tmp_path, cluster):
    from vidmatte.scale.ray_engine import WORKER_PREFIX

    clips = _clips(tmp_path / "in")
    make_corrupt(tmp_path / "in" / "broken.mp4")
    killed = []

    def kill_a_worker(frames):  # called in the batch's own loop while segments run
        if frames >= 60 and not killed:
            name = sorted(n for n in cluster.util.list_named_actors() if n.startswith(WORKER_PREFIX))[0]
            pid = cluster.get(cluster.get_actor(name).pid.remote())  # answered while it works
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    options = {**CHROMA, "progress": kill_a_worker}
    report = batch([tmp_path / "in"], tmp_path / "out", engine="ray", segment=1, **options)
    assert killed and report.restarts >= 1, report.summary()
    assert sorted(os.path.basename(o) for _, o in report.done) == ["long.mp4", "short.mov", "vfr.mp4"]
    assert [(os.path.basename(i), "not a media file" in why) for i, why in report.failed] == [("broken.mp4", True)]
    for name, ref in _refs(tmp_path, clips).items():
        assert_same_as_replace(ref, tmp_path / "out" / name)
    assert only_outputs(tmp_path / "out") == ["long.mp4", "short.mov", "vfr.mp4"]
