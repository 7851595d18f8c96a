"""The life of a result in the AI dock, on a real window with the real worker: a variation is
applied once, a cancel never brings an applied result back, every status line follows the state
it describes, Re-run in the Generations dock leaves the form alone, and the keyboard hints are
true."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.ai.records import gen_history as gh
from aiart_desktop.ai.requests import CLASSICAL
from tests.support.dock import dock_window, set_form

WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _panel(win, stop_workers, registry, engine):
    panel = dock_window(win, registry, engine)
    stop_workers.append(panel.worker)
    return panel


def _run(qtbot, panel, n: int) -> None:
    assert panel.generate()
    qtbot.waitUntil(lambda: not panel.running and panel.strip.count() == n, timeout=WAIT)


def _ai_layers(doc) -> list:
    return [la for la in doc.layers if la.provenance]


def test_apply_twice_adds_one_layer_and_marks_the_variation(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    panel = _panel(win, stop_workers, tiny_registry, tiny_engine)
    doc = win.doc
    set_form(panel, batch=2)
    _run(qtbot, panel, 2)
    undo0 = doc.history.undo_count
    QTest.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    layer = doc.active_layer
    assert len(_ai_layers(doc)) == 1 and doc.history.undo_count == undo0 + 1
    assert "\u2713" in panel.strip.item(0).text() and "\u2713" not in panel.strip.item(1).text()
    assert "applied" in panel.strip.item(0).toolTip()
    assert not panel.apply_button.isEnabled() and panel.apply_button.text() == "Applied"
    assert "Ctrl+Z removes it" in panel.status.text() and layer.name in panel.status.text()
    # A second Apply (button, Enter in the strip, the menu action) adds nothing.
    QTest.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    panel.strip.setFocus()
    QTest.keyClick(panel.strip, Qt.Key.Key_Return)
    assert panel.apply() is layer
    win.ai_actions["apply"].trigger()
    assert len(_ai_layers(doc)) == 1 and doc.history.undo_count == undo0 + 1
    assert panel.preview is None  # the applied one is on the canvas as a layer, not a preview
    # Undo: the mark, the button and the status line follow; it can be applied again.
    win.undo()
    assert not _ai_layers(doc)
    assert "\u2713" not in panel.strip.item(0).text() and panel.apply_button.isEnabled()
    assert "Ctrl+Z" not in panel.status.text() and "not on the canvas" in panel.status.text()
    assert panel.apply() is not None and len(_ai_layers(doc)) == 1
    # Redo after an undo of that second apply brings the mark back.
    win.undo()
    win.redo()
    assert "\u2713" in panel.strip.item(0).text() and not panel.apply_button.isEnabled()


def test_cancel_after_an_applied_expand_leaves_no_preview_and_no_duplicate(
        qtbot, win, stop_workers, tiny_registry, tiny_engine, monkeypatch) -> None:
    panel = _panel(win, stop_workers, tiny_registry, tiny_engine)
    doc = win.doc
    f = panel.form
    f.set_op("outpaint")
    f.model.setCurrentIndex(f.model.findData(CLASSICAL))
    f.pixels.setValue(32)
    f.batch.setValue(1)
    _run(qtbot, panel, 1)
    assert panel.apply() is not None
    w_after, undo_after = doc.width, doc.history.undo_count
    assert w_after == 192 + 32 and len(_ai_layers(doc)) == 1
    # A later job, cancelled mid-run.
    from aiart_desktop.core import selection as sel
    from aiart_desktop.core.geometry import Rect

    doc.set_selection(sel.rect_mask(doc.width, doc.height, Rect(150, 40, 40, 40)))
    undo_after = doc.history.undo_count
    set_form(panel, op="inpaint", batch=1, steps=30)
    cancelled_at: list[int] = []
    real_run = tiny_engine.run

    def run(request, on_progress, cancelled):  # cancel from the worker thread, mid-run
        def progress(p) -> None:
            if p.step >= 2 and not cancelled_at:
                cancelled_at.append(p.step)
                panel.worker.cancel(panel.worker.current)
            on_progress(p)
        return real_run(request, progress, cancelled)

    monkeypatch.setattr(tiny_engine, "run", run)
    job = panel.generate()
    assert job is not None, panel.error.text()
    with qtbot.waitSignal(job.cancelled, timeout=WAIT):
        pass
    monkeypatch.undo()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert cancelled_at
    assert panel.preview is None and not win.ai_canvas_preview.isVisible()
    assert "not applied yet" not in panel.status.text()
    assert "not applied yet" not in panel.preview_caption()
    assert "Cancelled" in panel.status.text()
    # Apply now does not resurrect the expand: no second layer, no second canvas growth.
    panel.apply()
    win.ai_actions["apply"].trigger()
    assert doc.width == w_after and len(_ai_layers(doc)) == 1
    assert doc.history.undo_count == undo_after


def test_status_lines_follow_discard_and_failures(qtbot, win, stop_workers, tiny_registry,
                                                  tiny_engine) -> None:
    panel = _panel(win, stop_workers, tiny_registry, tiny_engine)
    set_form(panel, batch=1)
    _run(qtbot, panel, 1)
    assert "previewed on the canvas" in panel.status.text()
    assert "not applied yet" in panel.preview_caption()
    QTest.mouseClick(panel.discard_button, Qt.MouseButton.LeftButton)
    assert "previewed" not in panel.status.text() and panel.preview is None
    assert panel.preview_caption() == ""
    # Fill selection with nothing selected says what the user did and what to do.
    win.doc.set_selection(None)
    assert panel.generate() is None
    text = panel.error.text()
    assert "Nothing is selected" in text and "whole region" not in text
    assert len(text.splitlines()) <= 2


def test_results_take_the_focus_so_the_arrow_hint_is_true(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    panel = _panel(win, stop_workers, tiny_registry, tiny_engine)
    set_form(panel, batch=3)
    win.canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.canvas, timeout=2000)
    QTest.keyClick(win.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not panel.running and panel.strip.count() == 3, timeout=WAIT)
    assert "←" in panel.status.text() and "Enter" in panel.status.text()
    focus = QApplication.focusWidget()
    assert focus is panel.strip
    QApplication.processEvents()
    view = (win.canvas.horizontalScrollBar().value(), win.canvas.verticalScrollBar().value())
    QTest.keyClick(focus, Qt.Key.Key_Right)
    assert panel.strip.chosen() == 1
    assert (win.canvas.horizontalScrollBar().value(),
            win.canvas.verticalScrollBar().value()) == view   # the canvas did not pan
    # Clicking a thumbnail, then Enter, applies that one.
    rect = panel.strip.visualItemRect(panel.strip.item(2))
    QTest.mouseClick(panel.strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.strip.chosen() == 2
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert win.doc.active_layer.provenance["variant"] == 2


def test_rerun_in_generations_leaves_the_form_alone(qtbot, win, stop_workers, tiny_registry,
                                                    tiny_engine, tmp_path: Path) -> None:
    from aiart_desktop.qt.panels.generation_history import install_generation_history

    ai = _panel(win, stop_workers, tiny_registry, tiny_engine)
    gen = install_generation_history(win, user_store=gh.UserHistory(tmp_path / "user"))
    try:
        set_form(ai, batch=1, prompt="a red boat")
        with qtbot.waitSignal(gen.recorded, timeout=WAIT):
            assert ai.generate()
        qtbot.waitUntil(lambda: not ai.running, timeout=WAIT)
        first = ai.result
        # The user moves on: another prompt, two variations, seed unlocked.
        f = ai.form
        f.prompt.setPlainText("a castle at dusk")
        f.batch.setValue(2)
        f.seed_lock.setChecked(False)
        form_before = (f.prompt.toPlainText(), f.batch.value(), f.seed_lock.isChecked(),
                       f.seed.text())
        gen.refresh()
        gen.list.setCurrentRow(0)
        with qtbot.waitSignal(gen.recorded, timeout=WAIT):
            assert gen.rerun()
            assert "Re-running" in gen.status.text()
        qtbot.waitUntil(lambda: not ai.running, timeout=WAIT)
        assert (f.prompt.toPlainText(), f.batch.value(), f.seed_lock.isChecked(),
                f.seed.text()) == form_before
        again = ai.result
        assert again.request.prompt == "a red boat" and again.seeds == first.seeds
        assert np.array_equal(again.images[0], first.images[0])   # re-made exactly
        assert "Re-running" not in gen.status.text() and "finished" in gen.status.text()
        # Load settings is the explicit way to copy them, and it says so.
        assert gen.load_settings()
        assert f.prompt.toPlainText() == "a red boat" and f.seed_lock.isChecked()
        assert "copied into the AI panel" in gen.status.text()
    finally:
        gen.shutdown()


def test_the_first_job_shows_real_progress_while_the_model_loads(
        qtbot, win, stop_workers, tiny_registry) -> None:
    from aiart_desktop.ai.setup import default_engine

    panel = _panel(win, stop_workers, tiny_registry, default_engine(tiny_registry, device="cpu"))
    set_form(panel, batch=1, steps=3)
    events: list[tuple[str, int, int]] = []
    phase = [""]
    bars: list[tuple[str, int, int]] = []   # what the dock's bar showed, per phase

    def on_status(p: str) -> None:
        phase[0] = p

    def on_progress(step: int, total: int, _img: object) -> None:
        events.append((phase[0], step, total))
        # Connected after the panel's own slot: what the dock's bar shows now.
        bars.append((panel._phase, panel.progress.value(), panel.progress.maximum()))

    job = panel.generate()
    assert job is not None
    job.status.connect(on_status)      # nothing is delivered before the event loop runs
    job.progress.connect(on_progress)
    qtbot.waitUntil(lambda: not panel.running and panel.strip.count() == 1, timeout=WAIT)
    phases = [p for p, _s, _t in events]
    assert "loading the model" in phases and "generating" in phases
    load = phases.index("loading the model")
    assert load < phases.index("generating")
    assert all(t == 0 for p, _s, t in events if p == "loading the model")   # busy, not full
    # While it loads, the bar is a busy indicator, never a full bar of the previous phase.
    loading = [b for b in bars if b[0] == "loading the model"]
    assert loading and all(mx == 0 for _p, _v, mx in loading), (events, bars)
    assert any(p == "generating" and mx == 3 for p, _v, mx in bars)
