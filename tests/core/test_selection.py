from __future__ import annotations

import math

import numpy as np
import pytest

from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

W, H = 200, 160


def test_rect_and_ellipse_geometry() -> None:
    m = sel.rect_mask(W, H, Rect(10, 20, 30, 40))
    assert m.sum() == 30 * 40 * 255 and sel.bounds(m) == Rect(10, 20, 30, 40)
    e = sel.ellipse_mask(W, H, 20, 20, 120, 80)  # 100 x 60 box
    area = e.astype(np.float64).sum() / 255
    assert area == pytest.approx(math.pi * 50 * 30, rel=0.01)
    assert sel.bounds(e, 127) == Rect(20, 20, 100, 60)
    assert e[50, 70] == 255 and e[21, 21] == 0
    # anti-aliased: the rim has partial values
    assert ((e > 0) & (e < 255)).sum() > 100


def test_circle_is_symmetric() -> None:
    e = sel.ellipse_mask(W, H, 50, 30, 110, 90)
    crop = e[30:90, 50:110].astype(int)
    assert np.abs(crop - crop[::-1]).max() <= 2 and np.abs(crop - crop[:, ::-1]).max() <= 2
    assert np.abs(crop - crop.T).max() <= 16  # 4 sub-scanlines vertically, exact across


def test_lasso_square_and_self_intersecting_bowtie() -> None:
    sq = sel.polygon_mask(W, H, [(10, 10), (60, 10), (60, 50), (10, 50)])
    assert sq.astype(np.float64).sum() / 255 == pytest.approx(50 * 40, rel=0.01)
    # a bow tie: two triangles meeting at (50, 50); both lobes selected, the gaps not
    bow = sel.polygon_mask(W, H, [(0, 0), (100, 100), (100, 0), (0, 100)])
    assert bow[50, 10] == 255 and bow[50, 90] == 255
    assert bow[10, 50] == 0 and bow[90, 50] == 0
    assert bow.astype(np.float64).sum() / 255 == pytest.approx(5000, rel=0.02)


def test_pentagram_lasso_follows_even_odd() -> None:
    pts = [(80 + 60 * math.cos(math.radians(-90 + 144 * i)),
            80 + 60 * math.sin(math.radians(-90 + 144 * i))) for i in range(5)]
    star = sel.polygon_mask(W, H, pts)
    assert star[80, 80] == 0           # the centre is circled twice: not selected
    assert star[30, 80] == 255         # a point of the star is


@pytest.mark.parametrize("op,expect", [
    (sel.Op.REPLACE, (0, 255, 255)),
    (sel.Op.ADD, (255, 255, 255)),
    (sel.Op.SUBTRACT, (255, 0, 0)),
    (sel.Op.INTERSECT, (0, 255, 0)),
])
def test_modifier_combinations(op, expect) -> None:
    a = sel.rect_mask(W, H, Rect(0, 0, 100, 100))    # current
    b = sel.rect_mask(W, H, Rect(50, 0, 100, 100))   # new shape
    out = sel.combine(a, b, op)
    # probe: only in a, in both, only in b
    assert (out[50, 25], out[50, 75], out[50, 125]) == expect


def test_subtract_soft_values() -> None:
    a = np.full((1, 3), 200, np.uint8)
    b = np.array([[0, 128, 255]], np.uint8)
    assert sel.combine(a, b, sel.Op.SUBTRACT).tolist() == [[200, 99, 0]]


def _image_with_gradient() -> np.ndarray:
    img = np.zeros((H, W, 4), np.uint8)
    img[..., 3] = 255
    img[:, :, 0] = np.arange(W, dtype=np.uint8)[None, :]  # red ramps 0..199 left to right
    img[:, 100:102] = (0, 0, 255, 255)                     # a blue wall
    return img


def test_magic_wand_tolerance_edges_and_contiguity() -> None:
    img = _image_with_gradient()
    m = sel.magic_wand(img, 50, 50, tolerance=10, antialias=False)
    cols = np.flatnonzero(m[50] == 255)
    assert cols.min() == 40 and cols.max() == 60   # exactly |r - 50| <= 10
    m = sel.magic_wand(img, 150, 50, tolerance=255, contiguous=True, antialias=False)
    assert m[50, 150] == 255 and m[50, 50] == 0 or m[50, 101] == 255
    img2 = img.copy()
    img2[:, 100:102] = (255, 255, 255, 255)
    img2[:, 103:] = (10, 0, 0, 255)
    img2[:, :20] = (10, 0, 0, 255)
    near = sel.magic_wand(img2, 150, 50, tolerance=0, contiguous=True, antialias=False)
    glob = sel.magic_wand(img2, 150, 50, tolerance=0, contiguous=False, antialias=False)
    assert near[50, 5] == 0 and glob[50, 5] == 255


def test_magic_wand_antialias_softens_only_the_rim() -> None:
    img = _image_with_gradient()
    m = sel.magic_wand(img, 50, 50, tolerance=10, antialias=True)
    assert m[50, 50] == 255 and 0 < m[50, 61] < 255 and m[50, 70] == 0


def test_color_range_is_soft() -> None:
    img = _image_with_gradient()
    m = sel.color_range(img, (50, 0, 0), fuzziness=10)
    assert m[0, 50] == 255 and m[0, 60] == 255 and 0 < m[0, 65] < 255 and m[0, 75] == 0


@pytest.mark.parametrize("radius", [4, 16, 40])
def test_feather_is_monotone_and_of_the_asked_width(radius: int) -> None:
    m = sel.rect_mask(400, 200, Rect(200, 0, 200, 200))  # edge at x = 200, touching borders
    f = sel.feather(m, radius)
    row = f[100].astype(int)
    assert (np.diff(row) >= 0).all()                  # monotone from outside to inside
    ramp = np.flatnonzero((row > 0.02 * 255) & (row < 0.98 * 255))
    width = ramp.max() - ramp.min() + 1
    assert abs(width - 2 * radius) <= max(2, 0.15 * radius)
    assert abs((ramp.min() + ramp.max()) / 2 - 199.5) <= 1.0   # centred on the edge


def test_grow_shrink_border_and_invert() -> None:
    m = sel.rect_mask(W, H, Rect(60, 50, 40, 40))
    g = sel.grow(m, 5)
    assert sel.bounds(g, 127) == Rect(55, 45, 50, 50)
    assert g[45, 55] < 128 and g[45, 60] == 255   # the corner is rounded, the side straight
    s = sel.shrink(m, 5)
    assert sel.bounds(s, 127) == Rect(65, 55, 30, 30)
    b = sel.border(m, 6)
    assert (b[70, 57:63] == 255).all() and b[70, 56] == 0 and b[70, 63] == 0  # 6 px band
    assert b[70, 80] == 0
    assert b[70, 50] == 0
    inv = sel.invert(m)
    assert inv[0, 0] == 255 and inv[70, 80] == 0


def test_shrink_keeps_canvas_edge() -> None:
    m = sel.rect_mask(W, H, Rect(0, 0, 50, H))
    s = sel.shrink(m, 5)
    assert s[80, 0] == 255 and s[80, 44] == 255 and s[80, 46] == 0


def test_region_for_ai_with_margin() -> None:
    doc = Document.new(300, 200)
    doc.set_selection(sel.ellipse_mask(300, 200, 100, 50, 160, 110))
    r, mask = doc.selection_region(margin=20)
    assert r == Rect(80, 30, 100, 100)
    assert mask.shape == (100, 100) and mask[50, 50] == 255 and mask[0, 0] == 0
    doc.set_selection(sel.rect_mask(300, 200, Rect(0, 0, 10, 10)))
    assert doc.selection_region(margin=20)[0] == Rect(0, 0, 30, 30)  # clipped to canvas
    doc.set_selection(None)
    r, mask = doc.selection_region()
    assert r == doc.rect and mask.min() == 255


def test_selection_changes_are_undoable_and_stored_compactly() -> None:
    doc = Document.new(2000, 2000)
    a = sel.rect_mask(2000, 2000, Rect(10, 10, 20, 20))
    doc.set_selection(a)
    first = doc.history.last_command
    doc.set_selection(sel.invert(a), "Invert selection")
    assert doc.history.steps == ["Select", "Invert selection"]
    assert first is not None and first.nbytes < 1000   # a bbox crop, not a 4 MB mask
    doc.history.undo()
    assert np.array_equal(doc.selection, a)
    doc.history.undo()
    assert doc.selection is None
    doc.history.redo()
    doc.history.redo()
    assert doc.selection[0, 0] == 255 and doc.selection[15, 15] == 0
