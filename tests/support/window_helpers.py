"""Helpers for the window tests: map document pixels to the viewport, drive strokes."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.core.document import Document


def view_pos(win, x: float, y: float) -> QPoint:
    """The viewport point over document point (x, y) (exact at integer zooms)."""
    p = win.canvas.doc_to_view(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def mouse_stroke(win, points: list[tuple[float, float]],
                 modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    vp = win.canvas.viewport()
    first, *rest = [view_pos(win, x, y) for x, y in points]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifiers, first)
    for p in rest:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, modifiers, rest[-1] if rest else first)


_STYLUS: QPointingDevice | None = None


def stylus() -> QPointingDevice:
    global _STYLUS
    if _STYLUS is None:
        caps = QInputDevice.Capability.Position | QInputDevice.Capability.Pressure
        _STYLUS = QPointingDevice("test stylus", 4242, QInputDevice.DeviceType.Stylus,
                                  QPointingDevice.PointerType.Pen, caps, 1, 3)
    return _STYLUS


def tablet_stroke(win, points: list[tuple[float, float]], pressure: float) -> None:
    vp = win.canvas.viewport()
    n = len(points)
    for i, (x, y) in enumerate(points):
        local = QPointF(view_pos(win, x, y))
        kind = (QEvent.Type.TabletPress if i == 0 else
                QEvent.Type.TabletRelease if i == n - 1 else QEvent.Type.TabletMove)
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.TabletMove else (
            Qt.MouseButton.NoButton)
        buttons = (Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease
                   else Qt.MouseButton.LeftButton)
        ev = QTabletEvent(kind, stylus(), local, QPointF(vp.mapToGlobal(local)), pressure,
                          0.0, 0.0, 0.0, 0.0, 0.0, Qt.KeyboardModifier.NoModifier, button,
                          buttons)
        QApplication.sendEvent(vp, ev)


def layer_pixels(layer, doc: Document) -> np.ndarray:
    return layer.read(doc.rect)
