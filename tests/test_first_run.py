"""A new user's first run: the README's first command, offline, on a fresh home and cache.

The README's setup line ends with the main job (``vidmatte replace samples/talk.mp4 …``).
This runs that job literally, as a subprocess, in a fresh folder holding the samples, with
an empty HOME and Hugging Face cache and a Hub that cannot be reached, and checks what the
user gets: exit 0, every frame with its timing, the audio, a one-line note about the model,
the person kept and the background replaced.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from media import read_audio_packets, read_frames, read_pts

ROOT = Path(__file__).resolve().parent.parent


def readme_main_job() -> list[str]:
    """The main job at the end of the README's first bash block, as argv (without the venv path)."""
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)\n```", text, re.S).group(1)
    job = first_block.split("&&")[-1].strip()
    argv = shlex.split(job)
    assert Path(argv[0]).name == "vidmatte" and argv[1] == "replace", job
    return argv[1:]


@pytest.mark.slow
def test_readme_first_command_works_offline_on_a_fresh_machine(tmp_path):
    work, home = tmp_path / "clone", tmp_path / "home"
    home.mkdir()
    shutil.copytree(ROOT / "samples", work / "samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE", "XDG_CACHE"))}
    env.update(HOME=str(home), HF_ENDPOINT="http://127.0.0.1:9")  # a Hub that does not answer
    argv = readme_main_job()
    res = subprocess.run([sys.executable, "-m", "vidmatte_cli.main", *argv], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    notes = [line for line in res.stderr.splitlines() if "bundled MODNet" in line]
    assert len(notes) == 1 and "vidmatte models download lite" in notes[0], res.stderr
    out = work / argv[argv.index("-o") + 1]
    src = work / argv[1]
    assert read_pts(out) == read_pts(src)  # every frame, same timing
    assert read_audio_packets(out) == read_audio_packets(src)  # the audio, bit for bit
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())  # no partial left

    from vidmatte import Processor, load_matter
    from vidmatte.compose.backgrounds import ImageBackground

    frames_in, frames_out = read_frames(src), read_frames(out)
    proc = Processor(load_matter("modnet"), smoothing=None, format="gray")
    bg = ImageBackground(work / argv[argv.index("--background") + 1])
    import torch

    for i in (10, 60, 110):
        alpha = proc(frames_in[i])[..., 0]
        person, backdrop = alpha > 242, alpha < 13
        assert person.mean() > 0.1 and backdrop.mean() > 0.1, (person.mean(), backdrop.mean())
        got, orig = frames_out[i].astype(int), frames_in[i].astype(int)
        beach = (bg(torch.zeros(1, 3, *alpha.shape))[0].permute(1, 2, 0).numpy() * 255).round().astype(int)
        assert np.abs(got[person] - orig[person]).mean() < 6  # the person is kept
        assert np.abs(got[backdrop] - beach[backdrop]).mean() < 10  # the background is the beach
        assert np.abs(got[backdrop] - orig[backdrop]).mean() > 30  # …and no longer the original
