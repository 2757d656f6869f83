"""One exception family whose message is written for the user.

The CLI prints ``vidmatte: error: <message>`` and exits with :attr:`VidmatteError.exit_code`
(2 for bad input, 1 for internal faults); ``--debug`` shows the traceback instead.
Problems the job survives (a damaged input, a stream that cannot be kept, retimed audio)
are :class:`VidmatteWarning` s, which the CLI prints as one ``vidmatte: warning: …`` line.
"""

from __future__ import annotations

__all__ = [
    "VidmatteError",
    "InputError",
    "OutputError",
    "WeightsError",
    "DeviceError",
    "VidmatteWarning",
    "warn",
]


class VidmatteError(Exception):
    """Base class: ``str(err)`` is a one-line message that says what to do."""

    exit_code: int = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # keep it one line
        return " ".join(self.message.split())


class InputError(VidmatteError):
    """Missing, unreadable, corrupt or unsupported input (video, image, background)."""


class OutputError(VidmatteError):
    """The output cannot be written where or how it was asked."""


class WeightsError(VidmatteError):
    """Model weights are missing, truncated or do not fit the model."""


class DeviceError(VidmatteError):
    """A camera, virtual camera, display or compute device is missing or busy."""


class VidmatteWarning(UserWarning):
    """Something the user should know about a job that still finished (one-line message)."""


def warn(message: str) -> None:
    """Issue a :class:`VidmatteWarning` (shown once per message by Python's default filter;
    the CLI shows every one as ``vidmatte: warning: <message>``)."""
    import warnings

    warnings.warn(" ".join(message.split()), VidmatteWarning, stacklevel=2)
