"""Entry point of the `vidmatte` command.

Each sub-command lives in its own module with ``register(subparsers)``, which adds its
parser and sets ``func`` to the function that runs it. This module only parses, dispatches
and turns :class:`vidmatte.errors.VidmatteError` into one line and an exit code; warnings
become ``vidmatte: warning: …`` lines, and SIGTERM is handled like Ctrl-C (exit 143).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Optional, Sequence

# Sub-command modules, in the order `vidmatte --help` lists them.
COMMANDS = (
    "replace_cmd",  # vidmatte replace: new background for a video
    "matte_cmd",  # vidmatte matte: alpha / foreground outputs for VFX
    "image_cmd",  # vidmatte image: still images
    "webcam_cmd",  # vidmatte webcam: live capture -> virtual camera / preview / recording
    "batch_cmd",  # vidmatte batch: many inputs into a folder, locally or on a Ray cluster
    "models_cmd",  # vidmatte models list|download|info
    "export_cmd",  # vidmatte export onnx: BiRefNet to a checked ONNX file
    "eval_cmd",  # vidmatte eval: matting metrics against ground truth
    "bench_cmd",  # vidmatte bench: speed per stage
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidmatte",
        description="Video matting and virtual backgrounds with BiRefNet.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"vidmatte_cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"vidmatte_cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def _version() -> str:
    from vidmatte import __version__

    return f"vidmatte {__version__}"


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, systemd, ``docker stop``), raised where SIGINT raises
    KeyboardInterrupt, so every sink throws its partial output away the same way."""


def _on_sigterm(signum, _frame) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends at once
    raise Terminated()


def _show_warning(original):
    def show(message, category, filename, lineno, file=None, line=None):
        from vidmatte.errors import VidmatteWarning

        if issubclass(category, VidmatteWarning):
            print(f"vidmatte: warning: {message}", file=sys.stderr, flush=True)
        else:
            original(message, category, filename, lineno, file, line)

    return show


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("VIDMATTE_DEBUG") == "1"
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import signal
    import threading
    import warnings

    from vidmatte.errors import VidmatteWarning

    on_main = threading.current_thread() is threading.main_thread()
    saved_term = signal.signal(signal.SIGTERM, _on_sigterm) if on_main else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", VidmatteWarning)
            warnings.showwarning = _show_warning(warnings.showwarning)
            return _run(args, debug)
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, saved_term)


def _run(args: argparse.Namespace, debug: bool) -> int:
    from vidmatte.errors import VidmatteError
    from vidmatte.runtime.threads import set_openmp_spin
    from vidmatte.runtime.tuning import tune_allocator

    set_openmp_spin()  # before torch loads: idle OpenMP workers soon yield their core (see runtime/threads.py)
    tune_allocator()  # before any thread starts: one malloc arena, buffers kept (see runtime/tuning.py)

    try:
        code = args.func(args)
    except VidmatteError as exc:
        if debug:
            raise
        print(f"vidmatte: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        if debug:
            raise
        if isinstance(exc, Terminated):
            print("vidmatte: terminated (SIGTERM); no partial output was kept", file=sys.stderr)
            return 143
        print("vidmatte: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal fault: still one line unless --debug
        if debug:
            raise
        print(
            f"vidmatte: internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
