"""``vidmatte bench startup``: how fast the command answers, against a bare ``import torch``.

Each command runs in a fresh interpreter (``python -m vidmatte_cli.main …``), taking turns
with ``python -c "import torch"``; the best of ``runs`` wall times of each is compared (a
busy machine only ever adds time). The answers that must not wait for torch: help, the
model list, argument errors and missing files.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field

from vidmatte.bench.timing import load_average, run_timed

__all__ = ["StartupBench", "bench_startup", "COMMANDS"]

#: label → arguments of `vidmatte`; ``{missing}`` is a file that does not exist
COMMANDS = {
    "vidmatte --help": ["--help"],
    "vidmatte replace --help": ["replace", "--help"],
    "vidmatte models list": ["models", "list"],
    "argument error": ["replace", "in.mp4"],
    "missing input": ["replace", "{missing}", "-o", "{missing}.out.mp4", "--color", "#fff"],
}
BASELINE = "python -c 'import torch'"


@dataclass
class StartupBench:
    runs_s: dict = field(default_factory=dict)

    def best(self, label: str) -> float:
        return min(self.runs_s[label])

    def ratio(self, label: str) -> float:
        return self.best(label) / self.best(BASELINE)

    def as_dict(self) -> dict:
        return {**asdict(self), "best_s": {k: min(v) for k, v in self.runs_s.items()},
                "ratio_vs_import_torch": {k: self.ratio(k) for k in self.runs_s if k != BASELINE}}

    def summary(self) -> str:
        lines = [f"{'command':<26} {'best s':>7}  {'x import torch':>14}   runs"]
        for label, runs in self.runs_s.items():
            ratio = "" if label == BASELINE else f"{self.ratio(label):14.2f}"
            lines.append(f"{label:<26} {min(runs):7.3f}  {ratio:>14}   " + ", ".join(f"{r:.3f}" for r in runs))
        lines.append(f"load average: {load_average():.2f}")
        return "\n".join(lines)


def _wall(cmd: list, env: dict) -> float:
    return run_timed(cmd, env, check=False)[0]  # some commands fail on purpose (argument errors)


def bench_startup(runs: int = 3) -> StartupBench:
    """Best-of-``runs`` wall time of each command in :data:`COMMANDS` and of the baseline."""
    res = StartupBench()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="vidmatte-bench-startup-") as tmp:
        missing = os.path.join(tmp, "missing.mp4")
        for _ in range(max(1, runs)):
            res.runs_s.setdefault(BASELINE, []).append(_wall([sys.executable, "-c", "import torch"], env))
            for label, args in COMMANDS.items():
                argv = [a.format(missing=missing) for a in args]
                res.runs_s.setdefault(label, []).append(
                    _wall([sys.executable, "-m", "vidmatte_cli.main", *argv], env))
    return res
