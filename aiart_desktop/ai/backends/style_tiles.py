"""Running an image network over a large picture in overlapping tiles, without seams.

Each tile's result is weighted by a window that is 1 in its interior and falls off with a
raised cosine across the overlap (only on sides that touch another tile), and the weighted
results are summed and normalised. Neighbouring tiles therefore cross-fade over `overlap`
pixels instead of meeting at a hard edge. No Qt, no onnxruntime: the network is a callable.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import Cancelled

# (h, w, 3) float32 [0,1] (maybe a non-contiguous view) -> a new array of the same shape
TileFn = Callable[[np.ndarray], np.ndarray]
ProgressFn = Callable[[int, int], None]


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis of length `n`: tiles of `tile` pixels overlapping by at
    least `overlap`; the last tile ends exactly at `n` (so every tile is full size)."""
    if n <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, n - tile, step))
    starts.append(n - tile)
    return starts


def ramp_window(length: int, lo_fade: int, hi_fade: int) -> np.ndarray:
    """1-D weights of `length`: a raised-cosine rise over `lo_fade` pixels at the start and a
    fall over `hi_fade` pixels at the end, 1 between. Never exactly 0."""
    w = np.ones(length, np.float32)
    for fade, flip in ((lo_fade, False), (hi_fade, True)):
        fade = min(fade, length)
        if fade <= 0:
            continue
        t = (np.arange(fade, dtype=np.float32) + 0.5) / fade
        ramp = 0.5 - 0.5 * np.cos(np.pi * t)
        if flip:
            w[length - fade:] *= ramp[::-1]
        else:
            w[:fade] *= ramp
    return w


def _axis_windows(n: int, tile: int, overlap: int) -> list[tuple[int, int, np.ndarray]]:
    starts = tile_starts(n, tile, overlap)
    out = []
    for i, s in enumerate(starts):
        e = min(n, s + tile)
        lo = (starts[i - 1] + tile - s) if i > 0 else 0  # overlap with the previous tile
        hi = (e - starts[i + 1]) if i + 1 < len(starts) else 0
        out.append((s, e, ramp_window(e - s, lo, hi)))
    return out


def tile_count(h: int, w: int, tile: int, overlap: int) -> int:
    return len(tile_starts(h, tile, overlap)) * len(tile_starts(w, tile, overlap))


def run_tiled(image: np.ndarray, fn: TileFn, tile: int, overlap: int,
              cancelled: Callable[[], bool] | None = None,
              on_progress: ProgressFn | None = None) -> np.ndarray:
    """`fn` applied to `image` ((h, w, 3) float32) in overlapping tiles, cross-faded.

    An image no larger than `tile` is passed to `fn` whole. `cancelled` is polled before each
    tile (raises Cancelled); `on_progress(done, total)` is called after each.
    """
    h, w = image.shape[:2]
    overlap = max(0, min(overlap, tile // 2))
    rows, cols = _axis_windows(h, tile, overlap), _axis_windows(w, tile, overlap)
    total = len(rows) * len(cols)
    if total == 1:
        _check(cancelled)
        out = fn(image)
        if on_progress is not None:
            on_progress(1, 1)
        return out
    acc = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    done = 0
    for y0, y1, wy in rows:
        for x0, x1, wx in cols:
            _check(cancelled)
            part = fn(image[y0:y1, x0:x1])
            win = np.multiply.outer(wy, wx)[..., None]
            part *= win
            acc[y0:y1, x0:x1] += part
            weight[y0:y1, x0:x1] += win
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    acc /= weight
    return acc


def run_tiles_raw(image: np.ndarray, fn: TileFn, tile: int, overlap: int) -> list[np.ndarray]:
    """The same tiles as `run_tiled`, run back to back with no blending (benchmark baseline)."""
    h, w = image.shape[:2]
    overlap = max(0, min(overlap, tile // 2))
    return [fn(np.ascontiguousarray(image[y:y + tile, x:x + tile]))
            for y in tile_starts(h, tile, overlap) for x in tile_starts(w, tile, overlap)]


def _check(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled()
