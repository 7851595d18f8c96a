"""Every Layers-panel operation changes the document, shows in the tree, and undoes."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QSlider, QStyle, QStyleOptionSlider, QWidget

from aiart_desktop.core.blend import BLEND_MODES
from aiart_desktop.core.io.ora import load_ora
from aiart_desktop.core.layer import Group, Layer
from aiart_desktop.qt.panels.layer_model import COL_ALPHA, COL_NAME, COL_VISIBLE
from aiart_desktop.qt.panels.widgets import SliderSpin
from aiart_desktop.qt.theme import apply_theme


def _names(model, parent: QModelIndex | None = None) -> list[str]:
    parent = parent or QModelIndex()
    return [model.index(r, COL_NAME, parent).data() for r in range(model.rowCount(parent))]


def _click(panel, node, column: int) -> None:
    idx = panel.model.index_of(node, column)
    rect = panel.tree.visualRect(idx)
    assert rect.isValid()
    QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())


def _undo(win, n: int = 1) -> None:
    for _ in range(n):
        win.undo()


def test_add_duplicate_delete_show_in_tree_and_undo(win) -> None:
    doc, panel = win.doc, win.layers_panel
    model = panel.model
    assert _names(model) == ["Background"]
    panel.act_add.trigger()
    assert _names(model) == ["Layer 1", "Background"]
    assert doc.active is doc.layers[1]
    assert panel.tree.currentIndex() == model.index_of(doc.active)
    panel.act_duplicate.trigger()
    assert _names(model) == ["Layer 1 copy", "Layer 1", "Background"]
    panel.act_delete.trigger()
    assert _names(model) == ["Layer 1", "Background"]
    _undo(win)
    assert _names(model) == ["Layer 1 copy", "Layer 1", "Background"]
    _undo(win, 2)
    assert _names(model) == ["Background"]
    win.redo()
    assert _names(model) == ["Layer 1", "Background"]


def test_cannot_delete_the_last_layer(win) -> None:
    panel = win.layers_panel
    assert not panel.act_delete.isEnabled()
    panel.delete()
    assert len(win.doc.layers) == 1


def test_rename_by_editing_the_name(win, qtbot) -> None:
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    idx = panel.model.index_of(layer, COL_NAME)
    panel.tree.edit(idx)
    editor = panel.tree.indexWidget(idx)
    assert editor is not None and editor.text() == "Layer 1"
    editor.selectAll()
    QTest.keyClicks(editor, "Sky")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: layer.name == "Sky")  # the delegate commits queued
    assert doc.history.steps[-1] == "Rename layer"
    assert _names(panel.model)[0] == "Sky"
    _undo(win)
    assert layer.name == "Layer 1"
    assert _names(panel.model)[0] == "Layer 1"


def test_visibility_and_alpha_lock_toggles_by_clicking(win) -> None:
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    bg = doc.layers[0]
    _click(panel, bg, COL_NAME)
    assert doc.active is bg
    _click(panel, layer, COL_VISIBLE)
    assert layer.visible is False
    assert doc.active is bg                      # the eye does not select the row
    assert panel.model.index_of(layer, COL_VISIBLE).data(Qt.ItemDataRole.ToolTipRole).startswith(
        "Hidden")
    _click(panel, layer, COL_ALPHA)
    assert layer.alpha_lock is True
    _click(panel, layer, COL_NAME)
    assert panel.act_alpha.isChecked()
    _undo(win)
    assert layer.alpha_lock is False and not panel.act_alpha.isChecked()
    assert layer.visible is False                # hiding was not an undo step
    _click(panel, layer, COL_VISIBLE)
    assert layer.visible is True
    # The canvas shows the change: hiding the background leaves transparency.
    _click(panel, bg, COL_VISIBLE)
    assert doc.flatten()[5, 5, 3] == 0


def test_opacity_drag_is_one_undo_step(win) -> None:
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    steps = len(doc.history.steps)
    s = panel.opacity
    s.setSliderDown(True)          # what a mouse press on the handle does
    for v in (90, 70, 55, 40):
        s.setValue(v)
    s.setSliderDown(False)
    assert layer.opacity == 0.4
    assert len(doc.history.steps) == steps + 1
    assert panel.opacity_label.text() == "40 %"
    # A second drag is a second step.
    s.setSliderDown(True)
    s.setValue(20)
    s.setSliderDown(False)
    assert len(doc.history.steps) == steps + 2
    _undo(win)
    assert layer.opacity == 0.4 and s.value() == 40
    _undo(win)
    assert layer.opacity == 1.0 and s.value() == 100


def test_opacity_real_mouse_drag(win) -> None:
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    steps = len(doc.history.steps)
    s = panel.opacity
    handle_x = s.width() - 6
    y = s.height() // 2
    QTest.mousePress(s, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(handle_x, y))
    for x in range(handle_x, s.width() // 3, -12):
        QTest.mouseMove(s, QPoint(x, y))
    QTest.mouseRelease(s, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(s.width() // 3, y))
    assert layer.opacity < 0.6
    assert len(doc.history.steps) == steps + 1


def test_blend_mode_combo_lists_all_modes_and_undoes(win) -> None:
    panel = win.layers_panel
    layer = panel.add_layer()
    modes = [panel.blend.itemData(i) for i in range(panel.blend.count())]
    assert [m for m in modes if m] == list(BLEND_MODES)
    row = panel.blend.findData("multiply")
    panel.blend.setCurrentIndex(row)
    panel.blend.activated.emit(row)
    assert layer.blend_mode == "multiply"
    _undo(win)
    assert layer.blend_mode == "normal"
    assert panel.blend.currentData() == "normal"


def test_drag_to_reorder_and_into_a_group(win, qtbot) -> None:
    doc, panel = win.doc, win.layers_panel
    model = panel.model
    a = panel.add_layer()
    b = panel.add_layer()
    assert _names(model) == ["Layer 2", "Layer 1", "Background"]
    # Drag "Layer 2" (row 0) below "Layer 1" (drop at row 2 of the root).
    data = model.mimeData([model.index_of(b)])
    assert model.canDropMimeData(data, Qt.DropAction.MoveAction, 2, 0, QModelIndex())
    model.dropMimeData(data, Qt.DropAction.MoveAction, 2, 0, QModelIndex())
    qtbot.waitUntil(lambda: _names(model) == ["Layer 1", "Layer 2", "Background"])
    assert doc.root.children == [doc.layers[0], b, a]
    # Into a group: drop onto the group item (row -1).
    g = panel.add_group()
    data = model.mimeData([model.index_of(a)])
    model.dropMimeData(data, Qt.DropAction.MoveAction, -1, 0, model.index_of(g))
    qtbot.waitUntil(lambda: a.parent is g)
    assert _names(model, model.index_of(g)) == ["Layer 1"]
    # A group cannot go into itself.
    data = model.mimeData([model.index_of(g)])
    assert not model.canDropMimeData(data, Qt.DropAction.MoveAction, -1, 0, model.index_of(g))
    _undo(win)
    assert a.parent is doc.root
    _undo(win, 2)  # the group, then the reorder
    assert _names(model) == ["Layer 2", "Layer 1", "Background"]


def test_merge_down_flatten_clear(win) -> None:
    doc, panel = win.doc, win.layers_panel
    bg = doc.layers[0]
    top = panel.add_layer()
    red = np.zeros((10, 10, 4), np.uint8)
    red[...] = (255, 0, 0, 255)
    doc.put_pixels(top, 5, 5, red)
    panel.act_merge.trigger()
    assert doc.layers == [bg]
    assert tuple(bg.read(doc.rect)[7, 7]) == (255, 0, 0, 255)
    _undo(win)
    assert len(doc.layers) == 2 and tuple(bg.read(doc.rect)[7, 7]) == (255, 255, 255, 255)
    panel.tree.setCurrentIndex(panel.model.index_of(top))
    assert doc.active is top
    panel.act_clear.trigger()
    assert top.tiles.is_empty()
    _undo(win)
    assert not top.tiles.is_empty()
    panel.add_group()
    panel.act_flatten.trigger()
    assert len(doc.root.children) == 1 and isinstance(doc.root.children[0], Layer)
    assert tuple(doc.layers[0].read(doc.rect)[7, 7]) == (255, 0, 0, 255)
    _undo(win)
    assert any(isinstance(n, Group) for n in doc.root.children)
    assert len(doc.layers) == 2


def test_selecting_a_row_sets_the_active_layer_and_undo_keeps_tree_in_sync(win) -> None:
    doc, panel = win.doc, win.layers_panel
    a = panel.add_layer()
    bg = doc.layers[0]
    _click(panel, bg, COL_NAME)
    assert doc.active is bg
    assert not panel.act_merge.isEnabled()
    _click(panel, a, COL_NAME)
    assert doc.active is a and panel.act_merge.isEnabled()
    doc.set_props(a, name="Renamed elsewhere")
    assert _names(panel.model)[0] == "Renamed elsewhere"


def test_thumbnails_follow_the_pixels(win, qtbot) -> None:
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    empty = panel.model.thumbs.pixmap(layer, doc.width, doc.height).toImage()
    block = np.zeros((160, 240, 4), np.uint8)
    block[...] = (0, 0, 255, 255)
    doc.put_pixels(layer, 0, 0, block)
    full = panel.model.thumbs.pixmap(layer, doc.width, doc.height).toImage()
    c = full.pixelColor(full.width() // 2, full.height() // 2)
    assert (c.red(), c.green(), c.blue()) == (0, 0, 255)
    assert empty.pixelColor(empty.width() // 2, empty.height() // 2).blue() != 255


def test_visibility_toggles_are_not_undo_steps_but_modify_and_save(win, tmp_path) -> None:
    """As in Krita and Photoshop: the eye changes the picture and marks the document modified
    (so it is saved and autosaved), adds nothing to the history, and the .ora keeps it."""
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    red = np.zeros((20, 20, 4), np.uint8)
    red[...] = (255, 0, 0, 255)
    doc.put_pixels(layer, 10, 10, red)
    path = tmp_path / "eyes.ora"
    assert win.save_to(str(path))
    assert not doc.modified and not win.windowTitle().startswith("eyes.ora*")
    steps, index = list(doc.history.steps), doc.history.index
    _click(panel, layer, COL_VISIBLE)
    assert layer.visible is False and tuple(doc.flatten()[15, 15]) == (255, 255, 255, 255)
    assert doc.modified and win.windowTitle().startswith("eyes.ora*")
    assert doc.history.steps == steps and doc.history.index == index
    _click(panel, layer, COL_VISIBLE)
    _click(panel, layer, COL_VISIBLE)
    assert doc.history.steps == steps and layer.visible is False
    _undo(win)                                   # undoes the paint, not the eye
    assert layer.visible is False and layer.tiles.is_empty()
    win.redo()
    assert doc.modified                          # back at the saved step, but not as saved
    assert win.save_to(str(path))
    back = load_ora(path)
    hidden = next(n for n in back.layers if n.name == layer.name)
    assert hidden.visible is False and back.layers[0].visible is True
    assert tuple(back.flatten()[15, 15]) == (255, 255, 255, 255)
    hidden.visible = True
    assert tuple(back.flatten()[15, 15]) == (255, 0, 0, 255)


@pytest.fixture(params=["dark", "light"])
def themed(request):
    """The app's theme, as `apply_theme` installs it at start-up; the test session's own look
    comes back afterwards."""
    app = QApplication.instance()
    name, palette, sheet = app.style().name() or "fusion", QPalette(app.palette()), app.styleSheet()
    apply_theme(app, request.param)
    yield request.param
    app.setStyleSheet(sheet)
    app.setStyle(name)
    app.setPalette(palette)


def _click_track_at(slider: QSlider, fraction: float) -> None:
    """A left click on the slider's groove, `fraction` of the way along it."""
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    groove = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderGroove, slider)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    # The handle's centre travels from half a handle in to half a handle before the end.
    span = groove.width() - handle.width()
    x = groove.x() + handle.width() / 2 + fraction * span
    pos = QPoint(round(x), groove.center().y())
    assert not handle.contains(pos)              # on the track, not on the handle
    QTest.mouseClick(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def test_a_click_on_the_opacity_track_jumps_there(win, themed) -> None:
    """Not a 10 % page step towards the click: the value under the pointer, as in Krita."""
    doc, panel = win.doc, win.layers_panel
    layer = panel.add_layer()
    doc.set_props(layer, opacity=0.3)
    steps = len(doc.history.steps)
    assert panel.opacity.value() == 30
    _click_track_at(panel.opacity, 0.8)
    assert abs(panel.opacity.value() - 80) <= 2
    assert layer.opacity == pytest.approx(panel.opacity.value() / 100)
    assert len(doc.history.steps) == steps + 1   # one click, one undo step
    _click_track_at(panel.opacity, 0.1)
    assert abs(panel.opacity.value() - 10) <= 2
    _undo(win, 2)
    assert layer.opacity == pytest.approx(0.3)


def test_the_ai_forms_strength_slider_jumps_to_a_click_too(qtbot, themed) -> None:
    """App-wide: the strength sliders of the AI form (SliderSpin) are QSliders as well."""
    host = QWidget()
    qtbot.addWidget(host)
    strength = SliderSpin("Strength", 0, 100, suffix=" %", parent=host)
    host.resize(400, 40)
    strength.resize(400, 30)
    host.show()
    qtbot.waitExposed(host)
    strength.set_value(100)
    _click_track_at(strength.slider, 0.8)
    assert abs(strength.value() - 80) <= 2
