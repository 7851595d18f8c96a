"""Selection tools: rectangle and ellipse marquee, freehand and polygonal lasso, magic wand
(and Select Object, object_tool.py).

Modifiers held at the press choose how the new shape combines with the selection, as in
Photoshop: Shift adds, Alt subtracts, Shift+Alt intersects. During a marquee drag Shift makes
a square / circle and Alt draws from the centre. A click without a drag (marquee, lasso)
deselects. Each finished shape is one undo step (`Document.set_selection`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from ...core import selection as sel
from ...core.geometry import Rect
from ...core.selection import Op
from .ants import draw_dashed
from .tools import PointerEvent, Tool

if TYPE_CHECKING:
    from .view import CanvasView

Mod = Qt.KeyboardModifier
CLICK_PX = 3      # a press and release closer than this (screen pixels) is a click
CLOSE_PX = 7      # clicking this near the polygon's first point closes it


def op_for(mods: Qt.KeyboardModifier) -> Op:
    shift, alt = bool(mods & Mod.ShiftModifier), bool(mods & Mod.AltModifier)
    if shift and alt:
        return Op.INTERSECT
    if shift:
        return Op.ADD
    return Op.SUBTRACT if alt else Op.REPLACE


class SelectionTool(Tool):
    cursor = Qt.CursorShape.CrossCursor
    text = "Select"
    feathers = True     # the Feather option applies to its shapes

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.op = Op.REPLACE

    def begin(self, ev: PointerEvent) -> bool:
        """Start a shape: the document must be there; quick mask ends (the selection is what
        these tools edit). Remembers the combine mode from the modifiers."""
        if self.doc is None:
            return False
        qm = self.canvas.quick_mask
        if qm.active:
            qm.leave()
            self.canvas.notify("Quick mask off: the selection tools edit the selection")
        self.op = op_for(ev.modifiers)
        return True

    def apply(self, shape: np.ndarray, text: str | None = None) -> None:
        """Combine `shape` with the selection by the press's mode: one undo step."""
        doc = self.doc
        feather = self.canvas.state.select_feather if self.feathers else 0.0
        if feather > 0:
            shape = sel.feather(shape, feather)
        new = sel.combine(doc.selection, shape, self.op)
        cur = doc.selection
        if (cur is None and not new.any()) or (cur is not None and np.array_equal(cur, new)):
            return
        doc.set_selection(new, text or self.text)

    def click(self) -> None:
        """A click without a drag: deselect (new-selection mode only, as in Photoshop)."""
        if self.op is Op.REPLACE and self.doc is not None and self.doc.selection is not None:
            self.doc.set_selection(None, "Deselect")

    def update_view(self, doc_rect: QRectF) -> None:
        c = self.canvas
        a = c.doc_to_view(doc_rect.topLeft())
        b = c.doc_to_view(doc_rect.bottomRight())
        self.canvas.viewport().update(QRectF(a, b).normalized().toAlignedRect()
                                      .adjusted(-3, -3, 3, 3))

    def draw_doc_path(self, p: QPainter, path: QPainterPath) -> None:
        """Draw a document-coordinates path as ants (1 screen pixel at any zoom)."""
        c = self.canvas
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.translate(c.doc_to_view(QPointF(0, 0)))
        p.scale(c.scale, c.scale)
        p.setBrush(Qt.BrushStyle.NoBrush)
        draw_dashed(p, path)
        p.restore()


class MarqueeTool(SelectionTool):
    """Rectangle or ellipse marquee, snapped to the pixel grid."""

    def __init__(self, canvas: CanvasView, ellipse: bool) -> None:
        super().__init__(canvas)
        self.ellipse = ellipse
        self.name = "ellipse_select" if ellipse else "rect_select"
        self.text = "Ellipse select" if ellipse else "Rectangle select"
        self._start: QPointF | None = None
        self._cur = QPointF()
        self._start_view = QPointF()
        self._mods = Mod.NoModifier

    @property
    def busy(self) -> bool:
        return self._start is not None

    def box(self) -> QRectF:
        """The shape's box in document coordinates (integer corners)."""
        if self._start is None:
            return QRectF()
        x0, y0 = round(self._start.x()), round(self._start.y())
        dx, dy = round(self._cur.x()) - x0, round(self._cur.y()) - y0
        if self._mods & Mod.ShiftModifier:
            side = max(abs(dx), abs(dy))
            dx, dy = int(math.copysign(side, dx)), int(math.copysign(side, dy))
        if self._mods & Mod.AltModifier:
            return QRectF(QPointF(x0 - dx, y0 - dy), QPointF(x0 + dx, y0 + dy)).normalized()
        return QRectF(QPointF(x0, y0), QPointF(x0 + dx, y0 + dy)).normalized()

    def press(self, ev: PointerEvent) -> None:
        if not self.begin(ev):
            return
        self._start = QPointF(ev.x, ev.y)
        self._cur = QPointF(ev.x, ev.y)
        self._start_view = QPointF(ev.view_pos)
        self._mods = ev.modifiers

    def move(self, ev: PointerEvent) -> None:
        if self._start is None:
            return
        old = self.box()
        self._cur, self._mods = QPointF(ev.x, ev.y), ev.modifiers
        self.update_view(old.united(self.box()))

    def release(self, ev: PointerEvent) -> None:
        if self._start is None:
            return
        self.move(ev)
        d = ev.view_pos - self._start_view
        if math.hypot(d.x(), d.y()) < CLICK_PX:
            self._start = None
            self.click()
            return
        self._commit()

    def _commit(self) -> None:
        box = self.box()
        self._start = None
        self.update_view(box)
        doc = self.doc
        if box.width() < 1 or box.height() < 1:
            return
        x0, y0 = int(box.left()), int(box.top())
        x1, y1 = int(box.right()), int(box.bottom())
        if self.ellipse:
            shape = sel.ellipse_mask(doc.width, doc.height, x0, y0, x1, y1)
        else:
            shape = sel.rect_mask(doc.width, doc.height, Rect.from_edges(x0, y0, x1, y1))
        self.apply(shape)

    def cancel(self) -> None:
        if self._start is not None:
            box = self.box()
            self._start = None
            self.update_view(box)

    def finish(self) -> None:
        if self._start is not None:
            self._commit()

    def paint_overlay(self, p: QPainter) -> None:
        if self._start is None:
            return
        path = QPainterPath()
        box = self.box()
        if self.ellipse:
            path.addEllipse(box)
        else:
            path.addRect(box)
        self.draw_doc_path(p, path)


class LassoTool(SelectionTool):
    """Freehand lasso: the path closes itself on release; loops follow the even-odd rule."""

    name = "lasso"
    text = "Lasso select"

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._pts: list[tuple[float, float]] = []
        self._path = QPainterPath()
        self._origin = QPointF()
        self._reach = 0.0            # farthest the pointer went, to tell a click from a drag

    @property
    def busy(self) -> bool:
        return bool(self._pts)

    def press(self, ev: PointerEvent) -> None:
        if not self.begin(ev):
            return
        self._pts = [(ev.x, ev.y)]
        self._path = QPainterPath(QPointF(ev.x, ev.y))
        self._origin, self._reach = QPointF(ev.view_pos), 0.0

    def move(self, ev: PointerEvent) -> None:
        if not self._pts:
            return
        last = QPointF(*self._pts[-1])
        self._pts.append((ev.x, ev.y))
        self._path.lineTo(ev.x, ev.y)
        self._reach = max(self._reach, _dist(self._origin, ev.view_pos))
        self.update_view(QRectF(last, QPointF(ev.x, ev.y)).normalized())

    def release(self, ev: PointerEvent) -> None:
        if not self._pts:
            return
        self.move(ev)
        if len(self._pts) < 3 or self._reach < CLICK_PX:
            self._clear()
            self.click()
            return
        self._commit()

    def _commit(self) -> None:
        pts = self._pts
        self._clear()
        doc = self.doc
        if len(pts) >= 3:
            self.apply(sel.polygon_mask(doc.width, doc.height, np.asarray(pts)))

    def _clear(self) -> None:
        box = self._path.boundingRect()
        self._pts = []
        self._path = QPainterPath()
        self.update_view(box)

    def cancel(self) -> None:
        if self._pts:
            self._clear()

    def finish(self) -> None:
        if self._pts:
            self._commit()

    def paint_overlay(self, p: QPainter) -> None:
        if self._pts:
            self.draw_doc_path(p, self._path)


class PolygonLassoTool(SelectionTool):
    """Click corner after corner; double-click, Enter or a click on the first point closes,
    Backspace takes back the last corner, Escape gives up. Shift snaps to 45°."""

    name = "polygon_lasso"
    text = "Polygon select"

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.points: list[tuple[float, float]] = []
        self._hover: tuple[float, float] | None = None

    def press(self, ev: PointerEvent) -> None:
        if not self.points:
            if not self.begin(ev):
                return
            self.points = [(ev.x, ev.y)]
            self._hover = (ev.x, ev.y)
            self._refresh()
            return
        first = self.canvas.doc_to_view(QPointF(*self.points[0]))
        if len(self.points) >= 3 and _dist(first, ev.view_pos) <= CLOSE_PX:
            self.close()
            return
        self.points.append(self._snapped(ev))
        self._refresh()

    def _snapped(self, ev: PointerEvent) -> tuple[float, float]:
        if ev.modifiers & Mod.ShiftModifier and self.points:
            return snap45(*self.points[-1], ev.x, ev.y)
        return (ev.x, ev.y)

    def hover(self, ev: PointerEvent) -> None:
        if self.points:
            self._refresh()
            self._hover = self._snapped(ev)
            self._refresh()

    def double_click(self, ev: PointerEvent) -> bool:
        """Closes. The double click's first press normally placed its corner already."""
        if not self.points:
            return False
        last = self.canvas.doc_to_view(QPointF(*self.points[-1]))
        if _dist(last, ev.view_pos) > CLICK_PX:
            self.points.append(self._snapped(ev))
        self.close()
        return True

    def key(self, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> bool:
        if not self.points:
            return False
        if key == Qt.Key.Key_Backspace:
            self._refresh()
            self.points.pop()
            self._refresh()
        else:
            self.close()
        return True

    def close(self) -> None:
        """Close the polygon and make it the selection (one undo step)."""
        pts = self.points
        self._drop()
        if len(pts) >= 3 and self.doc is not None:
            self.apply(sel.polygon_mask(self.doc.width, self.doc.height, np.asarray(pts)))

    def _drop(self) -> None:
        self._refresh()
        self.points = []
        self._hover = None

    def cancel(self) -> None:
        if self.points:
            self._drop()

    def finish(self) -> None:
        if self.points:
            self.close()

    def revert(self) -> bool:
        if not self.points:
            return False
        self._drop()
        return True

    def _outline(self) -> QPainterPath:
        path = QPainterPath(QPointF(*self.points[0]))
        for x, y in self.points[1:]:
            path.lineTo(x, y)
        if self._hover is not None:
            path.lineTo(*self._hover)
        return path

    def _refresh(self) -> None:
        if self.points:
            self.update_view(self._outline().boundingRect())

    def paint_overlay(self, p: QPainter) -> None:
        if not self.points:
            return
        self.draw_doc_path(p, self._outline())
        c = self.canvas
        first = c.doc_to_view(QPointF(*self.points[0]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(QPen(QColor(0, 0, 0), 1))
        p.setBrush(QColor(255, 255, 255))
        p.drawRect(QRect(round(first.x()) - 3, round(first.y()) - 3, 6, 6))


class WandTool(SelectionTool):
    """Magic wand: pixels like the clicked one (tolerance, contiguous, layer or merged)."""

    name = "wand"
    text = "Magic wand"
    feathers = False

    def press(self, ev: PointerEvent) -> None:
        if not self.begin(ev):
            return
        doc, st = self.doc, self.canvas.state
        x, y = math.floor(ev.x), math.floor(ev.y)
        if not doc.rect.contains(x, y):
            return
        layer = doc.active_layer
        if st.wand_sample_merged or layer is None:
            image = doc.flatten()
        else:
            image = layer.read(doc.rect)
        shape = sel.magic_wand(image, x, y, st.wand_tolerance, st.wand_contiguous,
                               st.wand_antialias)
        self.apply(shape)


def snap45(x0: float, y0: float, x: float, y: float) -> tuple[float, float]:
    """(x, y) moved onto the nearest 45° ray from (x0, y0), keeping its distance."""
    dx, dy = x - x0, y - y0
    d = math.hypot(dx, dy)
    a = round(math.atan2(dy, dx) / (math.pi / 4)) * (math.pi / 4)
    return x0 + d * math.cos(a), y0 + d * math.sin(a)


def _dist(a: QPointF, b: QPointF) -> float:
    return math.hypot(a.x() - b.x(), a.y() - b.y())


def make_selection_tools(canvas: CanvasView) -> dict[str, Tool]:
    from .object_tool import ObjectSelectTool

    return {
        "rect_select": MarqueeTool(canvas, ellipse=False),
        "ellipse_select": MarqueeTool(canvas, ellipse=True),
        "lasso": LassoTool(canvas),
        "polygon_lasso": PolygonLassoTool(canvas),
        "wand": WandTool(canvas),
        "select_object": ObjectSelectTool(canvas),
    }
