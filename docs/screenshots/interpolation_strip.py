"""Screenshot of the in-between strip after a real run: the landscape of `make_screenshots.py`,
a selection in the sky, three variations from a tiny random-weight Stable Diffusion model (built
here, as the tests do: its pictures are coloured noise, but every step is the real diffusers
code), the first and third selected, five frames rendered between them, and the middle frame
scrubbed onto the canvas.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/interpolation_strip.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
_tmp = tempfile.mkdtemp(prefix="aiart-interp-shot-")
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))
os.environ["HF_HUB_OFFLINE"] = "1"

from make_screenshots import paint  # noqa: E402
from PySide6.QtCore import QItemSelectionModel, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core import selection  # noqa: E402
from aiart_desktop.core.geometry import Rect  # noqa: E402
from aiart_desktop.qt.ai_dock import install_ai_dock  # noqa: E402
from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402
from tests.support.tiny_models import build_sd  # noqa: E402

SKY = (520, 90, 256, 192)   # x, y, w, h of the selection


def _wait(app, panel) -> None:
    for _ in range(1200):
        if not panel.running:
            return
        QTest.qWait(50)


def main() -> int:
    reg = ModelRegistry(Path(_tmp) / "models", allow_pickle=False)
    reg.add_folder(build_sd(Path(_tmp) / "tiny-sd", sample_size=16), name="tiny-sd")
    app = create_app([])
    win = MainWindow(autosave=False)
    panel = install_ai_dock(win, registry=reg, engine=default_engine(reg, device="cpu"))
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    paint(win)
    doc = win.doc
    x, y, w, h = SKY
    doc.set_selection(selection.rect_mask(doc.width, doc.height, Rect(x, y, w, h)))
    dock = win.docks["aiDock"]
    dock.show()
    dock.raise_()
    win.resizeDocks([dock], [380], Qt.Orientation.Horizontal)
    win.resizeDocks([win.docks["colorDock"], dock], [120, 840], Qt.Orientation.Vertical)
    panel.refresh_models()
    app.processEvents()
    f = panel.form
    f.set_op("txt2img")
    f.model.setCurrentIndex(f.model.findData("tiny-sd"))
    f.prompt.setPlainText("storm clouds at dusk")
    f.preset.setCurrentIndex(f.preset.findData("Watercolor"))
    f.batch.setValue(3)
    f.steps.setValue(4)
    f.seed.setText("1234")
    f.seed_lock.setChecked(True)
    panel.generate()
    _wait(app, panel)
    if panel.result is None:
        print("the variations did not finish:", panel.error.text(), panel.status.text())
        return 1
    strip = panel.strip
    strip.setCurrentRow(0)
    strip.selectionModel().select(strip.model().index(2, 0),
                                  QItemSelectionModel.SelectionFlag.Select)
    panel.results.frames.setValue(5)
    panel.in_between()
    _wait(app, panel)
    if not panel.interp.frames:
        print("the in-betweens did not finish:", panel.error.text(), panel.status.text())
        return 1
    panel.interp.slider.setValue(3)
    win.canvas.fit()
    win.canvas.flush()
    for _ in range(5):
        app.processEvents()
        QTest.qWait(30)
    out = HERE / "interpolation_strip.png"
    win.grab().save(str(out))
    ts = [round(fr.t, 3) for fr in panel.interp.frames]
    print(f"wrote {out}: frames at t = {ts}")
    doc.history.set_clean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
