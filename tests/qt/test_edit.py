"""Edit menu: undo/redo actions, Undo History, clipboard, selection commands; presets."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.qt.canvas.presets import load_presets, preset_from_dict, preset_to_dict
from aiart_desktop.qt.convert import array_to_qimage, qimage_to_array


def test_undo_redo_actions_follow_the_stack(win) -> None:
    a = win.acts
    assert not a.undo.isEnabled() and not a.redo.isEnabled()
    assert a.undo.text() == "&Undo"
    win.layers_panel.add_layer()
    assert a.undo.isEnabled() and a.undo.text() == "&Undo Add layer"
    a.undo.trigger()
    assert not a.undo.isEnabled()
    assert a.redo.isEnabled() and a.redo.text() == "&Redo Add layer"
    assert [s.toString() for s in a.redo.shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    a.redo.trigger()
    assert len(win.doc.layers) == 2


def test_history_panel_lists_steps_and_jumps(win, qtbot) -> None:
    doc, hp = win.doc, win.history_panel
    panel = win.layers_panel
    layer = panel.add_layer()
    doc.set_props(layer, name="Ink")
    panel.add_group()
    texts = [hp.list.item(i).text() for i in range(hp.list.count())]
    assert texts == ["Original", "Add layer", "Rename layer", "Add group"]
    assert hp.list.currentRow() == 3
    hp.list.setCurrentRow(1)            # a click on "Add layer"
    qtbot.waitUntil(lambda: doc.history.index == 1)
    assert layer.name == "Layer 1" and len(doc.root.children) == 2
    assert hp.list.currentRow() == 1
    assert hp.list.item(3).font().italic()   # undone steps stay listed
    hp.list.setCurrentRow(0)
    qtbot.waitUntil(lambda: doc.history.index == 0)
    assert len(doc.root.children) == 1
    hp.jump_to(3)
    assert doc.history.index == 3 and layer.name == "Ink"


def test_copy_paste_through_the_system_clipboard(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    px = np.zeros((20, 30, 4), np.uint8)
    px[...] = (10, 200, 90, 255)
    px[:, :5, 3] = 128
    doc.put_pixels(layer, 40, 50, px)
    QTest.keyClick(win, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    got = qimage_to_array(QApplication.clipboard().image())
    assert got.shape == (20, 30, 4)
    assert np.array_equal(got[:, 5:], px[:, 5:]) and (got[:, :5, 3] == 128).all()
    n = len(doc.layers)
    QTest.keyClick(win, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(doc.layers) == n + 1
    pasted = doc.active_layer
    assert pasted.name.startswith("Pasted")
    assert np.array_equal(pasted.read(doc.rect), layer.read(doc.rect))  # same place
    assert doc.history.steps[-1] == "Paste"
    win.undo()
    assert len(doc.layers) == n


def test_copy_respects_the_selection_and_cut_clears_it(win) -> None:
    doc = win.doc
    bg = doc.layers[0]
    mask = np.zeros((doc.height, doc.width), np.uint8)
    mask[10:20, 30:50] = 255
    doc.set_selection(mask)
    assert win.cut()
    img = qimage_to_array(QApplication.clipboard().image())
    assert img.shape == (10, 20, 4) and (img == 255).all()
    px = bg.read(doc.rect)
    assert px[15, 40, 3] == 0 and px[25, 40, 3] == 255
    win.undo()
    assert bg.read(doc.rect)[15, 40, 3] == 255
    # An image from elsewhere (no origin) lands centred on the view.
    QApplication.clipboard().setImage(array_to_qimage(np.full((8, 6, 4), 77, np.uint8)))
    assert win.paste()
    b = doc.active_layer.bounds()
    assert (b.w, b.h) == (6, 8)


def test_select_all_deselect_invert(win) -> None:
    doc = win.doc
    QTest.keyClick(win, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert doc.selection is not None and doc.selection.min() == 255
    assert win.canvas._selection_box == doc.rect
    QTest.keyClick(win, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert doc.selection is None
    mask = np.zeros((doc.height, doc.width), np.uint8)
    mask[:, :100] = 255
    doc.set_selection(mask)
    QTest.keyClick(win, Qt.Key.Key_I,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.selection[:, :100].max() == 0 and doc.selection[:, 100:].min() == 255
    win.undo()
    assert doc.selection[:, :100].min() == 255


def test_shipped_presets_load() -> None:
    presets = load_presets()
    names = [p.name for p in presets]
    assert names == ["Pencil", "Ink", "Hard Round", "Soft Airbrush", "Marker", "Eraser"]
    eraser = presets[-1]
    assert eraser.eraser and not any(p.eraser for p in presets[:-1])
    ink = presets[1]
    assert ink.size_curve(0.0) == 0.0 and ink.size_curve(1.0) == 1.0
    assert 0.3 < ink.size_curve(0.5) < 0.4
    again = preset_from_dict(preset_to_dict(ink))
    assert again.size_curve == ink.size_curve and again.size == ink.size


def test_tool_options_edit_the_current_tool(win) -> None:
    st, opts = win.state, win.tool_options
    st.set_tool("brush")
    opts.hardness.spin.setValue(30)
    assert abs(st.brushes["brush"].hardness - 0.3) < 1e-9
    row = opts.preset.findText("Ink")
    opts.preset.setCurrentIndex(row)
    opts.preset.activated.emit(row)
    assert st.brush.name == "Ink" and opts.size.value() == st.brush.size
    st.set_tool("eraser")
    assert opts.title.text() == "Eraser"
    opts.size.spin.setValue(77)
    assert st.brushes["eraser"].size == 77 and st.brushes["brush"].name == "Ink"
    st.set_tool("fill")
    opts.tolerance.setValue(40)
    opts.contiguous.setChecked(False)
    assert st.fill_tolerance == 40 and not st.fill_contiguous
    st.set_tool("hand")
    assert "pan" in opts.hint.text()


def test_convert_round_trip() -> None:
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    assert np.array_equal(qimage_to_array(array_to_qimage(px)), px)


def test_window_layout_is_remembered(qtbot, prompts) -> None:
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.settings import Settings

    s = Settings()
    w = MainWindow(settings=s, prompts=prompts, autosave=False)
    qtbot.addWidget(w)
    w.show()
    w.docks["historyDock"].hide()
    w.save_layout()
    assert s.window_state and s.window_geometry
    w2 = MainWindow(settings=s, prompts=prompts, autosave=False)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.docks["historyDock"].isHidden() and not w2.docks["layersDock"].isHidden()
    assert w2.findChild(type(w2.docks["aiDock"]), "aiDock") is not None
