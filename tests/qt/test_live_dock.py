"""The Live dock on a real window with the real worker and the tiny SD model: turning Live on
shows a frame, a stroke brings a newer one, Apply adds one layer and one undo step, another
document turns Live off, an error's message is shown and the toggle goes off. Waits are on the
dock's state, with generous timeouts; no wall-clock assertions."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtTest import QTest

from aiart_desktop.core.document import Document
from tests.support.dock import SELECTION, set_form
from tests.support.live import live_panel
from tests.support.window_helpers import mouse_stroke

WAIT = 60_000
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _frames(live) -> list:
    seen: list = []
    live.session.frame.connect(seen.append)
    return seen


def _stop(qtbot, live) -> None:
    live.set_live(False)
    qtbot.waitUntil(lambda: live.session.current is None or live._state == "off",
                    timeout=WAIT)


def test_live_on_shows_a_frame_and_a_stroke_brings_a_newer_one(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    seen = _frames(live)
    assert win.live_actions["toggle"].shortcut().toString() == "Ctrl+Shift+L"
    QTest.mouseClick(live.toggle, Qt.MouseButton.LeftButton)
    assert live.live
    qtbot.waitUntil(lambda: len(seen) >= 1 and live.view.image is not None, timeout=WAIT)
    first = seen[-1]
    assert live.result is first and live.apply_button.isEnabled()
    assert not first.rect.intersect(SELECTION).empty
    assert live.view.image.width() == first.rect.w
    # The overlay on the canvas shows the frame over its region.
    assert win.live_canvas_preview.isVisible()
    assert win.live_canvas_preview.rect_doc == first.rect
    qtbot.waitUntil(lambda: "Waiting" in live.status.text(), timeout=WAIT)
    assert live.fps() > 0 and "frames/s" in live.status.text()
    # A stroke over the region: a newer frame, made from the picture after it.
    win.state.set_tool("brush")
    revision = win.doc.revision if hasattr(win.doc, "revision") else None
    mouse_stroke(win, [(76, 52), (90, 60), (104, 70)])
    qtbot.waitUntil(lambda: len(seen) >= 2 and seen[-1] is not first, timeout=WAIT)
    if revision is not None:
        assert getattr(seen[-1].request, "revision", revision + 1) != revision
    assert live.result is seen[-1]
    live.show_overlay.setChecked(False)
    assert not win.live_canvas_preview.isVisible()
    _stop(qtbot, live)
    assert not live.live and live.status.text() == "Live is off"


def test_apply_adds_one_layer_and_one_undo_step(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    seen = _frames(live)
    live.set_live(True)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=WAIT)
    doc = win.doc
    layers0, undo0 = len(doc.layers), doc.history.undo_count
    _stop(qtbot, live)   # no newer frame replaces the one applied
    QTest.mouseClick(live.apply_button, Qt.MouseButton.LeftButton)
    assert len(doc.layers) == layers0 + 1
    assert doc.history.undo_count == undo0 + 1
    layer = doc.active_layer
    assert layer.provenance and layer.provenance.get("prompt") == "a red boat"
    win.undo()
    assert len(doc.layers) == layers0
    # Enter in the dock applies too (a push button outside a dialog passes Enter on).
    live.apply_button.setFocus()
    QTest.keyClick(live.apply_button, Qt.Key.Key_Return)
    assert len(doc.layers) == layers0 + 1 and doc.history.undo_count == undo0 + 1
    assert win.live_actions["apply"].shortcut().toString() == "Ctrl+Shift+Return"


def test_closing_the_window_turns_live_off(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    live.set_live(True)
    assert live.session.active
    assert win.close()
    assert not live.session.active and not live.live


def test_another_document_turns_live_off(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    seen = _frames(live)
    live.set_live(True)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=WAIT)
    win.set_document(Document.new(160, 120))
    assert not live.live and live.view.image is None
    assert not live.apply_button.isEnabled()
    assert not win.live_canvas_preview.isVisible()
    qtbot.waitUntil(lambda: live.status.text() == "Live is off", timeout=WAIT)


def test_a_normal_job_turns_live_off(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    live.set_live(True)
    assert live.live
    set_form(win.ai_panel, op="inpaint", model="tiny-inpaint", batch=1, steps=1)
    assert win.ai_panel.generate() is not None
    assert not live.live and live.status.text() == "Live is off"
    qtbot.waitUntil(lambda: not win.ai_panel.running, timeout=WAIT)
    assert win.ai_panel.strip.count() == 1   # the normal job ran to its end


def test_an_error_is_said_in_two_lines_and_the_toggle_goes_off(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    live.model.addItem("gone", "no-such-model")   # removed from disk after the list was read
    live.model.setCurrentIndex(live.model.count() - 1)
    live.set_live(True)
    assert live.live
    qtbot.waitUntil(lambda: not live.live, timeout=WAIT)
    assert not live.toggle.isChecked() and not live.error.isHidden()
    assert live.error.text() and live.error.text().count("\n") <= 1
    assert live.status.text() == "Live is off"
    # A stopped() message of many lines shows in two.
    live.session.stopped.emit("The model could not run: out of memory.\nline two\nline three")
    assert live.error.text().count("\n") <= 1 and "out of memory" in live.error.text()


def test_nothing_selected_is_said_and_live_stays_off(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.doc.set_selection(None)
    live.set_live(True)
    assert not live.live and "Nothing is selected" in live.error.text()


def test_record_asks_for_a_folder_through_prompts(
        qtbot, win, stop_workers, tiny_registry, tiny_engine, prompts, tmp_path: Path) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    live.record.setChecked(True)   # the stub answers None: nothing is recorded
    assert not live.record.isChecked() and any(a.startswith("folder:") for a in prompts.asked)
    prompts.folder_path = str(tmp_path)
    live.record.setChecked(True)
    assert live.record.isChecked() and str(tmp_path) in live.record_label.text()
    live.record.setChecked(False)
    assert live.record_label.isHidden()


def test_the_live_dock_fits_a_small_laptop_at_150_percent(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    from PySide6.QtWidgets import QApplication

    from aiart_desktop.qt.main_window import SCREEN_MARGIN

    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    room = QSize(910, 512) - SCREEN_MARGIN   # 1366×768 at 150 %, as test_window_fit
    m = win.minimumSizeHint().expandedTo(win.minimumSize())
    assert m.width() <= room.width() and m.height() <= room.height(), m
    win.resize(room)
    QApplication.processEvents()
    # The switch is in view without scrolling; nothing is clipped sideways.
    assert live.toggle.visibleRegion().boundingRect() == live.toggle.rect()
    body = live.body_scroll.widget()
    assert body.width() >= body.minimumSizeHint().width()
    assert not live.body_scroll.horizontalScrollBar().isVisible()
    # At 1366×768 (100 %) the frame view and Apply are in view too.
    win.resize(QSize(1350, 680))
    QApplication.processEvents()
    for w in (live.toggle, live.view, live.apply_button):
        assert w.visibleRegion().boundingRect() == w.rect(), w


def test_the_live_frame_follows_the_selection(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    from aiart_desktop.core import selection as sel
    from aiart_desktop.core.geometry import Rect

    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    seen = _frames(live)
    live.region.setCurrentIndex(live.region.findData("frame"))
    assert live.frame_button.isVisibleTo(live)
    assert live.settings().frame == SELECTION   # a new frame starts on the selection
    live.set_live(True)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=WAIT)
    assert seen[-1].rect == SELECTION
    moved = Rect(8, 8, 64, 48)
    doc = win.doc
    doc.set_selection(sel.rect_mask(doc.width, doc.height, moved))
    QTest.mouseClick(live.frame_button, Qt.MouseButton.LeftButton)
    assert live.settings().frame == moved
    qtbot.waitUntil(lambda: seen[-1].rect == moved, timeout=WAIT)
    _stop(qtbot, live)


def test_the_frame_view_shows_the_frame_at_the_canvas_zoom(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    seen = _frames(live)
    live.set_live(True)
    qtbot.waitUntil(lambda: len(seen) >= 1 and live.view.image is not None, timeout=WAIT)
    _stop(qtbot, live)
    view = live.view
    w, h = view.image.width(), view.image.height()
    fitted = view.image_rect()
    assert view.fit and not live.zoom_button.isChecked()   # Fit by default
    assert fitted.width() <= view.width() + 0.5 and fitted.height() <= view.height() + 0.5
    QTest.mouseClick(live.zoom_button, Qt.MouseButton.LeftButton)
    assert not view.fit
    for zoom in (2.0, 3.0, 0.5):   # it follows the canvas' zoom, centred
        win.canvas.set_view(zoom, 10.0, 10.0)
        r = view.image_rect()
        s = win.canvas.scale
        assert (r.width(), r.height()) == pytest.approx((w * s, h * s))
        assert r.center().x() == pytest.approx(view.width() / 2)
        assert r.center().y() == pytest.approx(view.height() / 2)
    QTest.mouseClick(live.zoom_button, Qt.MouseButton.LeftButton)
    assert view.fit and view.image_rect() == fitted


def test_live_uses_the_ai_docks_controls(qtbot, win, stop_workers, tiny_registry,
                                         tiny_engine) -> None:
    import numpy as np

    live = live_panel(win, stop_workers, tiny_registry, tiny_engine)
    doc = win.doc
    sketch = np.zeros((doc.height, doc.width, 4), np.uint8)
    sketch[50:52, 70:110] = (20, 20, 30, 255)
    layer = doc.add_layer("Sketch", pixels=sketch)
    set_form(win.ai_panel, op="img2img", model="tiny-sd", batch=1, steps=1)
    assert live.use_addons.isChecked() and live.addons_label.text().startswith("The AI dock")
    section = win.ai_panel.form.controls_section
    row = section.add_active("lineart")
    assert row is not None
    assert live.addons_label.text() == "Uses 1 control, 0 LoRAs from the AI dock"
    jobs: list = []
    win.ai_worker.submitted.connect(jobs.append)
    live.set_live(True)
    assert len(jobs) == 1
    req = jobs[0].request
    assert [(c.kind, c.layer) for c in req.controls] == [("lineart", "Sketch")]
    assert np.array_equal(req.controls[0].image, layer.read(req.rect))
    # A change in the AI dock re-pushes the settings: the stale frame goes, a new one comes.
    row.strength.spin.setValue(50)
    assert len(jobs) == 2 and jobs[1].request.controls[0].strength == 0.5
    # Unticked: live goes on without them.
    live.use_addons.setChecked(False)
    assert len(jobs) == 3 and jobs[2].request.controls == ()
    assert live.addons_label.isHidden()
    _stop(qtbot, live)
    qtbot.waitUntil(lambda: not win.ai_worker.busy, timeout=WAIT)


def test_apply_of_a_taesd_frame_says_so_and_adds_the_layer_when_it_is_made(
        qtbot, win, stop_workers, model_folders, tmp_path) -> None:
    """With TAESD installed the frames are decoded by it; Apply re-makes the frame with the full
    VAE on the worker, says so on the status line, and the layer lands when that is done."""
    import shutil

    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine

    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="tiny-sd")
    shutil.copytree(model_folders["taesd"], reg.catalogue_folder("taesd"))
    live = live_panel(win, stop_workers, reg, default_engine(reg, device="cpu"))
    seen = _frames(live)
    said: list[str] = []
    live.message.connect(said.append)
    added: list = []
    live.applied.connect(added.append)
    live.set_live(True)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=WAIT)
    assert seen[-1].info["decoder"] == "taesd"
    _stop(qtbot, live)
    doc = win.doc
    layers0, undo0 = len(doc.layers), doc.history.undo_count
    QTest.mouseClick(live.apply_button, Qt.MouseButton.LeftButton)
    assert len(doc.layers) == layers0 and "full VAE" in said[-1]   # on its way
    qtbot.waitUntil(lambda: len(added) == 1, timeout=WAIT)
    assert len(doc.layers) == layers0 + 1 and doc.history.undo_count == undo0 + 1
    assert added[0] is doc.active_layer and said[-1] == "Live frame applied as a new layer"
    assert added[0].provenance.get("decoder", "vae") == "vae"
