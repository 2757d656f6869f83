"""``vidmatte bench stills``: ``vidmatte image`` against rembg on one folder and one model.

Both tools run as the user runs them, as commands in fresh processes (start-up included),
on the same images and the same ``.onnx`` file, alternating (rembg, vidmatte, rembg, ...)
so that a busy machine slows both alike::

    rembg p -m u2netp DIR OUT           (U2NET_HOME = a temporary folder holding the model file)
    vidmatte image DIR/* -o OUT --model M.onnx [--preset P] -q

rembg finds its model as ``$U2NET_HOME/<session>.onnx`` before it would download anything,
so the benchmark links the given file there under the session's name (``u2netp`` for
``u2netp.onnx``) and never touches the network. Without rembg installed, vidmatte runs alone
and the report says so. With ``gt``, both outputs' alpha channels are scored (SAD, MSE).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from vidmatte.bench.timing import load_average, run_timed
from vidmatte.errors import InputError

__all__ = ["StillsBench", "bench_stills", "find_rembg", "rembg_session"]

# rembg sessions whose model file is one .onnx named like the session
REMBG_SESSIONS = ("u2net", "u2netp", "u2net_human_seg", "silueta", "isnet-general-use", "isnet-anime")


@dataclass
class StillsBench:
    images: int
    model: str
    rembg: Optional[str]  # the rembg command, or why it did not run
    runs_vidmatte_s: list = field(default_factory=list)
    runs_rembg_s: list = field(default_factory=list)
    cpu_vidmatte_s: list = field(default_factory=list)
    cpu_rembg_s: list = field(default_factory=list)
    sad: dict = field(default_factory=dict)
    mse: dict = field(default_factory=dict)
    load: tuple = ()

    @property
    def ratio(self) -> Optional[float]:
        """vidmatte ÷ rembg wall time, best run of each."""
        if not self.runs_rembg_s or not self.runs_vidmatte_s:
            return None
        return min(self.runs_vidmatte_s) / min(self.runs_rembg_s)

    @property
    def cpu_ratio(self) -> Optional[float]:
        if not self.cpu_rembg_s or not self.cpu_vidmatte_s:
            return None
        return min(self.cpu_vidmatte_s) / min(self.cpu_rembg_s)

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio_vidmatte_vs_rembg": self.ratio, "cpu_ratio_vidmatte_vs_rembg": self.cpu_ratio}

    def summary(self) -> str:
        def runs(xs):
            return ", ".join(f"{x:.2f}" for x in xs) or "-"

        lines = [f"{self.images} images, model {self.model}; load average before/after: "
                 + " / ".join(f"{a:.2f}" for a in self.load),
                 f"vidmatte image   wall s: {runs(self.runs_vidmatte_s)}   (cpu s: {runs(self.cpu_vidmatte_s)})"]
        if self.runs_rembg_s:
            lines.append(f"rembg p          wall s: {runs(self.runs_rembg_s)}   (cpu s: {runs(self.cpu_rembg_s)})")
            lines.append(f"vidmatte / rembg = {self.ratio:.2f}x wall (best of each), {self.cpu_ratio:.2f}x cpu time")
        else:
            lines.append(f"rembg: not run ({self.rembg})")
        for tool in self.sad:
            lines.append(f"{tool:<8} SAD {self.sad[tool]:.2f}  MSE*1e3 {self.mse[tool]:.2f}  (means over the images)")
        return "\n".join(lines)


def find_rembg() -> Optional[list[str]]:
    """The command that runs rembg's CLI with this Python, or ``None`` when it is not installed."""
    import importlib.util

    try:
        if importlib.util.find_spec("rembg") is None or importlib.util.find_spec("rembg.cli") is None:
            return None
    except (ImportError, ValueError):
        return None
    exe = Path(sys.executable).with_name("rembg")
    return [str(exe)] if exe.is_file() else ([shutil.which("rembg")] if shutil.which("rembg") else None)


def rembg_session(model: Path, name: Optional[str] = None) -> str:
    """rembg's session name for ``model`` (its file stem), checked against the sessions that
    load one file named after themselves."""
    session = name or model.stem
    if session not in REMBG_SESSIONS:
        raise InputError(f"rembg has no session that loads {model.name}; pass --rembg-model with one of "
                         f"{', '.join(REMBG_SESSIONS)} (its file name must match)")
    return session


def _timed(cmd: Sequence[str], env: dict) -> tuple[float, float]:
    """Run ``cmd``; (wall seconds, CPU seconds of the child). A failure is one InputError line."""
    try:
        return run_timed(cmd, env)
    except RuntimeError as exc:
        raise InputError(str(exc)) from None


def bench_stills(images: Path, model: Path, *, preset: Optional[str] = None, gt: Optional[Path] = None,
                 runs: int = 2, rembg_model: Optional[str] = None, extra: Sequence[str] = ()) -> StillsBench:
    """Time ``vidmatte image`` and ``rembg p`` (when installed) ``runs`` times each, alternating."""
    from vidmatte.eval.files import list_files

    files = list_files(images, "images")
    model = Path(model)
    if not model.is_file():
        raise InputError(f"--model {model}: no such file")
    rembg = find_rembg()
    res = StillsBench(images=len(files), model=model.name, rembg=" ".join(rembg) if rembg else
                      "rembg is not installed here (pip install 'rembg[cli]' to compare)", load=(load_average(),))
    with tempfile.TemporaryDirectory(prefix="vidmatte-bench-stills-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if rembg:
            session = rembg_session(model, rembg_model)
            home = root / "u2net"
            home.mkdir()
            (home / f"{session}.onnx").symlink_to(model.resolve())
            env_rembg = {**env, "U2NET_HOME": str(home), "MODEL_CHECKSUM_DISABLED": "1"}
        vm = [sys.executable, "-m", "vidmatte_cli.main", "image", *map(str, files), "--model", str(model), "-q",
              *(["--preset", preset] if preset else []), *extra]
        for i in range(runs):
            if rembg:
                out = root / f"rembg{i}"
                wall, cpu = _timed([*rembg, "p", "-m", session, str(images), str(out)], env_rembg)
                res.runs_rembg_s.append(wall)
                res.cpu_rembg_s.append(cpu)
            out = root / f"vidmatte{i}"
            wall, cpu = _timed([*vm, "-o", f"{out}{os.sep}"], env)
            res.runs_vidmatte_s.append(wall)
            res.cpu_vidmatte_s.append(cpu)
        res.load = (res.load[0], load_average())
        if gt is not None:
            from vidmatte.eval.engine import evaluate_folders

            for tool in ("vidmatte", "rembg") if rembg else ("vidmatte",):
                report = evaluate_folders(Path(gt), pred=root / f"{tool}0", metrics=("SAD", "MSE"))
                res.sad[tool], res.mse[tool] = report.mean["SAD"], report.mean["MSE"]
    return res
