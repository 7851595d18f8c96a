"""Fill selection with LaMa through the AI dock and the real worker thread (a tiny ONNX graph
of LaMa's interface, tests/ai/test_lama.py): offered beside the classical fill, picked by
itself when installed and no diffusion model is, one layer and one undo step, cancel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import CLASSICAL, LAMA, MIGAN
from aiart_desktop.ai.setup import default_engine
from tests.support.dock import SELECTION, dock_window, outside
from tests.support.tiny_lama import COLOUR, install_tiny_lama, install_tiny_migan

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


def test_migan_is_offered_and_fills_through_the_dock(qtbot, win, stop_workers,
                                                     tmp_path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    install_tiny_migan(reg)
    panel = _panel(win, stop_workers, reg)
    f = panel.form
    assert [f.model.itemData(i) for i in range(f.model.count())] == [MIGAN, CLASSICAL]
    assert f.current_model() == MIGAN and not f.paints()
    f.set_op("img2img")
    assert "MI-GAN only fills selections" in f.blocked_reason()
    f.set_op("inpaint")
    f.batch.setValue(1)
    doc = win.doc
    before = doc.flatten()
    QTest.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.strip.count() == 1, timeout=WAIT)
    assert panel.result.model_name == "MI-GAN"
    panel.apply()
    after = doc.flatten()
    out = outside(doc)
    assert np.array_equal(after[out], before[out])
    inner = after[SELECTION.y + 6:SELECTION.bottom - 6, SELECTION.x + 6:SELECTION.right - 6]
    assert (inner[..., :3] == COLOUR).all() and doc.layers[-1].name == "AI Fill (MI-GAN)"
    install_tiny_lama(reg)          # both: LaMa first, MI-GAN beside it
    panel.refresh_models()
    assert [f.model.itemData(i) for i in range(f.model.count())] == [LAMA, MIGAN, CLASSICAL]


def test_the_form_says_what_the_object_remover_does(qtbot, win, stop_workers,
                                                    tmp_path) -> None:
    """With LaMa picked the hints say LaMa (not the classical fill), the prompt says it is not
    used, and one answer is made (LaMa has no seed to vary)."""
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    install_tiny_lama(reg)
    panel = _panel(win, stop_workers, reg)
    f = panel.form
    assert f.current_model() == LAMA
    assert "with LaMa" in f.no_model.text() and "classical" not in f.no_model.text()
    assert "LaMa takes no prompt" in f.prompt.placeholderText()
    assert not f.batch.isEnabled() and f.params()["batch_size"] == 1
    f.model.setCurrentIndex(f.model.findData(CLASSICAL))
    assert "classical fill" in f.no_model.text()
    assert f.prompt.placeholderText().startswith("Describe what to paint")
    assert f.batch.isEnabled() and f.params()["batch_size"] == f.batch.value()


def test_a_fill_without_prompt_removes_with_lama_even_when_a_model_is_picked(
        qtbot, win, stop_workers, tmp_path, model_folders) -> None:
    """Installed LaMa is the automatic choice of a Fill with no prompt, a diffusion model
    picked or not (the prompt box says so); with a prompt the picked model paints."""
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sd-inpaint"], name="sd-inpaint")
    install_tiny_lama(reg)
    panel = _panel(win, stop_workers, reg)
    f = panel.form
    f.set_op("inpaint")
    assert f.current_model() == "sd-inpaint" and f.paints()
    assert "Empty: LaMa removes what is selected" in f.prompt.placeholderText()
    f.prompt.setPlainText("")
    assert f.params()["model"] == LAMA and f.params()["batch_size"] == 1
    f.prompt.setPlainText("a red boat")
    assert f.params()["model"] == "sd-inpaint"
    f.set_op("img2img")
    assert "Empty" not in f.prompt.placeholderText()
    f.set_op("inpaint")
    f.prompt.setPlainText("")
    doc = win.doc
    before = doc.flatten()
    QTest.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.strip.count() == 1, timeout=WAIT)
    assert panel.result.model_name == "LaMa"
    panel.apply()
    inner = doc.flatten()[SELECTION.y + 6:SELECTION.bottom - 6,
                          SELECTION.x + 6:SELECTION.right - 6]
    assert (inner[..., :3] == COLOUR).all()
    assert np.array_equal(doc.flatten()[outside(doc)], before[outside(doc)])
