from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.tiles import TILE, TileGrid


def test_empty_reads_transparent_and_allocates_nothing() -> None:
    g = TileGrid()
    px = g.read(Rect(-100, -50, 300, 200))
    assert px.shape == (200, 300, 4) and not px.any()
    assert len(g) == 0 and g.nbytes == 0


def test_write_read_roundtrip_across_tiles_and_negative_coords() -> None:
    rng = np.random.default_rng(0)
    g = TileGrid()
    data = rng.integers(1, 256, size=(150, 170, 4), dtype=np.uint8)
    g.write(-37, 20, data)
    assert np.array_equal(g.read(Rect(-37, 20, 170, 150)), data)
    # a window straddling written and unwritten space
    win = g.read(Rect(-50, 10, 60, 60))
    assert not win[:10].any() and not win[:, :13].any()
    assert np.array_equal(win[10:, 13:], data[:50, :47])


def test_sparse_memory_follows_painted_area() -> None:
    g = TileGrid()
    g.write(4000, 4000, np.full((20, 300, 4), 255, np.uint8))  # one stroke on an 8k canvas
    assert g.nbytes <= 16 * TILE * TILE * 4  # a handful of tiles, not 256 MB
    assert g.bounds() == Rect(4000, 4000, 300, 20)


def test_transparent_writes_free_tiles() -> None:
    g = TileGrid()
    g.write(0, 0, np.full((TILE, TILE, 4), 9, np.uint8))
    assert len(g) == 1
    g.clear(Rect(0, 0, TILE, TILE))
    assert len(g) == 0


def test_tiles_are_immutable_and_snapshots_restore_exactly() -> None:
    g = TileGrid()
    g.write(0, 0, np.full((100, 100, 4), 50, np.uint8))
    snap = g.snapshot()
    with pytest.raises(ValueError):
        g.tile((0, 0))[0, 0, 0] = 1  # stored arrays are read-only
    g.write(10, 10, np.full((10, 10, 4), 200, np.uint8))
    assert g.read(Rect(15, 15, 1, 1))[0, 0, 0] == 200
    g.restore({k: snap.get(k) for k in g.keys()})
    assert np.array_equal(g.read(Rect(0, 0, 100, 100)), np.full((100, 100, 4), 50, np.uint8))


@pytest.mark.parametrize("dx,dy", [(64, -128), (13, -7)])
def test_translated_moves_every_pixel(dx: int, dy: int) -> None:
    rng = np.random.default_rng(1)
    g = TileGrid()
    data = rng.integers(1, 256, size=(90, 80, 4), dtype=np.uint8)
    g.write(5, 70, data)
    t = g.translated(dx, dy)
    assert np.array_equal(t.read(Rect(5 + dx, 70 + dy, 80, 90)), data)
    assert t.bounds() == Rect(5 + dx, 70 + dy, 80, 90)


def test_uniform_fill_shares_one_tile_and_stays_copy_on_write() -> None:
    g = TileGrid()
    g.fill(Rect(0, 0, 8192, 8192), (255, 255, 255, 255))
    assert len(g) == (8192 // TILE) ** 2 and g.nbytes == TILE * TILE * 4
    g.write(10, 10, np.zeros((1, 1, 4), np.uint8) + 7)  # editing one tile leaves the rest
    assert tuple(g.read(Rect(10, 10, 1, 1))[0, 0]) == (7, 7, 7, 7)
    assert tuple(g.read(Rect(100, 100, 1, 1))[0, 0]) == (255, 255, 255, 255)
    g.fill(Rect(5, 5, 3, 3), (1, 2, 3, 255))  # a partial tile
    assert tuple(g.read(Rect(6, 6, 1, 1))[0, 0]) == (1, 2, 3, 255)


def test_version_follows_every_change_and_exchange_swaps_all_tiles() -> None:
    """`version` changes with each kind of edit (the thumbnails trust it to skip a rescan);
    `exchange` swaps two grids' every tile at once and reports the union of their tiles."""
    g = TileGrid()
    seen = {g.version}

    def changed() -> None:
        assert g.version not in seen
        seen.add(g.version)

    g.write(0, 0, np.full((10, 10, 4), 200, np.uint8))
    changed()
    g.fill(Rect(0, 0, TILE * 2, TILE), (1, 2, 3, 255))
    changed()
    snap = g.snapshot()
    g.clear(Rect(0, 0, 5, 5))
    changed()
    g.restore(snap)
    changed()
    other = TileGrid()
    other.write(TILE * 3, TILE * 2, np.full((TILE, TILE, 4), 90, np.uint8))
    mine = g.read(Rect(0, 0, TILE * 4, TILE * 3)).copy()
    theirs = other.read(Rect(0, 0, TILE * 4, TILE * 3)).copy()
    dirty = g.exchange(other)
    changed()
    assert dirty == Rect(0, 0, TILE * 4, TILE * 3)
    assert np.array_equal(g.read(Rect(0, 0, TILE * 4, TILE * 3)), theirs)
    assert np.array_equal(other.read(Rect(0, 0, TILE * 4, TILE * 3)), mine)
    assert g.key_bounds() == Rect(TILE * 3, TILE * 2, TILE, TILE)
    assert other.key_bounds() == Rect(0, 0, TILE * 2, TILE)
