"""Fill selection with LaMa through the AI dock and the real worker thread (a tiny ONNX graph
of LaMa's interface, tests/ai/test_lama.py): offered beside the classical fill, picked by
itself when installed and no diffusion model is, one layer and one undo step, cancel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import CLASSICAL, LAMA
from aiart_desktop.ai.setup import default_engine
from tests.support.dock import SELECTION, dock_window, outside
from tests.support.tiny_lama import COLOUR, install_tiny_lama

WAIT = 60_000


def _panel(win, stop_workers, registry):
    panel = dock_window(win, registry, default_engine(registry, device="cpu"))
    stop_workers.append(panel.worker)
    return panel


def test_fill_selection_with_lama_through_the_dock(qtbot, win, stop_workers, tmp_path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    install_tiny_lama(reg)
    panel = _panel(win, stop_workers, reg)
    f = panel.form
    assert [f.model.itemData(i) for i in range(f.model.count())] == [LAMA, CLASSICAL]
    assert f.current_model() == LAMA  # the automatic choice: installed, no diffusion model
    f.set_op("txt2img")
    assert panel.generate() is None and "diffusion model" in panel.error.text()
    f.set_op("inpaint")
    f.batch.setValue(1)
    doc = win.doc
    before, undo0 = doc.flatten(), doc.history.undo_count
    QTest.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.strip.count() == 1, timeout=WAIT)
    assert panel.result.backend == "lama" and panel.result.model_name == "LaMa"
    panel.apply()
    after = doc.flatten()
    out = outside(doc)
    assert np.array_equal(after[out], before[out])
    inner = after[SELECTION.y + 6:SELECTION.bottom - 6, SELECTION.x + 6:SELECTION.right - 6]
    assert (inner[..., :3] == COLOUR).all()
    assert doc.history.undo_count == undo0 + 1 and "LaMa" in doc.layers[-1].name
    doc.history.undo()
    assert np.array_equal(doc.flatten(), before)


@pytest.mark.parametrize("installed", [False, True])
def test_the_classical_fill_stays_without_lama(qtbot, win, stop_workers, tmp_path,
                                               installed) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    if installed:
        install_tiny_lama(reg)
    panel = _panel(win, stop_workers, reg)
    assert panel.form.current_model() == (LAMA if installed else CLASSICAL)
    assert (panel.form.model.findData(LAMA) >= 0) == installed
