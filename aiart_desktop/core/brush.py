"""The dab engine: round brushes with pressure curves, spacing, smoothing and an eraser.

A stroke keeps a soft coverage mask m in [0, 1]. Each dab raises m towards the dab's value
(its shape times the pressure-scaled opacity) by `flow`, so flow builds up within a stroke
while opacity caps it, as in Krita and Photoshop. The layer's pixels under the stroke are
always recomputed from the pixels the stroke started with, so a stroke never darkens itself.
"""
from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

import numpy as np

from .document import Document, PixelCapture
from .geometry import EMPTY, Rect
from .layer import Layer
from .tiles import TILE, tile_keys, tile_rect


@dataclass(frozen=True)
class PressureCurve:
    """Piecewise-linear map from pen pressure [0, 1] to a factor [0, 1]."""

    points: tuple[tuple[float, float], ...] = ((0.0, 0.0), (1.0, 1.0))

    def __call__(self, pressure: float) -> float:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return float(np.interp(min(1.0, max(0.0, pressure)), xs, ys))


LINEAR = PressureCurve()
CONSTANT = PressureCurve(((0.0, 1.0), (1.0, 1.0)))
SOFT = PressureCurve(((0.0, 0.0), (0.5, 0.25), (1.0, 1.0)))


@dataclass(frozen=True)
class BrushSettings:
    size: float = 20.0             # diameter in pixels at full pressure
    hardness: float = 0.8          # 1 = hard edge, 0 = soft all the way
    opacity: float = 1.0           # the most a stroke can cover
    flow: float = 1.0              # how much each dab adds
    spacing: float = 0.1           # dab distance, as a fraction of the diameter
    smoothing: float = 0.0         # 0 = raw input, towards 1 = heavy stabiliser
    color: tuple[int, int, int] = (0, 0, 0)
    eraser: bool = False
    size_curve: PressureCurve = LINEAR
    opacity_curve: PressureCurve = CONSTANT
    min_size: float = 1.0          # pixels, at the lowest pressure
    name: str = "Brush"
    extra: dict[str, float] = field(default_factory=dict, compare=False)

    def with_(self, **changes: object) -> BrushSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def radius_at(self, pressure: float) -> float:
        return max(self.min_size, self.size * self.size_curve(pressure)) / 2.0


def dab_shape(cx: float, cy: float, radius: float, hardness: float, rect: Rect) -> np.ndarray:
    """Coverage of a round dab (anti-aliased, soft beyond `hardness`) sampled on `rect`."""
    ys = np.arange(rect.y, rect.bottom, dtype=np.float32) + 0.5 - cy
    xs = np.arange(rect.x, rect.right, dtype=np.float32) + 0.5 - cx
    d = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    r = max(radius, 0.5)
    hard = min(max(hardness, 0.0), 1.0) * r
    if r - hard < 1.0:
        # Hard edge: one pixel of anti-aliasing around the rim.
        shape = np.clip(r + 0.5 - d, 0.0, 1.0)
    else:
        t = np.clip((d - hard) / (r - hard), 0.0, 1.0)
        shape = 1.0 - t * t * (3.0 - 2.0 * t)
    if radius < 0.5:  # sub-pixel dab: keep its total coverage proportional to its area
        shape *= (radius / 0.5) ** 2
    return shape.astype(np.float32)


class _MaskTiles:
    """Sparse float32 coverage mask for one stroke, in document coordinates."""

    def __init__(self) -> None:
        self.tiles: dict[tuple[int, int], np.ndarray] = {}

    def read(self, rect: Rect) -> np.ndarray:
        out = np.zeros((rect.h, rect.w), np.float32)
        for k in tile_keys(rect):
            t = self.tiles.get(k)
            if t is not None:
                tr = tile_rect(k)
                part = tr.intersect(rect)
                out[part.slices(rect.x, rect.y)] = t[part.slices(tr.x, tr.y)]
        return out

    def write(self, rect: Rect, values: np.ndarray) -> None:
        for k in tile_keys(rect):
            tr = tile_rect(k)
            t = self.tiles.get(k)
            if t is None:
                t = self.tiles[k] = np.zeros((TILE, TILE), np.float32)
            part = tr.intersect(rect)
            t[part.slices(tr.x, tr.y)] = values[part.slices(rect.x, rect.y)]


class Stroke:
    """One brush stroke on one layer: begin with `Stroke(...)`, feed `move`, then `end`.

    Every call returns the document rect it changed, for the view to redraw. The whole
    stroke becomes one undo step when it ends.
    """

    def __init__(self, doc: Document, layer: Layer, brush: BrushSettings,
                 x: float, y: float, pressure: float = 1.0, *,
                 respect_selection: bool = True) -> None:
        if layer.locked:
            raise PermissionError(f"layer {layer.name!r} is locked")
        self.doc, self.layer, self.brush = doc, layer, brush
        self._stack = ExitStack()
        self._capture: PixelCapture = self._stack.enter_context(
            doc.edit_pixels(layer, "Erase" if brush.eraser else f"{brush.name} stroke"))
        self._mask = _MaskTiles()
        self._last = (float(x), float(y), float(pressure))
        self._smooth = (float(x), float(y))
        self._carry = 0.0
        self._ended = False
        self.dirty = EMPTY
        self._respect_selection = respect_selection
        self.first_rect = self._paint_dabs([(float(x), float(y), float(pressure))])

    # ---- input ---------------------------------------------------------------------------
    def move(self, x: float, y: float, pressure: float = 1.0) -> Rect:
        if self._ended:
            raise RuntimeError("stroke already ended")
        s = self.brush.smoothing
        if s > 0.0:
            k = 1.0 - 0.95 * min(s, 1.0)
            sx, sy = self._smooth
            x, y = sx + (x - sx) * k, sy + (y - sy) * k
        self._smooth = (x, y)
        return self._paint_dabs(self._interpolate(x, y, pressure))

    def end(self, x: float | None = None, y: float | None = None,
            pressure: float | None = None) -> Rect:
        """Finish: with smoothing on, catch up to the real last position first."""
        rect = EMPTY
        if x is not None and y is not None:
            p = self._last[2] if pressure is None else pressure
            rect = self._paint_dabs(self._interpolate(x, y, p))
        if not self._ended:
            self._ended = True
            self._stack.close()
        return rect

    def cancel(self) -> Rect:
        """Abandon the stroke: restore the layer exactly and record nothing."""
        if not self._ended:
            self._ended = True
            before = self._capture.before
            self._capture.before = {}
            self._stack.close()
            self.doc._apply_tiles(self.layer, before)
        return self.dirty

    # ---- dab placement ---------------------------------------------------------------------
    def _interpolate(self, x: float, y: float, pressure: float) -> list[tuple[float, float, float]]:
        x0, y0, p0 = self._last
        dist = math.hypot(x - x0, y - y0)
        dabs: list[tuple[float, float, float]] = []
        pos = -self._carry
        while True:
            t = pos / dist if dist > 0 else 1.0
            p = p0 + (pressure - p0) * max(0.0, t)
            step = max(0.5, self.brush.spacing * 2.0 * self.brush.radius_at(p))
            pos += step
            if pos > dist:
                self._carry = dist - (pos - step)
                break
            t = pos / dist
            dabs.append((x0 + (x - x0) * t, y0 + (y - y0) * t, p0 + (pressure - p0) * t))
        self._last = (x, y, pressure)
        return dabs

    def _paint_dabs(self, dabs: list[tuple[float, float, float]]) -> Rect:
        if not dabs:
            return EMPTY
        b = self.brush
        placed = [(x, y, b.radius_at(p), p) for x, y, p in dabs]
        rect = Rect.bounding(Rect.around(x, y, r) for x, y, r, _ in placed)
        rect = rect.intersect(self.doc.rect)
        if rect.empty:
            return EMPTY
        m = self._mask.read(rect)
        for x, y, r, p in placed:
            dr = Rect.around(x, y, r).intersect(rect)
            if dr.empty:
                continue
            target = dab_shape(x, y, r, b.hardness, dr) * (b.opacity * b.opacity_curve(p))
            sub = m[dr.slices(rect.x, rect.y)]
            sub += np.maximum(target - sub, 0.0) * b.flow
        self._mask.write(rect, m)
        self._capture.touch_rect(rect)
        sel = self.doc.selection_mask(rect) if self._respect_selection else None
        cover = m if sel is None else m * sel
        out = apply_coverage(self._capture.original(rect), cover, b.color,
                             eraser=b.eraser, alpha_lock=self.layer.alpha_lock)
        self.layer.write(rect.x, rect.y, out)
        self.doc._changed_pixels(rect)
        self.dirty = self.dirty.union(rect)
        return rect


def apply_coverage(orig: np.ndarray, cover: np.ndarray, color: tuple[int, int, int], *,
                   eraser: bool = False, alpha_lock: bool = False) -> np.ndarray:
    """Paint `color` over straight RGBA8 `orig` with per-pixel coverage `cover` in [0, 1]."""
    out = orig.copy()
    c = cover[..., None]
    ab = orig[..., 3:4].astype(np.float32) * (1.0 / 255.0)
    if eraser:
        if not alpha_lock:
            out[..., 3:4] = np.round(ab * (1.0 - c) * 255.0).astype(np.uint8)
        return out
    col = np.asarray(color, np.float32)
    rgb_b = orig[..., :3].astype(np.float32)
    if alpha_lock:
        out[..., :3] = np.round(rgb_b + (col - rgb_b) * c).astype(np.uint8)
        return out
    ao = c + ab * (1.0 - c)
    with np.errstate(divide="ignore", invalid="ignore"):
        rgb = (col * c + rgb_b * ab * (1.0 - c)) / ao
    rgb = np.where(ao > 0, rgb, 0.0)
    out[..., :3] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    out[..., 3:4] = np.clip(np.round(ao * 255.0), 0, 255).astype(np.uint8)
    return out
