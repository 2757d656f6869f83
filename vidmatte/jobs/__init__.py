"""The user jobs as library calls; the command line only parses options into these.

* :func:`replace`: a new background for a video file (audio and timing kept);
* :func:`matte`: alpha and foreground plates for VFX;
* :func:`images`: still images → cut-outs or composites;
* :func:`webcam`: live capture → virtual camera / preview / recording;
* :func:`batch`: many inputs into one folder, here or on a Ray cluster.
"""

from vidmatte._lazy import attach

_NAMES = {"replace": "files", "matte": "files", "MATTE_FORMATS": "files", "images": "stills", "webcam": "live",
          "batch": "batches", "BatchReport": "batches"}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
