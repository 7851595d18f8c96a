"""Layer thumbnails, kept up to date per tile: only tiles that changed are re-sampled.

Tiles are immutable and replaced on every write, so "did this tile change" is an identity
check (we keep a reference to the sampled tile, so its identity cannot be reused).
A thumbnail is a strided (nearest) sample of the layer inside the canvas.

Sampling is budgeted: at most `BUDGET_S` in any `WINDOW_S`, shared by every call (the views
ask for a thumbnail several times in one turn of the event loop: a budget per call added up to
30 ms there). A layer whose every tile is new (an 8192² upscale: 16 384 tiles) is sampled over
several paints, not in one; `incomplete(layer)` tells the model to ask again.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from ...core.layer import Layer
from ...core.tiles import TILE
from ..convert import array_to_qimage

THUMB = 40  # logical size of the square a thumbnail fits in
BUDGET_S = 0.005  # sampling time all calls may spend in one window; the rest comes later
WINDOW_S = 0.030  # (the model asks again after 30 ms)


class _Entry:
    def __init__(self, shape: tuple[int, int], step: int, offset: tuple[int, int]) -> None:
        self.pixels = np.zeros((*shape, 4), np.uint8)
        self.step = step
        self.offset = offset
        self.seen: dict[tuple[int, int], np.ndarray] = {}   # tile key -> the sampled array
        self.pixmap: QPixmap | None = None
        self.grid: object = None      # the layer's TileGrid when last looked at, its version,
        self.version = -1             # and its tiles still to compare with `seen` (None: done)
        self.todo: Iterator[tuple[tuple[int, int], np.ndarray]] | None = None

    @property
    def complete(self) -> bool:
        return self.todo is None


class Thumbnails:
    def __init__(self, size: int = THUMB, dpr: float = 1.0) -> None:
        self.size = size
        self.dpr = dpr
        self._entries: dict[int, _Entry] = {}
        self._doc_size = (0, 0)
        self._checker = _checker(max(1, round(size * dpr)))
        self._window = -1.0     # when the current budget window began (perf_counter)
        self._spent = 0.0       # sampling time spent in it

    def clear(self) -> None:
        self._entries.clear()

    def pixmap(self, layer: Layer, doc_w: int, doc_h: int) -> QPixmap:
        if (doc_w, doc_h) != self._doc_size:
            self._entries.clear()
            self._doc_size = (doc_w, doc_h)
        entry = self._entries.get(layer.uid)
        step = max(1, math.ceil(max(doc_w, doc_h) / (self.size * self.dpr)))
        shape = (math.ceil(doc_h / step), math.ceil(doc_w / step))
        if entry is None or entry.offset != layer.offset or entry.step != step:
            entry = self._entries[layer.uid] = _Entry(shape, step, layer.offset)
        if self._update(entry, layer, doc_w, doc_h) or entry.pixmap is None:
            entry.pixmap = self._render(entry.pixels)
        return entry.pixmap

    def incomplete(self, layer: Layer) -> bool:
        """Whether the layer's thumbnail still has tiles to sample (ask again later)."""
        entry = self._entries.get(layer.uid)
        return entry is not None and not entry.complete

    def _update(self, e: _Entry, layer: Layer, doc_w: int, doc_h: int) -> bool:
        tiles = layer.tiles
        changed = False
        now = time.perf_counter()
        if now - self._window > WINDOW_S:
            self._window, self._spent = now, 0.0
        if e.grid is not tiles or e.version != tiles.version:   # something new: look again
            current = tiles.snapshot()     # (a dict copy and a set difference: C speed)
            gone = e.seen.keys() - current.keys()
            if len(gone) > 64:             # many tiles went (a layer cleared): start afresh
                e.pixels[...] = 0
                e.seen.clear()
                changed = True
            else:
                for key in gone:
                    del e.seen[key]
                    self._sample(e, key, None, doc_w, doc_h)
                    changed = True
            e.todo = iter(current.items())  # compared with what was seen as the budget allows
            e.grid, e.version = tiles, tiles.version
        if e.todo is None:
            return changed
        deadline = now + BUDGET_S - self._spent
        seen, done, looked = e.seen, 0, 0
        for key, t in e.todo:   # (at least 7 samples a call: always some progress)
            looked += 1
            if seen.get(key) is t:
                if looked % 256 == 0 and done >= 7 and time.perf_counter() > deadline:
                    break
                continue
            seen[key] = t
            self._sample(e, key, t, doc_w, doc_h)
            done += 1
            if done % 8 == 7 and time.perf_counter() > deadline:
                break
        else:
            e.todo = None
        self._spent += time.perf_counter() - now
        return changed or done > 0

    @staticmethod
    def _sample(e: _Entry, key: tuple[int, int], tile: np.ndarray | None,
                doc_w: int, doc_h: int) -> None:
        s = e.step
        x0 = key[0] * TILE + e.offset[0]
        y0 = key[1] * TILE + e.offset[1]
        # Document columns/rows inside this tile that land on the sampling grid.
        first_x = max(x0, 0) + (-max(x0, 0)) % s
        first_y = max(y0, 0) + (-max(y0, 0)) % s
        xs = np.arange(first_x, min(x0 + TILE, doc_w), s)
        ys = np.arange(first_y, min(y0 + TILE, doc_h), s)
        if xs.size == 0 or ys.size == 0:
            return
        dst = (slice(ys[0] // s, ys[-1] // s + 1), slice(xs[0] // s, xs[-1] // s + 1))
        if tile is None:
            e.pixels[dst] = 0
        else:   # a strided view: the same samples as np.ix_, without its index arrays
            e.pixels[dst] = tile[ys[0] - y0:ys[-1] - y0 + 1:s, xs[0] - x0:xs[-1] - x0 + 1:s]

    def _render(self, pixels: np.ndarray) -> QPixmap:
        side = self._checker.width()
        img = array_to_qimage(pixels)
        scaled = img.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                            Qt.TransformationMode.SmoothTransformation)
        out = QPixmap(self._checker)
        p = QPainter(out)
        x = (side - scaled.width()) // 2
        y = (side - scaled.height()) // 2
        p.fillRect(0, 0, side, side, QColor(38, 38, 38))
        p.drawPixmap(x, y, _checker(max(scaled.width(), scaled.height())),
                     0, 0, scaled.width(), scaled.height())
        p.drawImage(x, y, scaled)
        p.end()
        out.setDevicePixelRatio(self.dpr)
        return out


def _checker(side: int) -> QPixmap:
    img = QImage(side, side, QImage.Format.Format_RGB32)
    img.fill(QColor(220, 220, 220))
    p = QPainter(img)
    cell = max(3, side // 8)
    for y in range(0, side, cell):
        for x in range(0, side, cell):
            if (x // cell + y // cell) % 2:
                p.fillRect(x, y, cell, cell, QColor(170, 170, 170))
    p.end()
    return QPixmap.fromImage(img)
