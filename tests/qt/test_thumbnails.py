"""Layer thumbnails (qt/panels/thumbnails.py): sampled per tile within a time budget, so a
layer whose every tile is new (an upscale) is sampled over several calls, and ends exactly as
one unbudgeted pass would."""
from __future__ import annotations

from types import SimpleNamespace

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


def test_the_budget_is_shared_by_every_call_in_a_window(qapp, monkeypatch) -> None:
    """The views ask for several thumbnails in one turn of the event loop: once the budget of
    the window is spent, the next layer gets only its few tiles of guaranteed progress."""
    doc = Document.new(2048, 1536)
    rng = np.random.default_rng(2)
    for name in ("A", "B"):
        px = rng.integers(0, 256, (1536, 2048, 4), dtype=np.uint8)
        px[..., 3] = 255
        doc.add_layer(name, pixels=px)
    a, b = doc.layers[-2], doc.layers[-1]
    clock = iter(range(10**6))            # a clock that moves 1 s each time it is read
    monkeypatch.setattr(thumbnails, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    monkeypatch.setattr(thumbnails, "WINDOW_S", 1e9)      # one window for the whole test
    monkeypatch.setattr(thumbnails, "BUDGET_S", 20)        # about 20 checks of the clock
    thumbs = Thumbnails()
    thumbs.pixmap(a, 2048, 1536)
    assert thumbs.incomplete(a) and len(thumbs._entries[a.uid].seen) > 100
    thumbs.pixmap(b, 2048, 1536)
    assert len(thumbs._entries[b.uid].seen) == 7           # the budget was a's


def test_a_swapped_grid_is_sampled_again_and_an_unchanged_one_is_not(qapp, monkeypatch) -> None:
    """A layer whose whole grid was swapped (an upscale, its undo) ends with the thumbnail of
    its new pixels; asking again with nothing changed samples nothing."""
    from aiart_desktop.core.tiles import TileGrid

    doc = Document.new(512, 384, (250, 0, 0, 255))
    layer = doc.layers[0]
    monkeypatch.setattr(thumbnails, "BUDGET_S", 1e9)
    thumbs = Thumbnails()
    thumbs.pixmap(layer, 512, 384)
    entry = thumbs._entries[layer.uid]
    assert (entry.pixels[..., 0] == 250).all()
    new = TileGrid()
    px = np.zeros((384, 512, 4), np.uint8)
    px[..., 2], px[..., 3] = 240, 255
    new.write(0, 0, px)
    doc.swap_layer_tiles(layer, new)
    thumbs.pixmap(layer, 512, 384)
    assert (entry.pixels[..., 2] == 240).all() and not entry.pixels[..., 0].any()
    calls = []
    monkeypatch.setattr(Thumbnails, "_sample", staticmethod(lambda *a: calls.append(a)))
    thumbs.pixmap(layer, 512, 384)
    assert not calls
    doc.history.undo()
    thumbs.pixmap(layer, 512, 384)
    assert calls                                          # the old tiles came back


def test_a_cleared_big_layer_and_a_partly_erased_one_end_right(qapp, monkeypatch) -> None:
    """Tiles that went are blank in the thumbnail, whether a few or all of them."""
    doc = Document.new(1024, 768, (0, 0, 0, 0))
    layer = doc.layers[0]
    px = np.zeros((768, 1024, 4), np.uint8)
    px[..., 1], px[..., 3] = 200, 255
    doc.put_pixels(layer, 0, 0, px)
    monkeypatch.setattr(thumbnails, "BUDGET_S", 1e9)
    thumbs = Thumbnails()
    thumbs.pixmap(layer, 1024, 768)
    entry = thumbs._entries[layer.uid]
    assert (entry.pixels[..., 1] == 200).all()
    doc.put_pixels(layer, 0, 0, np.zeros((64, 128, 4), np.uint8))      # two tiles go
    thumbs.pixmap(layer, 1024, 768)
    k = entry.step
    assert not entry.pixels[:64 // k, :128 // k].any()
    assert (entry.pixels[-1, -1] == (0, 200, 0, 255)).all()
    doc.clear_layer(layer)                                               # all 192 go
    thumbs.pixmap(layer, 1024, 768)
    assert not entry.pixels.any()
