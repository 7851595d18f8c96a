"""Screenshot of the Style dock after a real run: the landscape of `make_screenshots.py`, one
picture of the user's added to "Your styles" (a swirl painted here with numpy, imported through
the style library like a dropped file), an ellipse selection over the sun and the hills styled
with a built-in style ("Starry swirls", the dock's defaults: keep my colours, 85 %) and
applied as a layer through the window's AI worker, the selection still showing.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/style_gallery.py
    xvfb-run -s "-screen 0 1366x768x24" .venv/bin/python docs/screenshots/style_gallery.py \
        1366x768 style_gallery_1366.png      # a laptop: the window fills the screen
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
_tmp = tempfile.mkdtemp(prefix="aiart-style-shot-")
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))
os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np  # noqa: E402
from make_screenshots import paint  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aiart_desktop.core import selection  # noqa: E402
from aiart_desktop.qt.ai_dock import install_ai_dock  # noqa: E402
from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402
from aiart_desktop.qt.panels.style_gallery import install_style_gallery  # noqa: E402

STYLE = "Style 19"
ELLIPSE = (640, 170, 1330, 760)   # x0, y0, x1, y1 in document pixels


def swirl_picture(path: Path, side: int = 320) -> Path:
    """A small colourful picture to stand for one of the user's own."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side - 0.5
    r, a = np.hypot(xx, yy), np.arctan2(yy, xx)
    t = np.sin(14 * r + 3 * a) * 0.5 + 0.5
    rgb = np.dstack([60 + 190 * t, 40 + 120 * (1 - t) * (r < 0.4), 120 + 120 * (1 - t)])
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return path


def wait(app, until, ms: int = 30_000) -> bool:
    for _ in range(ms // 20):
        app.processEvents()
        if until():
            return True
        QTest.qWait(20)
    return False


def main() -> int:
    size = sys.argv[1] if len(sys.argv) > 1 else "1600x1000"
    name = sys.argv[2] if len(sys.argv) > 2 else "style_gallery.png"
    w, h = (int(v) for v in size.split("x"))
    app = create_app([])
    win = MainWindow(autosave=False)
    install_ai_dock(win)
    gallery = install_style_gallery(win)
    win.resize(w, h)
    win.show()
    QTest.qWaitForWindowExposed(win)
    paint(win)
    dock = win.docks["styleDock"]
    dock.show()
    dock.raise_()
    win.resizeDocks([dock], [340], Qt.Orientation.Horizontal)
    if h >= 1000:
        win.resizeDocks([win.docks["colorDock"], dock], [150, 820], Qt.Orientation.Vertical)
    app.processEvents()
    gallery.import_files([str(swirl_picture(Path(_tmp) / "Swirls.png"))])
    if not wait(app, lambda: gallery.builtins_ready and gallery.user_grid.count() == 1):
        print("the thumbnails did not come:", gallery.error.text())
        return 1
    doc = win.doc
    doc.set_selection(selection.ellipse_mask(doc.width, doc.height, *ELLIPSE))
    gallery.auto_preview.setChecked(False)
    gallery.pick(STYLE)
    gallery.auto_preview.setChecked(True)   # as the painter has it; Apply runs at once
    gallery.apply_button.click()
    if not wait(app, lambda: not gallery.running) or gallery.error.text():
        print("styling did not finish:", gallery.error.text(), gallery.status.text())
        return 1
    layer = doc.active_layer
    win.canvas.fit()
    win.canvas.flush()
    for _ in range(5):
        app.processEvents()
        QTest.qWait(30)
    out = HERE / name
    win.grab().save(str(out))
    print(f"wrote {out}: layer {layer.name!r}, {gallery.status.text()}")
    doc.history.set_clean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
