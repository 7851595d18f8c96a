"""Select Subject, Remove Background and Replace Background in the window (qt/subject_ops.py),
through the menus, the real AI worker thread and a tiny ONNX graph of BiRefNet's interface
(tests/support/tiny_matte.py: dark paint is the subject)."""
from __future__ import annotations

import cv2
import numpy as np

from aiart_desktop.ai import cutout
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from aiart_desktop.qt.actions import window_menu
from aiart_desktop.qt.subject_ops import install_subject_ops
from tests.support.dock import dock_window
from tests.support.tiny_matte import install_tiny_matte

WAIT = 60_000
INK = (25, 20, 30, 255)


def _doc() -> Document:
    """Warm paper, and a dark disc painted on its own layer (the active one)."""
    doc = Document.new(240, 160, (235, 225, 205, 255))
    ink = np.zeros((160, 240, 4), np.uint8)
    cv2.circle(ink, (120, 80), 40, INK, -1)
    doc.add_layer("Ink", pixels=ink)
    return doc


def _disc(r: int) -> np.ndarray:
    m = np.zeros((160, 240), np.uint8)
    cv2.circle(m, (120, 80), r, 255, -1)
    return m > 0


def _window(win, stop_workers, tmp_path, installed: bool = True, paint_model=None):
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    if installed:
        install_tiny_matte(reg)
    if paint_model is not None:
        reg.add_folder(paint_model, name="sd-inpaint")
    engine = default_engine(reg, device="cpu")
    panel = dock_window(win, reg, engine, _doc())
    stop_workers.append(panel.worker)
    return install_subject_ops(win), engine


def _menu_action(win, menu: str, name: str):
    m = window_menu(win, menu)
    assert m is not None
    found = [a for a in m.actions() if a.objectName() == name]
    assert len(found) == 1, f"{name} is not in the {menu} menu"
    return found[0]


def test_select_subject_from_the_select_menu(qtbot, win, stop_workers, tmp_path) -> None:
    ops, _ = _window(win, stop_workers, tmp_path)
    doc = win.doc
    names = [a.text().replace("&", "") for a in window_menu(win, "Select").actions()]
    assert names.index("Select Subject") == names.index("Select Object") + 1
    undo0 = doc.history.undo_count
    _menu_action(win, "Select", "select_subject").trigger()
    assert ops.running and ops.strip.isVisibleTo(win)
    assert win.ai_actions["cancel"].isEnabled()      # Esc cancels it
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    sel = doc.selection
    assert sel is not None and doc.history.undo_count == undo0 + 1
    assert sel[_disc(34)].min() >= 250 and sel[~_disc(46)].max() <= 5
    assert ((sel > 10) & (sel < 245)).any()          # a soft edge
    assert not ops.strip.isVisibleTo(win) and not win.ai_actions["cancel"].isEnabled()
    assert "subject is selected" in win.statusBar().currentMessage()
    # a mask is no generation: the Generations history does not list it
    assert doc.generation_history == []


def test_remove_background_from_the_layer_menu(qtbot, win, stop_workers, tmp_path) -> None:
    ops, _ = _window(win, stop_workers, tmp_path)
    doc = win.doc
    ink = doc.active_layer
    before = doc.flatten().copy()
    n = len(doc.layers)
    _menu_action(win, "Layer", "remove_background").trigger()
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    assert len(doc.layers) == n + 1 and not ink.visible
    cut = doc.active_layer
    assert cut is not ink and cut.name == "Ink (subject)"
    px = cut.read(doc.rect)
    assert (px[_disc(34)] == INK).all() and px[~_disc(46)][:, 3].max() <= 2
    assert "hidden, not deleted" in win.statusBar().currentMessage()
    doc.history.undo()
    assert len(doc.layers) == n and ink.visible and np.array_equal(doc.flatten(), before)


def test_replace_background_selects_it_and_readies_the_fill(qtbot, win, stop_workers,
                                                           tmp_path, model_folders) -> None:
    ops, _ = _window(win, stop_workers, tmp_path, paint_model=model_folders["sd-inpaint"])
    doc = win.doc
    panel = win.ai_panel
    form = panel.form
    form.set_op("txt2img")
    form.model.setCurrentIndex(form.model.findData("classical"))   # takes no prompt
    _menu_action(win, "Layer", "replace_background").trigger()
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    sel = doc.selection
    assert sel is not None
    assert sel[_disc(34)].max() <= 5 and sel[~_disc(46)].min() >= 250   # the background
    assert form.current_op() == "inpaint"
    assert form.paints() and form.current_model() == "sd-inpaint"   # a model that paints
    assert "describe the new background" in panel.status.text()
    assert len(doc.layers) == 2        # nothing painted yet: the artist writes the prompt


def test_replace_background_without_a_diffusion_model_says_so(qtbot, win, stop_workers,
                                                              tmp_path) -> None:
    ops, _ = _window(win, stop_workers, tmp_path)
    _menu_action(win, "Layer", "replace_background").trigger()
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    assert win.doc.selection is not None       # the background is selected all the same
    assert "needs a diffusion model" in win.ai_panel.status.text()


def test_without_a_model_it_says_what_to_install(qtbot, win, stop_workers, tmp_path) -> None:
    ops, _ = _window(win, stop_workers, tmp_path, installed=False)
    assert not ops.start("select") and not ops.running
    assert win.statusBar().currentMessage() == cutout.SUBJECT_HINT
    assert win.doc.selection is None


def test_cancel_changes_nothing(qtbot, win, stop_workers, tmp_path) -> None:
    ops, engine = _window(win, stop_workers, tmp_path)
    doc = win.doc
    n, undo0 = len(doc.layers), doc.history.undo_count
    with engine._lock:           # the worker waits at the engine: cancel lands before the run
        assert ops.start("remove")
        qtbot.waitUntil(lambda: ops.job is not None, timeout=WAIT)   # read and submitted
        job = ops.job
        ops.cancel_button.click()
        assert ops.label.text() == "Cancelling\u2026"
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    assert job.state == "cancelled"
    assert len(doc.layers) == n and doc.history.undo_count == undo0
    assert "cancelled; nothing was changed" in win.statusBar().currentMessage()
    # the next run works
    assert ops.start("select")
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    assert doc.selection is not None


def test_a_huge_canvas_is_read_in_steps_and_cancel_while_reading(qtbot, win, stop_workers,
                                                                 tmp_path) -> None:
    ops, _ = _window(win, stop_workers, tmp_path)
    doc = Document.new(4000, 3000, (235, 225, 205, 255))
    ink = np.zeros((3000, 4000, 4), np.uint8)
    cv2.circle(ink, (2000, 1500), 700, INK, -1)
    doc.add_layer("Ink", pixels=ink)
    win.set_document(doc)
    submitted: list = []
    win.ai_worker.submitted.connect(submitted.append)
    assert ops.start("select")
    assert ops.running and ops._steps is not None      # nothing read yet: the UI goes on
    assert ops.label.text().endswith("reading the picture\u2026")
    ops.cancel_button.click()
    assert not ops.running and not ops.strip.isVisibleTo(win) and submitted == []
    assert "cancelled; nothing was changed" in win.statusBar().currentMessage()
    # painted while it reads: the reading starts over and the mask follows the new paint
    assert ops.start("select")
    more = np.zeros((400, 400, 4), np.uint8)
    more[...] = INK
    doc.put_pixels(doc.layers[-1], 200, 200, more)
    qtbot.waitUntil(lambda: not ops.running, timeout=WAIT)
    assert len(submitted) == 1 and submitted[0].request.revision == doc.revision - 1
    sel = doc.selection
    assert sel is not None and sel[1500, 2000] >= 250 and sel[400, 400] >= 250
    assert sel[2900, 100] <= 5


def test_remove_background_needs_a_layer(qtbot, win, stop_workers, tmp_path) -> None:
    ops, _ = _window(win, stop_workers, tmp_path)
    doc = win.doc
    group = doc.add_group("Group")
    doc.set_active(group)
    assert not ops.start("remove")
    assert "works on a layer" in win.statusBar().currentMessage()


def test_a_message_covered_by_a_tools_line_comes_back(qtbot, win) -> None:
    """A result's message that Select Object's "Reading the picture…" line covered shows again
    when that line goes (it was lost before: the walk's Remove Background message)."""
    sb = win.statusBar()
    sb.showMessage("“Ink (subject)” holds the subject", 8000)
    win.canvas.status.emit("Reading the picture for Select Object…")
    assert sb.currentMessage().startswith("Reading the picture")
    win.canvas.status.emit("")
    assert sb.currentMessage() == "“Ink (subject)” holds the subject"
    # a message that had already gone does not come back
    sb.clearMessage()
    win.canvas.status.emit("Reading the picture for Select Object…")
    win.canvas.status.emit("")
    assert sb.currentMessage() == ""
