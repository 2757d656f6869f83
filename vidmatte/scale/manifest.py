"""The small record in the output folder that lets a re-run skip finished outputs.

``OUTDIR/.vidmatte-batch.json`` maps each output name to the input it was made from (its
resolved path, size and modification time) and the options that decide its pixels. An
output is finished when it exists and its record matches the input and options of this
run; a changed input or other options make it due again. The file is replaced atomically
after each finished output, so a killed batch keeps what it recorded.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Union

__all__ = ["Manifest", "MANIFEST_NAME"]

MANIFEST_NAME = ".vidmatte-batch.json"
VERSION = 1


class Manifest:
    """The records of one output folder (read at construction)."""

    def __init__(self, folder: Union[str, os.PathLike]):
        self.path = Path(folder) / MANIFEST_NAME
        self.outputs: dict[str, dict] = {}
        try:
            data = json.loads(self.path.read_text())
            if data.get("version") == VERSION and isinstance(data.get("outputs"), dict):
                self.outputs = data["outputs"]
        except (OSError, ValueError, AttributeError):
            pass  # none yet, or unreadable: every output is due

    @staticmethod
    def entry(input: Union[str, os.PathLike], options: dict) -> dict:
        """What identifies the work behind an output (raises ``OSError`` when ``input`` is gone)."""
        st = os.stat(input)
        return {"input": os.path.realpath(input), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                "options": json.loads(json.dumps(options))}

    def known(self, name: str) -> bool:
        """Whether ``name`` was written by a batch into this folder."""
        return name in self.outputs

    def finished(self, name: str, entry: dict) -> bool:
        """Whether the recorded ``name`` was made from the same input and options as ``entry``."""
        rec = self.outputs.get(name)
        return rec is not None and all(rec.get(k) == v for k, v in entry.items())

    def record(self, name: str, entry: dict, **extra: Any) -> None:
        """Record ``name`` as finished and write the file."""
        self.outputs[name] = {**entry, **extra, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.save()

    def save(self) -> None:
        tmp = self.path.with_name(f"{self.path.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            tmp.write_text(json.dumps({"version": VERSION, "outputs": self.outputs}, indent=1, sort_keys=True))
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
