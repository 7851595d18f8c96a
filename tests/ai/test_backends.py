"""The Backend and ModelSource seams: the three real backends behind one protocol, how the engine
picks one, the backend-neutral Job as plain data (a remote backend gets exactly the same pixels
back), and the registry's per-file facts cache (a pickle is read once, with torch, off the UI
thread)."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiart_desktop.ai.backend import Backend, Capabilities, ProgressFn
from aiart_desktop.ai.backends.classical import ClassicalBackend
from aiart_desktop.ai.backends.local import LocalBackend, pickle_facts
from aiart_desktop.ai.backends.style_backend import StyleBackend
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.job import Job
from aiart_desktop.ai.models.checkpoints import ModelFacts
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.models.source import ModelSource
from aiart_desktop.ai.setup import backends, default_engine, user_models
from tests.support.ldm_checkpoint import config_copy, write_sd15_pickle


def _pixels(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _same(a: Job, b: Job) -> None:
    """Every field of two jobs equal; pictures bit-identical, with the same dtype and shape."""
    import dataclasses

    for f in dataclasses.fields(Job):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray), f.name
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert np.array_equal(x, y), f.name
        else:
            assert x == y and type(x) is type(y), (f.name, x, y)


def _wire(job: Job) -> Job:
    """The job as a remote backend would get it: JSON text and bytes, then back."""
    data, blobs = job.to_data()
    text = json.dumps(data)
    return Job.from_data(json.loads(text), {k: bytes(v) for k, v in blobs.items()})


# ---- the protocols ---------------------------------------------------------------------------
def test_every_backend_and_the_registry_implement_the_protocols(empty_registry) -> None:
    built = backends(empty_registry, "cpu")
    assert [b.name for b in built] == ["diffusers", "classical", "lama", "style", "matte",
                                       "upscaler"]
    for b in built:
        assert isinstance(b, Backend) and isinstance(b.capabilities, Capabilities)
    local, classical, lama, style, matte, upscaler = built
    assert upscaler.capabilities.ops == {"upscale"}
    assert lama.capabilities.archs == {"lama", "migan"} and lama.capabilities.ops == {"inpaint"}
    assert matte.capabilities.archs == {"matte"} and matte.capabilities.ops == {"subject"}
    from aiart_desktop.ai.conditioning import CONTROL_KINDS

    assert local.capabilities.controls == frozenset(CONTROL_KINDS)  # ControlNets
    for b in (classical, lama, style, matte, upscaler):
        assert b.capabilities.controls == frozenset() == b.capabilities.loras
    assert local.capabilities.archs == {"sd", "sdxl"} and local.capabilities.ip_adapter
    assert local.capabilities.previews and "outpaint" in local.capabilities.ops
    assert classical.capabilities.archs == {"classical"}
    assert classical.capabilities.ops == {"inpaint", "outpaint"}
    assert style.capabilities.ops == {"style"} and style.capabilities.context == 32
    assert isinstance(empty_registry, ModelSource)
    assert isinstance(user_models(), ModelSource)


def test_the_engine_receives_its_backends_and_picks_one_per_request(registry, doc_factory
                                                                    ) -> None:
    engine = default_engine(registry, device="cpu")
    doc = doc_factory()
    fill = make_request(doc, "inpaint", model="classical", seed=1)
    style = make_request(doc, "style", style="Style 3")
    paint = make_request(doc, "inpaint", model="sd", seed=1)
    assert engine.choose_backend(fill, engine.choose_model(fill)).name == "classical"
    assert engine.choose_backend(style, None).name == "style"
    info = engine.choose_model(paint)
    assert info is not None and info.backend == "diffusers"
    assert engine.choose_backend(paint, info) is engine.backend("diffusers")
    # An engine is only what it was given: no style backend, no style transfer.
    small = Engine(registry, [ClassicalBackend()])
    with pytest.raises(RequestError, match="style transfer is not available"):
        small.run(style)
    with pytest.raises(RequestError, match="runs on the diffusers backend, which is not set up"):
        small.run(paint)
    assert small.run(fill).backend == "classical"
    with pytest.raises(ValueError, match="share a name"):
        Engine(registry, [ClassicalBackend(), ClassicalBackend()])


class Recording:
    """A real backend, wrapped: each job it gets is kept (the engine's output, as sent)."""

    def __init__(self, inner: Backend, name: str | None = None) -> None:
        self.inner, self.jobs = inner, list[Job]()
        self.name = name or inner.name
        self.capabilities = inner.capabilities

    def generate(self, job: Job, on_progress: ProgressFn | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        self.jobs.append(job)
        return self.inner.generate(job, on_progress, cancelled)

    def record(self, job: Job) -> dict[str, Any]:
        return self.inner.record(job)

    def unload(self) -> None:
        self.inner.unload()


def test_a_new_backend_is_one_object_registered_first_wins(empty_registry, doc_factory) -> None:
    """Adding a backend: one object implementing the protocol, registered in the list; the
    first backend that fits a request runs it."""
    extra = Recording(ClassicalBackend(), name="my-fill")
    engine = Engine(empty_registry, [extra, *backends(empty_registry, "cpu")])
    res = engine.run(make_request(doc_factory(), "inpaint", model="classical", seed=4))
    assert res.backend == "my-fill" and len(extra.jobs) == 1
    job = extra.jobs[0]
    assert job.op == "inpaint" and job.seeds == (4,) and job.params == {"fill_method": "auto"}
    assert job.image is not None and job.mask is not None and job.image.shape[:2] == job.mask.shape


# ---- the job as plain data -------------------------------------------------------------------
def test_job_round_trip_through_plain_data_is_exact() -> None:
    rng = np.random.default_rng(7)
    job = Job(op="inpaint", model="dream-2", prompt="a red boat, (oil:1.2)", negative_prompt="",
              seeds=(1, 2**32 - 1), steps=3, guidance=7.5, scheduler="dpmpp_2m", strength=0.35,
              width=64, height=72, image=_pixels(rng, 72, 64, 3), mask=_pixels(rng, 72, 64),
              mix=((99, 0.25), (100, 1 / 3)), prompt_b="a blue boat", negative_b=None,
              ip_adapter="ip-adapter-sd15", ip_adapter_scale=0.7,
              ip_adapter_image=_pixels(rng, 17, 33, 3), style_image=_pixels(rng, 20, 21, 4),
              params={"fill_method": "telea", "tile": 512, "nested": {"a": [1, 2.5, None]}})
    data, blobs = job.to_data()
    assert set(blobs) == {"image", "mask", "ip_adapter_image", "style_image"}
    assert all(b[:8] == b"\x89PNG\r\n\x1a\n" for b in blobs.values())  # 8-bit pictures: PNG
    json.dumps(data)  # plain data only
    _same(job, _wire(job))
    # Any other array travels as .npy, exactly; a job without pictures has no blobs.
    odd = Job(op="style", image=rng.random((5, 6, 3), dtype=np.float32), strength=0.5,
              params={"style": "Style 3"})
    assert odd.to_data()[1]["image"][:6] == b"\x93NUMPY"
    _same(odd, _wire(odd))
    bare = Job(op="txt2img", model="sd", width=64, height=64)
    assert bare.to_data()[1] == {}
    _same(bare, _wire(bare))
    with pytest.raises(RequestError, match="cannot be sent"):
        Job(op="inpaint", params={"bad": object()}).to_data()
    with pytest.raises(RequestError, match="missing"):
        Job.from_data(data, {})


def test_a_job_sent_as_data_makes_the_same_pixels(registry, doc_factory) -> None:
    """What the engine sends a backend, through JSON and bytes, makes bit for bit the same
    results: the job carries everything (the tiny diffusion model, the classical fill)."""
    local = Recording(LocalBackend(registry, "cpu"))
    classical = Recording(ClassicalBackend())
    engine = Engine(registry, [local, classical, StyleBackend()])
    doc = doc_factory()
    engine.run(make_request(doc, "inpaint", model="sd", prompt="a red boat", seed=3, steps=2,
                            batch_size=2))
    engine.run(make_request(doc, "inpaint", model="classical", seed=5, batch_size=2))
    for backend in (local, classical):
        job = backend.jobs[-1]
        first = backend.inner.generate(job, None, lambda: False)
        again = backend.inner.generate(_wire(job), None, lambda: False)
        assert len(first) == 2
        assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    sent = local.jobs[-1]
    assert sent.op == "inpaint" and sent.model == "sd" and sent.width % 8 == 0
    assert sent.mask is not None and sent.mask.shape == (sent.height, sent.width)


# ---- the model source: facts learned once per file --------------------------------------------
@pytest.fixture(scope="module")
def pickle_model(model_folders, tmp_path_factory) -> tuple[Path, Path]:
    """A real (tiny) SD 1.5 pickle checkpoint and a config folder describing it."""
    base = tmp_path_factory.mktemp("pickle")
    ckpt = write_sd15_pickle(model_folders["sd"], base / "dream.ckpt")
    return ckpt, config_copy(model_folders["sd"], base / "config")


def test_pickle_facts_are_read_once_off_the_ui_thread_and_kept_per_file(
        pickle_model, tmp_path, doc_factory) -> None:
    ckpt, cfg = pickle_model
    calls: list[str] = []

    def counting(path: Path) -> ModelFacts:
        calls.append(threading.current_thread().name)
        return pickle_facts(path)

    root = tmp_path / "models"
    reg = ModelRegistry(root, allow_pickle=True, read_pickle=counting)
    info = reg.add_checkpoint(ckpt, config=cfg)  # the model manager runs this on a thread
    assert len(calls) == 1 and info.checked and info.facts.config_kind == "sd15"
    assert [m.id for m in reg.models()] == ["dream"] and reg.resolve("dream").checked
    again = ModelRegistry(root, allow_pickle=True, read_pickle=counting)  # a later start
    assert again.resolve("dream").facts == info.facts and len(calls) == 1
    assert (root / "file-facts.json").is_file()
    # The pickle policy still holds for a cached file.
    with pytest.raises(Exception, match="pickle checkpoint"):
        ModelRegistry(root, allow_pickle=False).resolve(str(ckpt))
    # The file changed: listing it reads nothing (its facts are provisional) ...
    st = ckpt.stat()
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    later = again.resolve("dream")
    assert not later.checked and later.config_path == cfg and len(calls) == 1
    assert [m.id for m in again.models()] == ["dream"]
    # ... and the engine learns them on the worker thread, once, before it runs the model.
    engine = default_engine(again, device="cpu")
    res = engine.run(make_request(doc_factory(), "txt2img", model="dream", seed=2, steps=2))
    assert len(calls) == 2 and again.resolve("dream").checked
    assert res.backend == "diffusers" and res.info["arch"] == "sd"
    assert res.images[0].shape == (res.rect.h, res.rect.w, 3)


def _header_only_checkpoint(path: Path) -> Path:
    """An SD 1.x single file as far as the registry reads it (the tensor names)."""
    from safetensors.numpy import save_file

    save_file({"cond_stage_model.transformer.x": np.zeros((1,), np.float16),
               "model.diffusion_model.input_blocks.0.0.weight": np.zeros((1, 4, 1, 1),
                                                                         np.float16)},
              str(path))
    return path


def test_the_facts_file_is_written_atomically_and_a_bad_one_is_ignored(
        tmp_path, monkeypatch, caplog) -> None:
    import errno

    root = tmp_path / "models"
    reg = ModelRegistry(root, allow_pickle=False)
    reg.add_checkpoint(_header_only_checkpoint(tmp_path / "a.safetensors"))
    facts_file = root / "file-facts.json"
    before = facts_file.read_bytes()
    assert str((tmp_path / "a.safetensors").resolve()) in json.loads(before)["files"]
    real = os.replace

    def failing(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".aiart-" in os.path.basename(os.fspath(src)):
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    info = reg.resolve(str(_header_only_checkpoint(tmp_path / "b.safetensors")))
    assert info.checked and info.facts.config_kind == "sd15"  # learned all the same
    assert facts_file.read_bytes() == before and "cannot save" in caplog.text
    assert [p.name for p in root.iterdir() if ".aiart-" in p.name] == []
    monkeypatch.undo()
    # A damaged facts file is as good as none: the facts are read again.
    facts_file.write_text("{not json", encoding="utf-8")
    fresh = ModelRegistry(root, allow_pickle=False)
    c = _header_only_checkpoint(tmp_path / "c.safetensors")
    assert fresh.resolve(str(c)).facts.config_kind == "sd15"
    assert str(c.resolve()) in json.loads(facts_file.read_text())["files"]
