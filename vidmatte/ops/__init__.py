"""Pure tensor operations (kornia style: a function plus a thin ``nn.Module`` twin).

Shapes are ``(B,C,H,W)`` with values in [0, 1] unless a docstring says otherwise; every op
runs wherever its input lives (CPU or GPU) and checks its input with one clear error.
"""

from vidmatte._lazy import attach

_NAMES = {
    "box_blur": "box", "BoxBlur": "box", "reflect101_index": "box",
    "gaussian_blur": "gaussian", "GaussianBlur": "gaussian", "gaussian_kernel1d": "gaussian",
    "dilate": "morphology", "erode": "morphology", "Dilate": "morphology", "Erode": "morphology",
    "Yuv420": "color", "rgb_to_yuv420": "color", "RgbToYuv420": "color", "srgb_to_linear": "color",
    "linear_to_srgb": "color", "premultiply": "color", "to_uint8": "color",
    "yuv420_to_rgb": "yuv", "nv12_to_rgb": "yuv", "rgb_to_yuv": "yuv", "rgb_to_nv12": "yuv", "Yuv420ToRgb": "yuv",
    "Nv12ToRgb": "yuv", "RgbToYuv": "yuv", "RgbToNv12": "yuv", "yuv_matrix": "yuv",
    "host_twin": "twins",
    "masked_blur": "masked_blur", "masked_blur_np": "masked_blur", "MaskedBlur": "masked_blur",
    "choke": "edges", "feather": "edges", "adjust_edges": "edges", "adjust_edges_np": "edges", "MatteEdges": "edges",
    "flow_warp": "warp", "FlowWarp": "warp", "resize_flow": "warp", "resize": "resample", "Resize": "resample",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
