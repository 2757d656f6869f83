"""Write beside the target, rename into place on success, delete on failure.

A reader (or a crashed run) never sees a half-written output: sinks write to a hidden
temporary path in the target's folder (same filesystem, so the final ``os.replace`` is
atomic) and only :meth:`AtomicTarget.commit` makes it visible. The temporary name keeps the
target's extension, so muxers that guess the format from the name still work.

The temporary name holds the writer's process id (``.out.partial-<pid>-<tag>.mp4``): a run
that was killed outright (SIGKILL, power loss) leaves its partial behind, and the next run
to the same target removes the partials whose process is gone (:func:`cleanup_partials`).
A write that fails (disk full, quota, file too large) is an :class:`OutputError`.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Union

from vidmatte.errors import OutputError, warn

__all__ = ["AtomicSink", "AtomicTarget", "atomic_path", "check_output_path", "cleanup_partials", "same_file",
           "write_failed"]

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


def write_failed(target: PathLike, exc: Exception) -> OutputError:
    """The one-line :class:`OutputError` for an ``OSError`` (or FFmpeg error) while writing ``target``."""
    reason = getattr(exc, "strerror", None) or str(exc)
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space or write to another disk"
    elif code == errno.EFBIG:
        hint = "the file system (or a ulimit) caps the file size; write elsewhere"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a writable output folder"
    else:
        hint = "check the output disk"
    return OutputError(f"writing {target} failed: {reason}; {hint}")


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
        removed = cleanup_partials(self.target.parent, self.target.stem)
        if removed:
            warn(f"removed {removed} partial output(s) of an interrupted run beside {self.target}")
        tag = uuid.uuid4().hex[:8]
        self.tmp = self.target.with_name(f".{self.target.stem}.partial-{os.getpid()}-{tag}{self.target.suffix}")
        self.done = False
        if folder:
            try:
                self.tmp.mkdir()
            except OSError as e:
                self.done = True
                raise write_failed(self.target, e) from e

    def commit(self) -> Path:
        """Move the temporary output onto the target; returns the target."""
        if self.done:
            return self.target
        if self.target.exists() and not self.overwrite:
            self.abort()
            raise OutputError(f"output {self.target} appeared while writing; pass --overwrite to replace it")
        try:
            if self.folder and self.target.is_dir():
                # a directory cannot be replaced by rename: move the old one aside first
                old = self.target.with_name(f".{self.target.name}.old-{uuid.uuid4().hex[:8]}")
                os.replace(self.target, old)
                os.replace(self.tmp, self.target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.target)
        except OSError as e:
            self.abort()
            raise write_failed(self.target, e) from e
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
    except OSError as e:
        at.abort()
        raise write_failed(target, e) from e
    except BaseException:
        at.abort()
        raise
    at.commit()


_PID = re.compile(r"partial-(\d+)-")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another job of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def cleanup_partials(folder: PathLike, stem: Optional[str] = None) -> int:
    """Remove leftover ``.<stem>.partial-*`` outputs of killed runs in ``folder``; returns the count.

    Partials whose writer is still running (the pid in the name is alive) are kept, so two
    jobs writing beside each other never delete each other's files.
    """
    prefix = f".{stem}.partial-" if stem is not None else "."
    n = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    for p in entries:
        if not p.name.startswith(prefix) or ".partial-" not in p.name:
            continue
        m = _PID.search(p.name)
        if m and _alive(int(m.group(1))):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            n += 1
        except OSError:
            pass
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
