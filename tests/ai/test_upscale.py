"""Image › Upscale's headless half (ai/upscale.py) and the engine's "upscale" op with Lanczos:
the tiles and their blending, premultiplied Lanczos, the request, one undo step. The model
path (spandrel) is tested with a tiny ESRGAN in tests/ai/test_local_upscale.py and
tests/ai/test_upscale_model.py."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from aiart_desktop.ai import upscale as up
from aiart_desktop.ai.errors import AiError, Cancelled, RequestError
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect


def _gradient(h: int = 300, w: int = 420) -> np.ndarray:
    """A smooth diagonal gradient with a soft blob: where seams would show."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
    rgb += 40 * np.exp(-((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) / 2000.0)[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8)


def test_tiles_cover_the_picture_and_overlap() -> None:
    assert up.tile_starts(100, 512, 32) == [0]
    starts = up.tile_starts(1000, 256, 32)
    assert starts[0] == 0 and starts[-1] == 1000 - 256
    assert all(b - a <= 256 - 32 for a, b in zip(starts, starts[1:]))
    grid = up.tile_grid(300, 420, 128, 16)
    covered = np.zeros((300, 420), bool)
    for r in grid:
        covered[r.slices()] = True
    assert covered.all()


@pytest.mark.parametrize("length,tile,overlap", [(384, 128, 16), (1024, 512, 32), (768, 512, 32),
                                                (513, 512, 32), (100, 64, 16), (5000, 512, 32)])
def test_even_tiles_are_the_fewest_at_most_tile_sized_sharing_exactly_the_overlap(
        length: int, tile: int, overlap: int) -> None:
    """A network's tiles: as few as cover the side, none bigger than `tile`, sizes within a
    pixel of each other, neighbours sharing exactly `overlap`, flush with both ends."""
    spans = up.even_starts(length, tile, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    sizes = [b - a for a, b in spans]
    assert max(sizes) <= tile and max(sizes) - min(sizes) <= 1
    assert all(b0 - a1 == overlap for (_, b0), (a1, _) in zip(spans, spans[1:]))
    n = len(spans)
    assert n == 1 or (n - 1) * tile - (n - 2) * overlap < length   # one fewer would not do
    assert up.model_tiles(length, length, tile, overlap) == n * n


def test_the_blend_weights_sum_to_one() -> None:
    """A constant picture through a constant-preserving 'network' stays constant: every
    output pixel's weights sum to one, so no tile join brightens or darkens."""
    rgb = np.full((300, 420, 3), 137, np.uint8)
    out = up.tiled(rgb, lambda t: cv2.resize(t, None, fx=2, fy=2,
                                             interpolation=cv2.INTER_NEAREST), 2, 128, 16)
    assert out.shape == (600, 840, 3) and (out == 137).all()


@pytest.mark.parametrize("even", [False, True])
def test_tiled_agrees_with_whole_and_shows_no_seam(even: bool) -> None:
    rgb = _gradient()

    def net(t: np.ndarray) -> np.ndarray:          # a ×2 with context (like a network)
        return cv2.resize(t, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)

    whole = net(rgb)
    tiles: list[int] = []
    out = up.tiled(rgb, net, 2, 128, 16, on_tile=lambda d, t, _o: tiles.append(d), even=even)
    assert out.shape == whole.shape and tiles == list(range(1, len(tiles) + 1))
    expected = up.model_tiles(300, 420, 128, 16) if even else len(up.tile_grid(300, 420, 128, 16))
    assert len(tiles) == expected > 4
    diff = np.abs(out.astype(int) - whole.astype(int))
    assert diff.max() <= 2                     # the same picture, up to rounding
    # no seam: row-to-row (and column-to-column) steps stay as smooth as the whole's
    for axis in (0, 1):
        steps = np.abs(np.diff(out.astype(int), axis=axis)).max()
        ref = np.abs(np.diff(whole.astype(int), axis=axis)).max()
        assert steps <= ref + 2


def test_lanczos_keeps_colour_at_transparent_edges() -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10:30] = (250, 30, 30, 255)     # a red square on transparency
    out = up.lanczos(rgba, (160, 160))
    assert out.shape == (160, 160, 4)
    edge = (out[..., 3] > 20) & (out[..., 3] < 235)
    assert edge.any()
    # straight colour stays red where it is partly transparent: no dark fringe
    assert out[edge][:, 0].min() >= 200 and out[edge][:, 1].max() <= 80
    opaque = np.full((20, 30, 4), 255, np.uint8)
    opaque[..., :3] = _gradient(20, 30)
    assert (up.lanczos(opaque, (60, 40))[..., 3] == 255).all()
    look = up.preview(out)                     # the progress preview: over white, small
    assert look.shape == (160, 160, 3) and (look[0, 0] == 255).all()
    assert tuple(look[80, 80]) == (250, 30, 30)


def _doc() -> Document:
    doc = Document.new(120, 80, (200, 210, 220, 255))
    ink = np.zeros((30, 40, 4), np.uint8)
    ink[...] = (20, 40, 160, 255)
    doc.add_layer("Ink", pixels=ink, x=50, y=20)
    return doc


def test_upscale_the_picture_with_lanczos_in_one_undo_step(empty_registry) -> None:
    doc = _doc()
    sel = np.zeros((80, 120), np.uint8)
    sel[10:30, 10:40] = 255
    doc.set_selection(sel)
    before = doc.flatten().copy()
    undo0 = doc.history.undo_count
    req = up.upscale_request(doc, 2.0)
    assert len(req.pieces) == 2 and req.model == up.LANCZOS
    seen: list[str] = []
    result = default_engine(empty_registry, device="cpu").run(req, lambda p: seen.append(p.phase))
    assert result.backend == "lanczos" and result.size == (240, 160)
    assert seen and all("Lanczos" in s for s in seen)
    up.apply_upscale(doc, result)
    assert (doc.width, doc.height) == (240, 160)
    assert doc.history.undo_count == undo0 + 1
    ink = doc.layers[1]
    assert ink.bounds() == Rect(100, 40, 80, 60)
    assert (ink.read(Rect(110, 50, 60, 40))[..., :3] == (20, 40, 160)).all()
    assert doc.selection is not None and doc.selection.shape == (160, 240)
    assert doc.selection[40, 40] == 255 and doc.selection[100, 200] == 0
    small = cv2.resize(doc.flatten(), (120, 80), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - before.astype(int)).mean() < 3
    after = doc.flatten().copy()
    doc.history.undo()
    assert (doc.width, doc.height) == (120, 80) and np.array_equal(doc.flatten(), before)
    assert doc.selection is not None and doc.selection[20, 20] == 255
    doc.history.redo()                       # the layers' grids swap back in whole
    assert np.array_equal(doc.flatten(), after)
    again = _doc()                           # the result itself was not changed by applying
    again.set_selection(sel)
    up.apply_upscale(again, result)
    assert np.array_equal(again.flatten(), after)


def test_upscale_one_layer_about_its_centre(empty_registry) -> None:
    doc = _doc()
    doc.set_active(doc.layers[1])
    req = up.upscale_request(doc, 2.0, target=up.LAYER)
    assert len(req.pieces) == 1
    result = default_engine(empty_registry, device="cpu").run(req)
    up.apply_upscale(doc, result)
    assert (doc.width, doc.height) == (120, 80)             # the canvas is unchanged
    assert doc.layers[1].bounds() == Rect(30, 5, 80, 60)    # centred where it was


def test_upscale_the_selection_into_a_new_layer(empty_registry) -> None:
    """The selected part of the active layer (alpha times the soft selection), scaled about
    the selection's centre, in a new layer above it; the source and the canvas unchanged;
    one undo step."""
    doc = _doc()
    ink = doc.layers[1]
    doc.set_active(ink)
    sel = np.zeros((80, 120), np.uint8)
    sel[20:40, 40:70] = 255                   # overlaps the ink (x 50-90, y 20-50)
    sel[40:50, 40:70] = 128                   # a soft band below
    doc.set_selection(sel)
    before, undo0 = doc.flatten().copy(), doc.history.undo_count
    source = ink.read(ink.bounds()).copy()
    req = up.upscale_request(doc, 2.0, target=up.SELECTION)
    assert req.rect == Rect(40, 20, 30, 30)
    result = default_engine(empty_registry, device="cpu").run(req)
    [new] = up.apply_upscale(doc, result)
    assert doc.history.undo_count == undo0 + 1 and doc.history.undo_text == "Upscale selection"
    assert new.name == "Ink (upscaled)" and doc.layers.index(new) == doc.layers.index(ink) + 1
    assert (doc.width, doc.height) == (120, 80)
    assert np.array_equal(ink.read(ink.bounds()), source)      # the source as it was
    out = Rect(25, 5, 60, 60)                 # the 60² result about the centre (55, 35)
    assert new.bounds().intersect(out) == new.bounds()
    px = new.read(out)
    core = px[8:30, 28:52]                            # the fully selected ink, ×2 (away
    assert (core[..., 3] >= 250).all()                # from Lanczos' ringing at its edges)
    assert np.abs(core[..., :3].astype(int) - (20, 40, 160)).max() <= 3
    assert px[:, :14, 3].max() == 0                   # left of the ink: nothing there
    band = px[44:56, 24:56, 3]                        # the soft band: about half alpha
    assert 110 <= int(np.median(band)) <= 145
    doc.history.undo()
    assert new not in doc.layers and np.array_equal(doc.flatten(), before)


def test_upscale_selection_needs_a_selection_and_something_in_it(empty_registry) -> None:
    doc = _doc()
    doc.set_active(doc.layers[1])
    with pytest.raises(RequestError, match="needs a selection"):
        up.upscale_request(doc, 2.0, target=up.SELECTION)
    sel = np.zeros((80, 120), np.uint8)
    sel[60:70, 0:20] = 255                    # where the ink layer is empty
    doc.set_selection(sel)
    with pytest.raises(RequestError, match="empty in the selection"):
        up.upscale_request(doc, 2.0, target=up.SELECTION)
    big = Document.new(4500, 2000, (0, 0, 0, 255))   # × 8 = 36 000 px wide
    with pytest.raises(RequestError, match="too big"):
        up.upscale_request(big, 8.0, target=up.LAYER)


def test_cancel_and_bad_requests(empty_registry) -> None:
    doc = _doc()
    before = doc.flatten().copy()
    engine = default_engine(empty_registry, device="cpu")
    with pytest.raises(Cancelled):
        engine.run(up.upscale_request(doc, 2.0), None, lambda: True)
    assert (doc.width, doc.height) == (120, 80) and np.array_equal(doc.flatten(), before)
    with pytest.raises(RequestError, match="too big"):
        up.upscale_request(doc, 300.0)
    with pytest.raises(RequestError):
        up.upscale_request(doc, 2.0, target="selection")
    empty = Document.new(50, 50)
    empty.layers[0].tiles.clear()
    with pytest.raises(RequestError, match="nothing to upscale"):
        up.upscale_request(empty, 2.0)
    result = engine.run(up.upscale_request(doc, 2.0))
    doc.resize_canvas(130, 80)
    with pytest.raises(AiError, match="canvas changed size"):
        up.apply_upscale(doc, result)
    with pytest.raises(RequestError, match="tiles"):
        up.upscale_request(doc, 2.0, tile=32)
