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


# ---- the active node through undo and redo --------------------------------------------------
def test_undo_and_redo_of_adding_a_layer_keep_a_layer_active() -> None:
    doc = Document.new(32, 32)
    bg = doc.layers[0]
    seen: list[object] = []
    doc.active_changed.connect(seen.append)
    a = doc.add_layer("A")
    assert doc.active is a and seen[-1] is a
    doc.history.undo()
    assert doc.active is bg and seen[-1] is bg      # what was active before the add
    doc.history.redo()
    assert doc.active is a and seen[-1] is a        # the re-added layer
    doc.set_active(bg)
    doc.history.undo()                              # A goes, but bg was not A: it stays
    assert doc.active is bg


def test_delete_merge_flatten_and_move_choose_the_expected_active_node() -> None:
    doc = Document.new(32, 32)
    bg = doc.layers[0]
    a = doc.add_layer("A", pixels=_solid(4, 4, (255, 0, 0, 255)))
    b = doc.add_layer("B")
    doc.set_active(a)
    doc.remove_node(a)                  # the neighbour below takes over
    assert doc.active is bg
    doc.history.undo()
    assert doc.active is a              # undo of delete: the restored layer
    doc.history.redo()
    assert doc.active is bg
    doc.history.undo()
    doc.set_active(bg)
    doc.remove_node(bg)                 # nothing below: the one above
    assert doc.active is a
    doc.history.undo()
    assert doc.active is bg
    doc.set_active(b)
    assert doc.merge_down(b) is a and doc.active is a     # merged into the layer below
    doc.history.undo()
    assert doc.active is b
    doc.history.redo()
    assert doc.active is a
    doc.history.undo()
    g = doc.add_group("G")
    inner = doc.add_layer("Inner")      # inside the expanded group
    assert inner.parent is g
    doc.remove_node(inner)              # a group's last child: the group
    assert doc.active is g
    doc.history.undo()
    assert doc.active is inner
    doc.move_node(b, g, 0)              # moving keeps whatever is active
    assert doc.active is inner
    doc.history.undo()
    assert doc.active is inner
    flat = doc.flatten_image()
    assert doc.active is flat
    doc.history.undo()
    assert doc.active is inner          # what was active before flattening
    doc.history.redo()
    assert doc.active is flat


def _random_edit(doc: Document, rng: np.random.Generator) -> None:
    nodes = doc.nodes
    active = doc.active
    op = rng.integers(0, 8)
    if op == 0:
        doc.add_layer()
    elif op == 1:
        doc.add_group()
    elif op == 2 and active is not None and doc.root.children != [active]:
        doc.remove_node(active)     # (never the document's last node)
    elif op == 3 and active is not None:
        doc.duplicate_node(active)
    elif op == 4 and active is not None:
        idx = active.parent.children.index(active)
        below = active.parent.children[idx - 1] if idx > 0 else None
        if active.__class__.__name__ == "Layer" and below.__class__.__name__ == "Layer":
            doc.merge_down(active)
    elif op == 5 and len(nodes) > 1:
        node = nodes[int(rng.integers(0, len(nodes)))]
        groups = [doc.root] + [n for n in nodes if n.__class__.__name__ == "Group"
                               and n is not node and node not in n.ancestors()
                               and n not in (node.walk() if hasattr(node, "walk") else [])]
        parent = groups[int(rng.integers(0, len(groups)))]
        size = len(parent.children) - (1 if node.parent is parent else 0)
        doc.move_node(node, parent, int(rng.integers(0, size + 1)))
    elif op == 6 and rng.random() < 0.3:
        doc.flatten_image()
    elif op == 7 and doc.active_layer is not None:
        doc.put_pixels(doc.active_layer, 1, 1, _solid(3, 3, (9, 9, 9, 255)))


@pytest.mark.parametrize("seed", range(6))
def test_every_undo_and_redo_restores_the_active_node_of_that_state(seed: int) -> None:
    """Walk a random history of tree edits back and forth: each state has the active node it
    had when it was first reached, and it is always a node of the document."""
    rng = np.random.default_rng(seed)
    doc = Document.new(16, 16)
    states = [doc.active]
    for _ in range(30):
        n = doc.history.index
        _random_edit(doc, rng)
        if doc.history.index != n:
            states.append(doc.active)
    assert len(states) > 10
    for k in range(len(states) - 1, 0, -1):
        doc.history.undo()
        assert doc.active is states[k - 1] and doc.contains(doc.active)
    for k in range(1, len(states)):
        doc.history.redo()
        assert doc.active is states[k] and doc.contains(doc.active)


@pytest.mark.parametrize("seed", range(4))
def test_some_node_stays_active_when_the_user_picks_layers_between_edits(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    doc = Document.new(16, 16)
    for _ in range(30):
        if rng.random() < 0.4:
            nodes = doc.nodes
            doc.set_active(nodes[int(rng.integers(0, len(nodes)))])
        _random_edit(doc, rng)
    while doc.history.can_undo:
        doc.history.undo()
        assert doc.active is not None and doc.contains(doc.active)
    while doc.history.can_redo:
        doc.history.redo()
        assert doc.active is not None and doc.contains(doc.active)


def test_paint_problem_names_what_is_wrong_in_plain_words() -> None:
    doc = Document.new(16, 16)
    bg = doc.layers[0]
    assert doc.paint_problem() is None
    doc.set_active(None)
    assert doc.paint_problem() == "No layer is active: click a layer in the Layers panel"
    g = doc.add_group("Group 1")
    assert doc.paint_problem() == (
        "\u201cGroup 1\u201d is a group: pick a layer inside it to paint on")
    sky = doc.add_layer("Sky")
    assert doc.paint_problem() is None
    doc.set_props(sky, visible=False)
    assert doc.paint_problem() == "\u201cSky\u201d is hidden: show it to paint on it"
    assert doc.paint_problem("move") == "\u201cSky\u201d is hidden: show it to move it"
    doc.set_props(sky, visible=True)
    doc.set_props(g, visible=False)
    assert doc.paint_problem() == ("\u201cSky\u201d is in the hidden group \u201cGroup 1\u201d: "
                                   "show the group to paint on it")
    doc.set_props(g, visible=True)
    doc.set_props(sky, alpha_lock=True)
    assert "alpha is locked" in doc.paint_problem()
    assert doc.paint_problem("move", needs_alpha=False) is None
    doc.set_props(sky, locked=True)
    assert doc.paint_problem() == "\u201cSky\u201d is locked: unlock it to paint on it"
    doc.set_active(bg)
    assert doc.paint_problem() is None


def test_swap_layer_tiles_is_one_step_whose_undo_and_redo_swap_back() -> None:
    """A whole layer replaced (an upscale's result) is one undo step; undo and redo swap the
    grids back and forth, tell the views which rectangle changed, and the step's memory counts
    the tiles of both states."""
    from aiart_desktop.core.tiles import TILE, TileGrid

    doc = Document.new(256, 192, (10, 20, 30, 255))
    layer = doc.layers[0]
    old = doc.flatten().copy()
    new = TileGrid()
    px = np.zeros((192, 256, 4), np.uint8)
    px[..., 0], px[..., 3] = np.arange(256, dtype=np.uint8)[None, :], 255
    new.write(0, 0, px[:128])                         # the lower part: transparent
    rects: list[Rect] = []
    doc.pixels_changed.connect(rects.append)
    undo0, bytes0 = doc.history.undo_count, doc.history.nbytes
    doc.swap_layer_tiles(layer, new, "Upscale picture")
    assert doc.history.undo_count == undo0 + 1 and doc.history.undo_text == "Upscale picture"
    assert np.array_equal(layer.read(Rect(0, 0, 256, 128)), px[:128])
    assert not layer.read(Rect(0, 128, 256, 64)).any()
    assert rects[-1] == Rect(0, 0, 256, 192)             # both the old and the new tiles
    # the old background is one shared tile; the new part 4 × 2 tiles
    assert doc.history.nbytes - bytes0 == (1 + 8) * TILE * TILE * 4
    doc.history.undo()
    assert np.array_equal(doc.flatten(), old)
    doc.history.redo()
    assert np.array_equal(layer.read(Rect(0, 0, 256, 128)), px[:128])
    doc.history.undo()
    assert np.array_equal(doc.flatten(), old)
