"""What a run measured: seconds per stage, frames and wall time, live latency."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

__all__ = ["StageTimes", "PipelineStats", "LiveStats"]


@dataclass
class StageTimes:
    """Seconds spent per stage (summed over frames), filled by whoever runs the stage (from
    any thread: frame-parallel workers add at once)."""

    seconds: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stage: str, dt: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + dt

    def per_frame_ms(self, frames: int) -> dict:
        return {k: 1000.0 * v / max(frames, 1) for k, v in self.seconds.items()}

    def line(self, frames: int) -> str:
        """``stage ms, stage ms, …`` per frame."""
        return ", ".join(f"{k} {v:.1f}" for k, v in self.per_frame_ms(frames).items())


@dataclass
class PipelineStats:
    """Frames written, wall time, per-stage times and the thread policy of an offline run."""

    frames: int = 0
    wall_s: float = 0.0
    times: StageTimes = field(default_factory=StageTimes)
    policy: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> str:
        policy = f"; schedule: {self.policy}" if self.policy else ""
        return (f"{self.frames} frames in {self.wall_s:.2f} s ({self.fps:.2f} fps); "
                f"ms/frame: {self.times.line(self.frames)}{policy}")


@dataclass
class LiveStats:
    """Counters of one live run; latency is sink time minus capture time, per frame."""

    captured: int = 0
    dropped: int = 0
    processed: int = 0
    wall_s: float = 0.0
    latency_ms: list = field(default_factory=list)
    process_ms: list = field(default_factory=list)
    stopped_by: Optional[str] = None
    stages_ms: dict = field(default_factory=dict)

    @property
    def fps_in(self) -> float:
        return self.captured / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def fps_out(self) -> float:
        return self.processed / self.wall_s if self.wall_s > 0 else 0.0

    def latency(self, q: float) -> float:
        """``q``-th percentile (0..100) of the latency in ms (NaN before the first frame)."""
        return float(np.percentile(self.latency_ms, q)) if self.latency_ms else float("nan")

    def summary(self) -> str:
        proc = float(np.median(self.process_ms)) if self.process_ms else float("nan")
        lat_max = max(self.latency_ms) if self.latency_ms else float("nan")
        return (f"{self.processed} frames out ({self.fps_out:.1f} fps) of {self.captured} captured "
                f"({self.fps_in:.1f} fps), {self.dropped} dropped; latency ms p50 {self.latency(50):.1f} "
                f"p95 {self.latency(95):.1f} max {lat_max:.1f}; process ms p50 {proc:.1f}")
