"""Measuring quality: matting metrics, the evaluation engine over files, temporal statistics,
ground-truth clips for temporal benchmarks and smoothers scored against them."""

from vidmatte._lazy import attach

_NAMES = {
    "metrics": "metrics", "evaluate_folders": "engine", "evaluate_video": "engine", "evaluate_items": "engine",
    "EvalReport": "engine", "TemporalStats": "temporal", "motion_regions": "temporal",
    "evaluate_smoothers": "smoothing", "SmoothingReport": "smoothing", "make_gt_clip": "synth", "GtClip": "synth",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
