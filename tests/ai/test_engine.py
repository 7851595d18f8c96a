"""End to end through the real diffusers pipelines (tiny random weights): variations, seeds,
determinism, apply / undo, cancel, failures, out-of-memory retry, previews, schedulers."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.backends.local import select_device
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import AiError, Cancelled, GenerationError, OutOfMemoryError
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import SCHEDULERS, ProgressInfo
from aiart_desktop.ai.setup import default_engine

CASES = [(m, op) for m in ("sd", "sd-inpaint", "sdxl", "sdxl-inpaint")
         for op in ("inpaint", "img2img", "txt2img", "outpaint")]


def _request(doc, op: str, model: str, **kw):
    if op == "outpaint":
        kw.setdefault("direction", "right")
        kw.setdefault("pixels", 32)
    kw.setdefault("steps", 3)
    return make_request(doc, op, prompt="a red boat", model=model, **kw)


@pytest.mark.parametrize(("model", "op"), CASES)
def test_ops_variations_seeds_determinism_apply_undo(engine, doc_factory, model, op) -> None:
    doc = doc_factory()
    req = _request(doc, op, model, seed=11, batch_size=2)
    a = engine.run(req)
    b = engine.run(req)
    assert a.backend == "diffusers" and a.seeds == b.seeds == [11, 12]
    assert len(a.images) == 2
    for x, y in zip(a.images, b.images, strict=True):
        assert np.array_equal(x, y)  # deterministic per seed
    assert not np.array_equal(a.images[0], a.images[1])  # variations differ
    assert a.images[0].shape == (a.rect.h, a.rect.w, 3) and a.alpha.shape == (a.rect.h, a.rect.w)
    # Apply: one undo step, nothing outside the selection changes, undo removes it.
    before, size0 = doc.flatten(), (doc.width, doc.height)
    steps0 = doc.history.undo_count
    layer = apply_result(doc, a, 1)
    assert doc.history.undo_count == steps0 + 1
    assert layer.name == "a red boat" and layer.provenance is not None
    assert layer.provenance["seed"] == 12 and layer.provenance["op"] == op
    after = doc.flatten()
    if op == "outpaint":
        assert (doc.width, doc.height) == (size0[0] + 32, size0[1])
        assert np.array_equal(after[:, :size0[0]], before)  # the old canvas is untouched
        assert after[:, size0[0]:, 3].min() == 255  # the new strip is painted
    else:
        outside = doc.selection == 0
        assert np.array_equal(before[outside], after[outside])
        assert not np.array_equal(before[~outside], after[~outside])
    doc.history.undo()
    assert layer not in doc.layers and (doc.width, doc.height) == size0
    assert np.array_equal(doc.flatten(), before)


def test_seed_recorded_when_unset(engine, doc_factory) -> None:
    req = _request(doc_factory(), "inpaint", "sd-inpaint")
    assert req.seed is None
    r = engine.run(req)
    assert r.request.seed is not None and r.seeds == [r.request.seed]
    assert f"Seed: {r.request.seed}" in r.parameters(0)


def test_cancel_mid_run_then_engine_still_works(engine, doc_factory) -> None:
    doc = doc_factory()
    req = _request(doc, "inpaint", "sd", seed=5, steps=6)
    calls = []

    def progress(p) -> None:
        calls.append(p.step)

    with pytest.raises(Cancelled):
        engine.run(req, progress, cancelled=lambda: len(calls) >= 3)
    assert 0 < len(calls) < 8
    fresh = default_engine(engine.models, device="cpu").run(req)
    again = engine.run(req)
    assert np.array_equal(fresh.images[0], again.images[0])


def test_pipeline_exception_becomes_ai_error_and_next_run_works(engine, doc_factory,
                                                                monkeypatch) -> None:
    req = _request(doc_factory(), "txt2img", "sd", seed=2)
    good = engine.run(req)
    unet = next(iter(engine.backend("diffusers")._pipes.values())).unet

    def boom(*a, **k):
        raise RuntimeError("boom inside the UNet")

    monkeypatch.setattr(unet, "forward", boom)
    with pytest.raises(GenerationError, match="failed while generating"):
        engine.run(req)
    monkeypatch.undo()
    assert np.array_equal(engine.run(req).images[0], good.images[0])


def test_out_of_memory_retries_with_slicing_then_reports(registry, doc_factory,
                                                         monkeypatch) -> None:
    import torch

    eng = default_engine(registry, device="cpu")
    req = _request(doc_factory(), "txt2img", "sd", seed=2, batch_size=2)
    eng.run(req)
    unet = next(iter(eng.backend("diffusers")._pipes.values())).unet
    real = unet.forward
    fails = [1]

    def flaky(*a, **k):
        if fails[0]:
            fails[0] -= 1
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(*a, **k)

    monkeypatch.setattr(unet, "forward", flaky)
    r = eng.run(req)
    assert len(r.images) == 2 and eng.backend("diffusers").low_memory
    fails[0] = 10**6
    with pytest.raises(OutOfMemoryError, match="attention slicing"):
        eng.run(req)


def test_progress_previews_latent_approximation_and_taesd(registry, model_folders,
                                                          doc_factory, tmp_path) -> None:
    req = _request(doc_factory(), "inpaint", "sdxl", seed=1, steps=3)
    seen = []

    def report(p: ProgressInfo) -> None:   # the preview made during the report, as shown
        seen.append(dataclasses.replace(p, preview=p.picture(), render=None))

    default_engine(registry, device="cpu").run(req, report)
    steps = [p for p in seen if p.phase == "generating"]
    assert steps and steps[-1].step == steps[-1].total
    assert all(p.preview is not None and p.preview.dtype == np.uint8 for p in steps)
    assert steps[0].preview.shape[2] == 3 and max(steps[0].preview.shape) <= 128
    # With TAESD installed, previews are decoded to full size (64 px here).
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    shutil.copytree(model_folders["taesd"], reg.root / "taesd")
    assert reg.preview_decoder("sd") == reg.root / "taesd"
    assert [m.id for m in reg.diffusion_models()] == ["sd"]
    seen.clear()
    default_engine(reg, device="cpu").run(_request(doc_factory(), "txt2img", "sd", seed=1),
                                          report)
    previews = [p.preview for p in seen if p.preview is not None]
    assert previews and previews[-1].shape == (64, 64, 3)


@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
def test_schedulers(engine, doc_factory, scheduler) -> None:
    req = _request(doc_factory(), "img2img", "sd", seed=3, scheduler=scheduler, strength=0.5)
    r = engine.run(req)
    assert r.images[0].shape[2] == 3
    assert f"Sampler: {SCHEDULERS[scheduler]}" in r.parameters()


def test_model_by_path_unload_and_low_strength(engine, model_folders, doc_factory) -> None:
    req = _request(doc_factory(), "img2img", str(model_folders["sd"]), seed=4, strength=0.2)
    r1 = engine.run(req)
    engine.unload()
    assert engine.backend("diffusers").loaded is None
    r2 = engine.run(req)
    assert np.array_equal(r1.images[0], r2.images[0])


def test_device_selection() -> None:
    import torch

    assert select_device("cpu") == ("cpu", "float32")
    dev, dtype = select_device("auto")
    assert (dev, dtype) == (("cuda", "float16") if torch.cuda.is_available() else
                            (dev, "float32"))
    if not torch.cuda.is_available():
        with pytest.raises(AiError, match="no CUDA GPU"):
            select_device("cuda")
    with pytest.raises(AiError, match="unknown device"):
        select_device("tpu")


def test_variant_over_original_and_regenerate_from_provenance(engine, doc_factory) -> None:
    from aiart_desktop.ai.composite import variant_over_original
    from aiart_desktop.ai.requests import request_params

    doc = doc_factory()
    res = engine.run(_request(doc, "inpaint", "sd-inpaint", seed=21, batch_size=2))
    before = doc.flatten(res.rect)
    layer = apply_result(doc, res, 1)
    shown = variant_over_original(res, 1)
    assert np.array_equal(shown, doc.flatten(res.rect)[..., :3])  # what apply shows
    outside = res.alpha == 0
    assert np.array_equal(shown[outside], before[..., :3][outside])
    params = request_params(layer.provenance, prompt="a blue boat")
    again = make_request(doc, layer.provenance["op"], **params)
    assert again.seed == 22 and again.prompt == "a blue boat" and again.model == "sd-inpaint"
    assert again.steps == 3 and again.batch_size == 2
    for op in ("outpaint", "txt2img"):
        r = engine.run(_request(doc, op, "sd", seed=1))
        assert variant_over_original(r, 0).shape == r.images[0].shape


@pytest.mark.parametrize(("model", "op"), [("sd", "inpaint"), ("sd-inpaint", "inpaint"),
                                           ("sd", "img2img"), ("sdxl", "outpaint")])
def test_each_variation_reproduces_from_its_own_seed(engine, doc_factory, model, op) -> None:
    """Re-generate relies on this: variation 2 of a batch is exactly what its seed gives alone."""
    doc = doc_factory()
    batch = engine.run(_request(doc, op, model, seed=30, batch_size=3))
    alone = engine.run(_request(doc, op, model, seed=32, batch_size=1))
    assert batch.seeds[2] == alone.seeds[0] == 32
    assert np.array_equal(batch.images[2], alone.images[0])


def test_provenance_records_when_the_result_was_made(engine, doc_factory) -> None:
    import re

    res = engine.run(_request(doc_factory(), "inpaint", "classical", seed=3))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", res.record(0)["time"])
