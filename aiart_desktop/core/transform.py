"""Move / scale / rotate the selected pixels (or a whole layer) as one undo step."""
from __future__ import annotations

import math

import numpy as np

from .commands import PixelsEdit
from .document import Document, PixelCapture
from .geometry import EMPTY, Rect
from .layer import Layer
from .selection import bounds


def affine(dx: float = 0.0, dy: float = 0.0, sx: float = 1.0, sy: float = 1.0,
           angle: float = 0.0, cx: float = 0.0, cy: float = 0.0) -> np.ndarray:
    """2×3 matrix: scale by (sx, sy) and rotate by `angle` degrees (clockwise on screen)
    about (cx, cy), then move by (dx, dy)."""
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    lin = np.array([[c * sx, -s * sy], [s * sx, c * sy]])
    centre = np.array([cx, cy])
    t = centre - lin @ centre + np.array([dx, dy])
    return np.hstack([lin, t[:, None]])


def _is_integer_translation(m: np.ndarray) -> bool:
    return bool(np.allclose(m[:, :2], np.eye(2)) and np.allclose(m[:, 2], np.round(m[:, 2])))


def transformed_rect(rect: Rect, m: np.ndarray) -> Rect:
    xs = [rect.x, rect.right]
    ys = [rect.y, rect.bottom]
    pts = np.array([[x, y, 1.0] for x in xs for y in ys]) @ m.T
    return Rect.from_edges(int(math.floor(pts[:, 0].min())), int(math.floor(pts[:, 1].min())),
                           int(math.ceil(pts[:, 0].max())), int(math.ceil(pts[:, 1].max())))


def warp_rgba(pixels: np.ndarray, rect: Rect, m: np.ndarray) -> tuple[Rect, np.ndarray]:
    """Warp straight RGBA8 `pixels` (placed at `rect`) by `m`. Returns the destination rect
    and its pixels. Interpolates premultiplied colour, so edges get no dark fringe."""
    import cv2  # lazily: keeps OpenCV out of start-up
    if _is_integer_translation(m):
        return rect.translated(int(round(m[0, 2])), int(round(m[1, 2]))), pixels.copy()
    dst = transformed_rect(rect, m)
    if dst.empty:
        return EMPTY, np.zeros((0, 0, 4), np.uint8)
    # matrix from source-local to destination-local coordinates (pixel corners at integers;
    # OpenCV samples pixel centres, hence the half-pixel shifts)
    to_local = np.array([[1, 0, -dst.x], [0, 1, -dst.y], [0, 0, 1]], np.float64)
    from_local = np.array([[1, 0, rect.x], [0, 1, rect.y], [0, 0, 1]], np.float64)
    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], np.float64)
    unhalf = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], np.float64)
    full = unhalf @ to_local @ np.vstack([m, [0, 0, 1]]) @ from_local @ half
    # bicubic when enlarging or rotating; bilinear when shrinking (cubic rings there)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    interp = cv2.INTER_LINEAR if scale < 0.8 else cv2.INTER_CUBIC
    prem = pixels.astype(np.float32)
    prem[..., :3] *= prem[..., 3:4] / 255.0
    out = cv2.warpAffine(prem, full[:2], (dst.w, dst.h), flags=interp,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    np.clip(out, 0.0, 255.0, out=out)
    a = out[..., 3:4]
    with np.errstate(divide="ignore", invalid="ignore"):
        rgb = np.where(a > 0, out[..., :3] * 255.0 / a, 0.0)
    res = np.empty(out.shape, np.uint8)
    res[..., :3] = np.clip(rgb + 0.5, 0, 255)
    res[..., 3:4] = np.clip(a + 0.5, 0, 255)
    return dst, res


def warp_mask(mask: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Warp a canvas-sized selection mask by `m` (stays canvas-sized)."""
    import cv2  # lazily: keeps OpenCV out of start-up
    h, w = mask.shape
    if _is_integer_translation(m):
        out = np.zeros_like(mask)
        dx, dy = int(round(m[0, 2])), int(round(m[1, 2]))
        src = Rect(0, 0, w, h)
        dst = src.translated(dx, dy).intersect(src)
        if not dst.empty:
            out[dst.slices()] = mask[dst.translated(-dx, -dy).slices()]
        return out
    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], np.float64)
    unhalf = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], np.float64)
    full = unhalf @ np.vstack([m, [0, 0, 1]]) @ half
    return cv2.warpAffine(mask, full[:2], (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _over(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Straight-alpha source-over of two RGBA8 arrays of the same shape."""
    sa = src[..., 3:4].astype(np.float32) / 255.0
    da = dst[..., 3:4].astype(np.float32) / 255.0
    oa = sa + da * (1.0 - sa)
    with np.errstate(divide="ignore", invalid="ignore"):
        rgb = (src[..., :3] * sa + dst[..., :3] * da * (1.0 - sa)) / oa
    out = np.empty_like(dst)
    out[..., :3] = np.clip(np.where(oa > 0, rgb, 0) + 0.5, 0, 255)
    out[..., 3:4] = np.clip(oa * 255.0 + 0.5, 0, 255)
    return out


class TransformSession:
    """An interactive transform: `update(m)` shows the result live (nothing is recorded),
    `commit()` makes it one undo step, `cancel()` restores the layer and selection exactly.

    The selected pixels (all of the layer when nothing is selected) float above what stays.
    """

    def __init__(self, doc: Document, layer: Layer, text: str = "Transform") -> None:
        if layer.locked:
            raise PermissionError(f"layer {layer.name!r} is locked")
        self.doc, self.layer, self.text = doc, layer, text
        self.selection = doc.selection
        sel = self.selection
        self.source = layer.bounds() if sel is None else bounds(sel).intersect(layer.bounds())
        self.matrix = affine()
        self._capture: PixelCapture | None = None
        self._area = EMPTY
        if self.source.empty:
            self.floating = self.remaining = np.zeros((0, 0, 4), np.uint8)
            return
        src = layer.read(self.source)
        if sel is None:
            self.floating, self.remaining = src, np.zeros_like(src)
        else:
            k = sel[self.source.slices()].astype(np.float32)[..., None] / 255.0
            self.floating, self.remaining = src.copy(), src.copy()
            self.floating[..., 3:4] = np.round(src[..., 3:4] * k).astype(np.uint8)
            self.remaining[..., 3:4] = np.round(src[..., 3:4] * (1.0 - k)).astype(np.uint8)
        self._capture = PixelCapture(layer)

    @property
    def empty(self) -> bool:
        return self.source.empty

    def update(self, m: np.ndarray) -> Rect:
        """Show the layer with the floating pixels transformed by `m`. Returns the dirty rect."""
        if self._capture is None:
            return EMPTY
        self.matrix = np.asarray(m, np.float64)
        dst_rect, warped = warp_rgba(self.floating, self.source, self.matrix)
        area = self.source.union(dst_rect)
        dirty = area.union(self._area)
        self._capture.touch_rect(dirty)
        out = self._capture.original(dirty)
        out[self.source.slices(dirty.x, dirty.y)] = self.remaining
        if not dst_rect.empty:
            sl = dst_rect.slices(dirty.x, dirty.y)
            out[sl] = _over(out[sl], warped)
        self.layer.write(dirty.x, dirty.y, out)
        self._area = area
        self.doc._changed_pixels(dirty)
        return dirty

    def commit(self) -> None:
        """Record the transform shown by the last `update` as one undo step."""
        if self._capture is None:
            return
        cap, self._capture = self._capture, None
        after = self.layer.tiles.snapshot(list(cap.before))
        with self.doc.history.macro(self.text):
            self.doc.history.push(PixelsEdit(self.doc, self.layer, cap.before, after, self.text),
                                  applied=True)
            if self.selection is not None:
                self.doc.set_selection(warp_mask(self.selection, self.matrix), self.text)

    def cancel(self) -> None:
        if self._capture is None:
            return
        cap, self._capture = self._capture, None
        self.doc._apply_tiles(self.layer, cap.before)


def transform_pixels(doc: Document, layer: Layer, m: np.ndarray,
                     text: str = "Transform") -> Rect:
    """Apply `m` to the selected pixels of `layer` (all of it when nothing is selected) and
    to the selection itself, as one undo step. Returns the document rect that changed."""
    session = TransformSession(doc, layer, text)
    if session.empty:
        return EMPTY
    rect = session.update(m)
    session.commit()
    return rect
