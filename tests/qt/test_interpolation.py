"""In-betweens and "more like this" in the AI dock, through the real worker and tiny models:
select two variations, render frames into the strip, scrub, apply a frame as one undo step with
its record; more like this; re-generate a frame; cancel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.latents import INTERPOLATE, MORE_LIKE_THIS
from tests.support.dock import dock_window, set_form

WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _variations(qtbot, win, stop_workers, registry, engine, batch: int = 3):
    panel = dock_window(win, registry, engine)
    stop_workers.append(panel.worker)
    set_form(panel, model="tiny-sd", batch=batch, steps=2)
    panel.generate()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert panel.strip.count() == batch
    return panel


def _select_two(panel, a: int, b: int) -> None:
    strip = panel.strip
    strip.setCurrentRow(a)
    strip.selectionModel().select(strip.model().index(b, 0),
                                  QItemSelectionModel.SelectionFlag.Select)


def test_in_between_strip_scrub_and_apply(qtbot, win, stop_workers, tiny_registry,
                                          tiny_engine) -> None:
    panel = _variations(qtbot, win, stop_workers, tiny_registry, tiny_engine)
    doc, base = win.doc, panel.result
    between = panel.results.between_button
    assert not between.isEnabled()            # one variation picked: not yet
    assert panel.results.frames.value() == 5  # the default
    _select_two(panel, 0, 2)
    assert panel.strip.endpoints() == (0, 2) and between.isEnabled()
    panel.results.frames.setValue(3)
    QTest.mouseClick(between, Qt.MouseButton.LeftButton)
    assert panel.running
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    strip = panel.interp
    assert strip.isVisible() and not panel.results.isVisible()
    assert len(strip.frames) == 5 and strip.list.count() == 5
    assert [round(f.t, 2) for f in strip.frames] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert strip.list.item(0).text() == "A" and strip.list.item(4).text() == "B"
    assert strip.frames[0].result is base and strip.frames[4].index == 2
    # Scrubbing shows each frame on the canvas.
    assert strip.chosen() == 2 and "t = 0.50" in panel.preview_caption()
    shown = []
    for v in range(5):
        strip.slider.setValue(v)
        assert strip.chosen() == v and strip.t_label.text() == f"t = {strip.frames[v].t:.2f}"
        img = panel.preview[0]
        shown.append(bytes(img.constBits()))
    assert len(set(shown)) == 5  # five different pictures
    # Apply frame t = 0.75: one undo step, its record names t and both endpoints.
    strip.slider.setValue(3)
    undo0, before = doc.history.undo_count, doc.flatten()
    QTest.mouseClick(strip.apply_button, Qt.MouseButton.LeftButton)
    assert doc.history.undo_count == undo0 + 1
    rec = doc.active_layer.provenance
    assert rec[INTERPOLATE]["t"] == 0.75
    assert rec[INTERPOLATE]["from"]["seed"] == base.seeds[0]
    assert rec[INTERPOLATE]["to"]["seed"] == base.seeds[2]
    out = doc.selection == 0
    assert np.array_equal(doc.flatten()[out], before[out])
    win.undo()
    assert np.array_equal(doc.flatten(), before)
    # Re-generate puts the frame's mix in the form; running it re-makes the same frame.
    frame = strip.frames[3]
    QTest.mouseClick(strip.regen_button, Qt.MouseButton.LeftButton)
    assert panel.form.mix is not None and panel.form.mix_row.isVisibleTo(panel)
    assert panel.form.params()["batch_size"] == 1 and not panel.form.batch.isEnabled()
    strip.close_button.click()
    assert not strip.isVisible() and panel.results.isVisible()
    panel.generate()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert np.array_equal(panel.result.images[0], frame.result.images[frame.index])
    panel.form.mix_clear.click()
    assert panel.form.mix is None and panel.form.batch.isEnabled()


def test_more_like_this_from_the_picked_variation(qtbot, win, stop_workers, tiny_registry,
                                                  tiny_engine) -> None:
    panel = _variations(qtbot, win, stop_workers, tiny_registry, tiny_engine, batch=2)
    src = panel.result
    panel.strip.setCurrentRow(1)
    panel.results.amount.setValue(15)
    panel.form.batch.setValue(3)
    QTest.mouseClick(panel.results.more_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    r = panel.result
    assert r is not src and len(r.images) == 3 and r.seeds == [src.seeds[1]] * 3
    assert panel.strip.item(0).text().startswith(f"#1 ≈{src.seeds[1]}")
    rec = r.record(0)
    assert rec[MORE_LIKE_THIS]["base_seed"] == src.seeds[1]
    assert rec[MORE_LIKE_THIS]["amount"] == 0.15
    # More like this of a "more like this" variation is refused with a reason.
    assert not panel.results.more_button.isEnabled()
    assert panel.more_like_this() is None or panel.running


def test_in_between_cancel_changes_nothing(qtbot, win, stop_workers, tiny_registry,
                                           tiny_engine) -> None:
    panel = _variations(qtbot, win, stop_workers, tiny_registry, tiny_engine, batch=2)
    _select_two(panel, 0, 1)
    undo0 = win.doc.history.undo_count
    cancelled = []
    job = panel.in_between(4)
    assert job is not None
    job.cancelled.connect(lambda: cancelled.append(job))
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert cancelled and not panel.interp.isVisible() and panel.results.isVisible()
    assert "Cancelled" in panel.status.text() and win.doc.history.undo_count == undo0
    assert panel.strip.count() == 2  # the variations are still there
