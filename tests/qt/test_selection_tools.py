"""Selection tools through the real canvas: marquee, ellipse, lasso, polygonal lasso, magic
wand; Photoshop modifiers; undo; the Select menu; marching ants."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtTest import QTest

from aiart_desktop.core import selection as sel
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.selection import Op
from aiart_desktop.qt.canvas.ants import outline_contours
from tests.support.window_helpers import view_pos

Mod = Qt.KeyboardModifier
SHIFT, ALT, NONE = Mod.ShiftModifier, Mod.AltModifier, Mod.NoModifier


def drag(win, pts: list[tuple[float, float]], press: Mod = NONE,
         release: Mod | None = None) -> None:
    """Press with `press` held, move through `pts`, release with `release` held (modifiers
    can change during a drag, as when Shift is let go after the press)."""
    vp = win.canvas.viewport()
    vpts = [view_pos(win, x, y) for x, y in pts]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, press, vpts[0])
    for p in vpts[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, press if release is None else release,
                       vpts[-1])


def click(win, x: float, y: float, mods: Mod = NONE) -> None:
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton, mods, view_pos(win, x, y))


def rect(win, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    return sel.rect_mask(win.doc.width, win.doc.height, Rect.from_edges(x0, y0, x1, y1))


def steps(win) -> int:
    return len(win.doc.history.steps)


@pytest.fixture
def answers(win):
    """Numbers the Select menu's prompts answer with, recorded."""
    asked: list[tuple[str, int]] = []
    box = {"value": 5}

    def ask_int(title: str, label: str, value: int, minimum: int = 0,
                maximum: int = 1000) -> int | None:
        asked.append((title, value))
        return box["value"]

    win.prompts.ask_int = ask_int
    return box, asked


# ---- marquee --------------------------------------------------------------------------------
def test_rect_marquee_selects_the_dragged_pixels_and_undoes(win) -> None:
    QTest.keyClick(win, Qt.Key.Key_M)
    assert win.state.tool == "rect_select"
    n = steps(win)
    drag(win, [(20, 30), (50, 45), (100, 80)])
    assert np.array_equal(win.doc.selection, rect(win, 20, 30, 100, 80))
    assert steps(win) == n + 1 and win.doc.history.steps[-1] == "Rectangle select"
    win.undo()
    assert win.doc.selection is None
    win.redo()
    assert sel.bounds(win.doc.selection) == Rect(20, 30, 80, 50)
    # Dragging up-left works the same.
    drag(win, [(100, 80), (20, 30)])
    assert np.array_equal(win.doc.selection, rect(win, 20, 30, 100, 80))
    # The Feather option softens each new shape.
    win.tool_options.feather.setValue(4.0)
    drag(win, [(20, 30), (100, 80)])
    assert np.array_equal(win.doc.selection, sel.feather(rect(win, 20, 30, 100, 80), 4.0))
    assert 0 < win.doc.selection[30, 60] < 255


def test_marquee_shift_makes_a_square_and_alt_draws_from_the_centre(win) -> None:
    QTest.keyClick(win, Qt.Key.Key_M)
    drag(win, [(20, 20), (50, 30), (80, 50)], NONE, SHIFT)   # Shift pressed mid-drag
    assert sel.bounds(win.doc.selection) == Rect(20, 20, 60, 60)
    drag(win, [(120, 80), (150, 100)], NONE, ALT)
    assert np.array_equal(win.doc.selection, rect(win, 90, 60, 150, 100))
    drag(win, [(120, 80), (140, 90)], NONE, SHIFT | ALT)
    assert np.array_equal(win.doc.selection, rect(win, 100, 60, 140, 100))


def test_ellipse_marquee_and_circle(win) -> None:
    doc = win.doc
    QTest.keyClick(win, Qt.Key.Key_M)
    QTest.keyClick(win, Qt.Key.Key_M)
    assert win.state.tool == "ellipse_select"
    drag(win, [(40, 20), (90, 60), (140, 100)])
    expect = sel.ellipse_mask(doc.width, doc.height, 40, 20, 140, 100)
    assert np.array_equal(doc.selection, expect)
    assert sel.bounds(doc.selection) == Rect(40, 20, 100, 80)
    assert doc.selection[60, 90] == 255 and doc.selection[21, 41] == 0
    assert 0 < doc.selection[60, 40] < 255       # anti-aliased rim
    assert doc.history.steps[-1] == "Ellipse select"
    drag(win, [(40, 20), (100, 50)], NONE, SHIFT)
    assert np.array_equal(doc.selection, sel.ellipse_mask(doc.width, doc.height, 40, 20, 100, 80))
    QTest.keyClick(win, Qt.Key.Key_M, SHIFT)
    assert win.state.tool == "rect_select"


def test_a_click_deselects_and_is_undoable(win) -> None:
    QTest.keyClick(win, Qt.Key.Key_M)
    drag(win, [(20, 30), (100, 80)])
    n = steps(win)
    click(win, 150, 120)
    assert win.doc.selection is None
    assert steps(win) == n + 1 and win.doc.history.steps[-1] == "Deselect"
    click(win, 150, 120)          # nothing selected: no empty step
    assert steps(win) == n + 1
    win.undo()
    assert np.array_equal(win.doc.selection, rect(win, 20, 30, 100, 80))
    click(win, 150, 120, SHIFT)   # adding nothing keeps the selection
    assert win.doc.selection is not None


@pytest.mark.parametrize("press, op", [(SHIFT, Op.ADD), (ALT, Op.SUBTRACT),
                                       (SHIFT | ALT, Op.INTERSECT)])
def test_modifiers_at_the_press_add_subtract_intersect(win, press, op) -> None:
    QTest.keyClick(win, Qt.Key.Key_M)
    a, b = rect(win, 20, 20, 100, 80), rect(win, 60, 40, 140, 120)
    drag(win, [(20, 20), (100, 80)])
    n = steps(win)
    drag(win, [(60, 40), (100, 90), (140, 120)], press, NONE)   # modifier let go mid-drag
    assert np.array_equal(win.doc.selection, sel.combine(a, b, op))
    assert steps(win) == n + 1
    win.undo()
    assert np.array_equal(win.doc.selection, a)


def test_modifiers_with_the_ellipse_combine_soft_edges(win) -> None:
    doc = win.doc
    QTest.keyClick(win, Qt.Key.Key_M)
    drag(win, [(20, 20), (120, 100)])
    QTest.keyClick(win, Qt.Key.Key_M)
    drag(win, [(50, 40), (90, 80)], ALT, NONE)
    hole = sel.ellipse_mask(doc.width, doc.height, 50, 40, 90, 80)
    assert np.array_equal(doc.selection, sel.combine(rect(win, 20, 20, 120, 100), hole,
                                                     Op.SUBTRACT))
    assert doc.selection[60, 70] == 0 and doc.selection[25, 25] == 255


# ---- lasso ----------------------------------------------------------------------------------
def test_freehand_lasso_triangle(win) -> None:
    doc = win.doc
    QTest.keyClick(win, Qt.Key.Key_L)
    assert win.state.tool == "lasso"
    pts = [(20, 20)] + [(20 + 10 * i, 20) for i in range(1, 11)] + \
          [(120 - 10 * i, 20 + 10 * i) for i in range(1, 11)]
    drag(win, pts)
    expect = sel.polygon_mask(doc.width, doc.height, [(20, 20), (120, 20), (20, 120)])
    assert np.abs(doc.selection.astype(int) - expect).max() <= 1
    assert sel.bounds(doc.selection) == Rect(20, 20, 100, 100)
    assert doc.history.steps[-1] == "Lasso select"
    # A self-crossing loop (a bow tie) selects both lobes, not the crossing point's outside.
    drag(win, [(150, 20), (200, 60), (200, 20), (150, 60), (150, 20)])
    assert doc.selection[40, 160] == 255 and doc.selection[40, 190] == 255
    assert doc.selection[25, 175] == 0 and doc.selection[55, 175] == 0
    win.undo()
    assert np.abs(doc.selection.astype(int) - expect).max() <= 1


def test_polygonal_lasso_clicks_enter_backspace_escape(win) -> None:
    doc, c = win.doc, win.canvas
    QTest.keyClick(win, Qt.Key.Key_L)
    QTest.keyClick(win, Qt.Key.Key_L)
    assert win.state.tool == "polygon_lasso"
    n = steps(win)
    for x, y in ((30, 30), (130, 30), (130, 110), (60, 140)):
        click(win, x, y)
    QTest.mouseMove(c.viewport(), view_pos(win, 90, 120))   # the rubber band follows
    assert doc.selection is None and steps(win) == n          # nothing until it closes
    QTest.keyClick(c, Qt.Key.Key_Backspace)                  # take back (60, 140)
    QTest.keyClick(c, Qt.Key.Key_Return)
    expect = sel.polygon_mask(doc.width, doc.height, [(30, 30), (130, 30), (130, 110)])
    assert np.array_equal(doc.selection, expect)
    assert steps(win) == n + 1 and doc.history.steps[-1] == "Polygon select"
    # Double-click closes; a click on the first corner closes too.
    for x, y in ((150, 20), (220, 20)):
        click(win, x, y, SHIFT if x == 150 else NONE)
    QTest.mouseDClick(c.viewport(), Qt.MouseButton.LeftButton, NONE, view_pos(win, 220, 80))
    tri = sel.polygon_mask(doc.width, doc.height, [(150, 20), (220, 20), (220, 80)])
    assert np.array_equal(doc.selection, sel.combine(expect, tri, Op.ADD))
    for x, y in ((10, 100), (50, 100), (50, 150), (11, 101)):   # the last is the first
        click(win, x, y)
    assert np.array_equal(doc.selection, sel.polygon_mask(
        doc.width, doc.height, [(10, 100), (50, 100), (50, 150)]))
    assert doc.history.steps[-1] == "Polygon select" and steps(win) == n + 3
    # Escape gives up without a step.
    click(win, 200, 100)
    click(win, 230, 140)
    QTest.keyClick(c, Qt.Key.Key_Escape)
    click(win, 10, 10)
    QTest.keyClick(c, Qt.Key.Key_Escape)
    assert steps(win) == n + 3


# ---- magic wand -----------------------------------------------------------------------------
def _stripes(win) -> None:
    """Red on the left, a near red (20 off) in the middle, blue on the right."""
    doc = win.doc
    px = np.zeros((doc.height, doc.width, 4), np.uint8)
    px[...] = (200, 30, 30, 255)
    px[:, 80:160] = (220, 30, 30, 255)
    px[:, 160:] = (30, 30, 200, 255)
    px[60:100, 20:40] = (30, 30, 200, 255)          # a blue island inside the red
    doc.put_pixels(doc.layers[0], 0, 0, px)


def test_magic_wand_tolerance_contiguous_and_antialias(win) -> None:
    doc, st = win.doc, win.state
    _stripes(win)
    QTest.keyClick(win, Qt.Key.Key_W)
    assert win.state.tool == "wand"
    st.set_select_options(tolerance=10, antialias=False)
    click(win, 10, 10)
    assert np.array_equal(doc.selection > 0, np.pad(np.ones((160, 80), bool),
                                                    ((0, 0), (0, 160))) & ~_island(doc))
    assert doc.history.steps[-1] == "Magic wand"
    st.set_select_options(tolerance=25)             # takes in the near red, not the blue
    click(win, 10, 10)
    assert doc.selection[:, :160].sum() > 0 and doc.selection[:, 160:].max() == 0
    assert doc.selection[80, 30] == 0 and doc.selection[80, 100] == 255
    # Not contiguous: the blue island and the blue stripe together.
    st.set_select_options(tolerance=10, contiguous=False)
    click(win, 200, 10)
    assert doc.selection[80, 30] == 255 and doc.selection[10, 200] == 255
    assert doc.selection[10, 10] == 0
    # Anti-aliased: a soft edge, the same hard core.
    st.set_select_options(antialias=True, contiguous=True)
    click(win, 200, 10)
    assert doc.selection[10, 200] == 255 and 0 < doc.selection[10, 159] < 255
    # Shift adds to what is there.
    click(win, 10, 10, SHIFT)
    assert doc.selection[10, 10] == 255 and doc.selection[10, 200] == 255


def _island(doc) -> np.ndarray:
    m = np.zeros((doc.height, doc.width), bool)
    m[60:100, 20:40] = True
    return m


def test_magic_wand_samples_the_layer_or_all_layers(win) -> None:
    doc, st = win.doc, win.state
    top = win.layers_panel.add_layer()
    patch = np.zeros((40, 40, 4), np.uint8)
    patch[...] = (0, 0, 0, 255)
    doc.put_pixels(top, 100, 60, patch)
    doc.set_active(doc.layers[0])                   # the white background
    QTest.keyClick(win, Qt.Key.Key_W)
    st.set_select_options(tolerance=5, antialias=False, sample_merged=False)
    click(win, 10, 10)
    assert doc.selection.min() == 255               # the background is all white
    st.set_select_options(sample_merged=True)
    click(win, 10, 10)
    assert doc.selection[80, 120] == 0 and doc.selection[10, 10] == 255
    # The options panel shows and edits the wand's options.
    opts = win.tool_options
    opts.wand_tolerance.setValue(77)
    assert st.wand_tolerance == 77
    opts.wand_contiguous.setChecked(False)
    assert st.wand_contiguous is False


# ---- Select menu ----------------------------------------------------------------------------
def test_grow_shrink_feather_border_match_the_core(win, answers) -> None:
    box, asked = answers
    doc = win.doc
    a = win.acts
    base = rect(win, 60, 40, 160, 120)
    for action, fn, n in ((a.grow, sel.grow, 6), (a.shrink, sel.shrink, 7),
                          (a.feather, sel.feather, 9), (a.border, sel.border, 4)):
        doc.set_selection(base)
        box["value"] = n
        count = steps(win)
        action.trigger()
        assert np.array_equal(doc.selection, fn(base, n)), action.text()
        assert steps(win) == count + 1
        win.undo()
        assert np.array_equal(doc.selection, base)
    assert [t for t, _ in asked] == ["Grow selection", "Shrink selection",
                                     "Feather selection", "Border selection"]
    # Shift+F6 is Feather; the dialog starts from the last value given.
    QTest.keyClick(win, Qt.Key.Key_F6, SHIFT)
    assert asked[-1] == ("Feather selection", 9)
    # Cancel changes nothing.
    box["value"] = None
    count = steps(win)
    a.grow.trigger()
    assert steps(win) == count


def test_deselect_reselect_invert_alpha_and_colour_range(win, answers) -> None:
    box, _asked = answers
    doc = win.doc
    base = rect(win, 10, 10, 50, 40)
    doc.set_selection(base)
    QTest.keyClick(win, Qt.Key.Key_D, Mod.ControlModifier)
    assert doc.selection is None
    QTest.keyClick(win, Qt.Key.Key_D, Mod.ControlModifier | SHIFT)
    assert np.array_equal(doc.selection, base)
    assert doc.history.steps[-1] == "Reselect"
    QTest.keyClick(win, Qt.Key.Key_I, Mod.ControlModifier | SHIFT)
    assert np.array_equal(doc.selection, 255 - base)
    # Alpha to selection: the active layer's opacity, soft values kept.
    layer = win.layers_panel.add_layer()
    px = np.zeros((20, 30, 4), np.uint8)
    px[..., 3] = 255
    px[:, :10, 3] = 100
    doc.put_pixels(layer, 100, 50, px)
    win.acts.alpha_to_selection.trigger()
    assert doc.selection[60, 115] == 255 and doc.selection[60, 105] == 100
    assert sel.bounds(doc.selection) == Rect(100, 50, 30, 20)
    # Colour range: the foreground colour, fuzziness from the prompt.
    doc.put_pixels(layer, 0, 0, np.full((20, 20, 4), (200, 20, 20, 255), np.uint8))
    win.state.set_foreground((200, 20, 20))
    box["value"] = 30
    win.acts.color_range.trigger()
    expect = sel.color_range(doc.flatten(), (200, 20, 20), 30)
    assert np.array_equal(doc.selection, expect)
    assert doc.selection[5, 5] == 255 and doc.selection[150, 200] == 0
    win.undo()
    assert doc.selection[60, 105] == 100


def test_select_menu_lists_the_commands(win) -> None:
    menu = next(m for m in win.menuBar().findChildren(type(win.menuBar().addMenu("x")))
                if m.title() == "&Select")
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Select &All", "&Deselect", "&Reselect", "&Invert Selection",
                     "Colour &Range\u2026", "Alpha to &Selection", "Select Object", "&Grow\u2026",
                     "S&hrink\u2026", "&Feather\u2026", "&Border\u2026", "&Quick Mask"]


# ---- marching ants --------------------------------------------------------------------------
def test_marching_ants_follow_the_selection(win) -> None:
    c, doc = win.canvas, win.doc
    assert c.ants.path().isEmpty() and not c.ants.timer.isActive()
    QTest.keyClick(win, Qt.Key.Key_M)
    drag(win, [(20, 30), (100, 80)])
    path = c.ants.path()
    assert not path.isEmpty() and c.ants.timer.isActive()
    assert path.boundingRect() == QRectF(20, 30, 80, 50)
    # Drawn: the viewport shows black and white along the edge.
    c.flush()
    img = c.viewport().grab().toImage()
    edge = [img.pixelColor(c.doc_to_view(QPointF(x, 30)).toPoint()).lightness()
            for x in range(30, 90)]
    assert min(edge) < 60 and max(edge) > 200
    offset = c.ants.offset
    c.ants._tick()
    assert c.ants.offset != offset
    QTest.keyClick(win, Qt.Key.Key_D, Mod.ControlModifier)
    assert c.ants.path().isEmpty() and not c.ants.timer.isActive()
    # A canvas size change drops the selection (and its undo brings it back): the ants follow.
    doc.set_selection(rect(win, 20, 30, 100, 80))
    doc.resize_canvas(300, 200, 10, 5)
    assert doc.selection is None and c.ants.path().isEmpty()
    win.undo()
    assert c.ants.path().boundingRect() == QRectF(20, 30, 80, 50)
    doc.set_selection(None)
    # A soft selection shows its 50 % contour; holes get their own outline.
    ring = sel.feather(rect(win, 40, 40, 200, 140), 8)
    ring[80:100, 100:120] = 0
    doc.set_selection(ring)
    contours = outline_contours(doc.selection)
    boxes = sorted((c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max())
                   for c in contours)
    assert boxes == [(40, 40, 200, 140), (100, 80, 120, 100)]


def test_ants_outline_lies_on_pixel_edges() -> None:
    m = np.zeros((30, 40), np.uint8)
    m[5:9, 4:12] = 255
    m[20, 20] = 200           # one pixel
    m[20:25, 30] = 127        # under 50 %: not outlined
    got = sorted(c.tolist() for c in outline_contours(m))
    assert got == [[[4, 5], [4, 9], [12, 9], [12, 5]], [[20, 20], [20, 21], [21, 21], [21, 20]]]
