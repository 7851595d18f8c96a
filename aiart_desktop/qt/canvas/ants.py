"""Marching ants: the selection's outline, traced once per selection change and drawn with a
moving dashed cosmetic pen.

The outline follows pixel edges of the pixels selected at least 50 % (mask >= 128), so a hard
selection shows exactly where it cuts and a feathered one shows its middle. It is kept as a
QPainterPath in document coordinates; the view draws it through its transform with a 1 px
cosmetic pen, so it costs the same at any zoom.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, QObject, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from ...core.geometry import Rect

THRESHOLD = 128
FPS_INTERVAL_MS = 125   # ~8 frames a second
DASH = 4                # dash and gap length, screen pixels


def _bounds(sel: np.ndarray) -> Rect | None:
    rows = np.flatnonzero(sel.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(sel[rows[0]:rows[-1] + 1].any(axis=0))
    return Rect.from_edges(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def outline_contours(mask: np.ndarray | None) -> list[np.ndarray]:
    """Closed polylines (float (n, 2) arrays, document coordinates) along the pixel edges
    between selected (>= 50 %) and unselected pixels: outer outlines and holes alike."""
    pts, lens = outline(mask)
    return np.split(pts, np.cumsum(lens)[:-1]) if len(lens) else []


def outline(mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """`outline_contours` packed: all points in one (n, 2) array, and each polyline's length."""
    none = np.zeros((0, 2)), np.zeros(0, np.int64)
    if mask is None:
        return none
    sel = mask >= THRESHOLD
    r = _bounds(sel)
    if r is None:
        return none
    crop = sel[r.slices()]
    if crop.all():  # a rectangle (Select All, the rectangle marquee): no tracing needed
        return (np.array([[r.x, r.y], [r.right, r.y], [r.right, r.bottom], [r.x, r.bottom]],
                         np.float64), np.array([4]))
    import cv2  # only when something is selected: keeps OpenCV out of startup

    padded = np.pad(crop, 1)
    pts, lens, holes = _trace(cv2, padded)
    if holes:  # trace the holes from the other side so their corners are exact too
        ipts, ilens, _ = _trace(cv2, ~padded)
        starts = np.concatenate([[0], np.cumsum(ilens)[:-1]])
        frame = np.minimum.reduceat(ipts.min(axis=1), starts) == 0   # around everything
        keep = np.repeat(~frame, ilens)
        pts = np.concatenate([pts, ipts[keep]])
        lens = np.concatenate([lens, ilens[~frame]])
    pts = pts * 0.5
    pts[:, 0] += r.x - 1
    pts[:, 1] += r.y - 1
    return pts, lens


def _trace(cv2, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Outer boundaries of the parts of `region`, on pixel edges, in half pixels (packed
    points, lengths), and whether any part has holes.

    Pixel (y, x) becomes cell (2y+1, 2x+1) of a grid twice as fine; dilating by one cell
    covers the pixel's edges and corners, so the traced boundary cells lie on pixel edges.
    """
    h, w = region.shape
    grid = np.zeros((2 * h + 1, 2 * w + 1), np.uint8)
    grid[1::2, 1::2] = region.view(np.uint8) * 255
    grid = cv2.dilate(grid, np.ones((3, 3), np.uint8))
    # RETR_LIST: the hierarchy modes get very slow with many holes; orientation tells
    # outer boundaries (clockwise on screen, positive area here) from holes instead.
    contours, _ = cv2.findContours(grid, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 2)), np.zeros(0, np.int64), False
    lens = np.fromiter((len(c) for c in contours), np.int64, len(contours))
    pts = np.concatenate(contours).reshape(-1, 2).astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    nxt = np.arange(1, len(pts) + 1)
    nxt[starts + lens - 1] = starts
    x, y = pts[:, 0], pts[:, 1]
    area = np.add.reduceat(x * y[nxt] - x[nxt] * y, starts)
    outer = area < 0
    return pts[np.repeat(outer, lens)], lens[outer], bool((area > 0).any())


_ELEMENT = np.dtype([("type", ">i4"), ("x", ">f8"), ("y", ">f8")])


def contours_to_path(pts: np.ndarray, lens: np.ndarray) -> QPainterPath:
    """One QPainterPath of closed subpaths, built in one go through QDataStream (the same
    trick as pyqtgraph's arrayToQPath): no Python call per point or per contour."""
    path = QPainterPath()
    lens = np.asarray(lens, np.int64)
    if not len(lens):
        return path
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    # each subpath closes: repeat its first point after its last
    idx = np.insert(np.arange(len(pts)), starts + lens, starts)
    n = len(idx)
    rec = np.empty(n, _ELEMENT)
    rec["type"] = 1                          # LineToElement
    rec["type"][starts + np.arange(len(lens))] = 0   # MoveToElement
    rec["x"], rec["y"] = pts[idx, 0], pts[idx, 1]
    last_start = int(starts[-1] + len(lens) - 1)
    head = np.array([n], ">i4").tobytes()
    tail = np.array([last_start, int(Qt.FillRule.OddEvenFill.value)], ">i4").tobytes()
    stream = QDataStream(QByteArray(head + rec.tobytes() + tail))
    stream >> path
    return path


class MarchingAnts(QObject):
    """The outline of the canvas' selection, and the timer that makes it march."""

    def __init__(self, canvas) -> None:  # CanvasView
        super().__init__(canvas)
        self.canvas = canvas
        self._mask: np.ndarray | None = None
        self._path: QPainterPath | None = QPainterPath()
        self._box = QRectF()
        self._hidden_by: set[str] = set()   # quick mask, an open transform...
        self.offset = 0
        self.timer = QTimer(self)
        self.timer.setInterval(FPS_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)

    # ---- the outline -------------------------------------------------------------------------
    def set_mask(self, mask: np.ndarray | None) -> None:
        """The selection changed: the outline is traced again when next needed."""
        old = self.view_rect()
        self._mask = mask
        self._path = None if mask is not None else QPainterPath()
        if mask is None:
            self._box = QRectF()
        self._update_timer()
        self.canvas.viewport().update(old)

    def path(self) -> QPainterPath:
        """The outline in document coordinates (empty when nothing is selected)."""
        if self._path is None:
            self._path = contours_to_path(*outline(self._mask))
            self._box = self._path.boundingRect()
        return self._path

    @property
    def empty(self) -> bool:
        return self.path().isEmpty()

    @property
    def hidden(self) -> bool:
        return bool(self._hidden_by)

    def set_hidden(self, hidden: bool, reason: str = "") -> None:
        """Hide the ants (for `reason`); they show again when no reason is left."""
        before = self.hidden
        if hidden:
            self._hidden_by.add(reason)
        else:
            self._hidden_by.discard(reason)
        if self.hidden != before:
            self._update_timer()
            self.canvas.viewport().update(self.view_rect())

    def _update_timer(self) -> None:
        if self._mask is not None and not self.hidden:
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.timer.stop()

    def view_rect(self) -> QRect:
        """The outline's bounding box in viewport coordinates, padded a little."""
        self.path()
        if self._box.isEmpty():
            return QRect()
        c = self.canvas
        tl = c.doc_to_view(self._box.topLeft())
        br = c.doc_to_view(self._box.bottomRight())
        return QRectF(tl, br).normalized().toAlignedRect().adjusted(-2, -2, 2, 2)

    # ---- drawing -----------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self.canvas.isVisible():
            return
        self.offset = (self.offset + 1) % (2 * DASH)
        vp = self.canvas.viewport()
        rect = self.view_rect().intersected(vp.rect())
        if not rect.isEmpty():
            vp.update(rect)

    def paint(self, p: QPainter) -> None:
        if self.hidden or self._mask is None:
            return
        path = self.path()
        if path.isEmpty():
            return
        c = self.canvas
        s = c.scale
        o = c.doc_to_view(QPointF(0, 0))
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.translate(o)
        p.scale(s, s)
        p.setBrush(Qt.BrushStyle.NoBrush)
        t0 = time.perf_counter()
        draw_dashed(p, path, self.offset)
        p.restore()
        # An outline of a million points (a wand on noise) is slow to stroke: march slower
        # rather than keep the UI thread busy.
        cost_ms = (time.perf_counter() - t0) * 1000.0
        self.timer.setInterval(int(min(1000.0, max(FPS_INTERVAL_MS, 8.0 * cost_ms))))


def draw_dashed(p: QPainter, path: QPainterPath, offset: float = 0.0) -> None:
    """The ants' look: a white line with black dashes, 1 screen pixel wide at any zoom."""
    white = QPen(QColor(255, 255, 255), 0)
    white.setCosmetic(True)
    p.setPen(white)
    p.drawPath(path)
    black = QPen(QColor(0, 0, 0), 0)
    black.setCosmetic(True)
    black.setDashPattern([DASH, DASH])
    black.setDashOffset(offset)
    p.setPen(black)
    p.drawPath(path)

