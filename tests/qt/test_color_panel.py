"""Colour panel: picking in the square and the strip, hex entry, swap, recent colours."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.qt.panels.color_panel import MAX_RECENT, ColorPanel, parse_hex
from aiart_desktop.settings import Settings


@pytest.fixture
def panel(qtbot):  # type: ignore[no-untyped-def]
    w = ColorPanel()
    qtbot.addWidget(w)
    w.resize(320, 360)
    w.show()
    qtbot.waitExposed(w)
    return w


def close(a: float, b: float, tol: float = 0.02) -> bool:
    return abs(a - b) <= tol


def test_defaults(panel: ColorPanel) -> None:
    assert panel.foreground.name() == "#000000"
    assert panel.background.name() == "#ffffff"
    assert panel.recent == []
    assert panel.hex_edit.text() == "#000000"


def test_click_in_square_sets_saturation_and_value(panel: ColorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    QTest.mouseClick(panel.hue_strip, Qt.MouseButton.LeftButton, pos=panel.hue_strip.pos_for(1 / 3))
    assert close(panel.hsv[0], 1 / 3)
    sq = panel.square
    a = sq.area()
    # Top-right corner of the square: full saturation and value of the hue (pure green).
    with qtbot.waitSignal(panel.foreground_changed) as sig:
        QTest.mouseClick(sq, Qt.MouseButton.LeftButton, pos=a.topRight())
    assert sig.args[0].name() == panel.foreground.name()
    assert close(panel.foreground.hsvHueF(), 1 / 3)
    g = panel.foreground
    assert g.green() == 255 and g.red() <= 3 and g.blue() <= 3
    # Bottom-left corner is black, top-left is white.
    QTest.mouseClick(sq, Qt.MouseButton.LeftButton, pos=a.bottomLeft())
    assert panel.foreground.name() == "#000000"
    QTest.mouseClick(sq, Qt.MouseButton.LeftButton, pos=a.topLeft())
    assert panel.foreground.name() == "#ffffff"
    # A point three quarters across and one quarter up.
    x = a.left() + round(0.75 * (a.width() - 1))
    y = a.top() + round(0.75 * (a.height() - 1))
    QTest.mouseClick(sq, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    h, s, v, _ = panel.foreground.getHsvF()
    assert close(h, 1 / 3) and close(s, 0.75) and close(v, 0.25)
    assert panel.hex_edit.text() == panel.foreground.name()


def test_drag_in_square_follows_the_mouse(panel: ColorPanel) -> None:
    sq = panel.square
    QTest.mousePress(sq, Qt.MouseButton.LeftButton, pos=sq.pos_for(0.1, 0.9))
    assert close(panel.hsv[1], 0.1) and close(panel.hsv[2], 0.9)
    # A move with the left button held (QTest.mouseMove carries no buttons everywhere).
    pos = QPointF(sq.pos_for(0.6, 0.5))
    QApplication.sendEvent(sq, QMouseEvent(
        QMouseEvent.Type.MouseMove, pos, sq.mapToGlobal(pos), Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    QTest.mouseRelease(sq, Qt.MouseButton.LeftButton, pos=sq.pos_for(0.6, 0.5))
    _, s, v = panel.hsv
    assert close(s, 0.6) and close(v, 0.5)


def test_hue_survives_black(panel: ColorPanel) -> None:
    panel.set_foreground(QColor("#ff8000"))
    hue = panel.hsv[0]
    QTest.mouseClick(panel.square, Qt.MouseButton.LeftButton,
                     pos=panel.square.area().bottomRight())
    assert panel.foreground.name() == "#000000"
    assert panel.hsv[0] == hue  # dragging back up gives the orange again
    QTest.mouseClick(panel.square, Qt.MouseButton.LeftButton, pos=panel.square.area().topRight())
    assert panel.foreground.name() == "#ff8000"


def test_hex_entry(panel: ColorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    edit = panel.hex_edit
    edit.setFocus()
    edit.selectAll()
    with qtbot.waitSignal(panel.foreground_changed):
        QTest.keyClicks(edit, "#3366cc")
        QTest.keyClick(edit, Qt.Key.Key_Return)
    assert panel.foreground.name() == "#3366cc"
    assert close(panel.hsv[0], panel.foreground.hsvHueF())
    # Something invalid is refused and the field shows the current colour again.
    edit.setText("#12")
    edit.editingFinished.emit()
    assert panel.foreground.name() == "#3366cc"
    assert edit.text() == "#3366cc"
    assert parse_hex("abc").name() == "#aabbcc"  # type: ignore[union-attr]
    assert parse_hex("#GG0000") is None


def test_swap_and_reset(panel: ColorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel.set_foreground(QColor("#102030"))
    panel.set_background(QColor("#a0b0c0"))
    with qtbot.waitSignal(panel.foreground_changed) as fg_sig, \
            qtbot.waitSignal(panel.background_changed) as bg_sig:
        panel.swap()
    assert panel.foreground.name() == "#a0b0c0" and panel.background.name() == "#102030"
    assert fg_sig.args[0].name() == "#a0b0c0" and bg_sig.args[0].name() == "#102030"
    # The swap corner of the swatch does the same.
    QTest.mouseClick(panel.swatch, Qt.MouseButton.LeftButton,
                     pos=panel.swatch.swap_rect().center())
    assert panel.foreground.name() == "#102030" and panel.background.name() == "#a0b0c0"
    QTest.mouseClick(panel.swatch, Qt.MouseButton.LeftButton,
                     pos=panel.swatch.reset_rect().center())
    assert panel.foreground.name() == "#000000" and panel.background.name() == "#ffffff"


def test_recent_colours(panel: ColorPanel) -> None:
    for i in range(15):
        panel.add_recent(QColor(i * 10, 0, 0))
    rec = panel.recent
    assert len(rec) == MAX_RECENT
    assert rec[0].name() == QColor(140, 0, 0).name()
    assert rec[-1].name() == QColor(30, 0, 0).name()
    panel.add_recent(QColor(100, 0, 0, 128))  # again, with alpha: moves to the front, opaque
    rec = panel.recent
    assert rec[0].name() == QColor(100, 0, 0).name() and rec[0].alpha() == 255
    assert len(rec) == MAX_RECENT and len({c.rgb() for c in rec}) == MAX_RECENT
    # Clicking a recent swatch picks it.
    bar = panel.recent_swatches
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.cell_rect(1).center())
    assert panel.foreground.name() == rec[1].name()


def test_settings_round_trip(panel: ColorPanel, qtbot) -> None:  # type: ignore[no-untyped-def]
    s = Settings(foreground_color="#112233", background_color="#445566",
                 recent_colors=["#010101", "#020202"])
    panel.from_settings(s)
    assert panel.foreground.name() == "#112233" and panel.background.name() == "#445566"
    assert [c.name() for c in panel.recent] == ["#010101", "#020202"]
    panel.add_recent(QColor("#030303"))
    out = Settings()
    panel.to_settings(out)
    assert out.recent_colors == ["#030303", "#010101", "#020202"]
    assert (out.foreground_color, out.background_color) == ("#112233", "#445566")


def test_square_shows_the_hue(panel: ColorPanel) -> None:
    panel.set_foreground(QColor("#400000"))  # dark red: the marker sits low, the corner is free
    img = panel.grab().toImage()
    sq = panel.square
    corner = sq.mapTo(panel, sq.area().topRight() + QPoint(-2, 2))
    dpr = img.devicePixelRatio()
    px = img.pixelColor(int(corner.x() * dpr), int(corner.y() * dpr))
    assert px.red() > 200 and px.green() < 60 and px.blue() < 60  # the hue shows in the square
