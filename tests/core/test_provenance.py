"""AI share of the visible picture on constructed documents (exact, alpha-weighted)."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai.records.export_parameters import document_parameters
from aiart_desktop.core.document import Document
from aiart_desktop.core.layer import Layer
from aiart_desktop.core.provenance import ai_fraction, ai_layers

REC = {"op": "txt2img", "prompt": "a red boat", "seed": 7, "steps": 4, "guidance": 7.0,
       "scheduler": "euler_a", "model": "sd-turbo", "rect": [0, 0, 8, 8]}


def solid(w: int, h: int, alpha: int = 255, rgb: tuple[int, int, int] = (10, 20, 30)
          ) -> np.ndarray:
    px = np.zeros((h, w, 4), np.uint8)
    px[...] = (*rgb, alpha)
    return px


def ai(doc: Document, name: str, px: np.ndarray, x: int = 0, y: int = 0, **rec: object
       ) -> Layer:
    return doc.add_layer(name, parent=doc.root, pixels=px, x=x, y=y,
                         provenance=dict(REC, **rec))


def test_empty_document() -> None:
    r = ai_fraction(Document(16, 16))
    assert r.visible_pixels == 0 and r.fraction == 0.0 and r.layers == ()
    assert document_parameters(Document(16, 16)) is None


def test_opaque_ai_layer_is_all_ai() -> None:
    doc = Document(20, 10)
    lay = ai(doc, "boat", solid(20, 10))
    r = ai_fraction(doc)
    assert r.visible_pixels == pytest.approx(200) and r.fraction == pytest.approx(1.0)
    assert r.layers[0].layer is lay and r.layers[0].share == pytest.approx(1.0)


def test_half_transparent_paint_over_half_of_an_ai_layer() -> None:
    doc = Document(20, 10)
    lay = ai(doc, "boat", solid(20, 10))
    doc.add_layer("paint", parent=doc.root, pixels=solid(10, 10, 128), x=0, y=0)
    r = ai_fraction(doc)
    a = 128 / 255
    # left half: AI keeps 1 - a of each pixel, right half: all AI; final alpha 1 everywhere
    assert r.visible_pixels == pytest.approx(200, rel=1e-5)
    assert r.fraction == pytest.approx((100 * (1 - a) + 100) / 200, rel=1e-5)
    assert r.layers[0].layer is lay and r.layers[0].share == pytest.approx(r.fraction)


def test_ai_over_painted_background_weights_by_final_alpha() -> None:
    doc = Document(10, 10)
    doc.add_layer("bg", parent=doc.root, pixels=solid(10, 10))
    ai(doc, "glow", solid(10, 10, 51))  # 20 % over an opaque background
    assert ai_fraction(doc).fraction == pytest.approx(0.2, rel=1e-5)
    doc2 = Document(10, 10)
    ai(doc2, "glow", solid(10, 10, 51))  # alone: every visible bit of it is AI
    r = ai_fraction(doc2)
    assert r.visible_pixels == pytest.approx(20, rel=1e-5) and r.fraction == pytest.approx(1)


def test_layer_fully_covered_by_opaque_paint_counts_zero() -> None:
    doc = Document(12, 12)
    lay = ai(doc, "hidden under paint", solid(6, 6), x=3, y=3)
    doc.add_layer("paint", parent=doc.root, pixels=solid(12, 12))
    r = ai_fraction(doc)
    assert r.fraction == 0.0 and r.layers[0].layer is lay and r.layers[0].share == 0.0
    assert r.layers[0].visible  # listed, still shown, but nothing of it can be seen


def test_hidden_layers_and_hidden_groups_do_not_count() -> None:
    doc = Document(10, 10)
    doc.add_layer("bg", parent=doc.root, pixels=solid(10, 10))
    lay = ai(doc, "boat", solid(10, 10))
    doc.set_props(lay, visible=False)
    assert ai_fraction(doc).fraction == 0.0
    doc.set_props(lay, visible=True)
    assert ai_fraction(doc).fraction == pytest.approx(1.0)
    group = doc.add_group("g", parent=doc.root)
    doc.move_node(lay, group, 0)
    doc.set_props(group, visible=False)
    r = ai_fraction(doc)
    assert r.fraction == 0.0 and not r.layers[0].visible
    assert document_parameters(doc) is None


@pytest.mark.parametrize("pass_through", [False, True])
def test_group_opacity_scales_ai_layers_inside(pass_through: bool) -> None:
    doc = Document(10, 10)
    doc.add_layer("bg", parent=doc.root, pixels=solid(10, 10))
    group = doc.add_group("g", parent=doc.root)
    ai(doc, "a", solid(10, 10))
    lay = doc.layers[-1]
    doc.move_node(lay, group, 0)
    doc.set_props(group, opacity=0.25, pass_through=pass_through)
    r = ai_fraction(doc)
    assert r.visible_pixels == pytest.approx(100, rel=1e-5)
    assert r.fraction == pytest.approx(0.25, rel=1e-5)


def test_two_ai_layers_split_and_order() -> None:
    doc = Document(10, 10)
    low = ai(doc, "low", solid(10, 10), seed=1)
    high = ai(doc, "high", solid(5, 10), seed=2)  # opaque, covers the left half
    r = ai_fraction(doc)
    assert [s.layer for s in r.layers] == [high, low] == ai_layers(doc)
    assert r.layers[0].share == pytest.approx(0.5) and r.layers[1].share == pytest.approx(0.5)
    assert r.fraction == pytest.approx(1.0)
    text = document_parameters(doc)
    # equal shares: the topmost stands for the picture; the list goes in its own chunk
    assert text is not None and "Seed: 2" in text.splitlines()[-1] and "AI layers" not in text


def test_blocks_bigger_than_one() -> None:
    doc = Document(1100, 700)
    ai(doc, "boat", solid(1100, 350))
    doc.add_layer("paint", parent=doc.root, pixels=solid(1100, 350), x=0, y=350)
    assert ai_fraction(doc).fraction == pytest.approx(0.5, rel=1e-6)
