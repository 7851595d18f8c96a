"""The Colour dock: HSV square + hue strip, hex entry, foreground/background, recent colours.

Usage from the main window::

    panel = ColorPanel()
    panel.foreground_changed.connect(lambda c: tools.set_color(c.getRgb()[:3]))
    QShortcut(QKeySequence("X"), window, panel.swap)
    QShortcut(QKeySequence("D"), window, panel.reset)
    panel.add_recent(panel.foreground)   # when a stroke starts with the current colour
    panel.from_settings(settings) / panel.to_settings(settings)   # at start / at close

The panel keeps the foreground as floating-point HSV, so the hue survives dragging through
greys and blacks (QColor forgets the hue of an achromatic colour).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QRegularExpressionValidator,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from aiart_desktop.settings import Settings

MAX_RECENT = 12
MARGIN = 5  # room for the markers around the square and the strip
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _clamp(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def _opaque(color: QColor) -> QColor:
    return QColor(color.red(), color.green(), color.blue())


def parse_hex(text: str) -> QColor | None:
    """``#rrggbb``, ``rrggbb``, ``#rgb`` -> QColor; anything else -> None."""
    text = text.strip()
    if not _HEX.match(text):
        return None
    digits = text.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return QColor(f"#{digits}")


class _Picker(QWidget):
    """Base for the square and the strip: left-press and drag report positions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def area(self) -> QRect:
        return self.rect().adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pick(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event.position())

    def _fractions(self, pos: QPointF) -> tuple[float, float]:
        a = self.area()
        fx = (pos.x() - a.left()) / max(1, a.width() - 1)
        fy = (pos.y() - a.top()) / max(1, a.height() - 1)
        return _clamp(fx), _clamp(fy)

    def _point(self, fx: float, fy: float) -> QPoint:
        a = self.area()
        x, y = round(fx * (a.width() - 1)), round(fy * (a.height() - 1))
        return QPoint(a.left() + x, a.top() + y)

    def _pick(self, pos: QPointF) -> None:
        raise NotImplementedError


class SVSquare(_Picker):
    """Saturation grows to the right, value grows upwards, for one hue."""

    picked = Signal(float, float)  # saturation, value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._h, self._s, self._v = 0.0, 0.0, 0.0
        self.setMinimumSize(90, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def set_hsv(self, h: float, s: float, v: float) -> None:
        if (h, s, v) != (self._h, self._s, self._v):
            self._h, self._s, self._v = h, s, v
            self.update()

    def sv_at(self, pos: QPointF | QPoint) -> tuple[float, float]:
        fx, fy = self._fractions(QPointF(pos))
        return fx, 1.0 - fy

    def pos_for(self, s: float, v: float) -> QPoint:
        return self._point(s, 1.0 - v)

    def _pick(self, pos: QPointF) -> None:
        self.picked.emit(*self.sv_at(pos))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        a = QRectF(self.area())
        p.fillRect(a, QColor.fromHsvF(self._h, 1.0, 1.0))
        for end, level in ((a.topRight(), 255), (a.bottomLeft(), 0)):  # saturation, value
            g = QLinearGradient(a.topLeft(), end)
            g.setColorAt(0.0, QColor(level, level, level, 255 if level else 0))
            g.setColorAt(1.0, QColor(level, level, level, 0 if level else 255))
            p.fillRect(a, g)
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(a.adjusted(-0.5, -0.5, 0.5, 0.5))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)  # black + white ring: always visible
        c = QPointF(self.pos_for(self._s, self._v))
        for color, width in ((QColor(0, 0, 0), 3.0), (QColor(255, 255, 255), 1.5)):
            p.setPen(QPen(color, width))
            p.drawEllipse(c, 4.5, 4.5)


class HueStrip(_Picker):
    """A vertical rainbow: hue 0 (red) at the top to 1 (red again) at the bottom."""

    picked = Signal(float)  # hue in [0, 1]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._h = 0.0
        self.setFixedWidth(22)
        self.setMinimumHeight(120)

    def set_hue(self, h: float) -> None:
        if h != self._h:
            self._h = h
            self.update()

    def hue_at(self, pos: QPointF | QPoint) -> float:
        return self._fractions(QPointF(pos))[1]

    def pos_for(self, h: float) -> QPoint:
        return self._point(0.5, h)

    def _pick(self, pos: QPointF) -> None:
        self.picked.emit(self.hue_at(pos))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        a = QRectF(self.area())
        g = QLinearGradient(a.topLeft(), a.bottomLeft())
        for i in range(7):
            g.setColorAt(i / 6, QColor.fromHsvF((i / 6) % 1.0, 1.0, 1.0))
        p.fillRect(a, g)
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(a.adjusted(-0.5, -0.5, 0.5, 0.5))
        y = self.pos_for(self._h).y() + 0.5
        for color, width in ((QColor(0, 0, 0), 3.0), (QColor(255, 255, 255), 1.0)):
            p.setPen(QPen(color, width))
            p.drawLine(QPointF(a.left() - 3, y), QPointF(a.right() + 3, y))


class FgBgSwatch(QWidget):
    """Foreground square over the background square; small swap (↔) and reset (■) corners."""

    swap_clicked = Signal()
    reset_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fg, self.bg = QColor(0, 0, 0), QColor(255, 255, 255)
        self.setFixedSize(52, 52)
        self.setToolTip("Foreground / background colours\nX: swap, D: black and white")

    def set_colors(self, fg: QColor, bg: QColor) -> None:
        self.fg, self.bg = QColor(fg), QColor(bg)
        self.update()

    def swap_rect(self) -> QRect:
        return QRect(36, 0, 16, 16)

    def reset_rect(self) -> QRect:
        return QRect(0, 36, 16, 16)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self.swap_rect().contains(pos):
            self.swap_clicked.emit()
        elif self.reset_rect().contains(pos):
            self.reset_clicked.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        edge = self.palette().text().color()
        for rect, color in ((QRect(20, 20, 30, 30), self.bg), (QRect(2, 2, 30, 30), self.fg)):
            p.fillRect(rect, color)
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.drawRect(rect.adjusted(0, 0, -1, -1))
            p.setPen(QPen(QColor(255, 255, 255), 1))
            p.drawRect(rect.adjusted(1, 1, -2, -2))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(edge, 1.5))
        x, y = self.swap_rect().x() + 3, self.swap_rect().y() + 3  # a bent double arrow
        pts = [(x + 3, y), (x, y + 3), (x + 3, y + 6), (x, y + 3), (x + 9, y + 3),
               (x + 9, y + 12), (x + 6, y + 9), (x + 9, y + 12), (x + 12, y + 9)]
        p.drawPolyline([QPointF(a, b) for a, b in pts])
        r = self.reset_rect().adjusted(3, 3, -5, -5)
        p.fillRect(r.translated(3, 3), QColor(255, 255, 255))
        p.fillRect(r, QColor(0, 0, 0))
        p.setPen(QPen(edge, 1))
        p.drawRect(r)


class RecentSwatches(QWidget):
    """The last colours used, most recent first, in two rows of six; a click picks one."""

    picked = Signal(QColor)
    CELL, COLS = 16, 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colors: list[QColor] = []
        rows = MAX_RECENT // self.COLS
        self.setFixedSize(self.COLS * (self.CELL + 2), rows * (self.CELL + 2))

    def set_colors(self, colors: list[QColor]) -> None:
        self.colors = [QColor(c) for c in colors[:MAX_RECENT]]
        self.setToolTip("Recent colours: " + " ".join(c.name() for c in self.colors))
        self.update()

    def cell_rect(self, i: int) -> QRect:
        step = self.CELL + 2
        return QRect((i % self.COLS) * step + 1, (i // self.COLS) * step + 1, self.CELL, self.CELL)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        i = next((i for i in range(len(self.colors)) if self.cell_rect(i).contains(pos)), None)
        if i is not None and event.button() == Qt.MouseButton.LeftButton:
            self.picked.emit(QColor(self.colors[i]))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        empty = self.palette().mid().color()
        for i in range(MAX_RECENT):
            rect = self.cell_rect(i)
            if i < len(self.colors):
                p.fillRect(rect, self.colors[i])
            p.setPen(QPen(empty, 1))
            p.drawRect(rect.adjusted(0, 0, -1, -1))


class ColorPanel(QWidget):
    """Foreground/background colours with an HSV picker. Signals carry opaque QColors."""

    foreground_changed = Signal(QColor)
    background_changed = Signal(QColor)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ColorPanel")
        self._hsv = (0.0, 0.0, 0.0)
        self._fg, self._bg = QColor(0, 0, 0), QColor(255, 255, 255)
        self._recent: list[QColor] = []

        self.square = SVSquare(self)
        self.hue_strip = HueStrip(self)
        self.swatch = FgBgSwatch(self)
        self.hex_edit = QLineEdit(self)
        self.hex_edit.setValidator(QRegularExpressionValidator(r"#?[0-9a-fA-F]{0,6}", self))
        self.hex_edit.setMaxLength(7)
        self.hex_edit.setToolTip("Foreground colour as #rrggbb")
        self.recent_swatches = RecentSwatches(self)

        pick = QHBoxLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(self.square, 1)
        pick.addWidget(self.hue_strip)
        hex_row = QVBoxLayout()
        for w in (QLabel("Hex", self), self.hex_edit):
            hex_row.addWidget(w)
        bottom = QHBoxLayout()
        for w in (self.swatch, self.recent_swatches):
            bottom.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)
        bottom.insertLayout(1, hex_row)
        bottom.insertStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(pick, 1)
        layout.addLayout(bottom)

        self.square.picked.connect(lambda s, v: self._set_hsv(self._hsv[0], s, v))
        self.hue_strip.picked.connect(lambda h: self._set_hsv(h, self._hsv[1], self._hsv[2]))
        self.swatch.swap_clicked.connect(self.swap)
        self.swatch.reset_clicked.connect(self.reset)
        self.recent_swatches.picked.connect(self.set_foreground)
        self.hex_edit.editingFinished.connect(self._hex_entered)
        # No taller than it needs: a tall window gives its height to the Layers / AI docks.
        self.setMaximumHeight(self.sizeHint().height() + 24)
        self._refresh()

    # ---- public API ------------------------------------------------------------------------
    @property
    def foreground(self) -> QColor:
        return QColor(self._fg)

    @property
    def background(self) -> QColor:
        return QColor(self._bg)

    @property
    def foreground_rgb(self) -> tuple[int, int, int]:
        return (self._fg.red(), self._fg.green(), self._fg.blue())

    @property
    def hsv(self) -> tuple[float, float, float]:
        """The foreground as (hue, saturation, value) in [0, 1], hue kept even for greys."""
        return self._hsv

    @property
    def recent(self) -> list[QColor]:
        return [QColor(c) for c in self._recent]

    def set_foreground(self, color: QColor) -> None:
        c = _opaque(QColor(color))
        h, s, v, _ = c.getHsvF()
        if h < 0 or s == 0.0 or v == 0.0:  # achromatic: keep the hue (and saturation for black)
            h = self._hsv[0]
            if v == 0.0:
                s = self._hsv[1]
        self._hsv = (h, s, v)
        self._change_fg(c)

    def set_background(self, color: QColor) -> None:
        c = _opaque(QColor(color))
        if c != self._bg:
            self._bg = c
            self._refresh()
            self.background_changed.emit(QColor(c))

    def swap(self) -> None:
        """Exchange foreground and background (the X key)."""
        fg, bg = self._fg, self._bg
        self.set_background(fg)
        self.set_foreground(bg)

    def reset(self) -> None:
        """Black foreground, white background (the D key)."""
        self.set_foreground(QColor(0, 0, 0))
        self.set_background(QColor(255, 255, 255))

    def add_recent(self, color: QColor) -> None:
        """Remember a colour that was used (at most 12, most recent first, no duplicates)."""
        c = _opaque(QColor(color))
        self._recent = [c, *[r for r in self._recent if r.rgb() != c.rgb()]][:MAX_RECENT]
        self.recent_swatches.set_colors(self._recent)

    def set_recent(self, colors: list[QColor]) -> None:
        self._recent = []
        for c in reversed(colors[:MAX_RECENT]):
            self.add_recent(c)

    def from_settings(self, s: Settings) -> None:
        self.set_recent([QColor(c) for c in s.recent_colors])
        self.set_background(QColor(s.background_color))
        self.set_foreground(QColor(s.foreground_color))

    def to_settings(self, s: Settings) -> None:
        s.foreground_color, s.background_color = self._fg.name(), self._bg.name()
        s.recent_colors = [c.name() for c in self._recent]

    # ---- internals -------------------------------------------------------------------------
    def _set_hsv(self, h: float, s: float, v: float) -> None:
        self._hsv = (_clamp(h), _clamp(s), _clamp(v))
        self._change_fg(QColor.fromHsvF(min(self._hsv[0], 0.9999), self._hsv[1], self._hsv[2]))

    def _change_fg(self, c: QColor) -> None:
        changed = c.rgb() != self._fg.rgb()
        self._fg = _opaque(c)
        self._refresh()
        if changed:
            self.foreground_changed.emit(QColor(self._fg))

    def _hex_entered(self) -> None:
        c = parse_hex(self.hex_edit.text())
        if c is None:
            self.hex_edit.setText(self._fg.name())
        else:
            self.set_foreground(c)

    def _refresh(self) -> None:
        h, s, v = self._hsv
        self.square.set_hsv(h, s, v)
        self.hue_strip.set_hue(h)
        self.swatch.set_colors(self._fg, self._bg)
        self.hex_edit.setText(self._fg.name())
