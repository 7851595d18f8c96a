"""Region handling: context margin, snapping, model-size scaling, masks, colour matching.
(Pasting a result back, and a variation over the original: ai/composite.py.)

Everything here works on arrays the size of the region, never of the canvas, so a 512² selection
costs the same on a 1024² and on an 8192² canvas.

Two masks, on purpose:
- the *denoise* mask tells the model where to paint: the selection grown a little and feathered,
  so the model repaints a thin band of the surroundings and continues them smoothly;
- the *blend* mask says how the result is pasted back: the selection feathered inwards only, so
  it is exactly zero outside the selection and no pixel there ever changes.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..core.geometry import Rect

SNAP = 8


# ---- rectangles ---------------------------------------------------------------------------
def context_margin(sel: Rect) -> int:
    """How much surrounding picture to give the model around a selection."""
    return int(min(256, max(16, round(0.2 * max(sel.w, sel.h)))))


def detail_margin(selection: np.ndarray) -> int:
    """The context a Detail pass gives the model around a selected hand or face: more than
    `context_margin` (the wrist and sleeve, the neck and hair tell it what it redraws): 40 % of
    the selection's longer side, 32 to 384 pixels."""
    ys = np.flatnonzero(selection.any(axis=1))
    xs = np.flatnonzero(selection.any(axis=0))
    if ys.size == 0:
        return 32
    side = max(int(xs[-1] - xs[0]) + 1, int(ys[-1] - ys[0]) + 1)
    return int(min(384, max(32, round(0.4 * side))))


def snap_rect(rect: Rect, bounds: Rect, multiple: int = SNAP) -> Rect:
    """`rect` grown to a multiple of `multiple` in each direction, kept inside `bounds` (when
    `bounds` is too small for that, as much of it as there is)."""
    def axis(lo: int, size: int, blo: int, bsize: int) -> tuple[int, int]:
        want = min(bsize, -(-size // multiple) * multiple)
        extra = want - size
        lo -= extra // 2
        lo = max(blo, min(lo, blo + bsize - want))
        return lo, want

    x, w = axis(rect.x, rect.w, bounds.x, bounds.w)
    y, h = axis(rect.y, rect.h, bounds.y, bounds.h)
    return Rect(x, y, w, h)


def model_size(w: int, h: int, native: int, multiple: int = SNAP) -> tuple[int, int]:
    """Size to run the model at for a w×h region: about native² pixels, same aspect, each side a
    multiple of `multiple`. Within ±25 % of native area the region's own (snapped) size is kept,
    so no resampling happens for regions already near the model's size."""
    area = max(1, w * h)
    s = math.sqrt(native * native / area)
    if 0.8 <= s <= 1.25:
        s = 1.0
    max_side = 2 * native
    s = min(s, max_side / max(w, h))

    def snap(v: float) -> int:
        return max(multiple, int(round(v / multiple)) * multiple)

    return snap(w * s), snap(h * s)


# ---- resampling ---------------------------------------------------------------------------
def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an image or mask to (width, height): area filter down, cubic up."""
    w, h = size
    if img.shape[1] == w and img.shape[0] == h:
        return img
    down = w * h < img.shape[0] * img.shape[1]
    interp = cv2.INTER_AREA if down else cv2.INTER_CUBIC
    out = cv2.resize(img, (w, h), interpolation=interp)
    if img.dtype == np.uint8:
        return out
    return out.astype(img.dtype, copy=False)


def rgba_to_rgb(rgba: np.ndarray, background: tuple[int, int, int] = (255, 255, 255)
                ) -> np.ndarray:
    """Straight RGBA8 over an opaque colour -> RGB8 (what the model sees)."""
    if rgba.shape[2] == 3:
        return rgba
    a = rgba[..., 3:4]
    if a.min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    af = a.astype(np.float32) * (1.0 / 255.0)
    bg = np.asarray(background, np.float32)
    rgb = rgba[..., :3].astype(np.float32) * af + bg * (1.0 - af)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


# ---- masks --------------------------------------------------------------------------------
def _disc(radius: int) -> np.ndarray:
    d = 2 * radius + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))


def default_grow(w: int, h: int) -> int:
    return int(min(32, max(2, round(0.04 * max(w, h)))))


def default_feather(w: int, h: int) -> int:
    return int(min(16, max(1, round(0.03 * min(w, h)))))


def denoise_mask(mask: np.ndarray, grow: int, feather: float) -> np.ndarray:
    """Where the model may paint: the selection grown by `grow` px and feathered (uint8)."""
    m = np.where(mask > 0, np.uint8(255), np.uint8(0))
    if grow > 0:
        m = cv2.dilate(m, _disc(int(grow)))
    if feather > 0:
        sigma = feather / 2.0
        blurred = cv2.GaussianBlur(m, (0, 0), sigma)
        m = np.maximum(blurred, np.where(mask > 0, np.uint8(255), np.uint8(0)))
    return m


def blend_mask(mask: np.ndarray, feather: float) -> np.ndarray:
    """How the result is pasted: the selection feathered *inwards* only (uint8). Exactly zero
    wherever the selection is zero, so nothing outside it can change."""
    if feather <= 0:
        return mask.copy()
    inside = (mask > 0).astype(np.uint8)
    if inside.all():  # no unselected pixel: no edge to feather from (a whole-region job)
        return mask.copy()
    # Distance to the nearest unselected pixel; the region's border does not count as an edge.
    padded = cv2.copyMakeBorder(inside, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    ramp = np.clip(dist / float(feather), 0.0, 1.0)
    out = np.rint(mask.astype(np.float32) * ramp).astype(np.uint8)
    out[mask == 0] = 0
    return out


def ring(mask: np.ndarray, width: int) -> np.ndarray:
    """Boolean band `width` px wide just outside the selection."""
    inside = mask > 0
    grown = cv2.dilate(inside.astype(np.uint8), _disc(max(1, int(width)))) > 0
    return grown & ~inside


# ---- colour matching ----------------------------------------------------------------------
def color_match(result: np.ndarray, original: np.ndarray, mask: np.ndarray,
                width: int = 8, min_pixels: int = 16) -> np.ndarray:
    """Shift `result`'s colours (RGB8) so that, in a ring just outside the selection, their
    per-channel mean and spread in CIELAB equal the `original`'s there. Returns a new array, or
    `result` itself when there is no ring to compare (the selection fills the region)."""
    band = ring(mask, width)
    if int(band.sum()) < min_pixels:
        return result
    lab_r = cv2.cvtColor(result, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_o = cv2.cvtColor(original, cv2.COLOR_RGB2LAB).astype(np.float32)
    r, o = lab_r[band], lab_o[band]
    mu_r, mu_o = r.mean(axis=0), o.mean(axis=0)
    sd_r, sd_o = r.std(axis=0), o.std(axis=0)
    scale = np.where(sd_r > 1.0, sd_o / np.maximum(sd_r, 1e-3), 1.0)
    scale = np.clip(scale, 0.5, 2.0).astype(np.float32)
    lab = (lab_r - mu_r) * scale + mu_o
    lab = np.clip(np.rint(lab), 0, 255).astype(np.uint8)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
