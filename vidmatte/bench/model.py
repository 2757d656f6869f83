"""Time one BiRefNet forward pass: ms per frame and peak memory.

Protocol: build the network with its default (random) initialisation (timing does not
depend on weight values), prepare it as :class:`BiRefNetMatter` does (or leave it as built
with ``plain``), run ``warmup`` untimed passes, then ``runs`` timed ones on a
random ``(batch, 3, H, W)`` input under ``torch.inference_mode``. CUDA work is synchronised
around every pass. Memory: peak resident set of the whole process on CPU
(``getrusage``; it includes torch itself), ``torch.cuda.max_memory_allocated`` on CUDA.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence, Union

import torch

from vidmatte.errors import DeviceError, InputError
from vidmatte.matting import round_size

__all__ = ["ModelBench", "bench_model", "current_rss_mb"]


@dataclass
class ModelBench:
    """Result of :func:`bench_model`; times in milliseconds per frame, memory in MB."""

    variant: str
    size: tuple[int, int]
    device: str
    dtype: str
    batch: int
    threads: int
    mode: str
    warmup: int
    runs_ms: list[float] = field(default_factory=list)
    median_ms: float = 0.0
    min_ms: float = 0.0
    memory_mb: float = 0.0
    memory_kind: str = ""
    rss_before_model_mb: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"BiRefNet {self.variant} {self.size[0]}x{self.size[1]} {self.device} {self.dtype} "
                f"batch {self.batch} ({self.mode}), {self.threads} threads: "
                f"median {self.median_ms:.1f} ms/frame, min {self.min_ms:.1f} ms/frame over {len(self.runs_ms)} runs; "
                f"peak {self.memory_kind} {self.memory_mb:.0f} MB")


def current_rss_mb() -> float:
    """Resident set size of this process now (Linux /proc; 0 when unavailable)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _runner(variant: str, hw: tuple[int, int], dev: torch.device, dt: torch.dtype, plain: bool, channels_last: bool):
    """``(forward(x), input dtype)``: the matter's optimised path, or the module as built."""
    from vidmatte.models.birefnet.network import BiRefNet

    net = BiRefNet(variant=variant).eval()
    if not plain:
        from vidmatte.models.birefnet.matter import BiRefNetMatter

        matter = BiRefNetMatter(net, size=hw, device=dev, dtype=dt, channels_last=channels_last)
        return matter.logits, matter.dtype
    net = net.to(dev)
    if dt == torch.float32:
        return net, torch.float32

    def autocast_forward(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(dev.type, dtype=dt):
            return net(x)

    return autocast_forward, torch.float32


def bench_model(
    variant: str = "lite",
    size: Union[int, Sequence[int]] = 512,
    device: Union[str, torch.device] = "cpu",
    dtype: Union[str, torch.dtype] = "fp32",
    runs: int = 3,
    warmup: int = 1,
    batch: int = 1,
    threads: Optional[int] = None,
    plain: bool = False,
    channels_last: bool = True,
) -> ModelBench:
    """Benchmark the network; ``size`` is ``N`` or ``(H, W)``, rounded to multiples of 32.

    ``plain=False`` times what :class:`BiRefNetMatter` runs (BatchNorms folded, channels-last
    unless ``channels_last=False``, bf16 via autocast); ``plain=True`` times the module as
    built (unfused, contiguous; fp16/bf16 via autocast), like the official code.
    """
    from vidmatte.models.factory import resolve_device, resolve_dtype

    if runs < 1 or warmup < 0 or batch < 1:
        raise InputError("--runs and --batch must be at least 1 and --warmup at least 0")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    if threads:
        torch.set_num_threads(int(threads))
    hw = round_size(size)
    rss0 = current_rss_mb()
    forward, in_dtype = _runner(variant, hw, dev, dt, plain, channels_last)
    x = torch.randn(batch, 3, *hw, device=dev, dtype=in_dtype)
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            try:
                forward(x)
            except NotImplementedError as exc:
                raise DeviceError(f"{dt} is not supported on {dev.type} by an operator of BiRefNet "
                                  f"({str(exc).splitlines()[0][:120]}); use --dtype fp32") from None
            if cuda:
                torch.cuda.synchronize(dev)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000.0 / batch)
    if cuda:
        mem, kind = torch.cuda.max_memory_allocated(dev) / 2**20, "cuda_allocated"
    else:
        mem, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "rss"
    return ModelBench(
        variant=variant, size=hw, device=str(dev), dtype=str(dt).replace("torch.", ""), batch=batch,
        threads=torch.get_num_threads(), mode="plain" if plain else ("optimised" + ("" if channels_last else " nchw")),
        warmup=warmup, runs_ms=[round(t, 2) for t in times], median_ms=round(statistics.median(times), 2),
        min_ms=round(min(times), 2), memory_mb=round(mem, 1), memory_kind=kind, rss_before_model_mb=round(rss0, 1),
    )
