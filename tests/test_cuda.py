"""The CUDA frame path. CPU-side checks always run; GPU checks skip without CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidmatte import ChromaKeyMatter, Frame
from vidmatte.models.birefnet.network import BiRefNet
from vidmatte.models.birefnet.matter import BiRefNetMatter
from vidmatte.runtime.processor import Processor

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
pytestmark = pytest.mark.cuda


def _frames(n=4, h=72, w=96):
    rng = np.random.default_rng(1)
    return [Frame(image=rng.integers(0, 255, (h, w, 3), dtype=np.uint8), pts=i, index=i) for i in range(n)]


def test_cuda_graph_is_off_on_cpu():
    m = BiRefNetMatter(BiRefNet("lite"), size=64, device="cpu", cuda_graph=True)
    assert m.cuda_graph is False
    out = m.predict(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    assert out.shape == (1, 1, 64, 64) and m._graphs == {}


def test_graphed_module_refuses_cpu_input():
    from vidmatte.models.cuda_graph import GraphedModule

    with pytest.raises(ValueError, match="CUDA"):
        GraphedModule(lambda x: x * 2, torch.zeros(2))


@cuda
def test_graphed_module_matches_eager():
    from vidmatte.models.cuda_graph import GraphedModule

    lin = torch.nn.Linear(8, 4).cuda().eval()
    x = torch.randn(3, 8, device="cuda")
    g = GraphedModule(lin, x)
    for _ in range(3):
        y = torch.randn(3, 8, device="cuda")
        torch.testing.assert_close(g(y), lin(y))
    torch.testing.assert_close(g(torch.randn(5, 8, device="cuda")).shape, torch.Size([5, 4]))  # eager fallback


@cuda
@pytest.mark.parametrize("yuv", [False, True])
def test_streamer_matches_processor(yuv):
    from vidmatte.runtime.cuda import CudaStreamer

    def proc():
        return Processor(ChromaKeyMatter(device="cuda"), "#3366ff", smoothing=None, device="cuda",
                         format="yuv420p" if yuv else "rgb24")

    frames = _frames()
    ref = proc().process(frames)
    streamer = CudaStreamer(proc())
    pending = [streamer.submit(frames[i:i + 2]) for i in (0, 2)]
    got = [f for p in pending for f in p.result()]
    assert [f.pts for f in got] == [f.pts for f in frames]
    for a, b in zip(got, ref):
        if yuv:
            for pa, pb in zip((a.image.y, a.image.u, a.image.v), (b.image.y, b.image.u, b.image.v)):
                assert np.abs(pa.astype(int) - pb.astype(int)).max() <= 1
        else:
            assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1


@cuda
def test_streamer_with_a_lookahead_smoother_flushes_in_order():
    """The CUDA path honours the look-ahead contract: batches return the completed frames, the
    streamer's flush the held ones, in order, equal to the processor's own path."""
    from vidmatte.runtime.cuda import CudaStreamer

    def proc():
        return Processor(ChromaKeyMatter(device="cuda"), "#3366ff", smoothing="flow", device="cuda")

    frames = _frames()
    p = proc()
    ref = p.process(frames) + p.flush()
    streamer = CudaStreamer(proc())
    pending = [streamer.submit(frames[i:i + 2]) for i in range(0, len(frames), 2)] + [streamer.flush()]
    got = [f for q in pending for f in q.result()]
    assert [f.pts for f in got] == [f.pts for f in frames] == [f.pts for f in ref]
    for a, b in zip(got, ref):
        assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1


@cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_birefnet_half_precision_with_graph_close_to_fp32(dtype):
    torch.manual_seed(0)
    net = BiRefNet("lite").eval()
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    ref = BiRefNetMatter(net, size=256, device="cuda", dtype=torch.float32, cuda_graph=False)
    net2 = BiRefNet("lite").eval()
    net2.load_state_dict(sd)
    fast = BiRefNetMatter(net2, size=256, device="cuda", dtype=dtype, cuda_graph=True)
    x = torch.from_numpy(np.stack([f.image for f in _frames(2, 256, 256)])).cuda()
    a, b = ref.predict(x), fast.predict(x)
    assert fast._graphs, "the graph was captured"
    assert (a - b).abs().max().item() < 0.05
    torch.testing.assert_close(fast.predict(x), b)  # replay is deterministic
