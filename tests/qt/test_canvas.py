"""Painting through the real canvas widget: mouse and tablet strokes, undo, zoom, pan, tools."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aiart_desktop.core.brush import LINEAR, BrushSettings
from aiart_desktop.qt.canvas.display import DisplayCache
from tests.support.window_helpers import layer_pixels, mouse_stroke, tablet_stroke, view_pos

HARD10 = BrushSettings(name="Test round", size=10.0, hardness=1.0, spacing=0.1,
                       size_curve=LINEAR, min_size=1.0)


def _use_brush(win, brush: BrushSettings = HARD10) -> None:
    win.state.set_tool("brush")
    win.state.apply_preset(brush)


def test_mouse_stroke_paints_expected_pixels_and_ctrl_z_restores_them(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    win.state.set_foreground((200, 30, 40))
    _use_brush(win)
    before = layer_pixels(layer, doc).copy()
    steps_before = len(doc.history.steps)

    mouse_stroke(win, [(30, 60), (80, 60), (130, 60), (180, 60)])

    after = layer_pixels(layer, doc)
    # On the line: the brush colour, fully opaque.
    for x in (30, 60, 100, 150, 180):
        assert tuple(after[60, x]) == (200, 30, 40, 255), x
    # Radius 5 about y = 60: rows 55..64 (centres within 4.5) are covered, nothing else.
    assert after[63, 100, 3] == 255 and after[56, 100, 3] == 255
    assert after[64, 100, 3] > 200 and after[55, 100, 3] > 200
    changed = np.argwhere(after[..., 3] != before[..., 3])
    assert changed[:, 0].min() == 55 and changed[:, 0].max() == 64
    assert changed[:, 1].min() == 25 and changed[:, 1].max() == 184
    # The whole stroke is one step; the background layer was not touched.
    assert len(doc.history.steps) == steps_before + 1
    assert doc.layers[0].read(doc.rect)[..., :3].min() == 255
    assert win.windowTitle().startswith("Untitled*")

    QTest.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(layer_pixels(layer, doc), before)
    QTest.keyClick(win, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(layer_pixels(layer, doc), after)
    QTest.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(win, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(layer_pixels(layer, doc), after)


def test_display_cache_shows_the_composite_after_strokes_and_undo(win) -> None:
    doc = win.doc
    win.layers_panel.add_layer()
    _use_brush(win)
    win.state.set_foreground((10, 120, 250))
    mouse_stroke(win, [(20, 20), (200, 140)])
    win.canvas.flush()

    def shown() -> np.ndarray:
        bgra = win.canvas.cache.array(0)
        return bgra[..., [2, 1, 0, 3]]

    assert np.array_equal(shown(), doc.flatten(premultiplied=True))
    win.undo()
    win.canvas.flush()
    assert np.array_equal(shown(), doc.flatten(premultiplied=True))
    assert shown()[80, 110, 0] == 255  # white again where the stroke was


def test_tablet_pressure_gives_a_thinner_stroke(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    _use_brush(win, HARD10.with_(size=20.0))
    pts_low = [(20.0 + 10 * i, 40.0) for i in range(16)]
    pts_high = [(20.0 + 10 * i, 110.0) for i in range(16)]
    tablet_stroke(win, pts_low, 0.25)
    tablet_stroke(win, pts_high, 1.0)
    px = layer_pixels(layer, doc)[..., 3]
    thick_low = int((px[0:75, 90] > 127).sum())
    thick_high = int((px[75:, 90] > 127).sum())
    assert 3 <= thick_low <= 7, thick_low        # about 20 px * 0.25
    assert 18 <= thick_high <= 22, thick_high    # the full 20 px
    assert len(doc.history.steps) == 3            # add layer + two strokes


def test_mouse_gives_full_pressure(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    _use_brush(win, HARD10.with_(size=20.0))
    mouse_stroke(win, [(20, 80), (220, 80)])
    assert int((layer_pixels(layer, doc)[:, 120, 3] > 127).sum()) >= 18


def test_zoom_keeps_the_point_under_the_cursor(win) -> None:
    c = win.canvas
    anchor = QPointF(173.0, 121.0)
    doc_pt = c.view_to_doc(anchor)
    for z in (2.0, 8.0, 32.0, 0.5, 0.01, 1.0):
        c.set_zoom(z, anchor)
        assert abs(c.zoom - z) < 1e-9
        p = c.view_to_doc(anchor)
        assert abs(p.x() - doc_pt.x()) < 1e-6 and abs(p.y() - doc_pt.y()) < 1e-6
    # Ctrl+wheel through a real event.
    pos = QPointF(90.0, 70.0)
    doc_pt = c.view_to_doc(pos)
    ev = QWheelEvent(pos, QPointF(c.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(c.viewport(), ev)
    assert c.zoom > 1.0
    p = c.view_to_doc(pos)
    assert abs(p.x() - doc_pt.x()) < 1e-6 and abs(p.y() - doc_pt.y()) < 1e-6
    # Zoom limits.
    c.set_zoom(1000)
    assert c.zoom == 32.0
    c.set_zoom(0.0001)
    assert c.zoom == 0.01


def test_zoom_shortcuts_fit_and_actual_size(win) -> None:
    c = win.canvas
    QTest.keyClick(win, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    vp = c.viewport()
    r = c.doc_rect_to_view(win.doc.rect)
    assert r.left() >= 0 and r.top() >= 0 and r.right() <= vp.width() and r.bottom() <= vp.height()
    assert r.width() > vp.width() * 0.8 or r.height() > vp.height() * 0.8
    QTest.keyClick(win, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert c.zoom == 1.0
    QTest.keyClick(c, Qt.Key.Key_Plus)
    assert c.zoom == 1.5
    QTest.keyClick(c, Qt.Key.Key_Minus)
    QTest.keyClick(c, Qt.Key.Key_Minus)
    assert c.zoom == 0.6667
    assert win.zoom_label.text() == "66.67 %"


def test_space_drag_and_middle_drag_pan_without_painting(win) -> None:
    c = win.canvas
    layer = win.layers_panel.add_layer()
    _use_brush(win)
    vp = c.viewport()
    start = view_pos(win, 100, 80)
    doc_before = c.view_to_doc(QPointF(start))
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(30, 20))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(30, 20))
    moved = c.view_to_doc(QPointF(start))
    assert abs((doc_before.x() - moved.x()) - 30) < 1e-6
    assert abs((doc_before.y() - moved.y()) - 20) < 1e-6

    c.setFocus()
    QTest.keyPress(c, Qt.Key.Key_Space)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start - QPoint(10, 10))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start - QPoint(10, 10))
    QTest.keyRelease(c, Qt.Key.Key_Space)
    again = c.view_to_doc(QPointF(start))
    assert abs((again.x() - moved.x()) - 10) < 1e-6
    assert layer.tiles.is_empty()  # no paint from any of it
    # A plain wheel scrolls (pans) vertically; Shift+wheel horizontally.
    top = c.view_to_doc(QPointF(0, 0))
    for mods, dy in ((Qt.KeyboardModifier.NoModifier, -120),
                     (Qt.KeyboardModifier.ShiftModifier, -120)):
        ev = QWheelEvent(QPointF(50, 50), QPointF(vp.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                         QPoint(0, dy), Qt.MouseButton.NoButton, mods,
                         Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(vp, ev)
    now = c.view_to_doc(QPointF(0, 0))
    assert now.y() > top.y() and now.x() > top.x() and c.zoom == 1.0
    # Scroll bars follow the pan and move the view.
    h = c.horizontalScrollBar()
    x0 = c.view_to_doc(QPointF(0, 0)).x()
    h.setValue(h.value() + 40)
    assert abs(c.view_to_doc(QPointF(0, 0)).x() - (x0 + 40)) < 1e-6


def test_fill_tool_fills_the_enclosed_area_only(win) -> None:
    doc = win.doc
    bg = doc.layers[0]
    box = np.zeros((60, 80, 4), np.uint8)
    box[..., 3] = 255
    box[2:-2, 2:-2] = (255, 255, 255, 255)
    doc.put_pixels(bg, 50, 40, box)
    win.state.set_foreground((0, 160, 0))
    QTest.keyClick(win, Qt.Key.Key_G)
    assert win.state.tool == "fill"
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, view_pos(win, 90, 70))
    px = bg.read(doc.rect)
    assert tuple(px[70, 90]) == (0, 160, 0, 255)
    assert tuple(px[43, 53]) == (0, 160, 0, 255)    # inside corner
    assert tuple(px[40, 50]) == (0, 0, 0, 255)      # the black frame stays
    assert tuple(px[10, 10]) == (255, 255, 255, 255)  # outside stays white
    assert doc.history.steps[-1] == "Fill"
    win.undo()
    assert tuple(bg.read(doc.rect)[70, 90]) == (255, 255, 255, 255)


def test_picker_tool_and_ctrl_click_with_brush(win) -> None:
    doc = win.doc
    patch = np.zeros((20, 20, 4), np.uint8)
    patch[...] = (12, 34, 56, 255)
    doc.put_pixels(doc.layers[0], 100, 100, patch)
    QTest.keyClick(win, Qt.Key.Key_I)
    assert win.state.tool == "picker"
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, view_pos(win, 110, 110))
    assert win.state.foreground == (12, 34, 56)
    # The colour panel follows the tool state.
    assert win.color_panel.foreground_rgb == (12, 34, 56)

    # Ctrl-click while the brush is active picks and paints nothing.
    layer = win.layers_panel.add_layer()
    QTest.keyClick(win, Qt.Key.Key_B)
    steps = len(doc.history.steps)
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ControlModifier, view_pos(win, 5, 5))
    assert win.state.foreground == (255, 255, 255)
    assert layer.tiles.is_empty()
    assert len(doc.history.steps) == steps


def test_eraser_removes_paint(win) -> None:
    doc = win.doc
    bg = doc.layers[0]
    QTest.keyClick(win, Qt.Key.Key_E)
    assert win.state.tool == "eraser"
    win.state.apply_preset(HARD10.with_(eraser=True))
    mouse_stroke(win, [(40, 40), (120, 40)])
    px = bg.read(doc.rect)
    assert px[40, 80, 3] == 0 and px[100, 80, 3] == 255
    assert doc.history.steps[-1] == "Erase"


def test_move_tool_drag_is_one_undoable_offset_change(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    _use_brush(win)
    mouse_stroke(win, [(50, 50), (60, 50)])
    QTest.keyClick(win, Qt.Key.Key_V)
    steps = len(doc.history.steps)
    mouse_stroke(win, [(50, 50), (60, 55), (70, 60), (80, 70)])
    assert layer.offset == (30, 20)
    assert len(doc.history.steps) == steps + 1
    assert doc.history.steps[-1] == "Move layer"
    assert layer.read(doc.rect)[70, 85, 3] == 255
    win.undo()
    assert layer.offset == (0, 0)


def test_hand_and_zoom_tools(win) -> None:
    c = win.canvas
    QTest.keyClick(win, Qt.Key.Key_H)
    before = c.view_to_doc(QPointF(50, 50))
    mouse_stroke(win, [(100, 80), (90, 70)])
    after = c.view_to_doc(QPointF(50, 50))
    assert abs(after.x() - before.x() - 10) < 1e-6 and abs(after.y() - before.y() - 10) < 1e-6
    QTest.keyClick(win, Qt.Key.Key_Z)
    assert win.state.tool == "zoom"
    target = view_pos(win, 120, 80)
    fixed = c.view_to_doc(QPointF(target))
    QTest.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     target)
    assert c.zoom == 1.5
    p = c.view_to_doc(QPointF(target))
    assert abs(p.x() - fixed.x()) < 1e-6
    QTest.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                     target)
    assert c.zoom == 1.0


def test_bracket_keys_resize_brush_and_x_swaps_colours(win) -> None:
    st = win.state
    _use_brush(win)
    QTest.keyClick(win, Qt.Key.Key_BracketRight)
    assert st.brush.size == 11.5
    QTest.keyClick(win, Qt.Key.Key_BracketLeft)
    QTest.keyClick(win, Qt.Key.Key_BracketLeft)
    assert st.brush.size < 10
    assert win.tool_options.size.value() == st.brush.size
    st.set_foreground((1, 2, 3))
    st.set_background((4, 5, 6))
    QTest.keyClick(win, Qt.Key.Key_X)
    assert (st.foreground, st.background) == ((4, 5, 6), (1, 2, 3))


def test_painting_refuses_hidden_locked_or_group_targets_and_says_why(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    name = layer.name
    _use_brush(win)
    doc.set_props(layer, visible=False)
    mouse_stroke(win, [(20, 20), (60, 20)])
    assert layer.tiles.is_empty()
    status = win.statusBar().currentMessage
    assert status() == f"\u201c{name}\u201d is hidden: show it to paint on it"
    doc.set_props(layer, visible=True, locked=True)
    mouse_stroke(win, [(20, 20), (60, 20)])
    assert layer.tiles.is_empty()
    assert status() == f"\u201c{name}\u201d is locked: unlock it to paint on it"
    group = win.layers_panel.add_group()
    assert doc.active is group
    mouse_stroke(win, [(20, 20), (60, 20)])
    assert win.statusBar().currentMessage() == (
        f"\u201c{group.name}\u201d is a group: pick a layer inside it to paint on")
    doc.set_active(None)
    win.state.set_tool("fill")
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_pos(win, 30, 30))
    assert win.statusBar().currentMessage() == (
        "No layer is active: click a layer in the Layers panel")
    assert layer.tiles.is_empty() and doc.flatten()[..., :3].min() == 255   # nothing painted


def test_after_undo_or_redo_of_add_layer_the_brush_paints_on_the_expected_layer(win) -> None:
    """Undo of Add layer used to leave nothing active: strokes silently did nothing."""
    doc = win.doc
    bg = doc.layers[0]
    win.state.set_foreground((0, 0, 0))
    _use_brush(win)
    layer = win.layers_panel.add_layer()
    QTest.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert layer not in doc.layers and doc.active is bg
    panel = win.layers_panel
    assert panel.model.node(panel.tree.currentIndex()) is bg    # the panel shows it too
    mouse_stroke(win, [(30, 40), (90, 40)])
    assert tuple(layer_pixels(bg, doc)[40, 60]) == (0, 0, 0, 255)
    layer = win.layers_panel.add_layer()
    QTest.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(win, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.active is layer                  # redo: the re-added layer
    mouse_stroke(win, [(30, 80), (90, 80)])
    assert layer_pixels(layer, doc)[80, 60, 3] == 255
    assert layer_pixels(bg, doc)[80, 60, 3] == 255 and tuple(
        layer_pixels(bg, doc)[80, 60, :3]) == (255, 255, 255)


def test_display_pyramid_matches_box_filter(win) -> None:
    doc = win.doc
    rng = np.random.default_rng(3)
    px = rng.integers(0, 256, (doc.height, doc.width, 4), dtype=np.uint8)
    doc.add_layer(pixels=px)
    win.canvas.set_zoom(0.3)
    win.canvas.flush()
    cache: DisplayCache = win.canvas.cache
    lv0 = cache.array(0).astype(np.uint16)
    lv1 = cache.array(1)
    expect = ((lv0[0::2, 0::2] + lv0[1::2, 0::2] + lv0[0::2, 1::2] + lv0[1::2, 1::2] + 2) >> 2)
    assert np.array_equal(lv1, expect.astype(np.uint8))
    assert DisplayCache.level_for(0.3) == 1
    assert not cache.is_stale(doc.rect, 1)


def test_no_event_flattens_the_whole_canvas(win, monkeypatch) -> None:
    """Strokes composite only what they touch; a big change is composited lazily, for the
    visible part, a budget at a time, never as one whole-canvas flatten."""
    from aiart_desktop.core.document import Document

    doc = Document.new(2048, 2048)
    for _ in range(4):
        doc.add_layer(pixels=np.full((2048, 2048, 4), 60, np.uint8))
    win.set_document(doc)
    win.canvas.set_view(1.0, 0.0, 0.0)
    win.canvas.flush()
    areas: list[int] = []
    real = doc.flatten

    def spy(rect=None, premultiplied=False):
        areas.append((rect or doc.rect).area)
        return real(rect, premultiplied)

    monkeypatch.setattr(doc, "flatten", spy)
    _use_brush(win, HARD10.with_(size=40.0))
    mouse_stroke(win, [(100 + 20 * i, 300 + 5 * i) for i in range(20)])
    win.canvas.viewport().repaint()
    assert areas and max(areas) <= 256 * 256
    areas.clear()
    # A whole-layer change (opacity) with the canvas mostly off-screen.
    doc.set_props(doc.layers[2], opacity=0.5)
    win.canvas.viewport().repaint()
    vis = win.canvas.visible_doc_rect()
    assert sum(areas) <= vis.area + 256 * 256 * 2
    assert max(areas) <= 256 * 256
    assert win.canvas.cache.is_stale(doc.rect)      # the off-screen part waits
    win.canvas.flush()
    shown = win.canvas.cache.array(0)[..., [2, 1, 0, 3]]
    assert np.array_equal(shown[::97, ::89], real(premultiplied=True)[::97, ::89])


def test_high_zoom_is_nearest_neighbour_and_low_zoom_uses_the_pyramid(win) -> None:
    doc = win.doc
    px = np.zeros((2, 2, 4), np.uint8)
    px[0, 0] = (255, 0, 0, 255)
    px[0, 1] = (0, 0, 255, 255)
    doc.put_pixels(doc.layers[0], 10, 10, px)
    c = win.canvas
    c.set_view(16.0, -150.0, -150.0)   # doc pixel (10, 10) at view (10, 10) .. (26, 26)
    c.flush()
    img = c.viewport().grab().toImage()
    dpr = img.devicePixelRatio()
    red = img.pixelColor(int(20 * dpr), int(12 * dpr))
    blue = img.pixelColor(int(30 * dpr), int(12 * dpr))
    edge = img.pixelColor(int(25 * dpr), int(24 * dpr))
    assert (red.red(), red.blue()) == (255, 0) and (blue.red(), blue.blue()) == (0, 255)
    assert (edge.red(), edge.green(), edge.blue()) == (255, 0, 0)  # crisp: no blending


def test_escape_cancels_a_stroke_and_a_tool_switch_keeps_it(win) -> None:
    doc = win.doc
    layer = win.layers_panel.add_layer()
    _use_brush(win)
    vp = win.canvas.viewport()
    steps = len(doc.history.steps)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_pos(win, 20, 20))
    QTest.mouseMove(vp, view_pos(win, 80, 20))
    assert not layer.tiles.is_empty()           # live while painting
    QTest.keyClick(win.canvas, Qt.Key.Key_Escape)
    assert layer.tiles.is_empty() and len(doc.history.steps) == steps
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view_pos(win, 80, 20))
    assert layer.tiles.is_empty()

    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_pos(win, 20, 50))
    QTest.mouseMove(vp, view_pos(win, 80, 50))
    win.state.set_tool("eraser")                # e.g. the E key mid-stroke
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view_pos(win, 80, 50))
    assert layer.read(doc.rect)[50, 50, 3] == 255
    assert len(doc.history.steps) == steps + 1
