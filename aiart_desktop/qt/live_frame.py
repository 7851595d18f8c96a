"""The live frame on the canvas: an outline with eight square handles and a "Live" grip above
its top-left corner, which the artist drags to move and resize the region live painting
repaints.

    editor = LiveFrameEditor(win.canvas)
    editor.set_frame(Rect(64, 64, 512, 512))     # shown (None: hidden)
    editor.changed.connect(use)                   # the new Rect, once, when the drag ends

The editor is a see-through widget over the canvas viewport (like `ai_dock.CanvasPreview`) and
an event filter on that viewport. It takes a press only on a handle, on the grip, or on the
outline's band (`BAND_PX` screen pixels either side of it); every other press, inside the frame
too, goes to the canvas' tool as before. Hit areas are in screen (logical) pixels, so they work
at any zoom and scroll. While dragging it shows the outline following the pointer; on release
it says the new rectangle once: whole document pixels, inside the canvas, at least `MIN_SIDE`
on each side (less only on a smaller canvas). Moving the frame is not a document edit.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QTabletEvent
from PySide6.QtWidgets import QWidget

from ..core.geometry import Rect

MIN_SIDE = 64         # the smallest frame side, document pixels
HANDLE_PX = 8         # a handle's side, screen pixels
GRAB_PX = 7           # how near a handle's centre a press takes it
BAND_PX = 4           # the outline's band that moves the frame, each side of the line
GRIP_H = 18           # the grip's height above the frame
GRIP_TEXT = "Live"
HANDLES = ((-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0))
CURSORS = {(0, -1): Qt.CursorShape.SizeVerCursor, (0, 1): Qt.CursorShape.SizeVerCursor,
           (-1, 0): Qt.CursorShape.SizeHorCursor, (1, 0): Qt.CursorShape.SizeHorCursor,
           (-1, -1): Qt.CursorShape.SizeFDiagCursor, (1, 1): Qt.CursorShape.SizeFDiagCursor,
           (1, -1): Qt.CursorShape.SizeBDiagCursor, (-1, 1): Qt.CursorShape.SizeBDiagCursor}
FRAME_COLOR = QColor(90, 200, 120)
_PRESS = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick,
          QEvent.Type.TabletPress)
_MOVE = (QEvent.Type.MouseMove, QEvent.Type.TabletMove)
_RELEASE = (QEvent.Type.MouseButtonRelease, QEvent.Type.TabletRelease)

Hit = tuple[str, tuple[int, int] | None]   # ("move" | "resize", handle)


def clamp_move(r: Rect, x: float, y: float, width: int, height: int) -> Rect:
    """`r` moved to (x, y), rounded to whole pixels and kept inside a width × height canvas."""
    nx = min(max(0, round(x)), max(0, width - r.w))
    ny = min(max(0, round(y)), max(0, height - r.h))
    return Rect(nx, ny, min(r.w, width), min(r.h, height))


def clamp_resize(r: Rect, handle: tuple[int, int], dx: float, dy: float, width: int,
                 height: int, min_side: int = MIN_SIDE) -> Rect:
    """`r` with the sides `handle` names moved by (dx, dy): whole pixels, inside the canvas,
    each side at least `min_side` (or the canvas' side); the opposite sides stay."""
    hx, hy = handle
    mw, mh = min(min_side, width), min(min_side, height)
    left, top, right, bottom = r.x, r.y, r.right, r.bottom
    if hx < 0:
        left = min(max(0, round(left + dx)), right - mw)
    elif hx > 0:
        right = max(min(width, round(right + dx)), left + mw)
    if hy < 0:
        top = min(max(0, round(top + dy)), bottom - mh)
    elif hy > 0:
        bottom = max(min(height, round(bottom + dy)), top + mh)
    return Rect.from_edges(left, top, right, bottom)


class LiveFrameEditor(QWidget):
    """The live frame over `canvas` (a `CanvasView`); see the module's notes."""

    changed = Signal(object)     # the new Rect, when a drag ends with the frame moved

    def __init__(self, canvas: Any) -> None:
        super().__init__(canvas.viewport())
        self.canvas = canvas
        self.frame: Rect | None = None          # the frame, document pixels
        self._drag: tuple[str, tuple[int, int] | None, QPointF, Rect] | None = None
        self._shown: Rect | None = None         # where the outline is during a drag
        self._cursor_set = False
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setGeometry(canvas.viewport().rect())
        canvas.viewport().installEventFilter(self)
        canvas.zoom_changed.connect(lambda *_: self.update())
        self.hide()

    # ---- the frame ---------------------------------------------------------------------------
    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def shown_rect(self) -> Rect | None:
        """The rectangle drawn now: the one being dragged, else the frame."""
        return self._shown if self._shown is not None else self.frame

    def set_frame(self, rect: Rect | None) -> None:
        """Show `rect` (None: hide the editor); a drag in progress is dropped."""
        self._drag = self._shown = None
        self.frame = rect if rect is not None and not rect.empty else None
        self.setVisible(self.frame is not None)
        self._restore_cursor()
        self.update()

    # ---- geometry in screen pixels -----------------------------------------------------------
    def view_rect(self) -> QRectF | None:
        r = self.shown_rect()
        return None if r is None else self.canvas.doc_rect_to_view(r)

    def handle_points(self) -> dict[tuple[int, int], QPointF]:
        v = self.view_rect()
        if v is None:
            return {}
        c = v.center()
        return {h: QPointF(c.x() + h[0] * v.width() / 2, c.y() + h[1] * v.height() / 2)
                for h in HANDLES}

    def grip_rect(self) -> QRectF | None:
        v = self.view_rect()
        if v is None:
            return None
        w = self.fontMetrics().horizontalAdvance(GRIP_TEXT) + 16
        box = QRectF(v.left() + HANDLE_PX / 2 + 2, v.top() - GRIP_H - 2, w, GRIP_H)
        if box.top() < 0:    # scrolled or at the top of the view: the grip hangs inside
            box.moveTop(max(v.top(), 0.0))
        return box

    def hit(self, pos: QPointF) -> Hit | None:
        """What a press at viewport point `pos` would take: a handle, the grip or the band
        ("move"); None when it belongs to the canvas."""
        if self.frame is None or not self.isVisible():
            return None
        for h, q in self.handle_points().items():
            if max(abs(q.x() - pos.x()), abs(q.y() - pos.y())) <= GRAB_PX:
                return "resize", h
        grip = self.grip_rect()
        if grip is not None and grip.contains(pos):
            return "move", None
        v = self.view_rect()
        assert v is not None
        outer = v.adjusted(-BAND_PX, -BAND_PX, BAND_PX, BAND_PX)
        inner = v.adjusted(BAND_PX, BAND_PX, -BAND_PX, -BAND_PX)
        if outer.contains(pos) and not (inner.isValid() and inner.contains(pos)):
            return "move", None
        return None

    # ---- input -------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if t == QEvent.Type.Resize:
            self.setGeometry(self.canvas.viewport().rect())
            return False
        if t == QEvent.Type.Leave and self._drag is None:
            self._restore_cursor()
            return False
        if t not in _PRESS and t not in _MOVE and t not in _RELEASE:
            return False
        if not isinstance(event, (QMouseEvent, QTabletEvent)):
            return False
        pos = event.position()
        if t in _PRESS:
            taken = self._press(pos, event.button())
        elif t in _MOVE:
            taken = self._move(pos)
        else:
            taken = self._release(pos, event.button())
        if taken:
            event.accept()   # a pen's press taken here makes no mouse press for the canvas
        return taken

    def _canvas_busy(self) -> bool:
        c = self.canvas
        return c.doc is None or c._active_tool is not None or c._pan_last is not None \
            or c._space

    def _press(self, pos: QPointF, button: Qt.MouseButton) -> bool:
        if self._drag is not None:
            return True
        if button != Qt.MouseButton.LeftButton or self._canvas_busy():
            return False
        hit = self.hit(pos)
        if hit is None or self.frame is None:
            return False
        mode, handle = hit
        self._drag = (mode, handle, self.canvas.view_to_doc(pos), self.frame)
        self._shown = self.frame
        self._set_cursor(Qt.CursorShape.ClosedHandCursor if mode == "move"
                         else CURSORS[handle] if handle is not None
                         else Qt.CursorShape.SizeAllCursor)
        return True

    def _move(self, pos: QPointF) -> bool:
        if self._drag is None:
            if self._canvas_busy():
                return False
            hit = self.hit(pos)
            if hit is None:
                self._restore_cursor()
                return False
            mode, handle = hit
            self._set_cursor(CURSORS[handle] if mode == "resize" and handle is not None
                             else Qt.CursorShape.SizeAllCursor)
            self.canvas._set_hover(None)   # no brush outline over a handle
            return True
        self._follow(pos)
        return True

    def _follow(self, pos: QPointF) -> None:
        assert self._drag is not None
        mode, handle, start, r0 = self._drag
        doc = self.canvas.doc
        if doc is None:
            return
        d = self.canvas.view_to_doc(pos)
        dx, dy = d.x() - start.x(), d.y() - start.y()
        if mode == "move" or handle is None:
            new = clamp_move(r0, r0.x + dx, r0.y + dy, doc.width, doc.height)
        else:
            new = clamp_resize(r0, handle, dx, dy, doc.width, doc.height)
        if new != self._shown:
            old, self._shown = self._shown, new
            self._update_around(old, new)

    def _release(self, pos: QPointF, button: Qt.MouseButton) -> bool:
        if self._drag is None:
            return False
        if button != Qt.MouseButton.LeftButton:
            return True
        self._follow(pos)
        new, old = self._shown, self.frame
        self._drag = self._shown = None
        if self.hit(pos) is not None:
            self._set_cursor(Qt.CursorShape.SizeAllCursor)
        else:
            self._restore_cursor()
        if new is not None and new != old:
            self.frame = new
            self.update()
            self.changed.emit(new)
        return True

    def _update_around(self, *rects: Rect | None) -> None:
        """Repaint where the outline, its handles and the grip were or are now."""
        pad = HANDLE_PX + GRIP_H + 4
        for r in rects:
            if r is not None:
                v = self.canvas.doc_rect_to_view(r)
                self.update(v.adjusted(-pad, -pad, 400, pad).toAlignedRect())

    def _set_cursor(self, shape: Qt.CursorShape) -> None:
        self.canvas.viewport().setCursor(shape)
        self._cursor_set = True

    def _restore_cursor(self) -> None:
        if self._cursor_set:
            self._cursor_set = False
            self.canvas.update_cursor()

    # ---- drawing -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        v = self.view_rect()
        if v is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setBrush(Qt.BrushStyle.NoBrush)
        grip = self.grip_rect()
        if grip is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(40, 110, 60, 230))
            p.drawRect(grip)
            p.setPen(QColor(240, 250, 240))
            r = self.shown_rect()
            text = GRIP_TEXT if self._drag is None or r is None else \
                f"{GRIP_TEXT}  {r.w}\u00d7{r.h}"
            if text != GRIP_TEXT:
                grip.setWidth(self.fontMetrics().horizontalAdvance(text) + 16)
                p.fillRect(grip, QColor(40, 110, 60, 230))
            p.drawText(grip, Qt.AlignmentFlag.AlignCenter, text)
        p.setBrush(Qt.BrushStyle.NoBrush)
        line = v.adjusted(-1, -1, 0, 0)   # just outside the frame's pixels
        p.setPen(QPen(QColor(0, 0, 0, 170), 4))
        p.drawRect(line)
        pen = QPen(FRAME_COLOR, 2)
        if self._drag is not None:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRect(line)
        p.setPen(QPen(QColor(0, 0, 0), 1))
        p.setBrush(QColor(255, 255, 255))
        s = HANDLE_PX
        for q in self.handle_points().values():
            p.drawRect(QRectF(q.x() - s / 2, q.y() - s / 2, s, s))
        p.end()
