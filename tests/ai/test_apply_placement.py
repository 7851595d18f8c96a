"""Apply gives what the preview showed, whichever layer is active.

Each case builds a document with an opaque white background and soft brush strokes on a layer
above the bottom one, selects over the strokes, runs a real classical fill through the engine,
computes the preview the way the AI panel shows it (the variation blended through the result's
alpha over the copied pixels), applies, and compares the flattened document with that preview.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result, placement
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.composite import variant_layer, variant_over_original
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core import selection as sel
from aiart_desktop.core.brush import BrushSettings, Stroke
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.layer import Group, Layer

SIZE = 128
SELECTION = Rect(44, 50, 40, 28)    # over the middle of the strokes
# The preview blends the variation over the 8-bit picture the job copied; the document blends
# the same layer over its own unrounded float32 composite of the layers below (e.g. a group at
# 50 % over white is 127.5 there, 128 in the copy) and rounds once at the end. The same "over"
# on inputs up to half a level apart can land one level apart; more would be a real difference.
ROUNDING = 1


def _strokes(doc: Document, layer: Layer, colour: tuple[int, int, int] = (20, 20, 60),
             y: float = 64.0) -> None:
    """Two soft strokes across the selection (soft ends: what doubled up into dark blobs)."""
    brush = BrushSettings(size=14, hardness=0.2, color=colour)
    for dy in (-6.0, 6.0):
        s = Stroke(doc, layer, brush, 16.0, y + dy)
        s.move(70.0, y + dy * 1.5)
        s.move(112.0, y + dy)
        s.end()


def _dab(doc: Document, layer: Layer, rect: Rect, colour: tuple[int, int, int, int]) -> None:
    px = np.zeros((rect.h, rect.w, 4), np.uint8)
    px[...] = colour
    doc.put_pixels(layer, rect.x, rect.y, px)


OUTSIDE = Rect(4, 4, 20, 20)        # paint far from the selection's region


def _base() -> tuple[Document, Layer]:
    doc = Document.new(SIZE, SIZE, (255, 255, 255, 255))
    return doc, doc.layers[0]


def case_bottom_active() -> tuple[Document, bool]:
    doc, bg = _base()
    _strokes(doc, doc.add_layer("Strokes"))
    doc.set_active(bg)
    return doc, True


def case_middle_active() -> tuple[Document, bool]:
    doc, _ = _base()
    middle = doc.add_layer("Middle")
    _dab(doc, middle, Rect(50, 90, 30, 20), (200, 120, 40, 255))
    _strokes(doc, doc.add_layer("Strokes"))
    doc.set_active(middle)
    return doc, True


def case_layer_in_group_under_strokes() -> tuple[Document, bool]:
    doc, _ = _base()
    group = doc.add_group("Group 1")
    under = doc.add_layer("Under", parent=group)
    _dab(doc, under, Rect(40, 40, 50, 50), (90, 160, 90, 255))
    _strokes(doc, doc.add_layer("Strokes", parent=group))
    doc.set_active(under)
    return doc, True


def case_strokes_in_group_active() -> tuple[Document, bool]:
    doc, _ = _base()
    group = doc.add_group("Group 1")
    strokes = doc.add_layer("Strokes", parent=group)
    _strokes(doc, strokes)
    above = doc.add_layer("Above", parent=doc.root)
    _dab(doc, above, OUTSIDE, (200, 30, 30, 255))     # above, but not over the region
    doc.set_active(strokes)
    return doc, False                                  # stays just above "Strokes"


def case_expanded_group_active() -> tuple[Document, bool]:
    doc, _ = _base()
    group = doc.add_group("Group 1")
    group.pass_through = True
    _strokes(doc, doc.add_layer("Strokes", parent=group))
    doc.set_active(group)                              # Add layer goes inside it, on top
    return doc, False


def case_hidden_group() -> tuple[Document, bool]:
    doc, _ = _base()
    _strokes(doc, doc.add_layer("Strokes"))
    group = doc.add_group("Hidden group", parent=doc.root)
    inside = doc.add_layer("Inside", parent=group)
    doc.set_props(group, visible=False)
    doc.set_active(inside)
    return doc, True


def case_under_multiply_layer() -> tuple[Document, bool]:
    doc, _ = _base()
    strokes = doc.add_layer("Strokes")
    _strokes(doc, strokes)
    tint = doc.add_layer("Tint")
    _dab(doc, tint, Rect(30, 30, 70, 70), (255, 180, 120, 255))
    doc.set_props(tint, blend_mode="multiply")
    doc.set_active(strokes)
    return doc, True


def case_group_half_opacity() -> tuple[Document, bool]:
    doc, _ = _base()
    group = doc.add_group("Group 1")
    strokes = doc.add_layer("Strokes", parent=group)
    _strokes(doc, strokes)
    doc.set_props(group, opacity=0.5)
    doc.set_active(strokes)
    return doc, True


def case_top_active() -> tuple[Document, bool]:
    doc, _ = _base()
    _strokes(doc, doc.add_layer("Strokes"))
    top = doc.add_layer("Top")
    _dab(doc, top, OUTSIDE, (30, 30, 200, 255))
    doc.set_active(top)
    return doc, False


CASES: list[Callable[[], tuple[Document, bool]]] = [
    case_bottom_active, case_middle_active, case_layer_in_group_under_strokes,
    case_strokes_in_group_active, case_expanded_group_active, case_hidden_group,
    case_under_multiply_layer, case_group_half_opacity, case_top_active,
]


@pytest.fixture
def classical(tmp_path) -> Engine:
    return default_engine(ModelRegistry(tmp_path / "no-models", allow_pickle=False), device="cpu")


def _preview_rgba(result, index: int) -> np.ndarray:
    """Variation `index` over the original (`variant_over_original`, the thumbnails' picture),
    as the canvas would show it with an opaque background: RGBA8 over `result.rect`."""
    rgb = variant_over_original(result, index)
    out = np.full(rgb.shape[:2] + (4,), 255, np.uint8)
    out[..., :3] = rgb
    return out


def _check_matches_preview(doc: Document, before: np.ndarray, result, preview: np.ndarray
                           ) -> None:
    after = doc.flatten()
    r = result.rect
    inside = after[r.slices()].astype(int)
    assert np.abs(inside - preview.astype(int)).max() <= ROUNDING
    outside = np.ones(after.shape[:2], bool)
    outside[r.slices()] = False
    assert np.array_equal(after[outside], before[outside])


@pytest.mark.parametrize("build", CASES, ids=lambda f: f.__name__[5:])
def test_apply_shows_what_the_preview_showed(build, classical: Engine) -> None:
    doc, expect_moved = build()
    doc.set_selection(sel.rect_mask(SIZE, SIZE, SELECTION))
    active = doc.active
    before = doc.flatten()
    req = make_request(doc, "inpaint", prompt="", model="classical", seed=7)
    result = classical.run(req)
    assert result.backend == "classical"
    preview = _preview_rgba(result, 0)
    # The job really removed the strokes: the preview differs from the picture it was made from.
    assert np.abs(preview.astype(int) - before[result.rect.slices()]).max() > 40

    above_active = doc.insertion_point()    # where Add layer would put a layer
    where = placement(doc, result)
    assert where.moved is expect_moved
    assert (where.note != "") is expect_moved
    steps = len(doc.history.steps)
    layer = apply_result(doc, result, 0)
    assert len(doc.history.steps) == steps + 1
    assert layer.parent is where.parent and where.parent.children.index(layer) == where.index
    if not expect_moved:   # Add layer's place: just above the active layer (inside a group)
        assert (where.parent, where.index) == above_active
        assert layer.parent is (active if isinstance(active, Group) else active.parent)
    else:
        assert layer.parent is doc.root and doc.root.children[-1] is layer
    _check_matches_preview(doc, before, result, preview)
    assert doc.active is layer
    doc.history.undo()
    assert np.array_equal(doc.flatten(), before)
    assert doc.active is active             # undo: the layer active before Apply, again
    doc.history.redo()
    assert doc.active is layer              # redo: the re-added layer
    _check_matches_preview(doc, before, result, preview)


def test_above_the_active_layer_would_have_shown_the_strokes(classical: Engine) -> None:
    """Why the rule matters: with the bottom layer active, the place Add layer picks lets the
    strokes above show through the fill, far from the preview."""
    doc, expect_moved = case_bottom_active()
    assert expect_moved
    doc.set_selection(sel.rect_mask(SIZE, SIZE, SELECTION))
    result = classical.run(make_request(doc, "inpaint", prompt="", model="classical", seed=7))
    preview = _preview_rgba(result, 0)
    parent, index = doc.insertion_point()
    doc.add_layer("Under the strokes", parent=parent, index=index,
                  pixels=variant_layer(result, 0),
                  x=result.rect.x, y=result.rect.y)
    wrong = doc.flatten(result.rect).astype(int)
    assert np.abs(wrong - preview.astype(int)).max() > 40


@pytest.mark.parametrize("offscreen", [False, True])
def test_outpaint_lands_where_it_matches_the_preview(offscreen: bool, classical: Engine) -> None:
    """Outpaint grows the canvas and adds the layer in one step. Paint of a higher layer lying
    beyond the old canvas's edge shows in the new area once it grows: then the layer must go on
    top to look as the preview did."""
    doc, bg = _base()
    strokes = doc.add_layer("Strokes")
    _strokes(doc, strokes)
    if offscreen:   # paint beyond the right edge (a layer moved partly off the canvas)
        _dab(doc, strokes, Rect(SIZE + 4, 40, 20, 40), (10, 10, 10, 255))
    doc.set_active(bg)
    before = doc.flatten()
    req = make_request(doc, "outpaint", prompt="", model="classical", seed=3,
                       direction="right", pixels=32)
    result = classical.run(req)
    preview = _preview_rgba(result, 0)
    where = placement(doc, result)          # asked before the canvas grows
    assert where.moved is offscreen
    steps = len(doc.history.steps)
    layer = apply_result(doc, result, 0)
    assert len(doc.history.steps) == steps + 1 and (doc.width, doc.height) == (SIZE + 32, SIZE)
    assert layer.parent is where.parent and where.parent.children.index(layer) == where.index
    after = doc.flatten()
    r = result.rect
    assert np.abs(after[r.slices()].astype(int) - preview.astype(int)).max() <= ROUNDING
    assert np.array_equal(after[:, :SIZE][:, : r.x], before[:, : r.x])
    doc.history.undo()
    assert (doc.width, doc.height) == (SIZE, SIZE) and np.array_equal(doc.flatten(), before)
