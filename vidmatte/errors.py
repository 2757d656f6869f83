"""One exception family whose message is written for the user.

The CLI prints ``vidmatte: error: <message>`` and exits with :attr:`VidmatteError.exit_code`
(2 for bad input, 1 for internal faults); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

__all__ = [
    "VidmatteError",
    "InputError",
    "OutputError",
    "WeightsError",
    "DeviceError",
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
