"""BiRefNet weights: the known checkpoints (``registry``), finding or downloading them
(``hub``), reading any file safely (``file``), checking and loading them (``loader``)."""

from vidmatte._lazy import attach

_NAMES = {
    "Checkpoint": "registry", "CHECKPOINTS": "registry", "get_checkpoint": "registry",
    "resolve_weights": "hub", "cached_weights": "hub", "hub_cache_dir": "hub",
    "load_state_dict_file": "file", "open_weights": "loader", "load_birefnet": "loader", "LoadInfo": "loader",
}
__all__ = list(_NAMES)
__getattr__, __dir__ = attach(__name__, globals(), _NAMES)
