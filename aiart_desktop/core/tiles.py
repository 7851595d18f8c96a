"""Sparse tiled RGBA8 pixel storage.

Only tiles that hold at least one non-transparent pixel are stored, so memory follows the
painted area, not the canvas. Pixels are straight (non-premultiplied) RGBA, uint8.

Tiles are immutable once stored (their numpy arrays are read-only). Every write replaces the
touched tiles with new arrays. This makes snapshots free: an undo record or a stroke's
"before" state simply keeps references to the old tile arrays.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from .geometry import EMPTY, Rect

TILE = 64
TileKey = tuple[int, int]
TileMap = dict[TileKey, "np.ndarray | None"]


def tile_rect(key: TileKey) -> Rect:
    return Rect(key[0] * TILE, key[1] * TILE, TILE, TILE)


def tile_keys(rect: Rect) -> Iterator[TileKey]:
    """Keys of every tile the rect touches, row by row."""
    if rect.empty:
        return
    tx0, ty0 = rect.x // TILE, rect.y // TILE
    tx1, ty1 = (rect.right - 1) // TILE, (rect.bottom - 1) // TILE
    for ty in range(ty0, ty1 + 1):
        for tx in range(tx0, tx1 + 1):
            yield (tx, ty)


def _freeze(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class TileGrid:
    """A sparse, unbounded grid of RGBA8 tiles, addressed in pixel coordinates."""

    __slots__ = ("_tiles", "_kb", "_nb", "_version")

    def __init__(self) -> None:
        self._tiles: dict[TileKey, np.ndarray] = {}
        self._kb: Rect | None = None  # cached key_bounds, None = stale
        self._nb: int | None = None    # cached nbytes, None = stale
        self._version = 0             # bumped by every change (see `version`)

    def _touch(self) -> None:
        self._kb = self._nb = None
        self._version += 1

    # ---- queries -----------------------------------------------------------------------
    @property
    def version(self) -> int:
        """A number that changes whenever any tile does: "anything new since?" in O(1)."""
        return self._version

    def __len__(self) -> int:
        return len(self._tiles)

    def keys(self) -> list[TileKey]:
        return list(self._tiles)

    def tile(self, key: TileKey) -> np.ndarray | None:
        """The stored (read-only) tile array, or None when the tile is empty."""
        return self._tiles.get(key)

    @property
    def nbytes(self) -> int:
        """Memory actually held: tiles shared by a uniform fill count once (kept until the
        next change)."""
        if self._nb is None:
            self._nb = len({id(t) for t in self._tiles.values()}) * TILE * TILE * 4
        return self._nb

    def bounds(self) -> Rect:
        """Bounding rect of the stored tiles, tightened to their non-transparent pixels."""
        out = EMPTY
        for key, t in self._tiles.items():
            alpha = t[:, :, 3]
            rows = np.flatnonzero(alpha.any(axis=1))
            cols = np.flatnonzero(alpha.any(axis=0))
            if rows.size == 0:
                continue
            r = tile_rect(key)
            out = out.union(Rect.from_edges(
                r.x + int(cols[0]), r.y + int(rows[0]),
                r.x + int(cols[-1]) + 1, r.y + int(rows[-1]) + 1,
            ))
        return out

    def key_bounds(self) -> Rect:
        """Bounds of the stored tiles, tile-granular (no pixel scan)."""
        if self._kb is None:
            if not self._tiles:
                self._kb = EMPTY
            else:
                xs = [k[0] for k in self._tiles]
                ys = [k[1] for k in self._tiles]
                self._kb = Rect.from_edges(min(xs) * TILE, min(ys) * TILE,
                                           (max(xs) + 1) * TILE, (max(ys) + 1) * TILE)
        return self._kb

    def is_empty(self) -> bool:
        return not self._tiles

    # ---- pixel access ------------------------------------------------------------------
    def read(self, rect: Rect, out: np.ndarray | None = None) -> np.ndarray:
        """Copy of the pixels in rect as an (h, w, 4) uint8 array; empty tiles read as 0."""
        x0, y0, w, h = rect.x, rect.y, max(rect.w, 0), max(rect.h, 0)
        if out is None:
            out = np.zeros((h, w, 4), np.uint8)
        else:
            out[...] = 0
        if w == 0 or h == 0:
            return out
        x1, y1 = x0 + w, y0 + h
        get = self._tiles.get
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            ty0 = ty * TILE
            sy0, sy1 = max(y0, ty0), min(y1, ty0 + TILE)
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                t = get((tx, ty))
                if t is None:
                    continue
                tx0 = tx * TILE
                sx0, sx1 = max(x0, tx0), min(x1, tx0 + TILE)
                out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = t[sy0 - ty0:sy1 - ty0,
                                                              sx0 - tx0:sx1 - tx0]
        return out

    def covered(self, rect: Rect) -> Rect:
        """Part of `rect` covered by stored tiles (tile-granular bounds)."""
        if self.key_bounds().intersect(rect).empty or rect.empty:
            return EMPTY
        keys = self._tiles
        left = top = 1 << 62
        right = bottom = -(1 << 62)
        for ty in range(rect.y // TILE, (rect.bottom - 1) // TILE + 1):
            for tx in range(rect.x // TILE, (rect.right - 1) // TILE + 1):
                if (tx, ty) in keys:
                    left, top = min(left, tx), min(top, ty)
                    right, bottom = max(right, tx), max(bottom, ty)
        if right < left:
            return EMPTY
        return Rect.from_edges(left * TILE, top * TILE, (right + 1) * TILE,
                               (bottom + 1) * TILE).intersect(rect)

    def write(self, x: int, y: int, pixels: np.ndarray) -> Rect:
        """Write an (h, w, 4) uint8 array with its top-left at (x, y). Returns the rect."""
        if pixels.ndim != 3 or pixels.shape[2] != 4:
            raise ValueError(f"expected an (h, w, 4) array, got shape {pixels.shape}")
        h, w = pixels.shape[:2]
        rect = Rect(x, y, w, h)
        px = np.asarray(pixels, dtype=np.uint8)
        for key in tile_keys(rect):
            tr = tile_rect(key)
            part = tr.intersect(rect)
            src = px[part.slices(x, y)]
            old = self._tiles.get(key)
            if part == tr:
                new = src.copy()
            else:
                new = old.copy() if old is not None else np.zeros((TILE, TILE, 4), np.uint8)
                new[part.slices(tr.x, tr.y)] = src
            self._store(key, new)
        return rect

    def fill(self, rect: Rect, color: tuple[int, int, int, int]) -> None:
        """Fill `rect` with one colour. Whole tiles share a single read-only array, so a
        plain background costs one tile of memory, not the canvas."""
        if rect.empty:
            return
        if color[3] == 0:
            self.clear(rect)
            return
        shared = _freeze(np.full((TILE, TILE, 4), color, np.uint8))
        self._touch()
        for key in tile_keys(rect):
            tr = tile_rect(key)
            part = tr.intersect(rect)
            if part == tr:
                self._tiles[key] = shared
            else:
                old = self._tiles.get(key)
                new = old.copy() if old is not None else np.zeros((TILE, TILE, 4), np.uint8)
                new[part.slices(tr.x, tr.y)] = color
                self._store(key, new)

    def clear(self, rect: Rect | None = None) -> None:
        if rect is None:
            self._tiles.clear()
            self._touch()
            return
        self.write(rect.x, rect.y, np.zeros((rect.h, rect.w, 4), np.uint8))

    def _store(self, key: TileKey, new: np.ndarray) -> None:
        self._touch()
        if not new[:, :, 3].any():
            self._tiles.pop(key, None)
        else:
            self._tiles[key] = _freeze(new)

    # ---- snapshots (for undo) ----------------------------------------------------------
    def snapshot(self, keys: list[TileKey] | None = None) -> TileMap:
        """References (not copies) to the current tiles; None marks an empty tile."""
        if keys is None:
            return dict(self._tiles)
        return {k: self._tiles.get(k) for k in keys}

    def restore(self, tiles: Mapping[TileKey, np.ndarray | None]) -> Rect:
        """Put back tile references from a snapshot. Returns the pixel rect affected."""
        self._touch()
        if not tiles:
            return EMPTY
        for key, t in tiles.items():
            if t is None:
                self._tiles.pop(key, None)
            else:
                self._tiles[key] = t
        xs = [k[0] for k in tiles]
        ys = [k[1] for k in tiles]   # the tiles' bounding box, without a union per tile
        return Rect.from_edges(min(xs) * TILE, min(ys) * TILE, (max(xs) + 1) * TILE,
                               (max(ys) + 1) * TILE)

    def exchange(self, other: TileGrid) -> Rect:
        """Swap every tile with `other` at once (a whole layer replaced: one reference swap at
        any size, its undo the same swap). Returns the tile-granular rect that changed."""
        dirty = self.key_bounds().union(other.key_bounds())
        self._tiles, other._tiles = other._tiles, self._tiles
        self._kb, other._kb = other._kb, self._kb
        self._nb, other._nb = other._nb, self._nb
        self._version += 1
        other._version += 1
        return dirty

    def copy(self) -> TileGrid:
        """A cheap copy: tiles are immutable, so they are shared."""
        g = TileGrid()
        g._tiles = dict(self._tiles)
        g._kb, g._nb = self._kb, self._nb
        return g

    def translated(self, dx: int, dy: int) -> TileGrid:
        """A new grid with every pixel moved by (dx, dy)."""
        if dx % TILE == 0 and dy % TILE == 0:
            g = TileGrid()
            g._tiles = {(k[0] + dx // TILE, k[1] + dy // TILE): t
                        for k, t in self._tiles.items()}
            return g
        g = TileGrid()
        for key, t in self._tiles.items():
            tr = tile_rect(key)
            g._paste(tr.x + dx, tr.y + dy, t)
        return g

    def _paste(self, x: int, y: int, pixels: np.ndarray) -> None:
        """Copy pixels into place, keeping what the touched tiles already hold elsewhere."""
        h, w = pixels.shape[:2]
        rect = Rect(x, y, w, h)
        for key in tile_keys(rect):
            tr = tile_rect(key)
            part = tr.intersect(rect)
            old = self._tiles.get(key)
            new = old.copy() if old is not None else np.zeros((TILE, TILE, 4), np.uint8)
            new[part.slices(tr.x, tr.y)] = pixels[part.slices(x, y)]
            self._store(key, new)
