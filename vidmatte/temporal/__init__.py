"""Temporal smoothing of alpha mattes: less flicker without trails behind moving people.

* :class:`~vidmatte.temporal.lookahead.FlowSmoother`: neighbouring mattes warped onto the
  frame by optical flow, weighted by how well the warped picture matches, then a trimmed
  mean. ``flow`` looks 2 frames ahead (the default for files); ``flow-causal`` uses the 2
  frames before (the default live).
* :class:`~vidmatte.temporal.ema.GatedEMA` (``gated``): an EMA whose memory closes where
  the picture moves; :class:`~vidmatte.temporal.ema.PlainEMA` (``ema``); ``none``.

Measured against ground truth in README.md ("Temporal smoothing against ground truth").
"""

from __future__ import annotations

from typing import Any, Optional

from vidmatte.defaults import SMOOTHERS
from vidmatte.temporal.base import NoSmoothing, Smoother
from vidmatte.temporal.ema import MIN_WEIGHT, GatedEMA, PlainEMA
from vidmatte.temporal.lookahead import FlowSmoother

__all__ = ["Smoother", "NoSmoothing", "PlainEMA", "GatedEMA", "FlowSmoother", "make_smoother", "as_smoother",
           "SMOOTHERS", "FLOW_RADIUS"]

#: frames on each side of the look-ahead window (files) / before the frame (live)
FLOW_RADIUS = 2


def make_smoother(kind: str = "gated", strength: Optional[float] = None) -> Smoother:
    """``"flow"``, ``"flow-causal"``, ``"gated"``, ``"ema"`` or ``"none"``.

    ``strength`` in [0, 1] (``None``: each smoother's default); 0 means no smoothing. For the
    EMAs it is the share of the previous matte kept where smoothing applies (the gated floor
    and the plain EMA weight are ``1 - strength``, at least 0.05, so the matte never freezes;
    default 0.8). For the flow smoothers it is how far each value moves toward its trusted
    warped neighbours (default 1).
    """
    if kind not in SMOOTHERS:
        raise ValueError(f"smoother must be one of {SMOOTHERS}, got {kind!r}")
    if strength is not None and not 0.0 <= strength <= 1.0:
        raise ValueError(f"smoothing strength must be in [0, 1], got {strength}")
    if kind == "none" or strength == 0.0:
        return NoSmoothing()
    if kind in ("flow", "flow-causal"):
        return FlowSmoother(FLOW_RADIUS, causal=kind == "flow-causal", strength=1.0 if strength is None else strength)
    if kind == "ema":
        return PlainEMA() if strength is None else PlainEMA(weight=max(1.0 - strength, MIN_WEIGHT))
    return GatedEMA() if strength is None else GatedEMA(strength=strength)


def as_smoother(smoothing: Any, strength: Optional[float] = None) -> Optional[Any]:
    """A smoother from a name (:func:`make_smoother`), ``None`` for ``None``/``False``/``"none"``,
    or ``smoothing`` itself when it is already a smoother object."""
    if smoothing is None or smoothing is False or smoothing == "none":
        return None
    return make_smoother(smoothing, strength) if isinstance(smoothing, str) else smoothing
