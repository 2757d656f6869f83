"""Benchmarks behind ``vidmatte bench``: ratios against baselines run in the same process."""

from vidmatte._lazy import attach

_NAMES = {"bench_model": "model", "ModelBench": "model", "bench_pipeline": "pipeline", "PipelineBench": "pipeline",
          "bench_batch": "batch", "BatchBench": "batch",
          "bench_guided": "refine", "bench_vitmatte": "refine", "RefineBench": "refine",
          "bench_temporal": "temporal", "TemporalBench": "temporal"}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
