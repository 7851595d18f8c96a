"""Canvas tools. Each turns pointer events (in document coordinates) into document edits
through the core's intent methods, or into view changes (pan, zoom)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainter

from ...core.brush import Stroke
from ...core.layer import Layer

if TYPE_CHECKING:
    from .view import CanvasView

Mod = Qt.KeyboardModifier


@dataclass
class PointerEvent:
    x: float                        # document coordinates
    y: float
    pressure: float                 # 0..1; the mouse gives 1.0
    view_pos: QPointF               # logical viewport coordinates
    button: Qt.MouseButton = Qt.MouseButton.LeftButton
    modifiers: Qt.KeyboardModifier = Mod.NoModifier


class Tool:
    name = "tool"
    cursor = Qt.CursorShape.ArrowCursor
    shows_brush_outline = False

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    @property
    def doc(self):  # the canvas' Document
        return self.canvas.doc

    def press(self, ev: PointerEvent) -> None: ...

    def move(self, ev: PointerEvent) -> None: ...

    def release(self, ev: PointerEvent) -> None: ...

    def cancel(self) -> None: ...

    def finish(self) -> None:
        """End what is in progress, keeping its result (tool switch, save)."""
        self.cancel()

    def hover(self, ev: PointerEvent) -> None:
        """The pointer moved with no button down."""

    def double_click(self, ev: PointerEvent) -> bool:
        """A double click; False lets it count as a second press."""
        return False

    def key(self, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> bool:
        """Enter / Backspace while the canvas has the keyboard; True when used."""
        return False

    def activate(self) -> None:
        """The tool became the current one."""

    def revert(self) -> bool:
        """Drop unrecorded work (Undo pressed); True when there was some."""
        return False

    def paint_overlay(self, p: QPainter) -> None:
        """Draw on top of the canvas, in viewport coordinates."""

    @property
    def busy(self) -> bool:
        return False

    def paint_layer(self, verb: str = "paint on") -> Layer | None:
        """The active layer if `verb` ("paint on", "move"...) can act on it; otherwise say why
        in the status bar ("\u201cSky\u201d is hidden: show it to paint on it") and return None."""
        doc = self.doc
        if doc is None:
            return None
        problem = doc.paint_problem(verb, needs_alpha=verb == "paint on")
        if problem is not None:
            self.canvas.notify(problem)
            return None
        return doc.active_layer


class BrushTool(Tool):
    """Freehand strokes; Shift-click draws a straight line from the last stroke's end,
    Ctrl-click picks a colour (brush only)."""

    shows_brush_outline = True
    cursor = Qt.CursorShape.BlankCursor

    def __init__(self, canvas: CanvasView, name: str = "brush") -> None:
        super().__init__(canvas)
        self.name = name
        self.stroke: Stroke | None = None
        self._picking = False
        self._last_end: tuple[float, float, float] | None = None

    @property
    def busy(self) -> bool:
        return self.stroke is not None or self._picking

    def press(self, ev: PointerEvent) -> None:
        if self.name == "brush" and ev.modifiers & Mod.ControlModifier:
            self._picking = True
            self.canvas.tools["picker"].pick(ev)
            return
        brush = self.canvas.state.stroke_brush(self.name)
        qm = self.canvas.quick_mask
        if qm.active:  # paint the selection: white adds, the eraser takes away
            doc, layer = qm.doc, qm.layer
            brush = brush.with_(color=(255, 255, 255))
        else:
            doc, layer = self.doc, self.paint_layer()
        if layer is None or doc is None:
            return
        if ev.modifiers & Mod.ShiftModifier and self._last_end is not None:
            x0, y0, p0 = self._last_end
            self.stroke = Stroke(doc, layer, brush, x0, y0, p0, respect_selection=not qm.active)
            self.stroke.move(ev.x, ev.y, ev.pressure)
        else:
            self.stroke = Stroke(doc, layer, brush, ev.x, ev.y, ev.pressure,
                                 respect_selection=not qm.active)

    def move(self, ev: PointerEvent) -> None:
        if self._picking:
            self.canvas.tools["picker"].pick(ev)
        elif self.stroke is not None:
            self.stroke.move(ev.x, ev.y, ev.pressure)
            self._last_end = (ev.x, ev.y, ev.pressure)

    def release(self, ev: PointerEvent) -> None:
        if self._picking:
            self._picking = False
            return
        if self.stroke is not None:
            stroke, self.stroke = self.stroke, None
            stroke.end(ev.x, ev.y, ev.pressure)
            self._last_end = (ev.x, ev.y, ev.pressure)
            if not stroke.brush.eraser and stroke.doc is self.doc:
                self.canvas.painted.emit(stroke.brush.color)

    def cancel(self) -> None:
        self._picking = False
        if self.stroke is not None:
            stroke, self.stroke = self.stroke, None
            stroke.cancel()

    def finish(self) -> None:
        self._picking = False
        if self.stroke is not None:
            stroke, self.stroke = self.stroke, None
            stroke.end()


class FillTool(Tool):
    name = "fill"
    cursor = Qt.CursorShape.CrossCursor

    def press(self, ev: PointerEvent) -> None:
        from ...core.fill import flood_fill  # scipy: not needed at startup

        if self.canvas.quick_mask.active:
            self.canvas.notify("Fill: paint the quick mask with the brush and eraser")
            return
        layer = self.paint_layer()
        if layer is None:
            return
        st = self.canvas.state
        rect = flood_fill(self.doc, layer, math.floor(ev.x), math.floor(ev.y), st.foreground,
                          tolerance=st.fill_tolerance, contiguous=st.fill_contiguous,
                          sample_merged=st.fill_sample_merged)
        if rect.empty:
            self.canvas.notify("Fill: nothing to fill there")
        else:
            self.canvas.painted.emit(st.foreground)


class PickerTool(Tool):
    """Sets the foreground colour from the picture (or the active layer only)."""

    name = "picker"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._down = False

    def pick(self, ev: PointerEvent) -> tuple[int, int, int, int] | None:
        from ...core.fill import pick_color

        doc = self.doc
        x, y = math.floor(ev.x), math.floor(ev.y)
        if doc is None or not doc.rect.contains(x, y):
            return None
        st = self.canvas.state
        layer = None if st.picker_sample_merged else doc.active_layer
        rgba = pick_color(doc, x, y, layer)
        if rgba[3] > 0:
            st.set_foreground(rgba[:3])
        return rgba

    def press(self, ev: PointerEvent) -> None:
        self._down = True
        self.pick(ev)

    def move(self, ev: PointerEvent) -> None:
        if self._down:
            self.pick(ev)

    def release(self, ev: PointerEvent) -> None:
        self._down = False


class MoveTool(Tool):
    """Drags the active layer; the whole drag is one undo step (merged offset changes)."""

    name = "move"
    cursor = Qt.CursorShape.SizeAllCursor

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._start: tuple[float, float] | None = None
        self._offset0 = (0, 0)
        self._layer: Layer | None = None

    @property
    def busy(self) -> bool:
        return self._layer is not None

    def press(self, ev: PointerEvent) -> None:
        layer = self.paint_layer("move")
        if layer is None:
            return
        self._layer, self._start, self._offset0 = layer, (ev.x, ev.y), layer.offset
        self.doc.history.break_merge()

    def move(self, ev: PointerEvent) -> None:
        if self._layer is None or self._start is None:
            return
        dx = round(ev.x - self._start[0])
        dy = round(ev.y - self._start[1])
        new = (self._offset0[0] + dx, self._offset0[1] + dy)
        self.doc.set_props(self._layer, offset=new, mergeable=True)

    def release(self, ev: PointerEvent) -> None:
        if self._layer is not None:
            self.move(ev)
            self.doc.history.break_merge()
        self._layer = None

    def cancel(self) -> None:
        if self._layer is not None:
            self.doc.set_props(self._layer, offset=self._offset0, mergeable=True)
            self.doc.history.break_merge()
        self._layer = None

    def finish(self) -> None:
        if self._layer is not None:
            self.doc.history.break_merge()
        self._layer = None


class HandTool(Tool):
    name = "hand"
    cursor = Qt.CursorShape.OpenHandCursor

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._last: QPointF | None = None

    @property
    def busy(self) -> bool:
        return self._last is not None

    def press(self, ev: PointerEvent) -> None:
        self._last = QPointF(ev.view_pos)
        self.canvas.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, ev: PointerEvent) -> None:
        if self._last is not None:
            d = ev.view_pos - self._last
            self._last = QPointF(ev.view_pos)
            self.canvas.pan_by(d.x(), d.y())

    def release(self, ev: PointerEvent) -> None:
        self._last = None
        self.canvas.update_cursor()

    def cancel(self) -> None:
        self._last = None
        self.canvas.update_cursor()


class ZoomTool(Tool):
    """Click zooms in about the point; Alt-click or right-click zooms out."""

    name = "zoom"
    cursor = Qt.CursorShape.CrossCursor

    def press(self, ev: PointerEvent) -> None:
        out = bool(ev.modifiers & Mod.AltModifier) or ev.button == Qt.MouseButton.RightButton
        self.canvas.zoom_step(-1 if out else 1, ev.view_pos)


def make_tools(canvas: CanvasView) -> dict[str, Tool]:
    from .selection_tools import make_selection_tools
    from .transform_tool import TransformTool

    return {
        "brush": BrushTool(canvas, "brush"),
        "eraser": BrushTool(canvas, "eraser"),
        "fill": FillTool(canvas),
        "picker": PickerTool(canvas),
        "move": MoveTool(canvas),
        "transform": TransformTool(canvas),
        **make_selection_tools(canvas),
        "hand": HandTool(canvas),
        "zoom": ZoomTool(canvas),
    }
