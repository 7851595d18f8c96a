"""The display cache: the document composite as screen-ready images, refreshed lazily.

Level 0 holds the composite at full resolution as premultiplied ARGB32; levels 1..MAX_LEVEL
halve it each time (box filter on premultiplied pixels), for good-looking zoomed-out views.

Small changes (a brush dab) are composited at once, exactly. Large ones (an undo, an opacity
change of a big layer) only mark 64-pixel blocks as stale; the view asks `ensure` for what is
on screen, with a time budget, so no event ever pays for the whole canvas.
"""
from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtGui import QImage

from ...core.document import Document
from ...core.geometry import Rect
from ..convert import rgba_premultiplied_to_argb32, wrap_array

BLOCK = 64            # staleness granularity, level-0 pixels
CHUNK = 256           # the largest piece flattened in one go
MAX_LEVEL = 6         # 1/64 scale; BLOCK must stay divisible by 2**MAX_LEVEL
IMMEDIATE_AREA = 256 * 256
FORMAT = QImage.Format.Format_ARGB32_Premultiplied


class DisplayCache:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.reset()

    # ---- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (new document or canvas size): all of it is stale."""
        w, h = self.doc.width, self.doc.height
        self.width, self.height = w, h
        self._arrays: list[np.ndarray | None] = [None] * (MAX_LEVEL + 1)
        self._images: list[QImage | None] = [None] * (MAX_LEVEL + 1)
        by, bx = -(-h // BLOCK), -(-w // BLOCK)
        self._stale = [np.ones((by, bx), bool) for _ in range(MAX_LEVEL + 1)]
        self._alloc(0)

    def levels(self) -> list[np.ndarray | None]:
        """The level arrays as they are now (None: never made); for `seed_scaled`."""
        return list(self._arrays)

    def seed_scaled(self, old: list[np.ndarray | None], factor: int) -> None:
        """The canvas just grew `factor` times (2, 4, 8: an upscale): show `old` (this cache's
        `levels()` from before) as a stand-in until the new pixels are composited — level L
        of the old picture is level L + log2(factor) of the new, pixel for pixel. Everything
        stays stale and is recomputed as usual; only the blank wait is gone. The arrays of
        `old` become this cache's: the caller must not use them again."""
        j = int(round(math.log2(factor))) if factor >= 2 else 0
        if j < 1 or 1 << j != factor:
            return
        for level, arr in enumerate(old):
            if arr is None or level + j > MAX_LEVEL:
                continue
            s = 1 << (level + j)
            if arr.shape[:2] != (-(-self.height // s), -(-self.width // s)):
                continue
            # Taken over, not copied (the old cache is gone): nothing here grows with the size.
            self._arrays[level + j] = arr
            self._images[level + j] = wrap_array(arr, FORMAT)
            self._stale[level + j][...] = True

    def _alloc(self, level: int) -> np.ndarray:
        arr = self._arrays[level]
        if arr is None:
            s = 1 << level
            h, w = -(-self.height // s), -(-self.width // s)
            arr = np.zeros((h, w, 4), np.uint8)
            self._arrays[level] = arr
            self._images[level] = wrap_array(arr, FORMAT)
            self._stale[level][...] = True
        return arr

    def image(self, level: int = 0) -> QImage:
        self._alloc(level)
        img = self._images[level]
        assert img is not None
        return img

    def array(self, level: int = 0) -> np.ndarray:
        """The level's pixels (premultiplied, ARGB32 byte order). Read-only by convention."""
        return self._alloc(level)

    @staticmethod
    def level_for(zoom: float) -> int:
        """The coarsest level still at least as fine as the screen at `zoom`."""
        if zoom >= 1.0:
            return 0
        return max(0, min(MAX_LEVEL, int(math.floor(math.log2(1.0 / zoom) + 1e-9))))

    def is_stale(self, rect: Rect, level: int = 0) -> bool:
        sl = _block_slices(rect.intersect(self._bounds()))
        return sl is not None and bool(self._stale[level][sl].any())

    def _bounds(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    # ---- changes ---------------------------------------------------------------------------
    def changed(self, rect: Rect) -> None:
        """The document's pixels in `rect` changed: refresh now if small, else mark stale."""
        r = rect.intersect(self._bounds())
        if r.empty:
            return
        if r.area <= IMMEDIATE_AREA:
            self._refresh_now(r)
        else:
            self.invalidate(r)

    def invalidate(self, rect: Rect) -> None:
        sl = _block_slices(rect.intersect(self._bounds()))
        if sl is not None:
            for stale in self._stale:
                stale[sl] = True

    def _refresh_now(self, r: Rect) -> None:
        self._flatten_into(r)
        for level in range(1, MAX_LEVEL + 1):
            if self._arrays[level] is None:
                continue
            self._downsample(level, _aligned(r, 1 << level).intersect(self._bounds()))

    # ---- bringing stale parts up to date ---------------------------------------------------
    def ensure(self, rect: Rect, level: int = 0, budget_s: float | None = None) -> bool:
        """Bring `rect` (level-0 coordinates) of `level` up to date; True when all done.

        With `budget_s`, stop once that much time was spent (the rest stays stale).
        """
        rect = rect.intersect(self._bounds())
        if rect.empty:
            return True
        self._alloc(level)
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        done = True
        bounds = self._bounds()
        for piece in _stale_rects(self._stale[0], rect):
            for chunk in _split(piece.intersect(bounds), CHUNK):
                if deadline is not None and time.perf_counter() > deadline:
                    done = False
                    break
                self._flatten_into(chunk)
                self._clear(0, chunk)
            if not done:
                break
        for lv in range(1, level + 1):
            self._alloc(lv)
            fresh_below = ~self._stale[lv - 1]
            for piece in _stale_rects(self._stale[lv] & fresh_below, rect):
                for chunk in _split(piece.intersect(bounds), CHUNK << lv):
                    if deadline is not None and time.perf_counter() > deadline:
                        done = False           # the budget covers the smaller levels too
                        break
                    self._downsample(lv, chunk)
                    self._clear(lv, chunk)
                if not done:
                    break
            if not done:
                break
        return done and not self.is_stale(rect, level)

    def _clear(self, level: int, rect: Rect) -> None:
        """Mark the blocks fully inside `rect` (or cut by the canvas edge) as fresh."""
        x0, y0 = -(-rect.x // BLOCK), -(-rect.y // BLOCK)
        x1 = rect.right // BLOCK if rect.right < self.width else -(-self.width // BLOCK)
        y1 = rect.bottom // BLOCK if rect.bottom < self.height else -(-self.height // BLOCK)
        if x1 > x0 and y1 > y0:
            self._stale[level][y0:y1, x0:x1] = False

    def _flatten_into(self, r: Rect) -> None:
        px = self.doc.flatten(r, premultiplied=True)
        arr = self._arrays[0]
        assert arr is not None
        arr[r.slices()] = rgba_premultiplied_to_argb32(px)

    def _downsample(self, level: int, r: Rect) -> None:
        """Recompute level `level` over level-0 rect `r` (aligned to 2**level) from below."""
        src = self._arrays[level - 1]
        dst = self._arrays[level]
        if src is None or dst is None or r.empty:
            return
        s = 1 << level
        x0, y0 = r.x // s, r.y // s
        x1, y1 = min(dst.shape[1], -(-r.right // s)), min(dst.shape[0], -(-r.bottom // s))
        if x1 <= x0 or y1 <= y0:
            return
        part = src[2 * y0: 2 * y1, 2 * x0: 2 * x1]
        need_h, need_w = 2 * (y1 - y0), 2 * (x1 - x0)
        if part.shape[0] != need_h or part.shape[1] != need_w:
            part = np.pad(part, ((0, need_h - part.shape[0]), (0, need_w - part.shape[1]),
                                 (0, 0)), mode="edge")
        dst[y0:y1, x0:x1] = _half(part)


def _half(part: np.ndarray) -> np.ndarray:
    """2×2 box average of a 4-channel uint8 array with even sides (Pillow's C reduce: several
    times faster than numpy here, which matters for the first frame)."""
    from PIL import Image

    h, w = part.shape[:2]
    # CMYK: four independent channels, no alpha semantics (RGBA would be premultiplied)
    im = Image.frombuffer("CMYK", (w, h), np.ascontiguousarray(part), "raw", "CMYK", 0, 1)
    return np.asarray(im.reduce(2)).reshape(h // 2, w // 2, 4)


def _aligned(r: Rect, s: int) -> Rect:
    return Rect.from_edges((r.x // s) * s, (r.y // s) * s,
                           -(-r.right // s) * s, -(-r.bottom // s) * s)


def _block_slices(r: Rect) -> tuple[slice, slice] | None:
    if r.empty:
        return None
    return (slice(r.y // BLOCK, -(-r.bottom // BLOCK)),
            slice(r.x // BLOCK, -(-r.right // BLOCK)))


def _stale_rects(stale: np.ndarray, rect: Rect) -> list[Rect]:
    """Stale blocks inside `rect`, merged into rectangles and clipped to `rect`'s blocks."""
    sl = _block_slices(rect)
    if sl is None:
        return []
    sub = stale[sl]
    if not sub.any():
        return []
    oy, ox = sl[0].start, sl[1].start
    out: list[Rect] = []
    open_runs: dict[tuple[int, int], int] = {}   # (x0, x1) -> first row
    for row in range(sub.shape[0] + 1):
        runs: set[tuple[int, int]] = set()
        if row < sub.shape[0]:
            line = np.concatenate(([False], sub[row], [False]))
            edges = np.flatnonzero(line[1:] != line[:-1])
            runs = {(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)}
        for run in list(open_runs):
            if run not in runs:
                top = open_runs.pop(run)
                out.append(Rect.from_edges((ox + run[0]) * BLOCK, (oy + top) * BLOCK,
                                           (ox + run[1]) * BLOCK, (oy + row) * BLOCK))
        for run in runs:
            open_runs.setdefault(run, row)
    return out


def _split(r: Rect, size: int) -> list[Rect]:
    return [Rect.from_edges(x, y, min(x + size, r.right), min(y + size, r.bottom))
            for y in range(r.y, r.bottom, size) for x in range(r.x, r.right, size)]
