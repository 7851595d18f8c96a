from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect


def _solid(w: int, h: int, color) -> np.ndarray:
    px = np.zeros((h, w, 4), np.uint8)
    px[...] = color
    return px


def test_new_document_background_and_events() -> None:
    doc = Document.new(100, 80)
    assert tuple(doc.flatten()[40, 50]) == (255, 255, 255, 255)
    assert not doc.modified and not doc.history.can_undo
    seen: list[Rect] = []
    doc.pixels_changed.connect(seen.append)
    rev = doc.revision
    doc.put_pixels(doc.layers[0], 10, 10, _solid(5, 5, (0, 0, 0, 255)))
    assert seen == [Rect(10, 10, 5, 5)] and doc.revision > rev and doc.modified


def test_layer_tree_operations_are_undoable() -> None:
    doc = Document.new(64, 64)
    bg = doc.layers[0]
    a = doc.add_layer("A", pixels=_solid(8, 8, (255, 0, 0, 255)))
    g = doc.add_group("G")
    b = doc.add_layer("B")  # goes inside the expanded active group
    assert b.parent is g and doc.active is b
    doc.move_node(a, g, 0)
    assert [n.name for n in doc.nodes] == ["Background", "G", "A", "B"]
    dup = doc.duplicate_node(a)
    assert np.array_equal(dup.read(Rect(0, 0, 8, 8)), a.read(Rect(0, 0, 8, 8)))
    doc.remove_node(g)
    assert doc.layers == [bg]
    steps = len(doc.history.steps)
    for _ in range(steps):
        doc.history.undo()
    assert doc.layers == [bg] and not doc.modified
    for _ in range(steps):
        doc.history.redo()
    assert doc.layers == [bg]
    doc.history.undo()
    assert [n.name for n in doc.nodes] == ["Background", "G", "A", "A copy", "B"]


def test_cannot_move_group_into_itself() -> None:
    doc = Document.new(16, 16)
    g = doc.add_group()
    inner = doc.add_group(parent=g)
    with pytest.raises(ValueError):
        doc.move_node(g, inner, 0)


def test_merge_down_respects_blend_mode_and_undo() -> None:
    doc = Document.new(32, 32)
    bg = doc.layers[0]
    top = doc.add_layer("top", pixels=_solid(10, 10, (128, 128, 128, 255)))
    doc.set_props(top, blend_mode="multiply", opacity=0.5)
    look = doc.flatten()
    before_bg = bg.read(doc.rect)
    merged = doc.merge_down(top)
    assert merged is bg and doc.layers == [bg]
    assert np.abs(doc.flatten().astype(int) - look.astype(int)).max() <= 1
    doc.history.undo()
    assert doc.layers == [bg, top] and np.array_equal(bg.read(doc.rect), before_bg)


def test_flatten_image_keeps_look() -> None:
    doc = Document.new(40, 30)
    doc.add_layer("x", pixels=_solid(10, 10, (0, 0, 255, 128)), x=5, y=5)
    look = doc.flatten()
    doc.flatten_image()
    assert len(doc.layers) == 1 and np.array_equal(doc.flatten(), look)
    doc.history.undo()
    assert len(doc.layers) == 2


def test_clear_honours_soft_selection() -> None:
    doc = Document.new(20, 20)
    bg = doc.layers[0]
    sel = np.zeros((20, 20), np.uint8)
    sel[:, :10] = 255
    sel[:, 10] = 128
    doc.set_selection(sel)
    doc.clear_layer(bg)
    alpha = bg.read(doc.rect)[..., 3]
    assert (alpha[:, :10] == 0).all() and (alpha[:, 11:] == 255).all()
    assert (alpha[:, 10] == 127).all()
    doc.history.undo()
    assert (bg.read(doc.rect)[..., 3] == 255).all()


def test_resize_canvas_shifts_layers_and_undoes() -> None:
    doc = Document.new(10, 10)
    doc.resize_canvas(20, 10, dx=10)
    assert (doc.width, doc.height) == (20, 10)
    assert doc.flatten()[0, 0, 3] == 0 and doc.flatten()[0, 15, 3] == 255
    doc.history.undo()
    assert (doc.width, doc.height) == (10, 10) and doc.layers[0].offset == (0, 0)


def test_absurd_sizes_rejected() -> None:
    with pytest.raises(ValueError):
        Document(0, 10)
    with pytest.raises(ValueError):
        Document(100_000, 10)
