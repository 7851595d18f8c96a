"""Image › Upscale with a model file: a tiny random-weight ESRGAN (spandrel's own architecture,
tests/support/tiny_upscaler.py) saved as .safetensors / .pth and loaded through the app's
loader, run through the engine's "upscale" op tile by tile (ai/upscale.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.ai import upscale as up
from aiart_desktop.ai.backends.local_upscale import Upscaler
from aiart_desktop.ai.errors import AiError, Cancelled
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from tests.support.tiny_upscaler import install_tiny_upscaler, tiny_upscaler


def _gradient_doc(w: int = 150, h: int = 100) -> Document:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    px = np.zeros((h, w, 4), np.uint8)
    px[..., 0] = (x / w * 255).astype(np.uint8)
    px[..., 1] = (y / h * 255).astype(np.uint8)
    px[..., 2] = 120
    px[..., 3] = 255
    doc = Document.new(w, h, (0, 0, 0, 255))
    doc.put_pixels(doc.layers[0], 0, 0, px)
    return doc


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    install_tiny_upscaler(reg)
    return reg


def test_a_model_upscales_to_the_exact_size_in_one_undo_step(registry) -> None:
    doc = _gradient_doc()
    before = doc.flatten().copy()
    seen: list[tuple[int, int]] = []
    req = up.upscale_request(doc, 4.0, "omnisr-x4", tile=64, overlap=16)
    result = default_engine(registry, device="cpu").run(
        req, lambda p: seen.append((p.step, p.total)))
    assert result.backend == "upscaler" and result.size == (600, 400)
    assert seen and seen[-1][0] == seen[-1][1] == up.model_tiles(100, 150, 64, 16)
    up.apply_upscale(doc, result)
    assert (doc.width, doc.height) == (600, 400)
    assert doc.layers[0].bounds() == doc.rect
    doc.history.undo()
    assert (doc.width, doc.height) == (150, 100) and np.array_equal(doc.flatten(), before)
    # a ×2 asked of a ×4 model: the model's result resized to the exact size
    two = default_engine(registry, device="cpu").run(up.upscale_request(doc, 2.0, "omnisr-x4"))
    assert two.size == (300, 200) and two.info["rects"][0].w == 300


def test_tiled_and_whole_agree_away_from_the_joins_and_show_no_seam(tmp_path: Path) -> None:
    path = tiny_upscaler(tmp_path / "x4.safetensors")
    model = Upscaler("cpu")
    doc = _gradient_doc(160, 120)
    rgba = doc.layers[0].read(doc.rect)
    whole = model.run(np.ascontiguousarray(rgba[..., :3]), path)
    tiled = up.with_model(rgba, (640, 480), lambda t: model.run(t, path), 4, tile=64,
                          overlap=16)[..., :3]
    assert tiled.shape == whole.shape == (480, 640, 3)
    diff = np.abs(tiled.astype(int) - whole.astype(int))
    assert diff[8:-8, 8:-8].mean() < 2.0 and np.percentile(diff, 99) <= 12
    # no seam line: the largest row-to-row and column-to-column steps stay close to the
    # whole run's (a seam would be a step where the whole run has none)
    for axis in (0, 1):
        t = np.abs(np.diff(tiled.astype(int), axis=axis)).max(axis=2)
        w = np.abs(np.diff(whole.astype(int), axis=axis)).max(axis=2)
        assert (t - w).max() <= 16


def test_pickle_needs_consent_and_cancel_changes_nothing(tmp_path: Path, registry) -> None:
    pth = tiny_upscaler(tmp_path / "models" / "upscalers" / "old.pth")
    doc = _gradient_doc()
    with pytest.raises(AiError) as err:
        default_engine(registry, device="cpu").run(up.upscale_request(doc, 4.0, str(pth)))
    assert "old.pth" in str(err.value) and len(str(err.value).splitlines()) <= 2
    allowed = ModelRegistry(tmp_path / "models", allow_pickle=True)
    result = default_engine(allowed, device="cpu").run(up.upscale_request(doc, 4.0, str(pth)))
    assert result.size == (600, 400)
    before = doc.flatten().copy()
    calls = iter([False, False, True] + [True] * 100)   # cancelled after two tiles
    with pytest.raises(Cancelled):
        default_engine(registry, device="cpu").run(
            up.upscale_request(doc, 4.0, "omnisr-x4", tile=64, overlap=16), None,
            lambda: next(calls))
    assert (doc.width, doc.height) == (150, 100) and np.array_equal(doc.flatten(), before)


def test_the_progress_preview_of_a_transparent_layer_is_over_white(tmp_path: Path) -> None:
    """A model upscale's progress look at a layer with transparency shows it over white, as
    Lanczos's does (the network's colour is premultiplied: it was black where transparent)."""
    from aiart_desktop.ai.backends.upscale_backend import UpscaleBackend
    from aiart_desktop.ai.job import Job
    from tests.support.tiny_upscaler import compact_standin

    model = compact_standin(tmp_path / "standin.safetensors", residual=0.0)  # nearest ×4
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[2:30, 20:40] = (30, 40, 200, 255)         # a blue square on transparency
    looks = []

    def progress(p) -> None:
        looks.append(p.render())

    job = Job(op="upscale", model=str(model), image=rgba, width=240, height=160,
              params={"tile": 32, "overlap": 8})
    out = UpscaleBackend("cpu").generate(job, progress, lambda: False)[0]
    blue = np.array([30, 40, 200])
    assert out.shape == (160, 240, 4) and out[80, 120, 3] == 255
    assert np.abs(out[80, 120, :3].astype(int) - blue).max() <= 6   # the stand-in: nearest
    last = looks[-1]                               # the first row of tiles is done in it
    assert last.shape == (160, 240, 3)
    assert (last[1, 1] == 255).all()               # transparent: paper white, not black
    assert np.abs(last[16, 120].astype(int) - blue).max() <= 6
