"""Flood fill (tolerance, contiguous or global, layer or merged sampling) and colour pick."""
from __future__ import annotations

import cv2
import numpy as np

from .brush import apply_coverage
from .document import Document
from .geometry import Rect
from .layer import Layer


def fill_region(source: np.ndarray, x: int, y: int, tolerance: int = 16,
                contiguous: bool = True) -> np.ndarray:
    """Boolean mask of pixels within `tolerance` (0–255, max channel difference, RGBA) of the
    seed pixel; with `contiguous`, only those 4-connected to the seed."""
    seed = source[y, x].astype(np.int16)
    diff = np.abs(source.astype(np.int16) - seed).max(axis=-1)
    mask = diff <= tolerance
    if contiguous:
        # 4-connected regions, as paint programs' bucket fill (diagonal steps don't leak)
        _, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=4)
        mask = labels == labels[y, x]
    return mask


def flood_fill(doc: Document, layer: Layer, x: int, y: int, color: tuple[int, int, int],
               *, tolerance: int = 16, contiguous: bool = True, sample_merged: bool = False,
               opacity: float = 1.0) -> Rect:
    """Fill on `layer` from the canvas point (x, y). One undo step; returns the changed rect."""
    if layer.locked:
        raise PermissionError(f"layer {layer.name!r} is locked")
    x, y = int(x), int(y)
    if not doc.rect.contains(x, y):
        return Rect(0, 0, 0, 0)
    source = doc.flatten() if sample_merged else layer.read(doc.rect)
    region = fill_region(source, x, y, tolerance, contiguous)
    ys, xs = np.nonzero(region)
    rect = Rect.from_edges(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    cover = region[rect.slices()].astype(np.float32) * opacity
    sel = doc.selection_mask(rect)
    if sel is not None:
        cover *= sel
    if not cover.any():
        return Rect(0, 0, 0, 0)
    out = apply_coverage(layer.read(rect), cover, color, alpha_lock=layer.alpha_lock)
    doc.put_pixels(layer, rect.x, rect.y, out, "Fill")
    return rect


def pick_color(doc: Document, x: int, y: int, layer: Layer | None = None,
               radius: int = 0) -> tuple[int, int, int, int]:
    """The colour at (x, y) of `layer`, or of the visible composite when layer is None.
    With `radius`, the alpha-weighted mean over a square of that radius."""
    rect = Rect(int(x) - radius, int(y) - radius, 2 * radius + 1, 2 * radius + 1)
    rect = rect.intersect(doc.rect)
    if rect.empty:
        return (0, 0, 0, 0)
    px = (layer.read(rect) if layer is not None else doc.flatten(rect)).astype(np.float64)
    px = px.reshape(-1, 4)
    a = px[:, 3]
    if a.sum() == 0:
        return (0, 0, 0, 0)
    rgb = (px[:, :3] * a[:, None]).sum(axis=0) / a.sum()
    return (*(int(round(v)) for v in rgb), int(round(a.mean())))  # type: ignore[return-value]
