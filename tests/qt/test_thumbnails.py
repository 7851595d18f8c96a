"""Layer thumbnails (qt/panels/thumbnails.py): sampled per tile within a time budget, so a
layer whose every tile is new (an upscale) is sampled over several calls, and ends exactly as
one unbudgeted pass would."""
from __future__ import annotations

import numpy as np

from aiart_desktop.core.document import Document
from aiart_desktop.qt.panels import thumbnails
from aiart_desktop.qt.panels.thumbnails import Thumbnails


def test_a_big_layer_is_sampled_over_several_calls(qapp, monkeypatch) -> None:
    doc = Document.new(2048, 1536)
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (1536, 2048, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc.put_pixels(doc.layers[0], 0, 0, px)
    layer = doc.layers[0]
    monkeypatch.setattr(thumbnails, "BUDGET_S", 1e9)     # one unbudgeted pass, however busy
    whole = Thumbnails()                                   # the machine is
    whole.pixmap(layer, 2048, 1536)
    assert not whole.incomplete(layer)
    expected = whole._entries[layer.uid].pixels.copy()
    monkeypatch.setattr(thumbnails, "BUDGET_S", 0.0)     # every call runs out at once
    budgeted = Thumbnails()
    calls = 0
    while True:
        budgeted.pixmap(layer, 2048, 1536)
        calls += 1
        if not budgeted.incomplete(layer):
            break
        assert calls < 200
    assert calls > 3                                       # spread over several paints
    assert np.array_equal(budgeted._entries[layer.uid].pixels, expected)


def test_the_canvas_shows_the_old_picture_while_an_upscaled_one_is_composited(qapp) -> None:
    """After a ×2 upscale the display cache's level 1 starts as the old level 0 (pixel for
    pixel), still marked stale, so the canvas is never blank while it recomputes."""
    from aiart_desktop.core.geometry import Rect
    from aiart_desktop.qt.canvas.display import DisplayCache

    doc = Document.new(128, 96)
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (96, 128, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc.put_pixels(doc.layers[0], 0, 0, px)
    cache = DisplayCache(doc)
    assert cache.ensure(doc.rect, 0)
    old = cache.levels()
    doc.resize_canvas(256, 192)
    cache.reset()
    cache.seed_scaled(old, 2)
    assert old[0] is not None and np.array_equal(cache.array(1), old[0])
    assert cache.is_stale(Rect(0, 0, 256, 192), 1)         # recomputed all the same
    assert not cache.array(0).any()                          # the full level starts empty
    cache.seed_scaled(old, 3)                                # not a power of two: nothing
