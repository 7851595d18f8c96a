"""Paint a small picture through the real window and save a screenshot of it.

Every mark is made the way a user makes it: tools picked with their shortcuts, presets from
the Tool Options panel, colours through the Colour panel, layers through the Layers panel,
and strokes as mouse or tablet (pressure) events on the canvas.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_screenshots.py
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
_tmp = tempfile.mkdtemp(prefix="aiart-shots-")
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))

from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QInputDevice, QPointingDevice, QTabletEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.dialogs.new_document import NewDocumentSpec  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402

W, H = 1400, 900


class Painter:
    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.vp = win.canvas.viewport()
        caps = QInputDevice.Capability.Position | QInputDevice.Capability.Pressure
        self.pen = QPointingDevice("screenshot pen", 77, QInputDevice.DeviceType.Stylus,
                                   QPointingDevice.PointerType.Pen, caps, 1, 3)

    def at(self, x: float, y: float) -> QPointF:
        return self.win.canvas.doc_to_view(QPointF(x, y))

    def tool(self, name: str) -> None:
        """Pick a tool by clicking its tool-bar button (works without keyboard focus)."""
        tb = self.win.tools_toolbar
        assert tb is not None
        button = tb.widgetForAction(self.win.acts.tools[name])
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        assert self.win.state.tool == name

    def preset(self, name: str, **changes: float) -> None:
        opts = self.win.tool_options
        row = opts.preset.findText(name)
        opts.preset.setCurrentIndex(row)
        opts.preset.activated.emit(row)
        widgets = {"size": opts.size, "hardness": opts.hardness, "opacity": opts.opacity,
                   "flow": opts.flow}
        for k, v in changes.items():
            widgets[k].spin.setValue(v)

    def color(self, r: int, g: int, b: int) -> None:
        self.win.color_panel.set_foreground(QColor(r, g, b))

    def layer(self, name: str) -> None:
        panel = self.win.layers_panel
        panel.act_add.trigger()
        idx = panel.model.index_of(self.win.doc.active)
        panel.model.setData(idx, name, Qt.ItemDataRole.EditRole)

    def mouse(self, pts: list[tuple[float, float]]) -> None:
        first, *rest = [self.at(x, y).toPoint() for x, y in pts]
        QTest.mousePress(self.vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         first)
        for p in rest:
            QTest.mouseMove(self.vp, p)
        QTest.mouseRelease(self.vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           rest[-1] if rest else first)

    def click(self, x: float, y: float) -> None:
        QTest.mouseClick(self.vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         self.at(x, y).toPoint())

    def tablet(self, pts: list[tuple[float, float, float]]) -> None:
        n = len(pts)
        for i, (x, y, p) in enumerate(pts):
            pos = self.at(x, y)
            kind = (QEvent.Type.TabletPress if i == 0 else
                    QEvent.Type.TabletRelease if i == n - 1 else QEvent.Type.TabletMove)
            btn = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletMove else (
                Qt.MouseButton.LeftButton)
            btns = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else (
                Qt.MouseButton.LeftButton)
            ev = QTabletEvent(kind, self.pen, pos, QPointF(self.vp.mapToGlobal(pos)), p,
                              0.0, 0.0, 0.0, 0.0, 0.0, Qt.KeyboardModifier.NoModifier, btn, btns)
            QApplication.sendEvent(self.vp, ev)


def ridge(y0: float, amp: float, freq: float, phase: float, step: float = 12.0
          ) -> list[tuple[float, float]]:
    xs = [-40 + i * step for i in range(int((W + 80) / step) + 1)]
    return [(x, y0 + amp * math.sin(x * freq + phase) + amp * 0.4 * math.sin(x * freq * 2.7))
            for x in xs]


def taper(pts: list[tuple[float, float]], lo: float = 0.15, hi: float = 1.0
          ) -> list[tuple[float, float, float]]:
    """Pressure rising from `lo` to `hi` in the middle of the stroke and back."""
    n = len(pts) - 1
    return [(x, y, lo + (hi - lo) * math.sin(math.pi * i / n)) for i, (x, y) in enumerate(pts)]


def fade(pts: list[tuple[float, float]], start: float = 1.0, end: float = 0.05
         ) -> list[tuple[float, float, float]]:
    """Pressure falling from `start` to `end`: a blade of grass, heavy at the root."""
    n = len(pts) - 1
    return [(x, y, start + (end - start) * (i / n) ** 0.8) for i, (x, y) in enumerate(pts)]


def paint(win: MainWindow) -> None:
    P = Painter(win)
    win.new_document(NewDocumentSpec(W, H, (255, 255, 255, 255)))
    QApplication.processEvents()

    # Paper tone on the background, with the fill bucket.
    P.tool("fill")
    P.color(244, 236, 222)
    P.click(20, 20)

    # Sky: soft airbrush, warm at the horizon, cooler above.
    P.layer("Sky")
    P.tool("brush")
    P.preset("Soft Airbrush", size=420, opacity=80, flow=30)
    P.color(104, 146, 206)
    for y in (60, 190):
        P.mouse([(x, y + 25 * math.sin(x / 300)) for x in range(-150, W + 200, 40)])
    P.color(247, 168, 120)
    P.mouse([(x, 390 + 20 * math.sin(x / 250)) for x in range(-150, W + 200, 40)])

    # Sun: one hard dab, then a glow on a Screen layer.
    P.layer("Sun")
    P.preset("Hard Round", size=150)
    P.color(255, 222, 140)
    P.mouse([(980, 380), (981, 380)])
    P.layer("Glow")
    P.preset("Soft Airbrush", size=520, opacity=50, flow=20)
    P.color(255, 190, 120)
    P.mouse([(980, 380), (990, 384)])
    row = win.layers_panel.blend.findData("screen")
    win.layers_panel.blend.setCurrentIndex(row)
    win.layers_panel.blend.activated.emit(row)

    # Far hills and near hills: a ridge line, then the fill bucket under it.
    for name, col, y0, amp, f, ph in (
        ("Far hills", (122, 150, 170), 520, 38, 0.006, 0.4),
        ("Hills", (58, 98, 78), 640, 55, 0.0045, 2.1),
    ):
        P.layer(name)
        P.tool("brush")
        P.preset("Hard Round", size=14)
        P.color(*col)
        P.mouse(ridge(y0, amp, f, ph))
        P.tool("fill")
        win.tool_options.tolerance.setValue(250)  # take in the line's soft inner edge
        P.click(W / 2, H - 10)

    # Shading: a multiply layer at reduced opacity.
    P.layer("Shade")
    P.tool("brush")
    P.preset("Soft Airbrush", size=360, opacity=70, flow=25)
    P.color(150, 120, 170)
    P.mouse([(x, 860) for x in range(-100, W + 150, 50)])
    panel = win.layers_panel
    row = panel.blend.findData("multiply")
    panel.blend.setCurrentIndex(row)
    panel.blend.activated.emit(row)
    panel.opacity.setSliderDown(True)
    panel.opacity.setValue(65)
    panel.opacity.setSliderDown(False)

    # Ink: pressure strokes from a "tablet": grass and birds.
    P.layer("Ink")
    P.preset("Ink", size=9)
    P.color(34, 40, 44)
    for i in range(26):
        x = 60 + i * 52 + 14 * math.sin(i * 1.7)
        base = 640 + 55 * math.sin(x * 0.0045 + 2.1) + 22 * math.sin(x * 0.0045 * 2.7 + 2.1)
        h = 40 + 25 * math.sin(i * 2.3)
        lean = 12 * math.sin(i)
        blade = [(x + lean * (t / 10) ** 2, base + 26 - h * t / 10) for t in range(11)]
        P.tablet(fade(blade))
    for bx, by, s in ((420, 250, 1.0), (500, 215, 0.8), (560, 275, 0.65)):
        wing = [(bx - 40 * s + 5 * s * t, by - 14 * s * math.sin(t / 8 * math.pi / 1.3))
                for t in range(9)]
        wing += [(bx + 5 * s * t, by - 14 * s * math.sin((8 - t) / 8 * math.pi / 1.3))
                 for t in range(1, 9)]
        P.tablet(taper(wing, 0.2, 0.9))

    # Leave the brush active, hovering, so the outline cursor shows its true size.
    P.tool("brush")
    P.preset("Ink", size=9)
    win.layers_panel.tree.setCurrentIndex(panel.model.index_of(win.doc.active))
    hover = P.at(700, 760).toPoint()
    QTest.mouseMove(P.vp, hover)
    win.canvas.fit()
    win.canvas.flush()
    QTest.mouseMove(P.vp, hover)


def main() -> int:
    app = create_app([])
    win = MainWindow(autosave=False)
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    paint(win)
    for _ in range(5):
        app.processEvents()
        QTest.qWait(30)
    win.canvas.flush()
    app.processEvents()
    out = HERE / "main_window.png"
    win.grab().save(str(out))
    print(f"wrote {out} ({win.doc.history.index} undo steps, {len(win.doc.layers)} layers)")
    win.doc.history.set_clean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
