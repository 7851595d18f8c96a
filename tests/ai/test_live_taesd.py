"""Live painting's fast path in the local backend, on a tiny random-weight SD model and a tiny
random-weight TAESD (AutoencoderTiny) saved into a models folder and found by the app's own
registry: a frame asking for TAESD is decoded by it (the same latents the VAE would get, in
TAESD's scaling), the VAE path is unchanged and bit-identical to diffusers' own pipeline, a
missing TAESD means the VAE, the decoder survives the Job's plain data and the record, and
`torch.compile` (a setting) falls back to eager when it fails."""
from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiart_desktop.ai.backends import fast_path
from aiart_desktop.ai.backends.local import LocalBackend
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.job import Job
from aiart_desktop.ai.live import LiveSettings
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import Img2ImgRequest, request_params
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.geometry import Rect
from aiart_desktop.settings.model import Settings
from aiart_desktop.settings.store import load_settings, save_settings
from tests.support.models import make_doc

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
SIZE = 64


@pytest.fixture(scope="module")
def with_taesd(model_folders, tmp_path_factory) -> ModelRegistry:
    """A models folder with the tiny SD model and a tiny TAESD where the model manager puts
    madebyollin/taesd (the catalogue's "taesd" folder)."""
    reg = ModelRegistry(tmp_path_factory.mktemp("taesd-models"), allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    shutil.copytree(model_folders["taesd"], reg.catalogue_folder("taesd"))
    return reg


@pytest.fixture(scope="module")
def without_taesd(model_folders, tmp_path_factory) -> ModelRegistry:
    reg = ModelRegistry(tmp_path_factory.mktemp("plain-models"), allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    return reg


def _picture() -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.random((SIZE, SIZE, 3)) * 255).astype(np.uint8)


def _job(**kw: Any) -> Job:
    kw.setdefault("seeds", (5,))
    kw.setdefault("model", "sd")
    return Job(op="img2img", prompt="a boat", steps=2, guidance=1.0, strength=0.6,
               width=SIZE, height=SIZE, image=_picture(), **kw)


def _spy(monkeypatch: pytest.MonkeyPatch, cls: Any) -> list[Any]:
    """Every latent tensor `cls.decode` is given, cloned."""
    seen: list[Any] = []
    real = cls.decode

    def decode(self: Any, z: Any, *a: Any, **k: Any) -> Any:
        seen.append(z.detach().clone())
        return real(self, z, *a, **k)

    monkeypatch.setattr(cls, "decode", decode)
    return seen


def test_the_registry_lists_the_installed_tiny_vae(with_taesd, without_taesd) -> None:
    folder = with_taesd.catalogue_folder("taesd")
    assert with_taesd.tiny_decoders() == {"sd": folder}
    assert with_taesd.preview_decoder("sd") == folder and with_taesd.preview_decoder("sdxl") is None
    assert without_taesd.tiny_decoders() == {} and without_taesd.preview_decoder("sd") is None
    assert [m.id for m in with_taesd.models()] == ["sd"]  # a decoder is not a model that paints
    taesd = {m.id: m for m in with_taesd.installed()}["taesd"]
    assert taesd.arch == "taesd" and taesd.licence == "MIT"
    entries = {e.id: e for e in with_taesd.catalogue()}
    for cid, repo, arch in (("taesd", "madebyollin/taesd", "sd"),
                            ("taesdxl", "madebyollin/taesdxl", "sdxl")):
        e = entries[cid]
        assert (e.repo_id, e.previews_for, e.licence, e.size_mb, e.kind) == (
            repo, arch, "MIT", 10, "preview")
        assert set(e.allow_patterns) == {"config.json", "diffusion_pytorch_model.safetensors"}


def test_a_folder_without_its_weights_is_no_tiny_vae(model_folders, tmp_path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    folder = reg.catalogue_folder("taesd")
    shutil.copytree(model_folders["taesd"], folder)
    (folder / "diffusion_pytorch_model.safetensors").unlink()
    assert reg.tiny_decoders() == {} and reg.preview_decoder("sd") is None


def test_a_taesd_frame_is_decoded_by_the_tiny_vae(with_taesd, monkeypatch) -> None:
    from diffusers import AutoencoderKL, AutoencoderTiny

    backend = LocalBackend(with_taesd, "cpu")
    vae_in = _spy(monkeypatch, AutoencoderKL)
    tiny_in = _spy(monkeypatch, AutoencoderTiny)
    vae = backend.generate(_job(), None, lambda: False)
    assert backend.record(_job())["decoder"] == "vae" and len(vae_in) == 1 and not tiny_in
    fast = backend.generate(_job(decoder="taesd"), None, lambda: False)
    assert backend.record(_job())["decoder"] == "taesd"
    assert len(vae_in) == 1 and len(tiny_in) == 1  # the VAE decoded nothing this time
    assert fast[0].shape == vae[0].shape == (SIZE, SIZE, 3) and fast[0].dtype == np.uint8
    assert not np.array_equal(fast[0], vae[0])
    # The same latents went to both decoders, each in its own scaling: the VAE gets them
    # divided by its scaling_factor (0.18215), TAESD (scaling_factor 1.0) as the UNet made them.
    pipe = backend._pipes["StableDiffusionImg2ImgPipeline"]
    k = pipe.vae.config.scaling_factor
    assert k != 1.0 and backend._taesd is not None
    assert backend._taesd[1].config.scaling_factor == 1.0
    assert tiny_in[0].shape == (1, 4, SIZE // 8, SIZE // 8)
    assert np.allclose(tiny_in[0].numpy() / k, vae_in[0].numpy(), atol=1e-5)
    # And the pixels are TAESD's decoding of them, as diffusers post-processes a VAE's output.
    import torch

    tiny = AutoencoderTiny.from_pretrained(str(with_taesd.catalogue_folder("taesd")))
    with torch.no_grad():
        ref = pipe.image_processor.postprocess(tiny.decode(tiny_in[0]).sample, output_type="np")
    assert np.array_equal(fast[0], np.clip(np.rint(ref[0] * 255.0), 0, 255).astype(np.uint8))
    # Deterministic per seed; another seed, another frame; the tiny VAE was loaded once.
    kept = backend._taesd[1]
    assert np.array_equal(backend.generate(_job(decoder="taesd"), None, lambda: False)[0],
                          fast[0])
    other = backend.generate(_job(decoder="taesd", seeds=(6,)), None, lambda: False)
    assert not np.array_equal(other[0], fast[0]) and backend._taesd[1] is kept


def test_the_vae_path_is_diffusers_own_pipeline_bit_for_bit(with_taesd, model_folders) -> None:
    """decoder="vae" (every normal job) is what the pipeline gives with output_type="np",
    as before live's fast path: same seed, same bytes."""
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image

    backend = LocalBackend(with_taesd, "cpu")
    got = backend.generate(_job(), None, lambda: False)[0]
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(
        str(model_folders["sd"]), local_files_only=True, safety_checker=None,
        requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    out = pipe(prompt="a boat", image=Image.fromarray(_picture()), strength=0.6,
               num_inference_steps=max(2, math.ceil(1 / 0.6)), guidance_scale=1.0,
               generator=[torch.Generator("cpu").manual_seed(5)], output_type="np").images
    assert np.array_equal(got, np.clip(np.rint(out[0] * 255.0), 0, 255).astype(np.uint8))


def test_the_fast_path_of_the_pipeline(with_taesd) -> None:
    """SDPA attention, inference mode inside the pipeline, no channels_last on the CPU."""
    import torch

    backend = LocalBackend(with_taesd, "cpu")
    backend.generate(_job(), None, lambda: False)
    pipe = backend._pipes["StableDiffusionImg2ImgPipeline"]
    assert fast_path.attention_processors(pipe) == {fast_path.SDPA}
    modes: list[bool] = []
    hook = pipe.unet.register_forward_pre_hook(
        lambda *_: modes.append(torch.is_inference_mode_enabled()))
    try:
        backend.generate(_job(decoder="taesd"), None, lambda: False)
    finally:
        hook.remove()
    assert modes and all(modes)
    weight = pipe.unet.conv_in.weight
    assert "cpu" not in fast_path.CHANNELS_LAST_DEVICES
    assert weight.is_contiguous() and not backend.compiled


def test_without_taesd_a_live_frame_uses_the_vae(with_taesd, without_taesd) -> None:
    doc = make_doc(SIZE)
    s = LiveSettings("a boat", model="sd", steps=2, seed=9, region="frame",
                     frame=Rect(0, 0, SIZE, SIZE))
    assert s.decoder == "taesd"  # live asks for TAESD; the backend knows whether there is one
    req = make_request(doc, "img2img", seed=9, **s.capture_params())
    assert isinstance(req, Img2ImgRequest) and req.decoder == "taesd"
    plain = default_engine(without_taesd, device="cpu").run(req)
    assert plain.info["decoder"] == "vae" and plain.record()["decoder"] == "vae"
    assert "TAESD" not in plain.parameters()
    fast = default_engine(with_taesd, device="cpu").run(req)
    assert fast.info["decoder"] == "taesd" and fast.record()["decoder"] == "taesd"
    assert "VAE: TAESD" in fast.parameters()
    vae = default_engine(with_taesd, device="cpu").run(
        make_request(doc, "img2img", seed=9, **{**s.capture_params(), "decoder": "vae"}))
    assert np.array_equal(plain.images[0], vae.images[0])   # the VAE, as without TAESD
    assert not np.array_equal(fast.images[0], vae.images[0])
    assert fast.images[0].shape == vae.images[0].shape == (SIZE, SIZE, 3)


def test_the_decoder_is_request_and_job_data() -> None:
    doc = make_doc(SIZE)
    req = make_request(doc, "img2img", seed=1, prompt="x", target="image", decoder="taesd")
    rec = req.to_record()
    assert rec["decoder"] == "taesd" and request_params(rec)["decoder"] == "taesd"
    plain = make_request(doc, "img2img", seed=1, prompt="x", target="image")
    assert plain.decoder == "vae" and "decoder" not in plain.to_record()
    assert "VAE" not in plain.parameters()  # A1111's text as before for the VAE
    with pytest.raises(RequestError, match="decoder"):
        make_request(doc, "img2img", prompt="x", target="image", decoder="fast")
    with pytest.raises(RequestError, match="decoder"):
        LiveSettings("x", decoder="fast")
    assert LiveSettings("x", decoder="vae").capture_params()["decoder"] == "vae"
    data, blobs = _job(decoder="taesd").to_data()
    assert data["decoder"] == "taesd" and Job.from_data(data, blobs).decoder == "taesd"
    del data["decoder"]  # a job sent before the field existed
    assert Job.from_data(data, blobs).decoder == "vae"


def test_the_compile_setting_round_trips(tmp_path: Path, with_taesd) -> None:
    assert Settings().torch_compile is False
    assert Settings.from_dict({"torch_compile": True}).torch_compile is True
    assert Settings.from_dict({"torch_compile": "yes"}).torch_compile is False
    save_settings(Settings(torch_compile=True), tmp_path / "settings.json")
    assert load_settings(tmp_path / "settings.json").torch_compile is True
    engine = default_engine(with_taesd, device="cpu", compile=True)
    backend = engine.backend("diffusers")
    assert isinstance(backend, LocalBackend) and backend.compile
    backend.generate(_job(), None, lambda: False)
    assert not backend.compiled  # ignored on the CPU


def _compiled_backend(reg: ModelRegistry) -> LocalBackend:
    backend = LocalBackend(reg, "cpu", compile=True)
    backend.compile_on_cpu = True  # the test asks for it on the CPU
    return backend


@pytest.mark.parametrize("when", ["compile", "first step"])
def test_a_compile_failure_falls_back_to_eager(with_taesd, monkeypatch, caplog,
                                               when: str) -> None:
    import torch

    eager = LocalBackend(with_taesd, "cpu").generate(_job(), None, lambda: False)

    def broken(fn: Any, *a: Any, **k: Any) -> Any:
        if when == "compile":
            raise RuntimeError("no compiler here")

        def call(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("inductor failed while tracing")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    backend = _compiled_backend(with_taesd)
    with caplog.at_level(logging.WARNING):
        got = backend.generate(_job(), None, lambda: False)
    assert not backend.compiled and np.array_equal(got[0], eager[0])
    assert any("compile" in r.getMessage() and "eager" in r.getMessage()
               for r in caplog.records)
    assert np.array_equal(backend.generate(_job(), None, lambda: False)[0], eager[0])


def test_a_working_compile_runs_the_compiled_unet(with_taesd, monkeypatch) -> None:
    import torch

    calls: list[int] = []

    def spy(fn: Any, *a: Any, **k: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(torch, "compile", spy)
    eager = LocalBackend(with_taesd, "cpu").generate(_job(), None, lambda: False)
    assert not calls  # compile off: never asked
    backend = _compiled_backend(with_taesd)
    got = backend.generate(_job(), None, lambda: False)
    assert backend.compiled and calls and np.array_equal(got[0], eager[0])


def test_taesdxl_decodes_sdxl_frames(model_folders, tmp_path, monkeypatch) -> None:
    from diffusers import AutoencoderKL, AutoencoderTiny

    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sdxl"], name="sdxl")
    shutil.copytree(model_folders["taesd"], reg.catalogue_folder("taesdxl"))
    assert reg.tiny_decoders() == {"sdxl": reg.catalogue_folder("taesdxl")}
    backend = LocalBackend(reg, "cpu")
    vae_in = _spy(monkeypatch, AutoencoderKL)
    tiny_in = _spy(monkeypatch, AutoencoderTiny)
    vae = backend.generate(_job(model="sdxl"), None, lambda: False)
    fast = backend.generate(_job(model="sdxl", decoder="taesd"), None, lambda: False)
    assert backend.record(_job())["decoder"] == "taesd" and len(vae_in) == len(tiny_in) == 1
    k = backend._pipes["StableDiffusionXLImg2ImgPipeline"].vae.config.scaling_factor
    assert np.allclose(tiny_in[0].numpy() / k, vae_in[0].numpy(), atol=1e-5)
    assert fast[0].shape == vae[0].shape == (SIZE, SIZE, 3)
    assert not np.array_equal(fast[0], vae[0])
