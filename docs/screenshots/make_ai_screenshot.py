"""Screenshot of the AI dock after a real run: the landscape of `make_screenshots.py`, a
stray blob painted into the sky, an ellipse selection around it, and "Fill selection" with no
model installed (the classical fill a newcomer gets on first launch), three variations in the
strip, the picked one previewed on the canvas.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_ai_screenshot.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
_tmp = tempfile.mkdtemp(prefix="aiart-ai-shot-")
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))
os.environ["HF_HUB_OFFLINE"] = "1"

from make_screenshots import Painter, paint  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aiart_desktop.core import selection  # noqa: E402
from aiart_desktop.qt.ai_dock import install_ai_dock  # noqa: E402
from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402

BLOB = (300, 300, 150, 120)   # x, y, w, h of the thing to remove


def main() -> int:
    app = create_app([])
    win = MainWindow(autosave=False)
    panel = install_ai_dock(win)
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    paint(win)
    # A dark blob in the sky to remove, on its own layer, with the brush.
    P = Painter(win)
    P.layer("Oops")
    P.tool("brush")
    P.preset("Hard Round", size=44)
    P.color(60, 40, 48)
    x, y, w, h = BLOB
    P.mouse([(x + 45, y + 45), (x + 75, y + 70), (x + 105, y + 55), (x + 95, y + 80)])
    doc = win.doc
    doc.set_selection(selection.ellipse_mask(doc.width, doc.height, x - 10, y - 5,
                                             x + w + 10, y + h + 5))
    dock = win.docks["aiDock"]
    dock.show()
    dock.raise_()
    # Room for the AI panel: a wider right column, the colour dock shorter.
    win.resizeDocks([dock], [340], Qt.Orientation.Horizontal)
    win.resizeDocks([win.docks["colorDock"], dock], [150, 800], Qt.Orientation.Vertical)
    app.processEvents()
    f = panel.form
    f.set_op("inpaint")
    f.prompt.setPlainText("clear evening sky")
    f.batch.setValue(3)
    QTest.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    for _ in range(600):
        if not panel.running:
            break
        QTest.qWait(50)
    if panel.result is None:
        print("the fill did not finish:", panel.error.text(), panel.status.text())
        return 1
    panel.strip.setCurrentRow(1)
    win.canvas.fit()
    win.canvas.flush()
    for _ in range(5):
        app.processEvents()
        QTest.qWait(30)
    out = HERE / "ai_dock.png"
    win.grab().save(str(out))
    print(f"wrote {out}: {len(panel.result.images)} variations, seeds {panel.result.seeds}")
    doc.history.set_clean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
