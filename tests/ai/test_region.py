"""Region handling: snapping, scaling, masks, colour matching, and cost ∝ region."""
from __future__ import annotations

import tracemalloc

import numpy as np

from aiart_desktop.ai import composite, region
from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect


def test_snap_rect_multiple_of_8_inside_bounds() -> None:
    b = Rect(0, 0, 100, 60)
    r = region.snap_rect(Rect(3, 5, 13, 21), b)
    assert r.w % 8 == 0 and r.h % 8 == 0 and b.contains_rect(r)
    assert r.contains_rect(Rect(3, 5, 13, 21))
    edge = region.snap_rect(Rect(95, 55, 5, 5), b)
    assert b.contains_rect(edge) and edge.w == 8 and edge.right == 100
    tiny = region.snap_rect(Rect(0, 0, 5, 5), Rect(0, 0, 5, 5))
    assert tiny == Rect(0, 0, 5, 5)  # cannot grow: keep what there is


def test_model_size() -> None:
    assert region.model_size(512, 512, 512) == (512, 512)
    assert region.model_size(520, 480, 512) == (520, 480)  # near native: no resampling
    assert region.model_size(128, 128, 512) == (512, 512)
    assert region.model_size(2048, 1024, 1024) == (1448, 728)
    w, h = region.model_size(8192, 512, 512)
    assert w % 8 == 0 and h % 8 == 0 and w <= 1024


def test_blend_mask_is_zero_outside_and_feathered_inside() -> None:
    m = np.zeros((64, 64), np.uint8)
    m[16:48, 16:48] = 255
    b = region.blend_mask(m, 6)
    assert b[m == 0].max() == 0
    assert b[32, 32] == 255 and 0 < b[16, 32] < 128
    assert list(b[32, 16:23]) == sorted(b[32, 16:23])  # ramps up inwards
    full = region.blend_mask(np.full((32, 32), 255, np.uint8), 6)
    assert full.min() == 255  # the region's border is not an edge
    soft = np.random.default_rng(2).integers(1, 256, (40, 56)).astype(np.uint8)
    assert np.array_equal(region.blend_mask(soft, 6), soft)  # no edge: pasted as selected


def test_denoise_mask_grows_beyond_selection() -> None:
    m = np.zeros((64, 64), np.uint8)
    m[24:40, 24:40] = 255
    d = region.denoise_mask(m, 4, 3)
    assert d[m > 0].min() == 255
    assert d[32, 22] > 200 and d[32, 10] == 0 and 0 < d[32, 19] < d[32, 21] < 255


def test_color_match_removes_offset_at_seam() -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96]
    base = np.stack([80 + xx, 120 + yy // 2, 60 + (xx + yy) // 4], -1).astype(np.float32)
    original = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((96, 96), np.uint8)
    mask[32:64, 32:64] = 255
    shifted = np.clip(original.astype(np.int16) + (40, -25, 30), 0, 255).astype(np.uint8)
    ring = region.ring(mask, 8)
    seam_before = np.abs(shifted[ring].astype(float).mean(0) - original[ring].mean(0))
    matched = region.color_match(shifted, original, mask, 8)
    seam_after = np.abs(matched[ring].astype(float).mean(0) - original[ring].mean(0))
    assert seam_before.max() > 20 and seam_after.max() < 3
    inside = np.abs(matched[mask > 0].astype(float) - original[mask > 0]).mean()
    assert inside < 4
    # no ring (the selection fills the region): unchanged
    full = np.full((96, 96), 255, np.uint8)
    assert region.color_match(shifted, original, full) is shifted


def test_layer_pixels_clears_colour_where_transparent() -> None:
    rgb = np.full((4, 4, 3), 200, np.uint8)
    a = np.zeros((4, 4), np.uint8)
    a[1:3, 1:3] = 128
    px = composite.layer_pixels(rgb, a)
    assert px[0, 0].tolist() == [0, 0, 0, 0] and px[1, 1].tolist() == [200, 200, 200, 128]


def test_region_on_8k_canvas_costs_the_region(empty_registry) -> None:
    doc = Document.new(8192, 8192)
    doc.set_selection(sel.rect_mask(8192, 8192, Rect(4000, 4000, 96, 96)))
    engine = default_engine(empty_registry, device="cpu")
    tracemalloc.start()
    try:
        req = make_request(doc, "inpaint", model="classical", fill_method="telea")
        result = engine.run(req)
        layer = apply_result(doc, result)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Only region-sized arrays: the request, result and layer are all small ...
    assert req.image is not None and req.image.shape[0] <= 256 and req.image.shape[1] <= 256
    assert result.images[0].shape[:2] == (req.rect.h, req.rect.w)
    assert layer.bounds().area <= 96 * 96
    # ... and nothing canvas-sized in RGBA was allocated (8192² RGBA8 is 256 MiB; the core's
    # selection bounds scan makes one canvas-sized boolean temporary, 64 MiB).
    assert peak < 8192 * 8192 * 2
