"""Screenshots of selecting: a feathered lasso selection with marching ants, and the quick
mask being painted. The picture is painted first through the real window (the same painting
as make_screenshots.py); then the selection is made the way a user makes it: the lasso picked
from the tool bar, dragged on the canvas, Select > Feather, then the quick mask button
(Q) and brush strokes.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python \
        docs/screenshots/make_selection_screenshot.py
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_screenshots as shots  # noqa: E402  (sets up paths and a scratch config dir)
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.dialogs.prompts import Prompts  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402

FEATHER_PX = 24


class Answers(Prompts):
    """The Feather dialog answers FEATHER_PX, as if typed."""

    def ask_int(self, title: str, label: str, value: int, minimum: int = 0,
                maximum: int = 1000) -> int | None:
        return FEATHER_PX


def settle(app, win: MainWindow, rounds: int = 5) -> None:
    for _ in range(rounds):
        app.processEvents()
        QTest.qWait(30)
    win.canvas.flush()
    app.processEvents()


def lasso_points() -> list[tuple[float, float]]:
    """A hand-drawn loop around the sun and the hills beneath it."""
    pts = []
    for i in range(73):
        a = 2 * math.pi * i / 72
        r = 1 + 0.06 * math.sin(5 * a) + 0.03 * math.sin(11 * a + 1)
        pts.append((985 + 300 * r * math.cos(a), 440 + 230 * r * math.sin(a)))
    return pts


def main() -> int:
    app = create_app([])
    win = MainWindow(autosave=False)
    win.prompts = Answers(win)
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    shots.paint(win)
    P = shots.Painter(win)

    # A freehand lasso around the sun, then Select > Feather.
    P.tool("lasso")
    P.mouse(lasso_points())
    win.acts.feather.trigger()
    win.canvas.fit()
    hover = P.at(560, 700).toPoint()
    QTest.mouseMove(P.vp, hover)
    settle(app, win)
    win.canvas.ants.offset = 3
    settle(app, win, 2)
    out = HERE / "selection.png"
    win.grab().save(str(out))
    print(f"wrote {out}: {win.doc.history.steps[-2:]}")

    # Quick mask: Q, then widen the selection down the hillside with a soft brush.
    quick_mask_button = win.tools_toolbar.widgetForAction(win.acts.quick_mask)
    QTest.mouseClick(quick_mask_button, Qt.MouseButton.LeftButton)
    assert win.canvas.quick_mask.active
    P.tool("brush")
    P.preset("Soft Airbrush", size=160, opacity=100, flow=60)
    P.mouse([(760 + 8 * t, 600 + 4 * t + 25 * math.sin(t / 6)) for t in range(0, 60)])
    P.tool("eraser")
    P.preset("Eraser", size=90)
    P.mouse([(1180 + 3 * t, 300 - 2 * t) for t in range(0, 40)])
    P.tool("brush")
    QTest.mouseMove(P.vp, P.at(640, 760).toPoint())
    settle(app, win)
    out = HERE / "quick_mask.png"
    win.grab().save(str(out))
    print(f"wrote {out}")
    QTest.mouseClick(quick_mask_button, Qt.MouseButton.LeftButton)
    print(f"quick mask left: {win.doc.history.steps[-1]}")
    win.doc.history.set_clean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
