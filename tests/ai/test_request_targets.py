"""One request builder (`capture.make_request(doc, op, target=...)`) with one meaning of each
target, and the outpaint geometry computed once and carried by the request (`req.layout`),
on real documents and real jobs (the classical fill, a tiny random-weight SD model)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.composite import variant_layer
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.outpaint import OutpaintLayout
from aiart_desktop.ai.region import context_margin, snap_rect
from aiart_desktop.ai.requests import OutpaintRequest, request_params
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

W, H = 160, 96
SQUARE = Rect(40, 30, 30, 30)     # the "Square" layer's paint
DOT = Rect(100, 60, 10, 10)       # the "Dot" layer's paint (half transparent)


def _doc() -> tuple[Document, dict[str, object]]:
    """A background, a group holding an opaque square and a half-transparent dot, an empty
    layer, and a selection elsewhere."""
    doc = Document.new(W, H, (40, 120, 200, 255))
    group = doc.add_group("Group")
    square = np.zeros((SQUARE.h, SQUARE.w, 4), np.uint8)
    square[...] = (230, 20, 20, 255)
    sq = doc.add_layer("Square", parent=group, pixels=square, x=SQUARE.x, y=SQUARE.y)
    dot = np.zeros((DOT.h, DOT.w, 4), np.uint8)
    dot[...] = (250, 250, 20, 128)
    dt = doc.add_layer("Dot", parent=group, pixels=dot, x=DOT.x, y=DOT.y)
    empty = doc.add_layer("Empty")
    doc.set_selection(sel.rect_mask(W, H, Rect(8, 8, 20, 20)))
    return doc, {"group": group, "square": sq, "dot": dt, "empty": empty}


def test_the_three_targets(tmp_path) -> None:
    doc, nodes = _doc()
    # selection: its bounds plus the context margin, snapped; masked by the selection
    r = make_request(doc, "inpaint", model="classical")
    s = Rect(8, 8, 20, 20)
    assert r.rect == snap_rect(s.expanded(context_margin(s)).intersect(doc.rect), doc.rect)
    assert r.mask is not None and r.mask[s.slices(r.rect.x, r.rect.y)].min() == 255
    assert int((r.mask > 0).sum()) == s.area
    # layer: the active layer's area (the same margin by default), masked by its paint
    doc.set_active(nodes["square"])
    r = make_request(doc, "style", target="layer", style="Style 1")
    assert r.rect == snap_rect(SQUARE.expanded(context_margin(SQUARE)).intersect(doc.rect),
                               doc.rect)
    assert r.image is not None and np.array_equal(r.image, doc.flatten(r.rect))
    assert r.mask is not None and np.array_equal(r.mask, nodes["square"].read(r.rect)[..., 3])
    # ... with no margin (the AI panel's whole-layer Refine): the bounds snapped to 8
    r = make_request(doc, "img2img", target="layer", margin=0, model="classical")
    assert r.rect == snap_rect(SQUARE, doc.rect) and (r.rect.w, r.rect.h) == (32, 32)
    assert r.mask is not None and int((r.mask == 255).sum()) == SQUARE.area
    # a group: the bounds of its layers, masked by the most opaque of them
    doc.set_active(nodes["group"])
    r = make_request(doc, "img2img", target="layer", margin=0, model="classical")
    assert r.rect.contains_rect(SQUARE.union(DOT))
    assert r.mask is not None
    assert r.mask[SQUARE.slices(r.rect.x, r.rect.y)].min() == 255
    assert np.all(r.mask[DOT.slices(r.rect.x, r.rect.y)] == 128)
    assert int((r.mask > 0).sum()) == SQUARE.area + DOT.area
    # txt2img takes no context and no pixels: the layer's area snapped, its mask
    r = make_request(doc, "txt2img", target="layer", model="classical")
    assert r.image is None and r.rect == snap_rect(SQUARE.union(DOT), doc.rect)
    # image: the whole canvas, unmasked, whatever is selected
    r = make_request(doc, "style", target="image", style="Style 1")
    assert r.rect == doc.rect and r.mask is None
    assert r.image is not None and np.array_equal(r.image, doc.flatten())
    # an empty layer, an unknown target, an outpaint with a target: plain RequestErrors
    doc.set_active(nodes["empty"])
    with pytest.raises(RequestError, match="“Empty” is empty"):
        make_request(doc, "img2img", target="layer")
    with pytest.raises(RequestError, match="unknown target"):
        make_request(doc, "img2img", target="canvas")
    with pytest.raises(RequestError, match="takes no target"):
        make_request(doc, "outpaint", target="image")


def test_a_layer_partly_off_the_canvas_is_taken_inside_it() -> None:
    doc = Document.new(64, 64, (255, 255, 255, 255))
    px = np.zeros((20, 40, 4), np.uint8)
    px[...] = (0, 0, 0, 255)
    doc.add_layer("Off", pixels=px, x=44, y=10)   # 20 of its 40 columns on the canvas
    r = make_request(doc, "img2img", target="layer", margin=0, model="classical")
    assert doc.rect.contains_rect(r.rect) and r.rect.right == 64
    assert r.mask is not None and int((r.mask == 255).sum()) == 20 * 20


def test_refine_whole_layer_changes_only_where_the_layer_has_paint(tiny_engine) -> None:
    """The AI panel's "Whole layer" Refine (target "layer", no margin) on a real tiny model:
    the result covers the layer's paint, so the rest of its bounding box stays as it was."""
    doc = Document.new(96, 96, (40, 120, 200, 255))
    px = np.zeros((48, 48, 4), np.uint8)
    yy, xx = np.mgrid[:48, :48]
    disc = (yy - 23.5) ** 2 + (xx - 23.5) ** 2 <= 22 ** 2
    px[disc] = (230, 20, 20, 255)
    doc.add_layer("Disc", pixels=px, x=24, y=24)
    before = doc.flatten()
    req = make_request(doc, "img2img", target="layer", margin=0, model="tiny-sd", steps=2,
                       strength=0.9, seed=5, prompt="a planet")
    assert req.rect == Rect(24, 24, 48, 48)
    result = tiny_engine.run(req)
    apply_result(doc, result, 0)
    after = doc.flatten()
    inside = np.zeros((96, 96), bool)
    inside[24:72, 24:72] = disc
    assert np.array_equal(after[~inside], before[~inside])     # corners of the box too
    assert np.abs(after[inside].astype(int) - before[inside].astype(int)).mean() > 5


def test_outpaint_layout_is_computed_once_and_carried() -> None:
    doc = Document.new(128, 96, (40, 120, 200, 255))
    req = make_request(doc, "outpaint", model="classical", direction="left", pixels=32)
    assert isinstance(req, OutpaintRequest)
    lay = req.layout
    assert lay.canvas_size == (128, 96) and lay.size == (160, 96) and lay.shift == (32, 0)
    assert lay.area == Rect(0, 0, 32, 96) and req.rect == Rect(0, 0, 64, 96)
    assert lay.region == Rect(0, 0, 96, 96) and lay.strip == Rect(32, 0, 64, 96)
    assert lay.mask[:, :32].min() == 255 and lay.mask[:, 32:].max() == 0
    assert not lay.mask.flags.writeable
    assert lay.to_canvas(lay.region) == Rect(-32, 0, 96, 96)
    # a copy of the request (the seed fixed) carries the same layout
    again = req.with_seed()
    assert again is not req and isinstance(again, OutpaintRequest)
    for f in dataclasses.fields(OutpaintLayout):
        assert np.array_equal(getattr(again.layout, f.name), getattr(lay, f.name)), f.name
    # a context strip that is not along the edge, or no canvas size: refused
    with pytest.raises(RequestError, match="not a strip along the right edge"):
        OutpaintRequest(rect=Rect(10, 0, 20, 96), canvas_size=(128, 96), direction="right")
    with pytest.raises(RequestError, match="how big the canvas was"):
        OutpaintRequest(rect=Rect(0, 0, 20, 96), direction="left")
    with pytest.raises(RequestError):
        OutpaintLayout.plan((128, 96), Rect(0, 0, 64, 90), "left", 32)   # not full height


def test_outpaint_record_re_makes_the_same_result(empty_registry) -> None:
    """Records keep no layout: re-running one computes the same layout and the same pixels."""
    engine = default_engine(empty_registry, device="cpu")
    doc = Document.new(128, 96, (40, 120, 200, 255))
    stripe = np.zeros((96, 12, 4), np.uint8)
    stripe[...] = (230, 20, 20, 255)
    doc.add_layer("Stripe", pixels=stripe, x=100, y=0)
    req = make_request(doc, "outpaint", model="classical", direction="right", pixels=40,
                       seed=11)
    first = engine.run(req)
    assert first.rect == req.layout.region
    layer = apply_result(doc, first, 0)
    assert (doc.width, doc.height) == req.layout.size
    assert np.array_equal(layer.read(first.rect), variant_layer(first, 0))
    rec = layer.provenance
    assert rec is not None and "layout" not in rec
    doc.history.undo()
    assert (doc.width, doc.height) == (128, 96)
    again = make_request(doc, str(rec["op"]), **request_params(rec))
    assert isinstance(again, OutpaintRequest)
    assert (again.layout.size, again.layout.shift, again.layout.region, again.layout.strip) \
        == (req.layout.size, req.layout.shift, req.layout.region, req.layout.strip)
    second = engine.run(again)
    assert second.rect == first.rect
    assert np.array_equal(second.images[0], first.images[0])
    assert np.array_equal(second.alpha, first.alpha)


@pytest.mark.parametrize("op, kw", [
    ("inpaint", {}), ("img2img", {}), ("img2img", {"target": "layer", "margin": 0}),
    ("img2img", {"target": "image"}), ("txt2img", {}), ("txt2img", {"target": "layer"}),
    ("outpaint", {"direction": "left", "pixels": 96}), ("style", {"target": "layer"}),
])
def test_request_rect_is_the_area_make_request_copies(op: str, kw: dict) -> None:
    """The AI dock crops its control thumbnails with request_rect: it must be the request's."""
    from aiart_desktop.ai.capture import request_rect

    doc, nodes = _doc()
    doc.set_active(nodes["group"])
    geometry = {k: v for k, v in kw.items() if k in ("target", "margin", "direction", "pixels")}
    extra = {"style": "7"} if op == "style" else {}
    assert request_rect(doc, op, **geometry) == make_request(doc, op, **kw, **extra).rect
