from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.transform import affine, transform_pixels


def _doc_with_square() -> Document:
    doc = Document.new(100, 100, background=None)
    layer = doc.layers[0]
    px = np.zeros((20, 20, 4), np.uint8)
    px[...] = (200, 30, 40, 255)
    px[:10, :10] = (10, 220, 30, 255)  # a distinct top-left quarter
    doc.put_pixels(layer, 20, 20, px)
    doc.history.clear()
    return doc


def test_move_selected_pixels_exactly_and_undo() -> None:
    doc = _doc_with_square()
    layer = doc.layers[0]
    before = layer.read(doc.rect)
    doc.set_selection(sel.rect_mask(100, 100, Rect(20, 20, 10, 10)))  # the green quarter
    transform_pixels(doc, layer, affine(dx=40, dy=30))
    px = layer.read(doc.rect)
    assert (px[50:60, 60:70] == (10, 220, 30, 255)).all()   # moved exactly
    assert (px[20:30, 20:30, 3] == 0).all()                  # hole where it was
    assert (px[30:40, 30:40] == (200, 30, 40, 255)).all()    # the rest untouched
    assert doc.selection[55, 65] == 255 and doc.selection[25, 25] == 0
    assert doc.history.steps[-1] == "Transform"
    doc.history.undo()
    assert np.array_equal(layer.read(doc.rect), before)
    assert doc.selection[25, 25] == 255


def test_scale_whole_layer_doubles_the_size() -> None:
    doc = _doc_with_square()
    layer = doc.layers[0]
    transform_pixels(doc, layer, affine(sx=2, sy=2, cx=20, cy=20))
    b = layer.bounds()
    assert b.x == 20 and b.y == 20 and abs(b.w - 40) <= 1 and abs(b.h - 40) <= 1
    px = layer.read(doc.rect)
    assert tuple(px[28, 28]) == (10, 220, 30, 255) and tuple(px[50, 50]) == (200, 30, 40, 255)


def test_rotate_90_about_centre() -> None:
    doc = _doc_with_square()
    layer = doc.layers[0]
    transform_pixels(doc, layer, affine(angle=90, cx=30, cy=30))
    px = layer.read(doc.rect)
    # clockwise on screen: the top-left quarter goes to the top-right
    assert tuple(px[24, 35]) == (10, 220, 30, 255)
    assert tuple(px[24, 24]) == (200, 30, 40, 255)


def test_no_dark_fringe_when_rotating() -> None:
    doc = Document.new(100, 100, background=None)
    layer = doc.layers[0]
    doc.put_pixels(layer, 30, 30, np.full((40, 40, 4), 255, np.uint8))  # white, opaque
    transform_pixels(doc, layer, affine(angle=30, cx=50, cy=50))
    px = layer.read(doc.rect)
    edge = (px[..., 3] > 0) & (px[..., 3] < 255)
    assert edge.sum() > 20 and px[edge][:, :3].min() >= 250  # soft edges stay white


def test_locked_layer_refuses() -> None:
    doc = _doc_with_square()
    doc.set_props(doc.layers[0], locked=True)
    with pytest.raises(PermissionError):
        transform_pixels(doc, doc.layers[0], affine(dx=1))


def test_live_session_updates_then_cancel_restores_exactly() -> None:
    from aiart_desktop.core.transform import TransformSession

    doc = _doc_with_square()
    layer = doc.layers[0]
    before = layer.read(doc.rect)
    s = TransformSession(doc, layer)
    for dx in range(1, 30, 3):                  # a drag: many live updates
        s.update(affine(dx=dx, dy=dx / 2))
    assert not np.array_equal(layer.read(doc.rect), before)
    assert not doc.history.can_undo             # nothing recorded while dragging
    s.cancel()
    assert np.array_equal(layer.read(doc.rect), before) and not doc.history.can_undo


def test_live_session_commit_is_one_step_matching_direct_transform() -> None:
    from aiart_desktop.core.transform import TransformSession

    doc = _doc_with_square()
    layer = doc.layers[0]
    s = TransformSession(doc, layer)
    s.update(affine(dx=50, dy=50))
    s.update(affine(angle=45, cx=30, cy=30, dx=10))
    s.commit()
    live = layer.read(doc.rect)
    assert doc.history.steps == ["Transform"]
    doc.history.undo()
    transform_pixels(doc, layer, affine(angle=45, cx=30, cy=30, dx=10))
    assert np.array_equal(layer.read(doc.rect), live)
