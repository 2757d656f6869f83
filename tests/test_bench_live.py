"""`vidmatte bench live` in CI: a 2-second lavfi source played as a camera; the JSON has every
field and the counts add up (speed is not asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from vidmatte.bench.live import FIELDS


def test_bench_live_json_has_every_field_and_counts_add_up():
    cmd = [sys.executable, "-m", "vidmatte_cli.main", "bench", "live", "--source",
           "lavfi:testsrc2=size=320x180:rate=30:duration=2", "--sizes", "160x96,320x180", "--seconds", "2",
           "--background", "#3366ff", "--json"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["source"].startswith("lavfi:") and out["cores"] >= 1 and "modnet" in out["model"]
    assert [(r["width"], r["height"]) for r in out["rows"]] == [(160, 96), (320, 180)]
    for r in out["rows"]:
        assert set(FIELDS) <= set(r), set(FIELDS) - set(r)
        assert r["processed"] > 0 and r["captured"] >= r["processed"]
        assert r["captured"] == r["processed"] + r["dropped"] + r["unread"]
        assert 0 <= r["unread"] <= r["workers"]
        assert r["fps_out"] == pytest.approx(r["processed"] / r["wall_s"], rel=1e-6)
        assert r["fps_in"] == pytest.approx(r["captured"] / r["wall_s"], rel=1e-6)
        assert 0 < r["latency_p50_ms"] <= r["latency_p95_ms"] <= r["latency_max_ms"]
        assert {"model", "composite"} <= set(r["stages_ms"])
        assert r["model_ms"] > 0 and r["ceiling_fps"] == pytest.approx(1000.0 / r["model_ms"])
        assert r["workers"] in (1, 2) and r["threads"] >= 1 and math.isfinite(r["load"])
        assert r["stopped_by"] in ("duration", "end of source")
    # one line per size on stderr, as it runs
    assert res.stderr.count("fps out of") == 2


def test_bench_live_rejects_a_bad_size():
    res = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", "bench", "live", "--sizes", "640by360"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "WIDTHxHEIGHT" in res.stderr
