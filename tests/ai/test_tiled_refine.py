"""Refine in tiles (issue 15, item 2): img2img over overlapping tiles with the tiny SD model
(tests/support/models.py, random weights, loaded through the app's loader), blended with
ai/upscale.py's weights; deterministic per seed; one layer, one undo step; cancel."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai import upscale as up
from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import Cancelled, RequestError
from aiart_desktop.core.document import Document


def _doc() -> Document:
    y, x = np.mgrid[0:96, 0:136].astype(np.float32)
    px = np.zeros((96, 136, 4), np.uint8)
    px[..., 0] = (x / 136 * 255).astype(np.uint8)
    px[..., 1] = (y / 96 * 255).astype(np.uint8)
    px[..., 2] = 90
    px[..., 3] = 255
    doc = Document.new(136, 96, (0, 0, 0, 255))
    doc.put_pixels(doc.layers[0], 0, 0, px)
    return doc


def _request(doc: Document, seed: int = 7, **kw):
    params = dict(prompt="a painted landscape", model="sd", seed=seed, steps=2,
                  strength=0.3, tiled=True, tile=64, tile_overlap=16)
    params.update(kw)
    return make_request(doc, "img2img", target="image", margin=0, **params)


def test_refine_in_tiles_runs_each_tile_and_is_deterministic(engine) -> None:
    doc = _doc()
    phases: list[str] = []
    req = _request(doc)
    result = engine.run(req, lambda p: phases.append(p.phase))
    n = len(up.tile_grid(96, 136, 64, 16))
    assert n > 4
    assert [f"refining tile {i} of {n}" for i in range(1, n + 1)] == \
        list(dict.fromkeys(p for p in phases if p.startswith("refining")))
    img = result.images[0]
    assert img.shape == (96, 136, 3) and result.size == (136, 96)
    again = engine.run(_request(doc))
    assert np.array_equal(again.images[0], img)            # the same seed, the same pixels
    other = engine.run(_request(doc, seed=8))
    assert not np.array_equal(other.images[0], img)
    rec = result.record()
    assert rec["tiled"] is True and rec["tile"] == 64 and rec["seed"] == 7
    before = doc.flatten().copy()
    n_layers, undo0 = len(doc.layers), doc.history.undo_count
    layer = apply_result(doc, result)
    assert len(doc.layers) == n_layers + 1 and doc.history.undo_count == undo0 + 1
    assert layer.bounds() == doc.rect
    doc.history.undo()
    assert np.array_equal(doc.flatten(), before)


def test_cancel_and_bad_tiled_requests(engine) -> None:
    doc = _doc()
    calls = iter([False] * 6 + [True] * 1000)
    with pytest.raises(Cancelled):
        engine.run(_request(doc), None, lambda: next(calls))
    with pytest.raises(RequestError, match="one result"):
        _request(doc, batch_size=2)
    with pytest.raises(RequestError, match="64 to 2048"):
        _request(doc, tile=16)


def test_a_tile_control_holds_each_tile_when_installed(model_folders, tmp_path) -> None:
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from tests.support.tiny_controlnets import build_controlnet

    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    engine = default_engine(reg, device="cpu")
    doc = _doc()
    plain = engine.run(_request(doc))
    assert "tile_control" not in plain.record()
    build_controlnet(reg.control_folder() / "control_v11f1e_sd15_tile", model_folders["sd"])
    held = engine.run(_request(doc))
    rec = held.record()
    assert rec["tile_control"] and held.info["controls"][0]["model_name"] == rec["tile_control"]
    assert not np.array_equal(held.images[0], plain.images[0])   # the control took part
    assert np.array_equal(engine.run(_request(doc)).images[0], held.images[0])
