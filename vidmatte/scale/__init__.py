"""Scale-out machinery behind :func:`vidmatte.batch`.

* ``inputs``: files, folders and globs → input files, and each one's output name;
* ``manifest``: the record in the output folder that lets a re-run skip finished outputs;
* ``segments``: keyframe scan, segments with warm-up / look-ahead frames, their source and sink;
* ``worker``: :class:`Worker` (model loaded once; runs whole files and segments), the task types;
* ``engines``: the local engine; ``ray_engine``: Ray actors (Ray imported only there);
* ``join``: pieces remuxed into one output without re-encoding, audio copied once;
* ``report``: the batch summary and its one progress bar.
"""

from vidmatte._lazy import attach

_NAMES = {
    "JobSpec": "worker", "Task": "worker", "TaskResult": "worker", "Worker": "worker",
    "Segment": "segments", "Scan": "segments", "scan": "segments", "plan_segments": "segments",
    "warmup_frames": "segments", "join_pieces": "join", "Manifest": "manifest", "expand_inputs": "inputs",
    "output_name": "inputs", "LocalEngine": "engines", "RayEngine": "ray_engine", "BatchReport": "report",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
