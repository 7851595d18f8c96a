from __future__ import annotations

import numpy as np

from aiart_desktop.core.document import Document
from aiart_desktop.core.fill import flood_fill, pick_color
from aiart_desktop.core.geometry import Rect


def _two_boxes() -> Document:
    doc = Document.new(100, 50)
    bg = doc.layers[0]
    px = bg.read(doc.rect)
    px[:, 49:51] = (0, 0, 0, 255)          # a black wall splitting the canvas
    px[10:20, 70:80] = (250, 250, 250, 255)  # a near-white patch on the right
    doc.put_pixels(bg, 0, 0, px)
    doc.history.clear()
    return doc


def test_contiguous_fill_stops_at_wall_and_respects_tolerance() -> None:
    doc = _two_boxes()
    bg = doc.layers[0]
    flood_fill(doc, bg, 10, 10, (255, 0, 0), tolerance=0)
    px = bg.read(doc.rect)
    assert tuple(px[25, 25]) == (255, 0, 0, 255)
    assert tuple(px[25, 60]) == (255, 255, 255, 255)  # beyond the wall
    assert tuple(px[0, 49]) == (0, 0, 0, 255)
    doc.history.undo()
    flood_fill(doc, bg, 60, 30, (0, 255, 0), tolerance=10)
    px = bg.read(doc.rect)
    assert tuple(px[15, 75]) == (0, 255, 0, 255)  # 250 is within 10 of 255
    doc.history.undo()
    flood_fill(doc, bg, 60, 30, (0, 255, 0), tolerance=2)
    assert tuple(bg.read(Rect(75, 15, 1, 1))[0, 0]) == (250, 250, 250, 255)


def test_global_fill_crosses_walls() -> None:
    doc = _two_boxes()
    bg = doc.layers[0]
    flood_fill(doc, bg, 10, 10, (0, 0, 255), tolerance=0, contiguous=False)
    px = bg.read(doc.rect)
    assert tuple(px[25, 25]) == tuple(px[25, 60]) == (0, 0, 255, 255)


def test_sample_merged_fills_empty_layer_inside_outline() -> None:
    doc = _two_boxes()
    top = doc.add_layer("colour")
    flood_fill(doc, top, 10, 10, (255, 0, 0), tolerance=0, sample_merged=True)
    a = top.read(doc.rect)[..., 3]
    assert (a[:, :49] == 255).all() and (a[:, 49:] == 0).all()
    assert doc.history.steps[-1] == "Fill"


def test_fill_honours_selection() -> None:
    doc = _two_boxes()
    bg = doc.layers[0]
    sel = np.zeros((50, 100), np.uint8)
    sel[:25] = 255
    doc.set_selection(sel)
    flood_fill(doc, bg, 10, 10, (255, 0, 0), tolerance=0)
    px = bg.read(doc.rect)
    assert tuple(px[5, 5]) == (255, 0, 0, 255) and tuple(px[40, 5]) == (255, 255, 255, 255)


def test_pick_color_merged_layer_and_average() -> None:
    doc = Document.new(20, 20)
    top = doc.add_layer("t", pixels=np.full((4, 4, 4), (255, 0, 0, 128), np.uint8))
    assert pick_color(doc, 1, 1, layer=top) == (255, 0, 0, 128)
    assert pick_color(doc, 1, 1) == (255, 127, 127, 255)
    assert pick_color(doc, 10, 10) == (255, 255, 255, 255)
    r = pick_color(doc, 3, 3, layer=top, radius=1)  # 4 of 9 pixels painted
    assert r[:3] == (255, 0, 0) and abs(r[3] - 128 * 4 / 9) <= 1
