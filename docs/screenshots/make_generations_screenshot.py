"""Screenshot of the Generations dock: the landscape of `make_screenshots.py`, three AI jobs
run through the real AI worker from the AI panel (the classical fill a newcomer gets with no
model installed; prompts and seeds recorded), one variation applied, and the dock showing the
list, the picked entry's variations, its editable prompt and its settings.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python \
        docs/screenshots/make_generations_screenshot.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
_tmp = tempfile.mkdtemp(prefix="aiart-generations-shot-")
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))
os.environ["HF_HUB_OFFLINE"] = "1"

from make_screenshots import paint  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.ai.requests import CLASSICAL  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core import selection  # noqa: E402
from aiart_desktop.qt.ai_dock import install_ai_dock  # noqa: E402
from aiart_desktop.qt.bootstrap import create_app  # noqa: E402
from aiart_desktop.qt.main_window import MainWindow  # noqa: E402
from aiart_desktop.qt.panels.generation_history import install_generation_history  # noqa: E402

JOBS = (  # prompt, variations, ellipse (x0, y0, x1, y1) in document pixels
    ("soft evening clouds over the ridge", 3, (150, 40, 650, 260)),
    ("rolling green hills with long grass", 2, (820, 480, 1300, 780)),
    ("a quiet lake, reflections", 2, (300, 600, 760, 820)),
)


def main() -> int:
    app = create_app([])
    win = MainWindow(autosave=False, ai=False)
    win.resize(1600, 1000)
    win.show()
    QTest.qWaitForWindowExposed(win)
    paint(win)
    doc = win.doc
    registry = ModelRegistry(Path(_tmp) / "models", allow_pickle=False)
    ai = install_ai_dock(win, registry=registry, engine=default_engine(registry, device="cpu"))
    gen = install_generation_history(win)
    ai.refresh_models()
    for prompt, n, (x0, y0, x1, y1) in JOBS:
        doc.set_selection(selection.ellipse_mask(doc.width, doc.height, x0, y0, x1, y1))
        f = ai.form
        f.set_op("inpaint")
        f.model.setCurrentIndex(f.model.findData(CLASSICAL))
        f.prompt.setPlainText(prompt)
        f.batch.setValue(n)
        before = len(doc.generation_history)
        assert ai.generate(), ai.error.text()
        deadline = time.monotonic() + 120
        while (len(doc.generation_history) == before or ai.running) \
                and time.monotonic() < deadline:
            QTest.qWait(50)
    ai.apply(1)
    doc.set_selection(None)
    dock = win.docks["generationsDock"]
    dock.show()
    dock.raise_()
    win.resizeDocks([dock], [330], Qt.Orientation.Horizontal)
    gen.list.setCurrentRow(0)
    vp = win.canvas.viewport()
    zoom = 0.5
    win.canvas.set_view(zoom, (vp.width() - doc.width * zoom) / 2,
                        (vp.height() - doc.height * zoom) / 2)
    win.canvas.flush()
    for _ in range(5):
        app.processEvents()
        QTest.qWait(30)
    gen.flush()
    out = HERE / "generations.png"
    win.grab().save(str(out))
    print(f"wrote {out}: {gen.list.count()} generations")
    doc.history.set_clean()
    gen.shutdown()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
