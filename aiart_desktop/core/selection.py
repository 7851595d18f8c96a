"""Selection masks: shapes, lasso, magic wand, colour range, and mask operations.

A selection is a soft 8-bit mask the size of the canvas (255 = fully selected). Every function
here is pure: masks in, masks out; the document stores the result through an undoable command
(`Document.set_selection`). Heavy operations work on the mask's bounding box only, so a small
selection on a huge canvas stays cheap.
"""
from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import numpy as np

from .geometry import EMPTY, Rect


class Op(Enum):
    """How a new shape combines with the current selection (Shift / Alt / Shift+Alt)."""

    REPLACE = "replace"
    ADD = "add"
    SUBTRACT = "subtract"
    INTERSECT = "intersect"


def combine(current: np.ndarray | None, new: np.ndarray, op: Op) -> np.ndarray:
    if op is Op.REPLACE or current is None:
        if op is Op.SUBTRACT or op is Op.INTERSECT:
            return np.zeros_like(new) if current is None and op is Op.SUBTRACT else (
                new.copy() if op is Op.INTERSECT and current is None else new)
        return new
    if op is Op.ADD:
        return np.maximum(current, new)
    if op is Op.SUBTRACT:
        return (current.astype(np.uint16) * (255 - new) // 255).astype(np.uint8)
    return np.minimum(current, new)


# ---- shapes ---------------------------------------------------------------------------------
def rect_mask(width: int, height: int, rect: Rect) -> np.ndarray:
    m = np.zeros((height, width), np.uint8)
    r = rect.intersect(Rect(0, 0, width, height))
    if not r.empty:
        m[r.slices()] = 255
    return m


def ellipse_mask(width: int, height: int, x0: float, y0: float, x1: float, y1: float,
                 antialias: bool = True) -> np.ndarray:
    """Ellipse inscribed in the box (x0, y0)–(x1, y1), anti-aliased."""
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    ax, ay = abs(x1 - x0) / 2.0, abs(y1 - y0) / 2.0
    if ax < 0.5 or ay < 0.5:
        return np.zeros((height, width), np.uint8)
    # A polygon this fine is within a thousandth of a pixel of the true curve.
    n = int(min(20000, max(64, 4 * (ax + ay))))
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    pts = np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)
    return polygon_mask(width, height, pts, antialias)


def polygon_mask(width: int, height: int, points: Sequence[tuple[float, float]] | np.ndarray,
                 antialias: bool = True) -> np.ndarray:
    """Lasso / polygon (closed automatically) with exact area coverage at the edges.

    Self-intersections follow the even-odd rule, as in GIMP and Krita: a spot circled twice
    is not selected. Coordinates are in pixels, (0, 0) being the top-left pixel's corner.
    """
    m = np.zeros((height, width), np.uint8)
    p = np.asarray(points, np.float64).reshape(-1, 2)
    if len(p) < 3:
        return m
    sub = 4 if antialias else 1
    bx0 = max(0, int(np.floor(p[:, 0].min())))
    bx1 = min(width, int(np.ceil(p[:, 0].max())) + 1)
    by0 = max(0, int(np.floor(p[:, 1].min())))
    by1 = min(height, int(np.ceil(p[:, 1].max())) + 1)
    if bx1 <= bx0 or by1 <= by0:
        return m
    bw, bh = bx1 - bx0, by1 - by0
    xa, ya = p[:, 0] - bx0, (p[:, 1] - by0) * sub
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    # Sub-scanline k samples y = k + 0.5 (in sub-scanline units); an edge owns the
    # half-open range [min y, max y) so shared vertices are counted once.
    lo, hi = np.minimum(ya, yb), np.maximum(ya, yb)
    k0 = np.clip(np.ceil(lo - 0.5), 0, bh * sub).astype(np.int64)
    k1 = np.clip(np.ceil(hi - 0.5), 0, bh * sub).astype(np.int64)
    counts = k1 - k0
    keep = counts > 0
    if not keep.any():
        return m
    edge = np.repeat(np.flatnonzero(keep), counts[keep])
    starts = np.repeat(k0[keep], counts[keep])
    offsets = np.arange(edge.size) - np.repeat(np.cumsum(counts[keep]) - counts[keep],
                                               counts[keep])
    k = starts + offsets
    yk = k + 0.5
    t = (yk - ya[edge]) / (yb[edge] - ya[edge])
    x = np.clip(xa[edge] + t * (xb[edge] - xa[edge]), 0.0, float(bw))
    order = np.lexsort((x, k))
    k, x = k[order], x[order]
    # even-odd: crossings pair up along each sub-scanline into filled spans
    first = np.ones(k.size, bool)
    first[1:] = k[1:] != k[:-1]
    rank = np.arange(k.size) - np.maximum.accumulate(np.where(first, np.arange(k.size), 0))
    left = np.flatnonzero((rank % 2) == 0)
    left = left[left + 1 < k.size]
    left = left[k[left + 1] == k[left]]
    rows, xl, xr = k[left] // sub, x[left], x[left + 1]
    diff = np.zeros((bh, bw + 2), np.float32)
    for xs, sign in ((xl, 1.0), (xr, -1.0)):
        fl = np.floor(xs)
        fr = xs - fl
        col = fl.astype(np.int64)
        np.add.at(diff, (rows, col), sign * (1.0 - fr))
        np.add.at(diff, (rows, col + 1), sign * fr)
    cover = np.cumsum(diff, axis=1)[:, :bw]
    cover *= 255.0 / sub
    cover += 0.5
    np.clip(cover, 0, 255, out=cover)
    m[by0:by1, bx0:bx1] = cover.astype(np.uint8)
    return m


# ---- by colour ------------------------------------------------------------------------------
def magic_wand(image: np.ndarray, x: int, y: int, tolerance: int = 32,
               contiguous: bool = True, antialias: bool = True) -> np.ndarray:
    """Pixels whose RGBA channels are all within `tolerance` (0–255) of the seed pixel's;
    with `contiguous`, only the 8-connected region that holds the seed."""
    import cv2  # lazily: keeps OpenCV out of start-up
    h, w = image.shape[:2]
    seed = image[y, x].astype(np.int16)
    lo = np.clip(seed - tolerance, 0, 255).astype(np.uint8)
    hi = np.clip(seed + tolerance, 0, 255).astype(np.uint8)
    m = cv2.inRange(np.ascontiguousarray(image), lo, hi)
    if contiguous:
        ff = np.zeros((h + 2, w + 2), np.uint8)
        cv2.floodFill(m, ff, (int(x), int(y)), 128, 0, 0, 8 | cv2.FLOODFILL_MASK_ONLY
                      | (255 << 8))
        m = ff[1:-1, 1:-1]
    if antialias:
        m = _soften_edge(m)
    return m


def color_range(image: np.ndarray, color: tuple[int, int, int], fuzziness: int = 40
                ) -> np.ndarray:
    """Select by colour over the whole image: full inside `fuzziness` (RGB distance),
    fading to nothing at twice that."""
    diff = image[..., :3].astype(np.float32) - np.asarray(color, np.float32)
    dist = np.sqrt((diff * diff).sum(axis=-1))
    f = max(float(fuzziness), 1.0)
    sel = np.clip((2.0 * f - dist) / f, 0.0, 1.0) * (image[..., 3] > 0)
    return np.round(sel * 255.0).astype(np.uint8)


def from_alpha(alpha: np.ndarray) -> np.ndarray:
    """Layer alpha to selection (Krita's "Select Opaque")."""
    return np.ascontiguousarray(alpha, dtype=np.uint8).copy()


# ---- operations -----------------------------------------------------------------------------
def invert(mask: np.ndarray) -> np.ndarray:
    return 255 - mask


def bounds(mask: np.ndarray | None, threshold: int = 0) -> Rect:
    """Bounding box of pixels above `threshold`."""
    if mask is None:
        return EMPTY
    # max-reductions: no canvas-sized temporary (a bool mask of 8192² would be 64 MiB)
    rows = np.flatnonzero(mask.max(axis=1) > threshold)
    if rows.size == 0:
        return EMPTY
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].max(axis=0) > threshold)
    return Rect.from_edges(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _work_rect(mask: np.ndarray, margin: int) -> Rect:
    h, w = mask.shape
    return bounds(mask).expanded(margin).intersect(Rect(0, 0, w, h))


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian feather: a hard edge becomes a monotone ramp about 2×radius wide
    (2 %–98 %), centred on the original edge."""
    import cv2  # lazily: keeps OpenCV out of start-up
    if radius <= 0:
        return mask.copy()
    sigma = radius / 2.0
    r = _work_rect(mask, int(np.ceil(3 * sigma)) + 2)
    out = mask.copy()
    if r.empty:
        return out
    crop = mask[r.slices()].astype(np.float32)
    factor = int(max(1, min(8, sigma // 4)))
    if factor > 1:  # a wide Gaussian is smooth: blur at lower resolution, then scale back
        small = cv2.resize(crop, (max(1, r.w // factor), max(1, r.h // factor)),
                           interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REPLICATE)
        blurred = cv2.resize(small, (r.w, r.h), interpolation=cv2.INTER_LINEAR)
    else:
        blurred = cv2.GaussianBlur(crop, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    out[r.slices()] = np.clip(blurred + 0.5, 0, 255).astype(np.uint8)
    return out


def _distance_outside(mask: np.ndarray) -> np.ndarray:
    import cv2  # lazily: keeps OpenCV out of start-up
    return cv2.distanceTransform(np.where(mask >= 128, 0, 255).astype(np.uint8),
                                 cv2.DIST_L2, cv2.DIST_MASK_5)


def grow(mask: np.ndarray, pixels: float) -> np.ndarray:
    """Expand the selection by `pixels`, with a round, anti-aliased edge."""
    if pixels <= 0:
        return mask.copy()
    r = _work_rect(mask, int(np.ceil(pixels)) + 2)
    out = mask.copy()
    if r.empty:
        return out
    crop = mask[r.slices()]
    d = _distance_outside(crop)
    # d counts pixel centres to the nearest unselected one; the edge lies half-way
    ramp = np.clip(pixels + 1.0 - d, 0.0, 1.0) * 255.0
    out[r.slices()] = np.maximum(crop, ramp.astype(np.uint8))
    return out


def shrink(mask: np.ndarray, pixels: float) -> np.ndarray:
    """Contract the selection by `pixels` (the canvas edge does not count as an edge)."""
    import cv2  # lazily: keeps OpenCV out of start-up
    if pixels <= 0:
        return mask.copy()
    h, w = mask.shape
    r = _work_rect(mask, 2)
    out = np.zeros_like(mask)
    if r.empty:
        return out
    crop = mask[r.slices()]
    pad = int(np.ceil(pixels)) + 2
    # Replicate at the canvas border so a selection touching it does not shrink from it.
    big = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    touching = (r.x == 0, r.y == 0, r.right == w, r.bottom == h)
    if any(touching):
        rep = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        if touching[0]:
            big[:, :pad] = rep[:, :pad]
        if touching[1]:
            big[:pad] = rep[:pad]
        if touching[2]:
            big[:, -pad:] = rep[:, -pad:]
        if touching[3]:
            big[-pad:] = rep[-pad:]
    inside = cv2.distanceTransform(np.where(big >= 128, 255, 0).astype(np.uint8),
                                   cv2.DIST_L2, cv2.DIST_MASK_5)[pad:-pad, pad:-pad]
    ramp = np.clip(inside - pixels, 0.0, 1.0) * 255.0
    out[r.slices()] = np.minimum(crop, ramp.astype(np.uint8))
    return out


def border(mask: np.ndarray, width: float) -> np.ndarray:
    """A band about `width` pixels wide centred on the selection's edge."""
    import cv2  # lazily: keeps OpenCV out of start-up
    out = np.zeros_like(mask)
    half = int(round(width / 2.0))
    if half <= 0:
        return out
    r = _work_rect(mask, half + 2)
    if r.empty:
        return out
    crop = mask[r.slices()]
    if half <= 32:  # grey morphology keeps anti-aliased edges and is fast for small radii
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * half + 1, 2 * half + 1))
        band = cv2.subtract(cv2.dilate(crop, k), cv2.erode(crop, k))
    else:
        band = cv2.subtract(grow(crop, half), shrink(crop, half))
    out[r.slices()] = band
    return out


def _soften_edge(mask: np.ndarray) -> np.ndarray:
    import cv2  # lazily: keeps OpenCV out of start-up
    r = _work_rect(mask, 2)
    out = mask.copy()
    if r.empty:
        return out
    crop = mask[r.slices()]
    soft = cv2.GaussianBlur(crop, (3, 3), 0.6)
    out[r.slices()] = np.maximum(crop, soft)
    return out


# ---- for AI operations ----------------------------------------------------------------------
def region(mask: np.ndarray | None, width: int, height: int, margin: int = 0
           ) -> tuple[Rect, np.ndarray]:
    """The selection's bounding box grown by `margin` (clipped to the canvas) and the mask
    cropped to it. With no selection, the whole canvas and a full mask."""
    canvas = Rect(0, 0, width, height)
    if mask is None:
        return canvas, np.full((height, width), 255, np.uint8)
    r = bounds(mask)
    if r.empty:
        return EMPTY, np.zeros((0, 0), np.uint8)
    r = r.expanded(margin).intersect(canvas)
    return r, mask[r.slices()].copy()
