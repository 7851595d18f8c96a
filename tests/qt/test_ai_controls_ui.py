"""The AI dock's Control layers section with real widgets, real documents and the tiny models:
a layer added as a Line art control shows what the model will see, follows the layer's pixels,
type, name and removal, and reaches the request Generate builds with its pixels over the
region and the chosen strength and range."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.ai.controls import ControlLayer, preprocess
from aiart_desktop.ai.requests import CLASSICAL
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.qt.panels.ai_control_row import SOURCE_SIDE, shrink
from tests.support.dock import dock_window, make_doc, set_form

WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _sketch(w: int, h: int, x0: int = 20) -> np.ndarray:
    """Dark strokes on a transparent layer: a box and a diagonal, 2 px wide."""
    px = np.zeros((h, w, 4), np.uint8)
    ink = (20, 20, 30, 255)
    px[20:22, x0:x0 + 100] = ink
    px[90:92, x0:x0 + 100] = ink
    px[20:92, x0:x0 + 2] = ink
    px[20:92, x0 + 98:x0 + 100] = ink
    for i in range(70):
        px[20 + i, x0 + i:x0 + i + 2] = ink
    return px


def _setup(win, stop_workers, registry, engine, doc: Document | None = None):
    doc = doc or make_doc(selection=None)
    panel = dock_window(win, registry, engine, doc)
    stop_workers.append(panel.worker)
    layer = doc.add_layer("Sketch", pixels=_sketch(doc.width, doc.height))
    doc.history.clear()
    assert doc.active is layer
    section = panel.form.controls_section
    return panel, doc, layer, section


def _thumb_settled(qtbot, section) -> None:
    """Wait for the thumbnails: debounced, then worked out on their own thread."""
    qtbot.waitUntil(lambda: not section.busy, timeout=5000)
    QApplication.processEvents()


def test_a_line_art_control_shows_what_the_model_sees(qtbot, win, stop_workers, tiny_registry,
                                                      tiny_engine) -> None:
    panel, doc, layer, section = _setup(win, stop_workers, tiny_registry, tiny_engine)
    set_form(panel, op="txt2img", model="tiny-sd")
    assert not section.is_open() and section.toggle.text() == "Control layers"  # folded
    assert section.add_button.isEnabled() and "Sketch" in section.add_button.toolTip()
    section.set_open(True)
    QTest.mouseClick(section.add_button, Qt.MouseButton.LeftButton)
    assert len(section.rows) == 1
    row = section.rows[0]
    row.set_kind("lineart")
    _thumb_settled(qtbot, section)
    assert row.name.text() == "Sketch" and section.toggle.text() == "Control layers (1)"
    # No selection, Generate: the region is the canvas (192 x 128, under SOURCE_SIDE).
    assert row.source_rect == doc.rect
    want = preprocess("lineart", layer.read(doc.rect))
    assert row.processed is not None and np.array_equal(row.processed, want)
    assert set(np.unique(want)) == {0, 255} and want[21, 60, 0] == 255 and want[5, 5, 0] == 0
    pix = row.thumb.pixmap()
    assert pix is not None and not pix.isNull() and max(pix.width(), pix.height()) <= 72
    assert "Line art" in row.thumb.toolTip()
    # Painting on the layer updates the thumbnail (debounced), as does another type.
    more = np.zeros((10, 40, 4), np.uint8)
    more[..., 3] = 255
    doc.put_pixels(layer, 140, 100, more)
    qtbot.waitUntil(lambda: row.processed is not None and row.processed[105, 150, 0] == 255,
                    timeout=5000)
    _thumb_settled(qtbot, section)
    assert np.array_equal(row.processed, preprocess("lineart", layer.read(doc.rect)))
    row.set_kind("softedge")
    _thumb_settled(qtbot, section)
    assert np.array_equal(row.processed, preprocess("softedge", layer.read(doc.rect)))
    # A selection makes the region smaller: the thumbnail is cropped to it.
    from aiart_desktop.core import selection as sel

    doc.set_selection(sel.rect_mask(doc.width, doc.height, Rect(40, 16, 64, 48)))
    _thumb_settled(qtbot, section)
    assert row.source_rect is not None and row.source_rect.w < doc.width
    assert np.array_equal(row.processed, preprocess("softedge", layer.read(row.source_rect)))


def test_a_big_canvas_keeps_thin_lines_in_the_thumbnail(qtbot, win, stop_workers,
                                                        tiny_registry, tiny_engine) -> None:
    doc = Document.new(1600, 1200, (255, 255, 255, 255))
    panel, doc, layer, section = _setup(win, stop_workers, tiny_registry, tiny_engine, doc)
    set_form(panel, op="txt2img", model="tiny-sd")
    row = section.add_active("lineart")
    _thumb_settled(qtbot, section)
    assert row is not None and row.processed is not None
    assert max(row.processed.shape[:2]) <= SOURCE_SIDE
    src = shrink(layer.read(doc.rect), lines=True)
    assert np.array_equal(row.processed, preprocess("lineart", src))
    # The 2 px strokes are still there after scaling down by 7.
    assert row.processed[20 // 7, 60 // 7, 0] == 255 and row.processed.mean() < 40


def test_generate_carries_the_control_with_the_layers_pixels(qtbot, win, stop_workers,
                                                             tiny_registry, tiny_engine) -> None:
    panel, doc, layer, section = _setup(win, stop_workers, tiny_registry, tiny_engine,
                                        make_doc())   # with the dock tests' selection
    set_form(panel, op="txt2img", model="tiny-sd", batch=1, steps=1)
    row = section.add_active("lineart")
    assert row is not None
    row.strength.spin.setValue(80)
    row.end.setValue(90)
    row.start.setValue(10)
    assert section.control_layers() == [ControlLayer(layer_uid=layer.uid, kind="lineart",
                                                     strength=0.8, start=0.1, end=0.9)]
    job = panel.generate()
    assert job is not None
    req = panel._job_request
    assert req is not None and len(req.controls) == 1
    c = req.controls[0]
    assert (c.kind, c.strength, c.start, c.end, c.layer) == ("lineart", 0.8, 0.1, 0.9, "Sketch")
    assert np.array_equal(c.image, layer.read(req.rect))
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    # Load settings puts the control back on the layer of the same name.
    rec = req.to_record()
    section.remove_row(row)
    panel.form.fill_from_record(rec)
    back = section.rows[0]
    assert (back.node, back.current_kind(), back.strength.value(), back.range()) == (
        layer, "lineart", 80, (0.1, 0.9))
    # Refine, Fill selection and Expand canvas take it too, cropped to their own region.
    for op, model in (("img2img", "tiny-sd"), ("inpaint", "tiny-inpaint"),
                      ("outpaint", "tiny-inpaint")):
        set_form(panel, op=op, model=model, batch=1, steps=1)
        req = panel._make_request(doc)
        assert [x.kind for x in req.controls] == ["lineart"], op
        assert np.array_equal(req.controls[0].image, layer.read(req.rect)), op
        _thumb_settled(qtbot, section)   # the thumbnail is cropped as the request is
        assert section.rows[0].source_rect == req.rect, op
    # The classical fill takes none: the section is disabled and says why.
    panel.form.model.setCurrentIndex(panel.form.model.findData(CLASSICAL))
    panel.form.set_op("inpaint")
    assert not section.body.isEnabled() and "classical fill" in section.toggle.toolTip()
    assert "controls" not in panel.form.params()
    assert panel._make_request(doc).controls == ()


def test_rows_follow_renames_and_removal(qtbot, win, stop_workers, tiny_registry,
                                         tiny_engine) -> None:
    panel, doc, layer, section = _setup(win, stop_workers, tiny_registry, tiny_engine)
    set_form(panel, op="txt2img", model="tiny-sd")
    group = doc.add_group("Guides")
    row = section.add_active("lineart")
    doc.set_active(layer)
    row2 = section.add_active("canny")
    assert row is not None and row2 is not None and row.name.text() == "Guides"
    doc.set_props(layer, name="Lines")
    assert row2.name.text() == "Lines"
    doc.remove_node(layer)
    assert row2.removed and "removed" in row2.name.text()
    assert section.toggle.text() == "Control layers (1)"
    assert [c.layer_uid for c in section.control_layers()] == [group.uid]
    req = panel._make_request(doc)
    assert [c.layer for c in req.controls] == ["Guides"]
    doc.history.undo()
    assert not row2.removed and row2.name.text() == "Lines"
    assert len(section.control_layers()) == 2
    QTest.mouseClick(row.remove, Qt.MouseButton.LeftButton)
    assert [c.layer_uid for c in section.control_layers()] == [layer.uid]
    # Another document: its rows start empty.
    win.set_document(make_doc())
    assert section.rows == [] and section.control_layers() == []


def test_a_missing_control_model_or_detector_is_named(qtbot, win, stop_workers, tiny_registry,
                                                      tiny_engine) -> None:
    panel, doc, layer, section = _setup(win, stop_workers, tiny_registry, tiny_engine)
    set_form(panel, op="txt2img", model="tiny-sd")
    row = section.add_active("lineart")
    assert row is not None
    assert row.note.isVisibleTo(section) and "Line art" in row.note.text()
    assert "SD 1.5" in row.note.text() and "Models…" in row.note.text()
    row.set_kind("depth")
    assert "Depth Anything" in row.note.text() and "Model Manager" in row.note.text()
    # The thumbnail shows the layer itself: the depth picture is made when the job runs.
    _thumb_settled(qtbot, section)
    assert row.processed is None and not row.thumb.pixmap().isNull()
    assert "when the job runs" in row.thumb.toolTip()
    # The note's link opens the model manager.
    opened: list[bool] = []
    panel.form.manage_models.connect(lambda: opened.append(True))
    row.note.linkActivated.emit("models")
    assert opened


def test_open_sections_keep_the_dock_narrow_and_its_button_in_view(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    panel, doc, layer, section = _setup(win, stop_workers, tiny_registry, tiny_engine)
    set_form(panel, op="txt2img", model="tiny-sd")
    dock = win.docks["aiDock"]
    QApplication.processEvents()
    body = panel.body_scroll.widget()
    narrow = body.minimumSizeHint().width()
    doc.set_props(layer, name="A sketch layer with a very long name indeed")
    for _ in range(4):
        assert section.add_active("lineart") is not None
    panel.form.loras_section.set_open(True)
    QApplication.processEvents()
    assert body.minimumSizeHint().width() <= narrow   # long names are cut, not widening
    run = panel.run_button
    assert run.isVisible() and run.visibleRegion().boundingRect() == run.rect()
    assert not panel.body_scroll.horizontalScrollBar().isVisible()
    assert not panel.scroll.horizontalScrollBar().isVisible()
    assert dock.width() < win.width() // 2
