"""Edge refinement of the model's matte, between the model and the temporal smoother.

* :mod:`~vidmatte.refine.guided`: guided upsampling steered by the full-resolution frame
  (kornia's guided filter; ``--refine guided``, and ``auto`` at large upsampling factors);
* :mod:`~vidmatte.refine.trimap`, :mod:`~vidmatte.refine.tiles`,
  :mod:`~vidmatte.refine.vitmatte`: automatic trimap + ViTMatte in tiles (``--refine vitmatte``);
* :func:`~vidmatte.refine.refiners.make_refiner`: a ``--refine`` choice → the callable.
"""

from vidmatte._lazy import attach

_NAMES = {
    "guided_refine": "guided", "GuidedRefine": "guided", "guided_params": "factor", "GuidedParams": "factor",
    "upsample_factor": "factor", "GuidedUpsampler": "guided", "AUTO_MIN_FACTOR": "factor", "auto_refines": "factor",
    "frame_params": "factor",
    "make_trimap": "trimap", "Trimap": "trimap", "band_radius": "trimap", "UNKNOWN": "trimap",
    "run_tiled": "tiles", "tile_starts": "tiles",
    "VitMatteRefiner": "vitmatte", "load_vitmatte": "vitmatte_load",
    "make_refiner": "refiners",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
