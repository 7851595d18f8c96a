"""Helpers of `walk_x11.sh`: paint the landscape to an .ora, find the birds in a screenshot.

    python walk_tools.py paint OUT.ora
    python walk_tools.py birds SHOT.png    # prints x0 y0 x1 y1 cx cy (screen pixels)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def paint(out: str) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parents[1]))
    import make_screenshots as ms
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from aiart_desktop.qt.bootstrap import create_app
    from aiart_desktop.qt.main_window import MainWindow

    create_app([])
    win = MainWindow(autosave=False)
    win.setWindowState(Qt.WindowState.WindowNoState)
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    ms.paint(win)
    win.canvas.flush()
    assert win.save_to(out)
    win.doc.history.set_clean()
    win.close()


def birds(shot: str) -> None:
    """The birds of the landscape: dark pixels with bright sky just above them, left of the
    docks; prints a box around them and a point on the painting below them."""
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    s = a.sum(axis=2)
    h, w = s.shape
    hit = np.zeros((h, w), bool)
    chroma = a.max(axis=2) - a.min(axis=2)   # the sky is coloured; UI text is grey
    hit[6:] = (s[6:] < 200) & (s[:-6] > 480) & (a[:-6, :, 2] > 150) & (chroma[:-6] > 40)
    hit[:, int(w * 0.7):] = False
    hit[: int(h * 0.08)] = False
    ys, xs = np.nonzero(hit)
    if xs.size == 0:
        raise SystemExit("no birds found in the screenshot")
    # The flock is the densest cluster (a selected list row can match a few pixels too).
    cells = (ys // 60) * 10000 + xs // 60
    vals, counts = np.unique(cells, return_counts=True)
    cy, cx = divmod(int(vals[counts.argmax()]), 10000)
    near = (np.abs(xs - (cx * 60 + 30)) < 160) & (np.abs(ys - (cy * 60 + 30)) < 100)
    xs, ys = xs[near], ys[near]
    pad = max(12, int(xs.max() - xs.min()) // 4)
    print(xs.min() - pad, ys.min() - pad, xs.max() + pad, ys.max() + pad,
          (xs.min() + xs.max()) // 2, ys.max() + 4 * pad)


if __name__ == "__main__":
    {"paint": paint, "birds": birds}[sys.argv[1]](sys.argv[2])
