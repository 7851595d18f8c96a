"""Live progress of a style job in the Style dock, with a time estimate.

A typical selection is one run of the network (seconds on a slow CPU, with nothing to report
in between), so the bar moves with the time the job is expected to take: the work (pixels the
network sees) divided by the speed measured on this machine's earlier jobs (a first guess
before any). Tiles, when there are several, pin the bar to the tiles done. It never claims
more than 95 % before the job has ended, and says "about N s left".
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QProgressBar

from ...ai.backends.style import ARBITRARY_SIZE, CONTEXT_MARGIN
from ...ai.backends.style_tiles import tile_count

TICK_MS = 100
FIRST_GUESS = {"builtin": 0.5e6, "user": 0.5e6}   # network pixels per second, before measuring
STEPS = 1000


def work_pixels(request: Any, kind: str) -> float:
    """Pixels the network will process for `request` (as the engine crops and scales them)."""
    sel = request.selection()
    rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
    if rows.size == 0:
        return 1.0
    h, w = sel.shape
    y0, y1 = max(0, int(rows[0]) - CONTEXT_MARGIN), min(h, int(rows[-1]) + 1 + CONTEXT_MARGIN)
    x0, x1 = max(0, int(cols[0]) - CONTEXT_MARGIN), min(w, int(cols[-1]) + 1 + CONTEXT_MARGIN)
    scale = float(getattr(request, "style_scale", 1.0)) or 1.0
    sh, sw = max(8, round((y1 - y0) / scale)), max(8, round((x1 - x0) / scale))
    if kind == "user":   # picture styles run on fixed 384² tiles
        n = tile_count(sh, sw, ARBITRARY_SIZE, int(getattr(request, "overlap", 64)))
        return float(n * ARBITRARY_SIZE * ARBITRARY_SIZE)
    return float(sh * sw)


class StyleProgress(QObject):
    """Drives `bar` from `start` to `finish`; `tiles(done, total)` from the worker."""

    def __init__(self, bar: QProgressBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bar = bar
        self.rates = dict(FIRST_GUESS)
        self._kind, self._work, self._t0 = "builtin", 1.0, 0.0
        self._done, self._total, self._t_tile = 0, 1, 0.0
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def estimate_s(self) -> float:
        return self._work / self.rates.get(self._kind, FIRST_GUESS["builtin"])

    def start(self, kind: str, work_px: float) -> None:
        self._kind, self._work = kind, max(1.0, work_px)
        self._t0 = self._t_tile = time.perf_counter()
        self._done, self._total = 0, 1
        self.bar.setRange(0, STEPS)
        self.bar.setValue(0)
        self._tick()
        self._timer.start()

    def tiles(self, done: int, total: int) -> None:
        if total > 1 and done != self._done:
            self._t_tile = time.perf_counter()
        self._done, self._total = done, max(1, total)
        self._tick()

    def fraction(self) -> float:
        """Done so far, by tiles and the time the current tile is expected to take."""
        now = time.perf_counter()
        per_tile = self.estimate_s / self._total
        current = min(0.95, (now - self._t_tile) / per_tile) if per_tile > 0 else 0.0
        return min(0.95, (self._done + current) / self._total)

    def _tick(self) -> None:
        f = self.fraction()
        self.bar.setValue(int(f * STEPS))
        left = max(0.0, self.estimate_s - (time.perf_counter() - self._t0))
        self.bar.setFormat(f"about {left:.0f} s left" if left >= 1.5 else "almost done")

    def finish(self, finished: bool) -> float:
        """Stop; a finished job teaches the speed of this machine. Returns its seconds."""
        self._timer.stop()
        took = time.perf_counter() - self._t0
        if finished and took > 0.05:
            rate = self._work / took
            old = self.rates.get(self._kind)
            self.rates[self._kind] = rate if old is None or old == FIRST_GUESS.get(self._kind) \
                else 0.5 * old + 0.5 * rate
        self.bar.setValue(STEPS if finished else self.bar.value())
        return took
