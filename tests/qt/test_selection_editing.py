"""Editing through a selection in the real window: painting, Delete, fill, copy / paste,
quick mask, and the transform tool."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.core import selection as sel
from aiart_desktop.core.brush import LINEAR, BrushSettings
from aiart_desktop.core.geometry import Rect
from tests.support.window_helpers import mouse_stroke, view_pos

Mod = Qt.KeyboardModifier
HARD = BrushSettings(name="Test round", size=12.0, hardness=1.0, spacing=0.1,
                     size_curve=LINEAR, min_size=1.0)


def rect(doc, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    return sel.rect_mask(doc.width, doc.height, Rect.from_edges(x0, y0, x1, y1))


def all_pixels(doc) -> list[np.ndarray]:
    return [layer.read(doc.rect).copy() for layer in doc.layers]


def painted_layer(win):
    """A layer with a 60×40 orange block at (40, 40) and a blue one at (150, 90)."""
    doc = win.doc
    layer = win.layers_panel.add_layer()
    px = np.zeros((doc.height, doc.width, 4), np.uint8)
    px[40:80, 40:100] = (240, 140, 20, 255)
    px[90:120, 150:200] = (20, 60, 230, 255)
    doc.put_pixels(layer, 0, 0, px)
    return layer


# ---- painting, Delete, fill ---------------------------------------------------------------
def test_brush_paints_only_inside_a_hard_selection(win) -> None:
    doc = win.doc
    layer = painted_layer(win)
    doc.set_selection(rect(doc, 60, 30, 140, 100))
    before = layer.read(doc.rect).copy()
    win.state.set_tool("brush")
    win.state.apply_preset(HARD.with_(size=20.0))
    win.state.set_foreground((10, 200, 30))
    mouse_stroke(win, [(20, 60), (80, 62), (130, 64), (220, 66)])
    after = layer.read(doc.rect)
    inside = doc.selection == 255
    assert np.array_equal(after[~inside], before[~inside])       # bit-identical outside
    assert tuple(after[62, 100]) == (10, 200, 30, 255)
    assert tuple(after[62, 50]) == tuple(before[62, 50])
    assert doc.history.steps[-1] == "Test round stroke"


def test_delete_clears_only_the_selection_softly(win) -> None:
    doc = win.doc
    layer = painted_layer(win)
    mask = sel.feather(rect(doc, 50, 30, 90, 90), 4)
    doc.set_selection(mask)
    before = layer.read(doc.rect).copy()
    QTest.keyClick(win, Qt.Key.Key_Delete)
    after = layer.read(doc.rect)
    expect = np.round(before[..., 3] * (1 - mask / 255.0)).astype(np.uint8)
    assert np.array_equal(after[..., 3], expect)
    assert after[60, 70, 3] == 0 and after[60, 41, 3] == 255
    assert np.array_equal(after[mask == 0], before[mask == 0])
    assert doc.history.steps[-1] == "Clear"
    win.undo()
    assert np.array_equal(layer.read(doc.rect), before)


def test_fill_with_foreground_fills_the_selection(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    doc.set_selection(rect(doc, 10, 20, 30, 50))
    win.state.set_foreground((1, 2, 3))
    QTest.keyClick(win, Qt.Key.Key_Backspace, Mod.ShiftModifier)
    px = layer.read(doc.rect)
    assert (px[20:50, 10:30] == (1, 2, 3, 255)).all()
    assert px[..., 3].sum() == 255 * 20 * 30
    assert doc.history.steps[-1] == "Fill with foreground"


def test_copy_and_paste_a_selection_lands_at_its_place(win) -> None:
    doc = win.doc
    layer = painted_layer(win)
    doc.set_selection(rect(doc, 70, 50, 170, 110))
    QTest.keyClick(win, Qt.Key.Key_C, Mod.ControlModifier)
    n = len(doc.layers)
    QTest.keyClick(win, Qt.Key.Key_V, Mod.ControlModifier)
    pasted = doc.active_layer
    assert len(doc.layers) == n + 1 and pasted is not layer
    expect = layer.read(doc.rect)
    expect[doc.selection == 0] = 0
    assert np.array_equal(pasted.read(doc.rect), expect)
    assert pasted.bounds() == sel.bounds(expect[..., 3])
    # With the selection moved, a paste lands at the new selection's top-left.
    doc.set_selection(rect(doc, 5, 5, 20, 20))
    QTest.keyClick(win, Qt.Key.Key_V, Mod.ControlModifier)
    again = doc.active_layer
    got = again.read(Rect(5, 5, 100, 60))
    assert np.array_equal(got, expect[50:110, 70:170])
    # Cut takes the selection's pixels away (softly) and copies them.
    doc.set_selection(rect(doc, 40, 40, 70, 80))
    doc.set_active(layer)
    assert win.cut()
    assert layer.read(doc.rect)[50, 50, 3] == 0 and layer.read(doc.rect)[50, 80, 3] == 255
    clip = QApplication.clipboard().image()
    assert (clip.width(), clip.height()) == (30, 40)


# ---- quick mask -----------------------------------------------------------------------------
def test_quick_mask_paints_the_selection_and_leaves_layers_alone(win) -> None:
    doc, c = win.doc, win.canvas
    painted_layer(win)
    layers_before = all_pixels(doc)
    steps_before = len(doc.history.steps)
    QTest.keyClick(win, Qt.Key.Key_Q)
    qm = c.quick_mask
    assert qm.active and win.acts.quick_mask.isChecked()
    assert c.ants.hidden
    win.state.set_tool("brush")
    win.state.apply_preset(HARD.with_(size=20.0))
    win.state.set_foreground((90, 10, 10))            # any colour: the mask brush adds
    mouse_stroke(win, [(30, 80), (100, 80), (200, 80)])
    win.state.set_tool("eraser")
    win.state.apply_preset(HARD.with_(size=10.0, eraser=True))
    mouse_stroke(win, [(120, 60), (120, 100)])
    # The red overlay is drawn where nothing is selected.
    c.flush()
    img = c.viewport().grab().toImage()
    red = img.pixelColor(c.doc_to_view(QPointF(60, 20)).toPoint())
    clear = img.pixelColor(c.doc_to_view(QPointF(60, 80)).toPoint())
    assert red.red() > red.green() + 80 and abs(clear.red() - clear.green()) < 60
    # Undo inside the mode takes back a mask stroke, not a document step.
    assert win.acts.undo.isEnabled()
    win.undo()
    assert qm.mask()[80, 120] == 255
    win.redo()
    assert qm.mask()[80, 120] == 0
    QTest.keyClick(win, Qt.Key.Key_Q)
    assert not qm.active and not win.acts.quick_mask.isChecked() and not c.ants.hidden
    s = doc.selection
    assert s[80, 60] == 255 and s[80, 180] == 255      # painted: selected
    assert s[80, 120] == 0                             # erased again
    assert s[40, 60] == 0 and s[150, 20] == 0          # never painted
    assert 0 < s[70, 60] < 255 or 0 < s[90, 60] < 255  # the brush's soft rim
    # Nothing but the selection changed, as one step.
    assert all(np.array_equal(a, b) for a, b in zip(layers_before, all_pixels(doc),
                                                   strict=True))
    assert len(doc.history.steps) == steps_before + 1
    assert doc.history.steps[-1] == "Quick mask"
    win.undo()
    assert doc.selection is None


def test_quick_mask_starts_from_the_selection_and_is_all_red_without_one(win) -> None:
    doc, qm = win.doc, win.canvas.quick_mask
    base = rect(doc, 20, 20, 80, 60)
    doc.set_selection(base)
    win.acts.quick_mask.trigger()
    assert np.array_equal(qm.mask(), base)
    n = len(doc.history.steps)
    win.acts.quick_mask.trigger()          # unchanged: no step
    assert len(doc.history.steps) == n and np.array_equal(doc.selection, base)
    win.acts.deselect.trigger()
    win.acts.quick_mask.trigger()
    assert qm.mask().max() == 0
    # A selection tool ends the mode and edits the selection.
    win.state.set_tool("rect_select")
    mouse_stroke(win, [(10, 10), (50, 40)])
    assert not qm.active and sel.bounds(doc.selection) == Rect(10, 10, 40, 30)


# ---- transform ------------------------------------------------------------------------------
def test_transform_moves_the_selected_pixels_in_one_step(win) -> None:
    doc, c = win.doc, win.canvas
    layer = painted_layer(win)
    doc.set_selection(rect(doc, 40, 40, 100, 80))       # the orange block
    before = layer.read(doc.rect).copy()
    n = len(doc.history.steps)
    QTest.keyClick(win, Qt.Key.Key_T, Mod.ControlModifier)
    assert win.state.tool == "transform"
    mouse_stroke(win, [(70, 60), (80, 65), (95, 75)])    # drag the inside: a move by (25, 15)
    tool = c.tools["transform"]
    assert (tool.dx, tool.dy) == (25, 15)
    assert len(doc.history.steps) == n                   # live, nothing recorded yet
    assert c.ants.hidden and not c.ants.timer.isActive()  # the box shows what moves
    QTest.keyClick(c, Qt.Key.Key_Return)
    assert not c.ants.hidden
    after = layer.read(doc.rect)
    assert np.array_equal(after[55:95, 65:125], before[40:80, 40:100])
    assert after[45, 45, 3] == 0                          # where it was is empty now
    assert np.array_equal(after[90:120, 150:200], before[90:120, 150:200])  # blue untouched
    assert np.array_equal(doc.selection, rect(doc, 65, 55, 125, 95))   # the selection moved
    assert len(doc.history.steps) == n + 1 and doc.history.steps[-1] == "Transform"
    win.undo()
    assert np.array_equal(layer.read(doc.rect), before)
    assert np.array_equal(doc.selection, rect(doc, 40, 40, 100, 80))


def test_transform_escape_restores_exactly_and_undo_drops_it(win) -> None:
    doc, c = win.doc, win.canvas
    layer = painted_layer(win)
    before = layer.read(doc.rect).copy()
    n = len(doc.history.steps)
    win.state.set_tool("transform")
    tool = c.tools["transform"]
    # No selection: the whole layer. Rotate by dragging outside the box.
    box = tool.source()
    assert box == Rect(40, 40, 160, 80)
    mouse_stroke(win, [(230, 80), (230, 110), (200, 140)])
    assert tool.angle != 0
    assert not np.array_equal(layer.read(doc.rect), before)
    QTest.keyClick(c, Qt.Key.Key_Escape)
    assert np.array_equal(layer.read(doc.rect), before)
    assert len(doc.history.steps) == n
    # Scale from the right edge handle: the left edge stays.
    right = box.right, box.y + box.h / 2
    mouse_stroke(win, [right, (right[0] + 20, right[1] + 3)])
    assert abs(tool.sx - 180 / 160) < 1e-6 and tool.sy == 1.0
    assert tool.corners()[0] == QPointF(40, 40)
    win.undo()                                          # drops the open transform
    assert np.array_equal(layer.read(doc.rect), before)
    assert len(doc.history.steps) == n and tool.session is None


def test_transform_commits_on_tool_switch_and_double_click(win) -> None:
    doc, c = win.doc, win.canvas
    layer = painted_layer(win)
    doc.set_selection(rect(doc, 150, 90, 200, 120))     # the blue block
    n = len(doc.history.steps)
    win.state.set_tool("transform")
    mouse_stroke(win, [(175, 105), (165, 100)])
    win.state.set_tool("brush")
    assert len(doc.history.steps) == n + 1
    assert layer.read(doc.rect)[90, 140, 2] == 230 and layer.read(doc.rect)[119, 199, 3] == 0
    # Shift-drag of a corner keeps the proportions; a double-click applies.
    win.state.set_tool("transform")
    tool = c.tools["transform"]
    vp = c.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Mod.NoModifier, view_pos(win, 190, 115))
    QTest.mouseMove(vp, view_pos(win, 230, 120))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Mod.ShiftModifier,
                       view_pos(win, 230, 120))
    assert abs(tool.sx - tool.sy) < 1e-9 and tool.sx > 1.5
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Mod.NoModifier, view_pos(win, 170, 110))
    assert len(doc.history.steps) == n + 2 and tool.session is None
    assert sel.bounds(doc.selection).w > 70
