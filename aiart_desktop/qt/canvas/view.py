"""The canvas view: shows the document through the display cache, zooms and pans, draws the
selection (marching ants, quick mask) and tool overlays, and feeds mouse and tablet input to
the current tool (view_input.py)."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from ...core.document import Document
from ...core.geometry import Rect
from ...core.selection import bounds
from ..theme import CANVAS_BACKDROP
from .ants import MarchingAnts
from .display import DisplayCache
from .quick_mask import QuickMask
from .state import ToolState
from .tools import Tool, make_tools
from .view_input import CanvasInput

MIN_ZOOM, MAX_ZOOM = 0.01, 32.0
ZOOM_STEPS = (0.01, 0.02, 0.03, 0.04, 0.05, 0.0625, 0.0833, 0.1, 0.125, 0.1667, 0.2, 0.25,
              0.3333, 0.5, 0.6667, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
PAN_MARGIN = 64       # logical pixels of canvas that always stay reachable
PAINT_BUDGET_S = 0.012  # compositing time one paint may spend; the rest follows next frame
CHECKER = 8           # logical size of a transparency checker square


class CanvasView(CanvasInput, QAbstractScrollArea):
    zoom_changed = Signal(float)
    cursor_moved = Signal(object)      # (x, y) document pixel, or None off the canvas
    message = Signal(str)              # a short explanation for the status bar
    status = Signal(str)               # a lasting status line ("" ends it), e.g. Select Object
    painted = Signal(object)           # (r, g, b) a stroke or fill just used

    def __init__(self, state: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.doc: Document | None = None
        self.cache: DisplayCache | None = None
        self.tools: dict[str, Tool] = make_tools(self)
        self._zoom = 1.0
        self._origin = QPointF(0, 0)     # logical viewport position of document (0, 0)
        self._syncing = False
        self._fit_pending = True
        self._fit_mode = False            # refit on resize until the user zooms or pans
        self._pan_last: QPointF | None = None
        self._space = False
        self._active_tool: Tool | None = None   # the tool that got the press
        self._hover: QPointF | None = None
        self._pressure = 1.0
        self._selection_box: Rect | None = None
        self._tool_name = state.tool
        self.ants = MarchingAnts(self)
        self.quick_mask = QuickMask(self)
        self._continue = QTimer(self, singleShot=True, interval=0)
        self._continue.timeout.connect(self.viewport().update)
        self._checker = _checker_brush()
        vp = self.viewport()
        vp.setMouseTracking(True)
        vp.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        vp.setAttribute(Qt.WidgetAttribute.WA_TabletTracking)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        state.tool_changed.connect(self._tool_changed)
        state.brush_changed.connect(self._update_outline)
        self.update_cursor()

    # ---- document --------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self.finish_tool()
        self.quick_mask.leave()
        if self.doc is not None:
            self.doc.pixels_changed.disconnect(self._pixels_changed)
            self.doc.size_changed.disconnect(self._size_changed)
            self.doc.selection_changed.disconnect(self._selection_changed)
        self.doc = doc
        self.cache = DisplayCache(doc) if doc is not None else None
        if doc is not None:
            doc.pixels_changed.connect(self._pixels_changed)
            doc.size_changed.connect(self._size_changed)
            doc.selection_changed.connect(self._selection_changed)
        self._selection_changed()
        self._fit_pending = True
        if self.viewport().width() > 1:
            self.fit()
        self.viewport().update()

    def _pixels_changed(self, rect: Rect) -> None:
        if self.cache is None:
            return
        self.cache.changed(rect)
        self.viewport().update(self.doc_rect_to_view(rect).toAlignedRect().adjusted(-2, -2, 2, 2))

    def _size_changed(self, _w: int, _h: int) -> None:
        if self.cache is not None:
            self.cache.reset()
        self._selection_changed()   # the canvas size change moved or cropped the selection
        self._update_scrollbars()
        self.viewport().update()

    def _selection_changed(self, _rect: object = None) -> None:
        sel = self.doc.selection if self.doc is not None else None
        box = bounds(sel) if sel is not None else None
        self._selection_box = None if box is None or box.empty else box
        self.ants.set_mask(sel)

    def flush(self) -> None:
        """Bring the whole display up to date now (tests, screenshots)."""
        if self.cache is not None and self.doc is not None:
            self.cache.ensure(self.doc.rect, DisplayCache.level_for(self._zoom))
        self.viewport().update()

    # ---- coordinates -----------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        """Device pixels per document pixel (100 % is one image pixel per screen pixel)."""
        return self._zoom

    @property
    def scale(self) -> float:
        """Logical (widget) pixels per document pixel."""
        return self._zoom / self.viewport().devicePixelRatioF()

    def view_to_doc(self, p: QPointF) -> QPointF:
        s = self.scale
        return QPointF((p.x() - self._origin.x()) / s, (p.y() - self._origin.y()) / s)

    def doc_to_view(self, p: QPointF) -> QPointF:
        s = self.scale
        return QPointF(self._origin.x() + p.x() * s, self._origin.y() + p.y() * s)

    def doc_rect_to_view(self, r: Rect) -> QRectF:
        s = self.scale
        return QRectF(self._origin.x() + r.x * s, self._origin.y() + r.y * s, r.w * s, r.h * s)

    def visible_doc_rect(self) -> Rect:
        if self.doc is None:
            return Rect(0, 0, 0, 0)
        vp = self.viewport().rect()
        a = self.view_to_doc(QPointF(vp.topLeft()))
        b = self.view_to_doc(QPointF(vp.right() + 1, vp.bottom() + 1))
        r = Rect.from_edges(math.floor(a.x()), math.floor(a.y()),
                            math.ceil(b.x()), math.ceil(b.y()))
        return r.intersect(self.doc.rect)

    # ---- zoom and pan ----------------------------------------------------------------------
    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom`, keeping the document point under `anchor` (view coords) fixed."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if anchor is None:
            anchor = QPointF(self.viewport().width() / 2, self.viewport().height() / 2)
        fixed = self.view_to_doc(anchor)
        self._zoom = zoom
        s = self.scale
        self._origin = QPointF(anchor.x() - fixed.x() * s, anchor.y() - fixed.y() * s)
        self._fit_pending = False
        self._fit_mode = False
        self._update_scrollbars()
        self.viewport().update()
        self.zoom_changed.emit(zoom)

    def set_view(self, zoom: float, origin_x: float, origin_y: float) -> None:
        """Set zoom and the viewport position of the document's top-left corner directly."""
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self._origin = QPointF(origin_x, origin_y)
        self._fit_pending = self._fit_mode = False
        self._update_scrollbars()
        self.viewport().update()
        self.zoom_changed.emit(self._zoom)

    def zoom_step(self, direction: int, anchor: QPointF | None = None) -> None:
        z = self._zoom
        if direction > 0:
            nxt = next((s for s in ZOOM_STEPS if s > z * 1.001), MAX_ZOOM)
        else:
            nxt = next((s for s in reversed(ZOOM_STEPS) if s < z / 1.001), MIN_ZOOM)
        self.set_zoom(nxt, anchor)

    def zoom_in(self) -> None:
        self.zoom_step(1)

    def zoom_out(self) -> None:
        self.zoom_step(-1)

    def actual_pixels(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Zoom so the whole canvas shows, centred, with a small margin."""
        if self.doc is None:
            return
        vp = self.viewport()
        dpr = vp.devicePixelRatioF()
        avail_w, avail_h = max(1, vp.width() - 32), max(1, vp.height() - 32)
        zoom = min(avail_w / self.doc.width, avail_h / self.doc.height) * dpr
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        s = self.scale
        self._origin = QPointF((vp.width() - self.doc.width * s) / 2,
                               (vp.height() - self.doc.height * s) / 2)
        self._fit_pending = False
        self._fit_mode = True
        self._update_scrollbars()
        vp.update()
        self.zoom_changed.emit(self._zoom)

    def pan_by(self, dx: float, dy: float) -> None:
        self._fit_mode = False
        self._origin = QPointF(self._origin.x() + dx, self._origin.y() + dy)
        self._update_scrollbars()
        self.viewport().update()

    def _scroll_ranges(self) -> tuple[tuple[int, int], tuple[int, int]]:
        vp = self.viewport()
        s = self.scale
        cw = self.doc.width * s if self.doc else 0
        ch = self.doc.height * s if self.doc else 0
        mx, my = min(PAN_MARGIN, cw), min(PAN_MARGIN, ch)
        return ((int(-(vp.width() - mx)), int(math.ceil(cw - mx))),
                (int(-(vp.height() - my)), int(math.ceil(ch - my))))

    def _update_scrollbars(self) -> None:
        (x0, x1), (y0, y1) = self._scroll_ranges()
        ox = min(-x0, max(-x1, self._origin.x()))
        oy = min(-y0, max(-y1, self._origin.y()))
        self._origin = QPointF(ox, oy)
        self._syncing = True
        try:
            for bar, lo, hi, val, page in (
                (self.horizontalScrollBar(), x0, x1, -ox, self.viewport().width()),
                (self.verticalScrollBar(), y0, y1, -oy, self.viewport().height()),
            ):
                bar.setRange(lo, hi)
                bar.setPageStep(max(1, page))
                bar.setSingleStep(20)
                bar.setValue(round(val))
        finally:
            self._syncing = False

    def _scrolled(self) -> None:
        if self._syncing:
            return
        self._fit_mode = False
        self._origin = QPointF(-self.horizontalScrollBar().value(),
                               -self.verticalScrollBar().value())
        self.viewport().update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if ((self._fit_pending or self._fit_mode) and self.doc is not None
                and self.viewport().width() > 1):
            self.fit()
        else:
            self._update_scrollbars()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._fit_pending and self.doc is not None:
            self.fit()

    # ---- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self.viewport())
        clip = QRectF(event.rect())
        p.fillRect(clip, CANVAS_BACKDROP)
        if self.doc is None or self.cache is None:
            return
        canvas = self.doc_rect_to_view(self.doc.rect)
        area = canvas.intersected(clip)
        if not area.isEmpty():
            a = self.view_to_doc(area.topLeft())
            b = self.view_to_doc(area.bottomRight())
            dr = Rect.from_edges(math.floor(a.x()), math.floor(a.y()),
                                 math.ceil(b.x()), math.ceil(b.y())).intersect(self.doc.rect)
            level = DisplayCache.level_for(self._zoom)
            if not self.cache.ensure(dr, level, PAINT_BUDGET_S):
                self._continue.start()
            p.setBrushOrigin(canvas.topLeft())
            p.fillRect(area, self._checker)
            sl = float(1 << level)
            src = QRectF(dr.x / sl, dr.y / sl, dr.w / sl, dr.h / sl)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1.0)
            p.drawImage(self.doc_rect_to_view(dr), self.cache.image(level), src)
            if self.quick_mask.active:
                self.quick_mask.paint(p, dr)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(QPen(QColor(20, 20, 20), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(canvas.adjusted(-1, -1, 0, 0))
        self.ants.paint(p)
        self.current_tool.paint_overlay(p)
        self._paint_outline(p)

    def _outline_radius(self) -> float:
        b = self.state.brush
        return b.size / 2.0 * self.scale

    def _paint_outline(self, p: QPainter) -> None:
        tool = self.tools.get(self.state.tool)
        if self._hover is None or tool is None or not tool.shows_brush_outline:
            return
        r = self._outline_radius()
        c = self._hover
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for color, rr in ((QColor(0, 0, 0, 170), r + 0.75), (QColor(255, 255, 255, 220), r)):
            p.setPen(QPen(color, 1))
            p.drawEllipse(c, max(rr, 1.0), max(rr, 1.0))
        if r < 6:  # a tiny brush: add crosshair ticks so the hot spot stays findable
            p.setPen(QPen(QColor(255, 255, 255, 220), 1))
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                p.drawLine(c + QPointF(dx * (r + 3), dy * (r + 3)),
                           c + QPointF(dx * (r + 8), dy * (r + 8)))

    def _outline_rect(self, at: QPointF | None) -> QRect:
        if at is None:
            return QRect()
        r = self._outline_radius() + 12
        return QRectF(at.x() - r, at.y() - r, 2 * r, 2 * r).toAlignedRect()

    def _update_outline(self) -> None:
        self.viewport().update(self._outline_rect(self._hover))


def _checker_brush() -> QBrush:
    pm = QPixmap(2 * CHECKER, 2 * CHECKER)
    pm.fill(QColor(204, 204, 204))
    p = QPainter(pm)
    p.fillRect(0, 0, CHECKER, CHECKER, QColor(153, 153, 153))
    p.fillRect(CHECKER, CHECKER, CHECKER, CHECKER, QColor(153, 153, 153))
    p.end()
    return QBrush(pm)
