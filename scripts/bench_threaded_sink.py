#!/usr/bin/env python3
"""Loop of 60 frames 640x360: a 20 ms GIL-free "model" (sleep) then write; plain sink vs ThreadedSink.

Run from the repository root: .venv/bin/python scripts/bench_threaded_sink.py (docs/gpu.md)."""
import time, sys, tempfile
from fractions import Fraction
from pathlib import Path
import numpy as np
sys.path.insert(0, "tests")
from media import disc_frame
from vidmatte.frame import Frame
from vidmatte.io.sinks import VideoSink
from vidmatte.io.threaded import ThreadedSink
W, H, N = 640, 360, 60
frames = [Frame(disc_frame(i, N, (W, H))[0], pts=i, time_base=Fraction(1, 30)) for i in range(N)]
def run(threaded, root):
    inner = VideoSink(root / f"o{int(threaded)}.mp4", width=W, height=H, fps=30, overwrite=True,
                      threads=0)  # x264's own choice in both: only the wrapper differs
    sink = ThreadedSink(inner) if threaded else inner
    t0 = time.perf_counter()
    with sink:
        for f in frames:
            time.sleep(0.02)
            sink.write(f)
    return N / (time.perf_counter() - t0)
with tempfile.TemporaryDirectory() as d:
    root = Path(d)
    res = {False: [], True: []}
    for _ in range(3):
        for t in (False, True):
            res[t].append(run(t, root))
    print(f"plain {max(res[False]):.1f} fps, threaded {max(res[True]):.1f} fps (best of 3), "
          f"ratio {max(res[True]) / max(res[False]):.2f}x")
