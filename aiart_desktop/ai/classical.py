"""Model-free fill: PatchMatch (the `pypatchmatch` package) or OpenCV's inpainting.

"Fill / Remove selection" works with no diffusion model installed: the hole is filled from its
surroundings. PatchMatch copies texture from elsewhere in the region (best for removing objects
from textured backgrounds); OpenCV's Telea / Navier-Stokes methods smoothly propagate the
colours around the hole (best for small holes and flat areas). Only masked pixels change.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import cv2
import numpy as np

from .errors import RequestError

METHODS = ("auto", "patchmatch", "telea", "ns")
# PatchMatch's cost grows with the hole; above this many hole pixels OpenCV is used for "auto".
PATCHMATCH_MAX_HOLE = 1536 * 1536

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _patchmatch() -> object | None:
    """The pypatchmatch module when its native library loads, else None."""
    try:
        from patchmatch import patch_match
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        log.info("PatchMatch unavailable: %s", exc)
        return None
    return patch_match if getattr(patch_match, "patchmatch_available", False) else None


def patchmatch_available() -> bool:
    return _patchmatch() is not None


def resolve_method(method: str, hole_pixels: int) -> str:
    if method not in METHODS:
        raise RequestError(f"unknown fill method {method!r} (use one of {', '.join(METHODS)})")
    if method == "patchmatch" and not patchmatch_available():
        raise RequestError("PatchMatch is not available (the pypatchmatch package is not "
                           "installed or its library does not load); use telea or ns")
    if method == "auto":
        ok = patchmatch_available() and hole_pixels <= PATCHMATCH_MAX_HOLE
        return "patchmatch" if ok else "telea"
    return method


def fill(rgb: np.ndarray, mask: np.ndarray, method: str = "auto", seed: int = 0,
         cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """Fill the pixels where `mask` > 0 of an RGB8 image from their surroundings. Every pixel
    where `mask` is 0 is returned unchanged."""
    hole = (mask > 0).astype(np.uint8) * 255
    n = int(np.count_nonzero(hole))
    if n == 0:
        return rgb.copy()
    if n == hole.size:
        raise RequestError("the whole region is selected, so there is nothing to fill it from: "
                           "select only the part to remove, or add a diffusion model")
    chosen = resolve_method(method, n)
    if chosen == "patchmatch":
        pm = _patchmatch()
        assert pm is not None
        pm.set_random_seed(int(seed))  # type: ignore[attr-defined]
        out = pm.inpaint(np.ascontiguousarray(rgb), hole, patch_size=3)  # type: ignore
    else:
        radius = int(min(15, max(3, round(np.sqrt(n) / 20))))
        flag = cv2.INPAINT_TELEA if chosen == "telea" else cv2.INPAINT_NS
        out = cv2.inpaint(np.ascontiguousarray(rgb), hole, radius, flag)
    out = np.asarray(out, np.uint8)
    keep = hole == 0
    out[keep] = rgb[keep]
    return out
