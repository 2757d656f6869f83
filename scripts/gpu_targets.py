#!/usr/bin/env python3
"""The issue-27 targets from a `scripts/gpu-check` run: one line each, measured value and verdict.

Usage: scripts/gpu_targets.py OUTDIR/gpu-check.json [OUTDIR/cuda-tests.log]
Verdicts: PASS, FAIL, or NOT MEASURED (a step missing, failed, or cut short). Only reads files.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def _verdict(ok) -> str:
    return "NOT MEASURED" if ok is None else ("PASS" if ok else "FAIL")


def _step(res: dict, name: str) -> dict:
    d = res.get(name)
    return d if isinstance(d, dict) and "error" not in d else {}


def targets(res: dict, tests_log: str = "") -> list[tuple[str, str, object]]:
    """``[(target, measured, ok-or-None)]`` in the issue's order."""
    rows = []
    m = re.findall(r"(\d+) (passed|failed|skipped|error|errors|deselected)", tests_log.splitlines()[-1] if tests_log.strip() else "")
    counts = {k.rstrip("s"): int(n) for n, k in m}
    if counts:
        ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0)
        rows.append(("every CUDA test passes", ", ".join(f"{n} {k}" for k, n in counts.items()),
                     None if ran == 0 else counts.get("failed", 0) + counts.get("error", 0) == 0))
    else:
        rows.append(("every CUDA test passes", "no test summary", None))
    mo = _step(res, "model_only")
    diff = mo.get("max_alpha_diff_graph_vs_eager")
    rows.append(("CUDA graph == eager on a fresh input", "n/a" if diff is None else f"max alpha diff {diff:.2g}",
                 mo.get("graph_matches_eager")))
    # the graph's speed counts only when its replay matched eager (run 1-2's replays did not)
    best = mo.get("speedup_ours_graph") if mo.get("graph_matches_eager") else mo.get("speedup_ours_eager")
    rows.append(("model-only fp16 >= 1.5x the official autocast code",
                 "no official checkout given" if best is None else
                 f"eager {mo.get('ours_eager_ms', 0):.1f} ms, graph {mo.get('ours_graph_ms', 0):.1f} ms, "
                 f"official {mo.get('official_autocast_ms', 0):.1f} ms: {best:.2f}x", None if best is None else best >= 1.5))
    e2e = _step(res, "end_to_end")
    r = e2e.get("ratio_pipeline_vs_model_only")
    rows.append(("end to end 1080p >= 0.9x model-only",
                 "n/a" if r is None else f"{e2e['pipeline_fps']:.1f} vs {e2e['model_only_fps']:.1f} fps: {r:.2f}x "
                 f"(encoder {e2e.get('encoder')}" + (f", {e2e['encoder_fps']:.0f} fps alone)" if e2e.get("encoder_fps") else ")"), None if r is None else r >= 0.9))
    live = _step(res, "live")
    p95 = live.get("latency_p95_ms")
    at_rate = live.get("fps_out", 0) >= 0.95 * live.get("fps_in", 30) if live else None
    rows.append(("live 1080p30 at the camera's rate, p95 <= 60 ms",
                 "n/a" if p95 is None else f"{live['fps_out']:.1f} of {live['fps_in']:.1f} fps, dropped {live['dropped']}, "
                 f"p50 {live['latency_p50_ms']:.0f} ms, p95 {p95:.0f} ms", None if p95 is None else bool(at_rate and p95 <= 60)))
    mem = _step(res, "memory")
    rows.append(("GPU memory flat over 1800 frames",
                 "n/a" if "flat" not in mem else f"{mem['frames']} frames, peak {mem['first_half_peak_mb']:.1f} -> "
                 f"{mem['second_half_peak_mb']:.1f} MB", None if "flat" not in mem else bool(mem["flat"] and mem["frames"] >= 1800)))
    enc = _step(res, "encoder")
    if enc:
        th = enc.get("threaded", {})
        rows.append(("(info) encoder's own fps beside the model's",
                     f"plain {enc['plain']['fps']:.0f} fps, threaded {th.get('encode_fps', 0):.0f} fps "
                     f"({th.get('threads')} x264 threads, write holds the caller {th.get('write_ms', 0):.2f} ms), "
                     f"model {enc.get('model_fps', 0):.0f} fps", None))
    parts = _step(res, "parts")
    if parts:
        ms = parts.get("model_smooth_compose_ms", {})
        rows.append(("(info) GPU parts",
                     f"to RGB host {parts['to_rgb_host_ms']:.2f} vs device {parts['to_rgb_device_ms']:.2f} ms; "
                     f"to YUV host {parts['to_yuv_host_ms']:.2f} vs device {parts['to_yuv_device_ms']:.2f} ms; "
                     f"model+flow+compose DIS on compute thread {ms.get('dis_on_compute_thread', 0):.1f} vs "
                     f"worker {ms.get('dis_on_worker', 0):.1f} ms/frame", None))
    return rows


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = Path(argv[0])
    res = json.loads(path.read_text()) if path.exists() else {}
    log = Path(argv[1]).read_text(errors="replace") if len(argv) > 1 and Path(argv[1]).exists() else ""
    print(f"device: {res.get('device', 'unknown')}, torch {res.get('torch', '?')}, CUDA {res.get('cuda', '-')}")
    if res.get("device") == "cpu":
        print("(a CPU run checks that the steps work: sizes are tiny, the verdicts mean nothing)")
    for name, measured, ok in targets(res, log):
        tag = "" if name.startswith("(info)") else f"[{_verdict(ok)}] "
        print(f"{tag}{name}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
