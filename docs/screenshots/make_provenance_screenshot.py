"""Screenshot of Image > Provenance: the landscape of `make_screenshots.py` with two AI
layers made by the real engine (the classical fill a newcomer gets with no model installed,
with prompts and seeds recorded; it blends in, as it should), one of them partly painted
over with grass at 50 %, and the dialog
showing each AI layer's share, the total, and the selected layer's record.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python \
        docs/screenshots/make_provenance_screenshot.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
_tmp = tempfile.mkdtemp(prefix="aiart-provenance-shot-")
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))
os.environ["HF_HUB_OFFLINE"] = "1"

from make_screenshots import Painter, paint  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QColor, QPainter  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aiart_desktop.ai.apply import apply_result  # noqa: E402
from aiart_desktop.ai.capture import make_request  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core import selection  # noqa: E402
from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.dialogs.provenance import ProvenanceDialog  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402

FILLS = (  # prompt, seed, ellipse (x0, y0, x1, y1) in document pixels
    ("soft evening clouds", 1234, (150, 40, 650, 260)),
    ("rolling green hills with long grass", 98765, (820, 480, 1300, 780)),
)


def main() -> int:
    app = create_app([])
    win = MainWindow(autosave=False)
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    paint(win)
    doc = win.doc
    engine = default_engine(device="cpu")
    for prompt, seed, (x0, y0, x1, y1) in FILLS:
        doc.set_selection(selection.ellipse_mask(doc.width, doc.height, x0, y0, x1, y1))
        req = make_request(doc, "inpaint", prompt=prompt, model="classical", seed=seed)
        apply_result(doc, engine.run(req), 0)
    doc.set_selection(None)
    # Paint grass over part of the hills fill at half opacity: that fill's share drops.
    P = Painter(win)
    P.layer("Grass")
    P.tool("brush")
    P.preset("Hard Round", size=60, opacity=50)
    P.color(52, 96, 60)
    P.mouse([(x, 560 + 40 * ((x // 60) % 2)) for x in range(900, 1260, 30)])
    P.mouse([(x, 660 + 30 * ((x // 60) % 2)) for x in range(880, 1280, 30)])
    # The picture small in the top of the canvas, the dialog below it (no window manager
    # under Xvfb: the dialog is drawn onto the window's grab with a frame and a title).
    vp = win.canvas.viewport()
    zoom = 0.45
    win.canvas.set_view(zoom, (vp.width() - doc.width * zoom) / 2, 12)
    win.canvas.flush()
    win.acts.provenance.trigger()
    dlg = win.findChild(ProvenanceDialog)
    assert dlg is not None
    dlg.resize(960, 470)
    dlg.table.selectRow(0)
    for _ in range(5):
        app.processEvents()
        QTest.qWait(30)
    shot = win.grab()
    body = dlg.grab()
    top_left = vp.mapTo(win, QPoint(0, 0))
    x = top_left.x() + (vp.width() - body.width()) // 2
    y = shot.height() - body.height() - 40
    title_h = 26
    p = QPainter(shot)
    p.fillRect(x - 2, y - title_h - 2, body.width() + 4, body.height() + title_h + 4,
               QColor(20, 20, 22))
    p.fillRect(x, y - title_h, body.width(), title_h, QColor(58, 62, 70))
    p.setPen(QColor(235, 235, 235))
    p.drawText(x + 10, y - title_h, body.width() - 20, title_h,
               int(Qt.AlignmentFlag.AlignVCenter), "Provenance")
    p.drawPixmap(x, y, body)
    p.end()
    out = HERE / "provenance.png"
    shot.save(str(out))
    print(f"wrote {out}: {dlg.total.text()}")
    doc.history.set_clean()
    dlg.close()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
