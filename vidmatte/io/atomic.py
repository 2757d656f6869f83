"""Write beside the target, rename into place on success, delete on failure.

A reader (or a crashed run) never sees a half-written output: sinks write to a hidden
temporary path in the target's folder (same filesystem, so the final ``os.replace`` is
atomic) and only :meth:`AtomicTarget.commit` makes it visible. The temporary name keeps the
target's extension, so muxers that guess the format from the name still work.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Union

from vidmatte.errors import OutputError

__all__ = ["AtomicSink", "AtomicTarget", "atomic_path", "check_output_path", "cleanup_partials", "same_file"]

PathLike = Union[str, os.PathLike]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (symlinks and relative paths resolved)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output_path(target: PathLike, *, overwrite: bool, inputs: tuple = (), folder: bool = False) -> Path:
    """Validate an output path before any work starts; returns it as a ``Path``.

    Raises :class:`OutputError` when the path is an input, already exists without
    ``overwrite``, is of the wrong kind (file vs folder) or its parent folder is missing.
    """
    target = Path(target)
    for src in inputs:
        if src is not None and same_file(target, src):
            raise OutputError(f"output {target} is the input file; choose another output name")
    if target.exists() or target.is_symlink():
        if target.is_dir() != folder:
            kind = "a folder" if target.is_dir() else "a file"
            raise OutputError(f"output {target} exists and is {kind}; choose another output path")
        if not overwrite:
            raise OutputError(f"output {target} already exists; pass --overwrite to replace it")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output folder {parent} is not writable; choose another output path")
    return target


class AtomicTarget:
    """A temporary path beside ``target`` that becomes ``target`` on :meth:`commit`.

    Args:
        target: the final file or folder.
        folder: the output is a directory (created empty at :attr:`tmp`).
        overwrite: allow replacing an existing target (checked again at commit).

    ``commit`` and ``abort`` are idempotent; after one of them the other does nothing.
    """

    def __init__(self, target: PathLike, *, folder: bool = False, overwrite: bool = False):
        self.target = Path(target)
        self.folder = folder
        self.overwrite = overwrite
        tag = uuid.uuid4().hex[:8]
        self.tmp = self.target.with_name(f".{self.target.stem}.partial-{tag}{self.target.suffix}")
        if folder:
            self.tmp.mkdir()
        self.done = False

    def commit(self) -> Path:
        """Move the temporary output onto the target; returns the target."""
        if self.done:
            return self.target
        if self.target.exists() and not self.overwrite:
            self.abort()
            raise OutputError(f"output {self.target} appeared while writing; pass --overwrite to replace it")
        if self.folder and self.target.is_dir():
            # a directory cannot be replaced by rename: move the old one aside first
            old = self.target.with_name(f".{self.target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(self.target, old)
            os.replace(self.tmp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.target)
        self.done = True
        return self.target

    def abort(self) -> None:
        """Delete the temporary output (file or folder), leaving the target untouched."""
        if self.done:
            return
        self.done = True
        if self.tmp.is_dir() and not self.tmp.is_symlink():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            try:
                self.tmp.unlink()
            except FileNotFoundError:
                pass


@contextmanager
def atomic_path(
    target: PathLike, *, folder: bool = False, overwrite: bool = False, inputs: tuple = ()
) -> Iterator[Path]:
    """Yield a temporary path; on normal exit it is renamed to ``target``, on error deleted.

    Example::

        with atomic_path("out/bg.png", overwrite=True) as tmp:
            cv2.imwrite(str(tmp), image)
    """
    check_output_path(target, overwrite=overwrite, inputs=inputs, folder=folder)
    at = AtomicTarget(target, folder=folder, overwrite=overwrite)
    try:
        yield at.tmp
    except BaseException:
        at.abort()
        raise
    at.commit()


def cleanup_partials(folder: PathLike, stem: Optional[str] = None) -> int:
    """Remove leftover ``.<stem>.partial-*`` files of killed runs in ``folder``; returns the count."""
    n = 0
    for p in Path(folder).glob(f".{stem or '*'}.partial-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        n += 1
    return n


class AtomicSink:
    """Context-manager behaviour shared by the file sinks: a clean exit commits the output
    (``close()``), an exception or Ctrl-C inside the block throws it away (``abort()``)."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()
