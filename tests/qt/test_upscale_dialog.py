"""Image › Upscale… in the window (qt/dialogs/upscale.py): through the Image menu, the real AI
worker thread, Lanczos (no model), one undo step, Cancel."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from aiart_desktop.qt.actions import window_menu
from aiart_desktop.qt.dialogs.upscale import install_upscale
from tests.support.dock import dock_window

WAIT = 60_000


def _doc() -> Document:
    doc = Document.new(160, 120, (200, 210, 220, 255))
    ink = np.zeros((40, 50, 4), np.uint8)
    ink[...] = (20, 40, 160, 255)
    doc.add_layer("Ink", pixels=ink, x=60, y=30)
    return doc


def _window(win, stop_workers, tmp_path):
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    engine = default_engine(reg, device="cpu")
    panel = dock_window(win, reg, engine, _doc())
    stop_workers.append(panel.worker)
    return install_upscale(win), engine


def test_upscale_the_picture_from_the_image_menu(qtbot, win, stop_workers, tmp_path) -> None:
    act, _ = _window(win, stop_workers, tmp_path)
    assert act in window_menu(win, "Image").actions()
    doc = win.doc
    before = doc.flatten().copy()
    act.trigger()
    dlg = win._upscale_dialog
    assert dlg.isVisible()
    assert dlg.method.currentData() == "lanczos"        # no upscaler installed
    assert dlg.size_line.text() == "160 × 120 → 320 × 240 px"
    dlg.scale.setCurrentIndex(dlg.scale.findData(0.0))  # to a width
    dlg.width.setValue(400)
    assert dlg.size_line.text() == "160 × 120 → 400 × 300 px"
    dlg.scale.setCurrentIndex(0)                          # ×2
    undo0 = doc.history.undo_count
    dlg.run_button.click()
    assert dlg.running and not dlg.run_button.isEnabled()
    qtbot.waitUntil(lambda: not dlg.running, timeout=WAIT)
    assert (doc.width, doc.height) == (320, 240) and doc.history.undo_count == undo0 + 1
    assert "Upscaled with Lanczos: 320 × 240 px" in dlg.message.text()
    assert not dlg.preview.isHidden()       # a look at a scaled layer came with the progress
    assert doc.layers[1].bounds().w == 100
    doc.history.undo()
    assert (doc.width, doc.height) == (160, 120) and np.array_equal(doc.flatten(), before)
    assert doc.generation_history == []      # a scaled picture is not a generation


def test_cancel_changes_nothing(qtbot, win, stop_workers, tmp_path) -> None:
    act, engine = _window(win, stop_workers, tmp_path)
    doc = win.doc
    before = doc.flatten().copy()
    act.trigger()
    dlg = win._upscale_dialog
    with engine._lock:                 # the job waits at the engine: cancel comes first
        job = dlg.start()
        assert job is not None and dlg.cancel_button.text() == "Cancel"
        dlg.cancel_button.click()
    qtbot.waitUntil(lambda: not dlg.running, timeout=WAIT)
    assert job.state == "cancelled" and "Cancelled; nothing was changed." in dlg.message.text()
    assert (doc.width, doc.height) == (160, 120) and np.array_equal(doc.flatten(), before)
    assert dlg.cancel_button.text() == "Close" and dlg.run_button.isEnabled()


def test_the_active_layer_only(qtbot, win, stop_workers, tmp_path) -> None:
    act, _ = _window(win, stop_workers, tmp_path)
    doc = win.doc
    doc.set_active(doc.layers[1])
    act.trigger()
    dlg = win._upscale_dialog
    dlg.target.setCurrentIndex(dlg.target.findData("layer"))
    assert "The layer: 50 × 40 → 100 × 80 px" in dlg.size_line.text()
    dlg.run_button.click()
    qtbot.waitUntil(lambda: not dlg.running, timeout=WAIT)
    assert (doc.width, doc.height) == (160, 120)
    b = doc.layers[1].bounds()
    assert (b.w, b.h) == (100, 80) and (b.x + b.w / 2, b.y + b.h / 2) == (85, 50)


def test_the_selection_into_a_new_layer(qtbot, win, stop_workers, tmp_path) -> None:
    from aiart_desktop.core import selection as sel
    from aiart_desktop.core.geometry import Rect

    act, _ = _window(win, stop_workers, tmp_path)
    doc = win.doc
    ink = doc.layers[1]
    doc.set_active(ink)
    act.trigger()
    dlg = win._upscale_dialog
    dlg.target.setCurrentIndex(dlg.target.findData("selection"))
    assert dlg.size_line.text() == "Nothing is selected: select the part to enlarge."
    doc.set_selection(sel.rect_mask(160, 120, Rect(70, 40, 20, 20)))
    dlg.refresh()
    assert dlg.size_line.text() == "The selection: 20 × 20 → 40 × 40 px, in a new layer"
    before = doc.flatten().copy()
    dlg.run_button.click()
    qtbot.waitUntil(lambda: not dlg.running, timeout=WAIT)
    new = doc.active_layer
    assert new is not None and new.name == "Ink (upscaled)" and len(doc.layers) == 3
    assert "the new layer “Ink (upscaled)”, 40 × 40 px" in dlg.message.text()
    assert (doc.width, doc.height) == (160, 120)
    assert new.read(Rect(62, 32, 36, 36))[..., 3].min() == 255   # 40² about (80, 50)
    doc.history.undo()
    assert len(doc.layers) == 2 and np.array_equal(doc.flatten(), before)


def test_refine_the_whole_picture_in_tiles_from_the_ai_panel(qtbot, win, stop_workers,
                                                             registry, engine) -> None:
    panel = dock_window(win, registry, engine, _doc())
    stop_workers.append(panel.worker)
    f = panel.form
    f.set_op("img2img")
    f.model.setCurrentIndex(f.model.findData("sd"))
    f.area.setCurrentIndex(f.area.findData("tiles"))
    f.prompt.setPlainText("a painted sky")
    f.steps.setValue(2)
    f.batch.setValue(3)                  # a refine in tiles makes one result all the same
    job = panel.generate()
    assert job is not None and job.request.tiled and job.request.rect == win.doc.rect
    qtbot.waitUntil(lambda: panel.strip.count() == 1, timeout=WAIT)
    assert panel.result.images[0].shape == (120, 160, 3)
    n = len(win.doc.layers)
    panel.apply()
    assert len(win.doc.layers) == n + 1 and win.doc.layers[-1].bounds() == win.doc.rect


def test_the_detail_pass_refines_the_selection_with_its_own_settings(
        qtbot, win, stop_workers, registry, engine) -> None:
    panel = dock_window(win, registry, engine, _doc())
    stop_workers.append(panel.worker)
    f = panel.form
    f.model.setCurrentIndex(f.model.findData("sd"))
    f.set_op("txt2img")
    f.steps.setValue(2)                       # a few-step model keeps its steps
    doc = win.doc
    doc.set_selection(None)
    assert panel.detail_pass() is None and "select the hand, face" in panel.error.text()
    sel = np.zeros((120, 160), np.uint8)
    sel[50:74, 70:94] = 255                    # a 24² "hand"
    doc.set_selection(sel)
    win.ai_actions["detail"].trigger()
    job = panel.job
    assert job is not None
    req = job.request
    assert req.op == "img2img" and req.strength == pytest.approx(0.45)
    assert f.current_op() == "img2img" and f.steps.value() == 2
    # a wider context than a plain Refine: 32 px around the 24² selection, snapped
    assert req.rect.x <= 70 - 32 and req.rect.right >= 94 + 32
    qtbot.waitUntil(lambda: panel.strip.count() >= 1, timeout=WAIT)
    f.steps.setValue(12)
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    panel.detail_pass()
    assert f.steps.value() == 25              # a many-step model gets at least 25
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)


def test_the_tile_grid_and_its_time_are_shown_before_a_refine_in_tiles(
        qtbot, win, stop_workers, registry, engine) -> None:
    panel = dock_window(win, registry, engine, _doc())
    stop_workers.append(panel.worker)
    f = panel.form
    f.model.setCurrentIndex(f.model.findData("sd"))
    f.set_op("img2img")
    assert f.tiles_hint.isHidden()
    f.area.setCurrentIndex(f.area.findData("tiles"))
    f.steps.setValue(4)
    f.strength.set_value(50)
    f.steps.setValue(2)
    text = f.tiles_hint.text()
    assert not f.tiles_hint.isHidden() and text.startswith("160 × 120 px: 9 tiles of 64 px")
    assert "1 step)" in text and "after this model's first run" in text
    f.prompt.setPlainText("x")
    panel.generate()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert "About " in f.tiles_hint.text()       # the estimate, once the model ran here
    win.doc.resize_canvas(320, 240)
    assert f.tiles_hint.text().startswith("320 × 240 px:")


def test_f1_lists_the_ai_and_upscale_shortcuts(qtbot, win, stop_workers, tmp_path,
                                               prompts) -> None:
    _window(win, stop_workers, tmp_path)
    win.show_shortcuts()
    title, body = prompts.infos[-1][:2]
    assert title == "Keyboard Shortcuts"
    for text, key in (("Upscale", "Ctrl+Alt+I"), ("Detail Pass (Hands, Faces)", "Ctrl+Alt+D"),
                      ("Run AI", "Ctrl+Return")):
        assert f"<td>{text}</td><td>&nbsp;&nbsp;<b>{key}" in body, text
    assert "<b>Ctrl+Z</b>" in body and "<b>Ctrl+Shift+I</b>" in body   # the menus' too
