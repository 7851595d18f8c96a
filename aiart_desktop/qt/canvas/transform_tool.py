"""Free transform (Ctrl+T): move, scale and rotate the selected pixels (or the whole active
layer) with a box of eight handles; Enter or a double-click commits one undo step, Escape
puts everything back exactly, switching tools commits.

Drag inside the box to move, a handle to scale (Shift keeps the proportions), outside the
box to rotate about its centre (Shift snaps to 15°). The layer shows the result live through
`TransformSession.update`, at most once per pass of the event loop.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

from ...core.geometry import Rect
from ...core.selection import bounds
from ...core.transform import TransformSession, affine
from .tools import PointerEvent, Tool

if TYPE_CHECKING:
    from .view import CanvasView

Mod = Qt.KeyboardModifier
HANDLE_PX = 7         # handle square size, screen pixels
GRAB_PX = 8           # how near a handle a press must be to take it
HANDLES = ((-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0))
CURSORS = {(0, -1): Qt.CursorShape.SizeVerCursor, (0, 1): Qt.CursorShape.SizeVerCursor,
           (-1, 0): Qt.CursorShape.SizeHorCursor, (1, 0): Qt.CursorShape.SizeHorCursor,
           (-1, -1): Qt.CursorShape.SizeFDiagCursor, (1, 1): Qt.CursorShape.SizeFDiagCursor,
           (1, -1): Qt.CursorShape.SizeBDiagCursor, (-1, 1): Qt.CursorShape.SizeBDiagCursor}


class TransformTool(Tool):
    name = "transform"
    cursor = Qt.CursorShape.SizeAllCursor

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.session: TransformSession | None = None
        self.dx = self.dy = 0.0
        self.sx = self.sy = 1.0
        self.angle = 0.0
        self._drag: tuple | None = None     # (mode, handle, press point, start params)
        self._pending = False
        self._source_key: tuple | None = None
        self._source = Rect(0, 0, 0, 0)
        self._flush = QTimer(canvas, singleShot=True, interval=0)
        self._flush.timeout.connect(self.apply_pending)

    # ---- the source and the matrix -----------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._drag is not None

    def source(self) -> Rect:
        """What the box surrounds: the open session's source, or what one would take."""
        if self.session is not None:
            return self.session.source
        doc = self.doc
        layer = doc.active_layer if doc is not None else None
        if layer is None:
            return Rect(0, 0, 0, 0)
        key = (id(doc), doc.revision, id(layer))
        if self._source_key != key:   # bounds scan the pixels: once per document change
            r = layer.bounds()
            if doc.selection is not None:
                r = bounds(doc.selection).intersect(r)
            self._source_key, self._source = key, r
        return self._source

    def matrix(self) -> np.ndarray:
        r = self.source()
        return affine(self.dx, self.dy, self.sx, self.sy, self.angle,
                      r.x + r.w / 2.0, r.y + r.h / 2.0)

    @property
    def changed(self) -> bool:
        return not np.allclose(self.matrix(), affine())

    def corners(self) -> list[QPointF]:
        """The box's corners (clockwise from top-left) in document coordinates."""
        r = self.source()
        m = self.matrix()
        pts = [(r.x, r.y), (r.right, r.y), (r.right, r.bottom), (r.x, r.bottom)]
        return [QPointF(m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2])
                for x, y in pts]

    def handle_pos(self, h: tuple[int, int]) -> QPointF:
        r = self.source()
        m = self.matrix()
        x = r.x + r.w * (h[0] + 1) / 2.0
        y = r.y + r.h * (h[1] + 1) / 2.0
        return QPointF(m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2])

    def centre(self) -> QPointF:
        r = self.source()
        return QPointF(r.x + r.w / 2.0 + self.dx, r.y + r.h / 2.0 + self.dy)

    # ---- session -------------------------------------------------------------------------------
    def start(self) -> bool:
        if self.session is not None:
            return True
        layer = self.paint_layer("transform")
        if layer is None:
            return False
        if self.canvas.quick_mask.active:
            self.canvas.quick_mask.leave()
        session = TransformSession(self.doc, layer)
        if session.empty:
            self.canvas.notify("Transform: nothing to transform on this layer")
            return False
        self.session = session
        self.canvas.ants.set_hidden(True, "transform")   # the box shows what moves
        self._reset_params()
        return True

    def _reset_params(self) -> None:
        if self.session is None:
            self.canvas.ants.set_hidden(False, "transform")
        self.dx = self.dy = 0.0
        self.sx = self.sy = 1.0
        self.angle = 0.0
        self._publish()

    def apply_pending(self) -> None:
        """Show the latest matrix on the layer (coalesced: one update per event-loop pass)."""
        if self._pending and self.session is not None:
            self._pending = False
            self.session.update(self.matrix())

    def _changed(self, old_view: QRectF) -> None:
        self._pending = True
        if not self._flush.isActive():
            self._flush.start()
        self._publish()
        self._update_box(old_view)

    def commit(self) -> None:
        """Enter: record the transform as one undo step (nothing when it is unchanged)."""
        session = self.session
        if session is None:
            return
        old = self.box_view_rect()
        self._flush.stop()
        self.apply_pending()
        self.session = None
        if self.changed:
            session.commit()
        else:
            session.cancel()
        self._drag = None
        self._reset_params()
        self._update_box(old)

    def cancel(self) -> None:
        """Escape: put the layer and the selection back exactly; nothing is recorded."""
        if self.session is None:
            self._drag = None
            return
        old = self.box_view_rect()
        self._flush.stop()
        self._pending = False
        session, self.session = self.session, None
        session.cancel()
        self._drag = None
        self._reset_params()
        self._update_box(old)

    def finish(self) -> None:
        self.commit()

    def revert(self) -> bool:
        if self.session is None or not self.changed:
            return False
        self.cancel()
        return True

    def activate(self) -> None:
        self._reset_params()
        self.canvas.viewport().update()

    def key(self, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> bool:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.session is not None:
            self.commit()
            return True
        return False

    def double_click(self, ev: PointerEvent) -> bool:
        if self.session is None:
            return False
        self.commit()
        return True

    def _publish(self) -> None:
        info = (self.sx, self.sy, self.angle) if self.session is not None else None
        self.canvas.state.transform_changed.emit(info)

    # ---- pointer -------------------------------------------------------------------------------
    def hit(self, view_pos: QPointF) -> tuple[str, tuple[int, int] | None]:
        c = self.canvas
        for h in HANDLES:
            p = c.doc_to_view(self.handle_pos(h))
            if max(abs(p.x() - view_pos.x()), abs(p.y() - view_pos.y())) <= GRAB_PX:
                return "scale", h
        poly = QPolygonF([c.doc_to_view(p) for p in self.corners()])
        if poly.containsPoint(view_pos, Qt.FillRule.OddEvenFill):
            return "move", None
        return "rotate", None

    def hover(self, ev: PointerEvent) -> None:
        if self.source().empty:
            return
        mode, h = self.hit(ev.view_pos)
        shape = (CURSORS[h] if mode == "scale" and h is not None else
                 Qt.CursorShape.SizeAllCursor if mode == "move" else
                 Qt.CursorShape.CrossCursor)
        self.canvas.viewport().setCursor(shape)

    def press(self, ev: PointerEvent) -> None:
        if not self.start():
            return
        mode, h = self.hit(ev.view_pos)
        self._drag = (mode, h, (ev.x, ev.y), (self.dx, self.dy, self.sx, self.sy, self.angle))

    def move(self, ev: PointerEvent) -> None:
        if self._drag is None:
            return
        old = self.box_view_rect()
        mode, h, (px, py), (dx0, dy0, sx0, sy0, a0) = self._drag
        shift = bool(ev.modifiers & Mod.ShiftModifier)
        if mode == "move":
            self.dx, self.dy = dx0 + round(ev.x - px), dy0 + round(ev.y - py)
        elif mode == "rotate":
            r = self.source()
            cx, cy = r.x + r.w / 2.0 + dx0, r.y + r.h / 2.0 + dy0
            delta = math.degrees(math.atan2(ev.y - cy, ev.x - cx)
                                 - math.atan2(py - cy, px - cx))
            angle = a0 + delta
            if shift:
                angle = round(angle / 15.0) * 15.0
            self.angle = (angle + 180.0) % 360.0 - 180.0
        elif h is not None:
            self._scale(h, ev.x, ev.y, (dx0, dy0, sx0, sy0), shift)
        self._changed(old)

    def _scale(self, h: tuple[int, int], x: float, y: float,
               start: tuple[float, float, float, float], keep_ratio: bool) -> None:
        """Drag handle `h` to (x, y): the opposite side stays where it is."""
        dx0, dy0, sx0, sy0 = start
        r = self.source()
        hw, hh = max(r.w, 1) / 2.0, max(r.h, 1) / 2.0
        cx0, cy0 = r.x + hw + dx0, r.y + hh + dy0
        a = math.radians(self.angle)
        cos, sin = math.cos(a), math.sin(a)
        # the pointer in the box's own (unrotated) frame, about its centre
        ux = cos * (x - cx0) + sin * (y - cy0)
        uy = -sin * (x - cx0) + cos * (y - cy0)
        hx, hy = h
        fx, fy = -hx * hw * sx0, -hy * hh * sy0      # the fixed side / corner
        sx = (ux - fx) / (2 * hx * hw) if hx else sx0
        sy = (uy - fy) / (2 * hy * hh) if hy else sy0
        if keep_ratio:
            kx, ky = sx / sx0, sy / sy0
            k = kx if (hx and (not hy or abs(kx) >= abs(ky))) else ky
            sx, sy = sx0 * k, sy0 * k
        sx = math.copysign(max(abs(sx), 1.0 / (2 * hw)), sx)
        sy = math.copysign(max(abs(sy), 1.0 / (2 * hh)), sy)
        mx = fx + hx * hw * sx if hx else 0.0     # the new centre in the box's frame
        my = fy + hy * hh * sy if hy else 0.0
        self.sx, self.sy = sx, sy
        self.dx = dx0 + cos * mx - sin * my
        self.dy = dy0 + sin * mx + cos * my

    def release(self, ev: PointerEvent) -> None:
        if self._drag is None:
            return
        self.move(ev)
        self._drag = None
        self._flush.stop()
        self.apply_pending()

    # ---- drawing -------------------------------------------------------------------------------
    def box_view_rect(self) -> QRectF:
        if self.source().empty:
            return QRectF()
        c = self.canvas
        poly = QPolygonF([c.doc_to_view(p) for p in self.corners()])
        return poly.boundingRect().adjusted(-HANDLE_PX - 2, -HANDLE_PX - 2,
                                            HANDLE_PX + 2, HANDLE_PX + 2)

    def _update_box(self, old: QRectF) -> None:
        self.canvas.viewport().update(old.united(self.box_view_rect()).toAlignedRect())

    def paint_overlay(self, p: QPainter) -> None:
        if self.doc is None or self.source().empty:
            return
        c = self.canvas
        pts = [c.doc_to_view(q) for q in self.corners()]
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for color, width in ((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255), 1.0)):
            p.setPen(QPen(color, width))
            p.drawPolygon(QPolygonF(pts))
        p.setPen(QPen(QColor(0, 0, 0), 1))
        p.setBrush(QColor(255, 255, 255))
        s = HANDLE_PX
        for h in HANDLES:
            q = c.doc_to_view(self.handle_pos(h))
            p.drawRect(QRectF(q.x() - s / 2, q.y() - s / 2, s, s))
        ctr = c.doc_to_view(self.centre())
        p.drawEllipse(ctr, 3.0, 3.0)
        p.restore()
