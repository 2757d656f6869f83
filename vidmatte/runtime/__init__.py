"""Running the stages: the per-frame :class:`Processor`, the overlapped offline
:class:`Pipeline`, the live loop, and the CUDA stream engine."""

from vidmatte._lazy import attach

_NAMES = {
    "Processor": "processor", "StageTimes": "stats", "PipelineStats": "stats", "LiveStats": "stats",
    "Pipeline": "pipeline", "LiveRunner": "live", "BackgroundWatcher": "hotreload",
    "tune_allocator": "tuning",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
