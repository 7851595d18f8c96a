from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.core.brush import BrushSettings, PressureCurve, Stroke
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

RED = (255, 0, 0)


def _stroke(doc, layer, brush, points):
    x, y, *p = points[0]
    s = Stroke(doc, layer, brush, x, y, *(p or [1.0]))
    rects = [s.first_rect]
    for pt in points[1:]:
        rects.append(s.move(*pt))
    s.end()
    return rects


def test_fast_stroke_leaves_no_gaps() -> None:
    doc = Document.new(400, 100, background=None)
    layer = doc.layers[0]
    _stroke(doc, layer, BrushSettings(size=6, color=RED), [(10, 50), (390, 50)])  # one jump
    row = layer.read(Rect(0, 50, 400, 1))[0, :, 3]
    assert (row[10:390] == 255).all()
    assert row[:5].max() == 0 and row[396:].max() == 0


def test_one_stroke_is_one_undo_step_with_exact_restore() -> None:
    doc = Document.new(200, 200)
    layer = doc.layers[0]
    before = layer.read(doc.rect)
    _stroke(doc, layer, BrushSettings(size=15, color=RED), [(20, 20), (60, 80), (150, 30)])
    assert doc.history.steps == ["Brush stroke"]
    assert not np.array_equal(layer.read(doc.rect), before)
    doc.history.undo()
    assert np.array_equal(layer.read(doc.rect), before)


def test_dirty_rects_cover_every_changed_pixel() -> None:
    doc = Document.new(200, 200)
    layer = doc.layers[0]
    before = layer.read(doc.rect)
    rects = _stroke(doc, layer, BrushSettings(size=11, color=RED),
                    [(30, 30), (80, 90), (140, 60)])
    changed = np.any(layer.read(doc.rect) != before, axis=-1)
    covered = np.zeros_like(changed)
    for r in rects:
        covered[r.slices()] = True
    assert changed.any() and not (changed & ~covered).any()


def test_opacity_caps_and_flow_builds_up() -> None:
    doc = Document.new(100, 40, background=None)
    layer = doc.layers[0]
    brush = BrushSettings(size=10, hardness=1.0, opacity=0.5, flow=0.3, spacing=0.05)
    _stroke(doc, layer, brush, [(20, 20), (80, 20)])
    a = int(layer.read(Rect(50, 20, 1, 1))[0, 0, 3])
    assert abs(a - 128) <= 1  # many overlapping dabs build up to, never past, the opacity
    doc2 = Document.new(100, 40, background=None)
    _stroke(doc2, doc2.layers[0], brush.with_(spacing=5.0), [(50, 20)])  # a single dab
    assert abs(int(doc2.layers[0].read(Rect(50, 20, 1, 1))[0, 0, 3]) - 38) <= 1  # 0.5*0.3


def test_pressure_curve_shrinks_dabs() -> None:
    doc = Document.new(200, 60, background=None)
    layer = doc.layers[0]
    brush = BrushSettings(size=30, hardness=1.0, color=RED)
    _stroke(doc, layer, brush, [(20, 30, 1.0), (90, 30, 1.0)])
    _stroke(doc, layer, brush, [(110, 30, 0.2), (180, 30, 0.2)])
    col_full = layer.read(Rect(50, 0, 1, 60))[:, 0, 3]
    col_light = layer.read(Rect(150, 0, 1, 60))[:, 0, 3]
    assert (col_full > 128).sum() == pytest.approx(30, abs=2)
    assert (col_light > 128).sum() == pytest.approx(6, abs=2)
    assert PressureCurve(((0, 0), (0.5, 0.8), (1, 1)))(0.25) == pytest.approx(0.4)


def test_soft_brush_edge_is_monotone() -> None:
    doc = Document.new(100, 100, background=None)
    layer = doc.layers[0]
    _stroke(doc, layer, BrushSettings(size=40, hardness=0.0), [(50, 50)])
    row = layer.read(Rect(50, 50, 25, 1))[0, :, 3].astype(int)
    assert row[0] >= 250 and row[-1] == 0
    assert (np.diff(row) <= 0).all() and len(set(row.tolist())) > 10


def test_eraser_and_alpha_lock() -> None:
    doc = Document.new(60, 60, background=(0, 0, 255, 255))
    layer = doc.layers[0]
    _stroke(doc, layer, BrushSettings(size=10, hardness=1.0, eraser=True), [(30, 30)])
    assert layer.read(Rect(30, 30, 1, 1))[0, 0, 3] == 0
    doc.set_props(layer, alpha_lock=True)
    _stroke(doc, layer, BrushSettings(size=60, hardness=1.0, color=RED), [(30, 30)])
    px = layer.read(doc.rect)
    assert px[30, 30, 3] == 0                           # the hole stays a hole
    assert tuple(px[20, 20]) == (255, 0, 0, 255)        # the colour changed elsewhere


def test_smoothing_trails_and_end_catches_up() -> None:
    doc = Document.new(300, 60, background=None)
    layer = doc.layers[0]
    s = Stroke(doc, layer, BrushSettings(size=4, smoothing=0.8), 10, 30)
    s.move(200, 30)
    assert layer.read(Rect(190, 30, 20, 1))[0, :, 3].max() == 0  # smoothed: not there yet
    s.end(200, 30)
    assert layer.read(Rect(199, 30, 2, 1))[0, :, 3].max() == 255


def test_stroke_honours_hard_selection() -> None:
    doc = Document.new(100, 100)
    layer = doc.layers[0]
    sel = np.zeros((100, 100), np.uint8)
    sel[:, :50] = 255
    doc.set_selection(sel)
    before = layer.read(doc.rect)
    _stroke(doc, layer, BrushSettings(size=30, color=RED), [(20, 50), (80, 50)])
    after = layer.read(doc.rect)
    assert np.array_equal(after[:, 50:], before[:, 50:])
    assert not np.array_equal(after[:, :50], before[:, :50])


def test_cancel_restores_and_records_nothing() -> None:
    doc = Document.new(80, 80)
    layer = doc.layers[0]
    before = layer.read(doc.rect)
    s = Stroke(doc, layer, BrushSettings(size=10, color=RED), 10, 10)
    s.move(70, 70)
    s.cancel()
    assert np.array_equal(layer.read(doc.rect), before) and not doc.history.can_undo


def test_locked_layer_refuses_paint() -> None:
    doc = Document.new(10, 10)
    doc.set_props(doc.layers[0], locked=True)
    with pytest.raises(PermissionError):
        Stroke(doc, doc.layers[0], BrushSettings(), 5, 5)
