"""The canvas' input half: mouse, tablet, wheel and keys go to the current tool (in document
coordinates), to panning, or to zoom; tool switches end what the previous tool was doing.

A mixin of CanvasView (view.py), which holds the document, the transforms and the tools.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QTabletEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
)

from .state import PAINT_TOOLS
from .tools import PointerEvent, Tool

if TYPE_CHECKING:
    from .view import CanvasView

    _Base = CanvasView
else:
    _Base = object

TOOL_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Backspace)


class CanvasInput(_Base):
    # ---- events in document coordinates ----------------------------------------------------
    def _event(self, pos: QPointF, pressure: float, button: Qt.MouseButton,
               mods: Qt.KeyboardModifier) -> PointerEvent:
        d = self.view_to_doc(pos)
        return PointerEvent(d.x(), d.y(), pressure, QPointF(pos), button, mods)

    @property
    def current_tool(self) -> Tool:
        return self.tools[self._tool_name]

    def _set_hover(self, pos: QPointF | None) -> None:
        old = self._hover
        self._hover = QPointF(pos) if pos is not None else None
        if self.tools[self.state.tool].shows_brush_outline:
            self.viewport().update(self._outline_rect(old).united(self._outline_rect(pos)))
        if pos is None or self.doc is None:
            self.cursor_moved.emit(None)
        else:
            d = self.view_to_doc(pos)
            x, y = math.floor(d.x()), math.floor(d.y())
            self.cursor_moved.emit((x, y) if self.doc.rect.contains(x, y) else None)

    def _press(self, pos: QPointF, pressure: float, button: Qt.MouseButton,
               mods: Qt.KeyboardModifier) -> None:
        self.setFocus()
        if self._active_tool is not None or self._pan_last is not None:
            return
        if button == Qt.MouseButton.MiddleButton or (self._space and
                                                     button == Qt.MouseButton.LeftButton):
            self._pan_last = QPointF(pos)
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.doc is None:
            return
        tool = self.tools[self.state.tool]
        if button == Qt.MouseButton.RightButton and tool.name != "zoom":
            return
        self._active_tool = tool
        tool.press(self._event(pos, pressure, button, mods))
        if not tool.busy:
            self._active_tool = None

    def _move(self, pos: QPointF, pressure: float, mods: Qt.KeyboardModifier) -> None:
        self._set_hover(pos)
        if self._pan_last is not None:
            d = pos - self._pan_last
            self._pan_last = QPointF(pos)
            self.pan_by(d.x(), d.y())
        elif self._active_tool is not None:
            self._active_tool.move(self._event(pos, pressure, Qt.MouseButton.NoButton, mods))
        elif self.doc is not None and not self._space:
            self.current_tool.hover(self._event(pos, pressure, Qt.MouseButton.NoButton, mods))

    def _release(self, pos: QPointF, pressure: float, button: Qt.MouseButton,
                 mods: Qt.KeyboardModifier) -> None:
        if self._pan_last is not None:
            if button in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
                self._pan_last = None
                self.update_cursor()
            return
        tool, self._active_tool = self._active_tool, None
        if tool is not None:
            tool.release(self._event(pos, pressure, button, mods))

    def cancel_tool(self) -> None:
        """Abandon what the current tool is doing (Escape): nothing of it is kept."""
        tool, self._active_tool = self._active_tool, None
        if tool is not None:
            tool.cancel()
        if self.current_tool is not tool:
            self.current_tool.cancel()

    def finish_tool(self) -> None:
        """End what the current tool is doing and keep it (tool switch, save, new file)."""
        tool, self._active_tool = self._active_tool, None
        self._pan_last = None
        if tool is not None:
            tool.finish()
        if self.current_tool is not tool:
            self.current_tool.finish()

    def revert_pending(self) -> bool:
        """Undo pressed while a tool holds unrecorded work (an open transform, a half-drawn
        polygon): drop that work instead. True when there was some."""
        if self._active_tool is not None:
            return False
        return self.current_tool.revert()

    # ---- Qt events -------------------------------------------------------------------------
    def mousePressEvent(self, e: QMouseEvent) -> None:
        self._press(e.position(), 1.0, e.button(), e.modifiers())

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        self._move(e.position(), 1.0, e.modifiers())

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        self._release(e.position(), 1.0, e.button(), e.modifiers())

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:
        tool = self.tools[self.state.tool]
        if (self.doc is not None and self._active_tool is None and self._pan_last is None
                and e.button() == Qt.MouseButton.LeftButton and not self._space
                and tool.double_click(self._event(e.position(), 1.0, e.button(),
                                                  e.modifiers()))):
            return
        self._press(e.position(), 1.0, e.button(), e.modifiers())

    def tabletEvent(self, e: QTabletEvent) -> None:
        t = e.type()
        pressure = float(e.pressure())
        if t == QEvent.Type.TabletPress:
            self._press(e.position(), pressure, e.button(), e.modifiers())
        elif t == QEvent.Type.TabletMove:
            self._move(e.position(), pressure, e.modifiers())
        elif t == QEvent.Type.TabletRelease:
            self._release(e.position(), pressure, e.button(), e.modifiers())
        e.accept()

    def viewportEvent(self, e: QEvent) -> bool:
        t = e.type()
        if t in (QEvent.Type.TabletPress, QEvent.Type.TabletMove, QEvent.Type.TabletRelease):
            self.tabletEvent(e)  # type: ignore[arg-type]
            return True
        if t == QEvent.Type.Leave:
            self._set_hover(None)
        elif t == QEvent.Type.Enter:
            self.update_cursor()
            # Like Krita: the canvas takes the keyboard on hover (Space-pan, Escape), unless
            # the user is typing in a text or number field.
            fw = QApplication.focusWidget()
            if not isinstance(fw, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
                self.setFocus(Qt.FocusReason.MouseFocusReason)
        return super().viewportEvent(e)

    def wheelEvent(self, e: QWheelEvent) -> None:
        angle = e.angleDelta()
        if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = angle.y() / 120.0 if angle.y() else angle.x() / 120.0
            if steps:
                self.set_zoom(self._zoom * 2.0 ** (steps / 4.0), e.position())
            e.accept()
            return
        pix = e.pixelDelta()
        dx, dy = (pix.x(), pix.y()) if not pix.isNull() else (angle.x() / 2, angle.y() / 2)
        if e.modifiers() & Qt.KeyboardModifier.ShiftModifier and not dx:
            dx, dy = dy, 0
        self.pan_by(dx, dy)
        e.accept()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space = True
            self.update_cursor()
        elif e.key() == Qt.Key.Key_Escape:
            self.cancel_tool()
        elif (e.key() in TOOL_KEYS and self._active_tool is None
              and self.current_tool.key(Qt.Key(e.key()), e.modifiers())):
            e.accept()
        else:
            super().keyPressEvent(e)

    def keyReleaseEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Space and not e.isAutoRepeat():
            self._space = False
            self.update_cursor()
        else:
            super().keyReleaseEvent(e)

    def focusOutEvent(self, e) -> None:
        self._space = False
        super().focusOutEvent(e)

    # ---- tool switching --------------------------------------------------------------------
    def _tool_changed(self, name: str) -> None:
        self.finish_tool()           # still the previous tool: it keeps what it did
        self._tool_name = name
        self.current_tool.activate()
        self.update_cursor()
        self.viewport().update()

    def update_cursor(self) -> None:
        if self._space or self._pan_last is not None:
            shape = (Qt.CursorShape.ClosedHandCursor if self._pan_last is not None
                     else Qt.CursorShape.OpenHandCursor)
        else:
            shape = self.tools[self.state.tool].cursor
        self.viewport().setCursor(shape)

    def notify(self, text: str) -> None:
        self.message.emit(text)

    @property
    def painting(self) -> bool:
        return self._active_tool is not None and self.state.tool in PAINT_TOOLS
