"""Find a named checkpoint on disk, through the Hugging Face Hub cache, or download it.

The cache is the standard huggingface_hub one (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
``~/.cache/huggingface/hub``), read when called, not when imported, so files fetched with
``hf download`` or by other tools are found and shared. Downloads happen only when allowed
(``download=True`` and ``HF_HUB_OFFLINE`` unset) and after a short reachability probe: the
Hub client retries an unreachable host for about 25 s, so we fail in seconds instead with
one line that says how to get the file another way.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Optional, Union
from urllib.parse import urlparse

from vidmatte.errors import WeightsError
from vidmatte.models.weights.registry import Checkpoint, get_checkpoint

__all__ = ["resolve_weights", "resolve_folder", "hub_cache_dir", "hub_offline", "hub_reachable", "cached_weights",
           "check_cache_room"]

_TRUE = {"1", "true", "yes", "on"}


def hub_cache_dir() -> Path:
    """The huggingface_hub cache folder the environment selects right now."""
    env = os.environ
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(var):
            return Path(os.path.expandvars(os.path.expanduser(env[var])))
    if env.get("HF_HOME"):
        return Path(os.path.expandvars(os.path.expanduser(env["HF_HOME"]))) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_reachable(timeout: Optional[float] = None) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within ``timeout`` seconds.

    Name resolution runs in a helper thread because ``getaddrinfo`` has no timeout of its own.
    With an HTTP(S) proxy configured the probe cannot judge the route and answers True.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    if timeout is None:
        timeout = float(os.environ.get("VIDMATTE_HUB_PROBE_TIMEOUT", "5"))
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    ok: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True, name="vidmatte-hub-probe")
    t.start()
    t.join(timeout)
    return bool(ok)


def cached_weights(ckpt: Checkpoint, filename: Optional[str] = None, revision: Optional[str] = None) -> Optional[Path]:
    """The checkpoint's file (or its extra file ``filename``, of ``revision``) in the Hub cache,
    or None (never touches the network)."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(ckpt.repo_id, filename or ckpt.filename, revision=revision,
                                    cache_dir=hub_cache_dir(), local_files_only=True))
    except Exception:  # LocalEntryNotFoundError, or a broken cache entry: treat as absent
        return None


def check_cache_room(ckpt: Checkpoint, cache: Optional[Path] = None) -> Path:
    """Before a download: the cache folder can be created and written, and has room for the
    file (its size on the Hub, less what an interrupted download already holds). Returns the
    folder; raises one WeightsError line otherwise."""
    cache = cache or hub_cache_dir()
    fix = "set HF_HUB_CACHE to a writable folder on a disk with room"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, prefix=".vidmatte-write-test-"):
            pass
    except OSError as exc:
        raise WeightsError(f"cannot write to the Hugging Face cache {cache} ({exc.strerror or exc}); {fix}") from None
    partial = sum(p.stat().st_size for p in cache.glob(f"models--{ckpt.repo_id.replace('/', '--')}/blobs/*.incomplete"))
    need, free = ckpt.approx_mb * 1_000_000 * 1.02 - partial, shutil.disk_usage(cache).free
    if free < need:
        raise WeightsError(f"not enough disk space for {ckpt.name!r}: it needs about {need / 1e6:.0f} MB and {cache} "
                           f"has {free / 1e6:.0f} MB free; free some space or {fix}")
    return cache


def _how_to_get(ckpt: Checkpoint) -> str:
    local = "folder with --refine-weights DIR" if ckpt.variant == "vitmatte" else "file with --weights FILE"
    return (f"on a machine online run `vidmatte models download {ckpt.name}` "
            f"(or `hf download {ckpt.repo_id} {' '.join((ckpt.filename, *ckpt.extra_files))}`) and copy its "
            f"Hugging Face cache here (set HF_HUB_CACHE to it), or pass a local {local}")


def resolve_weights(name: str = "lite", weights: Union[str, Path, None] = None, download: bool = True) -> Path:
    """Path of the weights for ``name`` (or the explicit ``weights`` file).

    Order: ``weights`` if given; the Hub cache; a download when ``download`` is true,
    ``HF_HUB_OFFLINE`` is unset, the cache has room (:func:`check_cache_room`) and the Hub
    answers. huggingface_hub shows a progress bar, resumes an interrupted download and checks
    the file against the Hub's hash. Raises
    :class:`WeightsError` with one line otherwise.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.exists():
            raise WeightsError(f"weights file not found: {path}; check the path (or use a name: `vidmatte models list`)")
        return path
    ckpt = get_checkpoint(name)
    found = cached_weights(ckpt)
    if found is not None:
        return found
    what = f"weights for {ckpt.name!r} ({ckpt.repo_id}/{ckpt.filename}) are not in the Hugging Face cache ({hub_cache_dir()})"
    return _fetch(ckpt, what, download)


def _fetch(ckpt: Checkpoint, what: str, download: bool, filename: Optional[str] = None,
           revision: Optional[str] = None) -> Path:
    """Download a file that is not cached (``what`` says which), after the checks every
    download gets: downloads allowed, room in the cache (:func:`check_cache_room`), the Hub
    reachable. One :class:`WeightsError` line when one fails."""
    if not download or hub_offline():
        why = "--offline was given" if not download else "HF_HUB_OFFLINE is set"
        raise WeightsError(f"{what} and downloads are off ({why}); drop it to download, or {_how_to_get(ckpt)}")
    check_cache_room(ckpt)
    if not hub_reachable():
        raise WeightsError(f"{what} and huggingface.co cannot be reached; {_how_to_get(ckpt)}")
    return _download(ckpt, what, filename=filename, revision=revision)


def _download(ckpt: Checkpoint, what: str, filename: Optional[str] = None, revision: Optional[str] = None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(hf_hub_download(ckpt.repo_id, filename or ckpt.filename, revision=revision,
                                    cache_dir=hub_cache_dir(), etag_timeout=10))
    except GatedRepoError:
        raise WeightsError(
            f"{ckpt.repo_id} is gated: accept its licence ({ckpt.licence}) on https://huggingface.co/{ckpt.repo_id}, "
            f"log in with `hf auth login` (or set HF_TOKEN), then run `vidmatte models download {ckpt.name}` again"
        ) from None
    except RepositoryNotFoundError:
        raise WeightsError(
            f"the Hub refused {ckpt.repo_id} (not found, private or needs a login); log in with `hf auth login` "
            f"or pass a local file with --weights FILE"
        ) from None
    except LocalEntryNotFoundError:  # connection lost / Hub down (a subclass of EntryNotFoundError)
        raise WeightsError(f"{what} and the download failed (no connection to huggingface.co); {_how_to_get(ckpt)}") from None
    except EntryNotFoundError:
        raise WeightsError(
            f"{ckpt.repo_id} has no file {filename or ckpt.filename} any more; download it by hand and pass a local "
            + ("folder with --refine-weights DIR" if ckpt.variant == "vitmatte" else "file with --weights FILE")
        ) from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WeightsError(f"the disk filled up while downloading {ckpt.name!r} into {hub_cache_dir()}; free some "
                               f"space and run `vidmatte models download {ckpt.name}` again (it resumes)") from None
        raise WeightsError(f"{what} and the download failed ({exc}); {_how_to_get(ckpt)}") from None


def resolve_folder(name: str, weights: Union[str, Path, None] = None, download: bool = True) -> Path:
    """Folder holding a checkpoint's weights and its :attr:`~Checkpoint.extra_files` (a
    transformers ``save_pretrained`` layout), by the rules of :func:`resolve_weights`.

    ``weights`` may be such a folder or a file inside one. The extra files are taken from the
    same Hub revision as the weights, so they land in the same snapshot folder. Raises
    :class:`WeightsError` with one line when a file is missing and cannot be fetched.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        folder = path.parent if path.is_file() else path
        if not folder.is_dir():
            raise WeightsError(f"weights folder not found: {path}; give the folder that holds config.json and "
                               f"the weights (as `save_pretrained` writes it)")
        return folder
    ckpt = get_checkpoint(name)
    main = resolve_weights(ckpt.name, download=download)
    rev = main.parent.name if main.parent.parent.name == "snapshots" else None
    for extra in ckpt.extra_files:
        if cached_weights(ckpt, extra, rev) is None:  # _fetch checks downloads are on, the room, the Hub
            _fetch(ckpt, f"{ckpt.repo_id}/{extra} is not in the Hugging Face cache ({hub_cache_dir()})", download,
                   filename=extra, revision=rev)
    return main.parent
