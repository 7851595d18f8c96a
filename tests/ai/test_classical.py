"""Model-free fill: only the hole changes, and a hole in a flat area gets that colour."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai import classical
from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.errors import RequestError


def _image_with_hole() -> tuple[np.ndarray, np.ndarray]:
    img = np.zeros((64, 64, 3), np.uint8)
    img[...] = (40, 120, 200)
    img[26:38, 26:38] = (230, 20, 20)  # the object to remove
    mask = np.zeros((64, 64), np.uint8)
    mask[24:40, 24:40] = 255
    return img, mask


@pytest.mark.parametrize("method", ["telea", "ns", "patchmatch"])
def test_fill_changes_only_the_hole_and_fills_with_the_surroundings(method: str) -> None:
    if method == "patchmatch" and not classical.patchmatch_available():
        pytest.skip("pypatchmatch's native library is not available here")
    img, mask = _image_with_hole()
    out = classical.fill(img, mask, method, seed=1)
    assert np.array_equal(out[mask == 0], img[mask == 0])
    hole = out[mask > 0].astype(int)
    assert np.abs(hole - (40, 120, 200)).max() <= 3  # the red square is gone


def test_auto_prefers_patchmatch_when_available() -> None:
    expected = "patchmatch" if classical.patchmatch_available() else "telea"
    assert classical.resolve_method("auto", 100) == expected
    assert classical.resolve_method("auto", classical.PATCHMATCH_MAX_HOLE + 1) == "telea"
    with pytest.raises(RequestError, match="unknown fill method"):
        classical.resolve_method("magic", 1)


def test_whole_region_selected_is_a_clear_error() -> None:
    img, _ = _image_with_hole()
    with pytest.raises(RequestError, match="nothing to fill it from"):
        classical.fill(img, np.full((64, 64), 255, np.uint8))


def test_engine_uses_classical_when_no_model_installed(doc_factory, empty_registry) -> None:
    doc = doc_factory()
    before = doc.flatten()
    req = make_request(doc, "inpaint", prompt="", batch_size=2)  # model "auto"
    result = Engine(empty_registry, device="cpu").run(req)
    assert result.backend == "classical" and len(result.images) == 2
    assert result.seeds == [result.request.seed, result.request.seed + 1]
    layer = apply_result(doc, result, 1)
    after = doc.flatten()
    outside = doc.selection == 0
    assert np.array_equal(before[outside], after[outside])
    assert np.abs(after[50, 50, :3].astype(int) - (40, 120, 200)).max() <= 3
    assert layer.provenance is not None and layer.provenance["backend"] == "classical"
    doc.history.undo()
    assert layer not in doc.layers and np.array_equal(doc.flatten(), before)


def test_txt2img_without_model_says_how_to_add_one(doc_factory, empty_registry) -> None:
    req = make_request(doc_factory(), "txt2img", prompt="a cat")
    with pytest.raises(RequestError, match="model manager"):
        Engine(empty_registry, device="cpu").run(req)


def test_classical_outpaint_extends_the_edge(doc_factory, empty_registry) -> None:
    doc = doc_factory(sel_rect=None)
    before = doc.flatten()
    req = make_request(doc, "outpaint", model="classical", direction="bottom", pixels=24)
    result = Engine(empty_registry, device="cpu").run(req)
    layer = apply_result(doc, result)
    assert (doc.width, doc.height) == (128, 152)
    after = doc.flatten()
    assert np.array_equal(after[:128], before)
    assert np.abs(after[140, 5, :3].astype(int) - (40, 120, 200)).max() <= 3
    assert after[128:, :, 3].min() == 255 and layer.provenance["op"] == "outpaint"
    doc.history.undo()
    assert (doc.width, doc.height) == (128, 128) and layer not in doc.layers
