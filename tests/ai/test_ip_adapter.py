"""IP-Adapter: a tiny random-weight adapter (tests/support/tiny_ip_adapter.py) in the h94/IP-Adapter
layout is found by the registry (never as a base model), loaded offline through diffusers'
`load_ip_adapter` by the real engine, steers txt2img / img2img / inpaint by its reference
picture, is recorded (adapter id, file hash, scale, reference hash) and re-made from the record;
a missing or mismatched adapter is a clear error naming what to install."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.errors import AiError, ModelNotFoundError, RequestError
from aiart_desktop.ai.models import ip_adapter
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.records.export_parameters import parameters_text
from aiart_desktop.ai.requests import Txt2ImgRequest, request_params
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.geometry import Rect
from tests.support.tiny_ip_adapter import build_ip_adapter

SD15 = "ip-adapter-sd15"
RECT = Rect(0, 0, 64, 64)


@pytest.fixture(scope="module")
def adapters(model_folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny-ip-adapters")
    return {"sd": build_ip_adapter(base / "sd", model_folders["sd"]),
            "sdxl": build_ip_adapter(base / "sdxl", model_folders["sdxl"], seed=1,
                                     subfolder="sdxl_models",
                                     weight_name="ip-adapter_sdxl.safetensors")}


@pytest.fixture(scope="module")
def ip_registry(model_folders: dict[str, Path], adapters: dict[str, Path],
                tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """The tiny SD / SDXL models, the SD adapter where the catalogue download puts it, and the
    SDXL adapter added as a folder."""
    reg = ModelRegistry(tmp_path_factory.mktemp("ip-models"), allow_pickle=False)
    for name in ("sd", "sd-inpaint", "sdxl"):
        reg.add_folder(model_folders[name], name=name)
    shutil.copytree(adapters["sd"], reg.catalogue_folder(SD15))
    reg.add_ip_adapter(adapters["sdxl"], name="tiny sdxl adapter")
    return reg


@pytest.fixture(scope="module")
def ip_engine(ip_registry: ModelRegistry) -> Engine:
    return default_engine(ip_registry, device="cpu")


def picture(colour: tuple[int, int, int], size: int = 48) -> np.ndarray:
    img = np.zeros((size, size, 3), np.uint8)
    img[...] = colour
    img[size // 4: size // 2, :] = (255 - colour[0], 128, colour[2] // 2)  # a stripe
    return img


RED, BLUE = picture((220, 30, 30)), picture((20, 40, 230))


def txt2img(**kw: object) -> Txt2ImgRequest:
    return Txt2ImgRequest(rect=RECT, prompt="a harbour", seed=11, steps=2, guidance=7.0,
                          model="sd", **kw)


def test_registry_finds_adapters_and_keeps_them_out_of_the_model_list(
        ip_registry: ModelRegistry, adapters: dict[str, Path], tmp_path: Path) -> None:
    reg = ip_registry
    found = {a.id: a for a in reg.ip_adapters()}
    assert set(found) == {SD15, "tiny-sdxl-adapter"}
    sd = found[SD15]
    assert sd.source == "catalogue" and sd.weight == "models/ip-adapter_sd15.safetensors"
    assert sd.encoder == "models/image_encoder" and sd.cross_dim == 32 and sd.image_dim == 16
    assert sd.licence.startswith("Apache-2.0") and sd.size_bytes > 0
    assert reg.is_downloaded(SD15) and not reg.is_downloaded("ip-adapter-sdxl")
    assert found["tiny-sdxl-adapter"].cross_dim == 64
    assert found["tiny-sdxl-adapter"].subfolder == "sdxl_models"
    # An add-on, not a base model: not in the picker, not resolvable as a model, no problem.
    assert SD15 not in {m.id for m in reg.diffusion_models()}
    assert "tiny-sdxl-adapter" not in {m.id for m in reg.installed()}
    assert reg.problems() == {}
    with pytest.raises(ModelNotFoundError, match="IP-Adapter"):
        reg.resolve(SD15)
    with pytest.raises(ModelNotFoundError, match="IP-Adapter"):
        reg.resolve("tiny-sdxl-adapter")
    # Each model gets the adapter of its own cross-attention width.
    assert reg.ip_adapter_for(reg.resolve("sd")).id == SD15
    assert reg.ip_adapter_for(reg.resolve("sd-inpaint")).id == SD15
    assert reg.ip_adapter_for(reg.resolve("sdxl")).id == "tiny-sdxl-adapter"
    with pytest.raises(RequestError, match="is for cross-attention 64 models"):
        reg.ip_adapter_for(reg.resolve("sd"), "tiny-sdxl-adapter")
    # The added folder is remembered in registry.json, and forgotten (files kept) on remove.
    saved = json.loads((reg.root / "registry.json").read_text())["models"]
    assert any(e["source"] == "ip-adapter" and e["weight"].endswith("_sdxl.safetensors")
               for e in saved)
    other = ModelRegistry(tmp_path / "m", allow_pickle=False)
    info = other.add_ip_adapter(adapters["sd"] / "models" / "ip-adapter_sd15.safetensors")
    assert info.root == adapters["sd"] / "models" and info.encoder == "image_encoder"
    other.remove(info.id)
    assert other.ip_adapters() == [] and adapters["sd"].is_dir()


def test_bad_adapter_folders_are_clear_errors(adapters: dict[str, Path], tmp_path: Path
                                              ) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        reg.add_ip_adapter(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="holds no IP-Adapter"):
        reg.add_ip_adapter(tmp_path / "empty")
    no_encoder = tmp_path / "no-encoder"
    shutil.copytree(adapters["sd"], no_encoder)
    shutil.rmtree(no_encoder / "models" / "image_encoder")
    with pytest.raises(AiError, match="no CLIP image encoder"):
        reg.add_ip_adapter(no_encoder)
    pickle = tmp_path / "pickle"
    pickle.mkdir()
    (pickle / "ip-adapter_sd15.bin").write_bytes(b"not read")
    with pytest.raises(AiError, match="pickle"):
        reg.add_ip_adapter(pickle)
    wrong = tmp_path / "wrong"
    shutil.copytree(adapters["sd"], wrong)
    shutil.copytree(adapters["sdxl"] / "sdxl_models" / "image_encoder",
                    wrong / "models" / "image_encoder", dirs_exist_ok=True)
    cfg = wrong / "models" / "image_encoder" / "config.json"
    cfg.write_text(cfg.read_text().replace('"projection_dim": 16', '"projection_dim": 24'))
    with pytest.raises(AiError, match="do not belong together"):
        reg.add_ip_adapter(wrong)
    # A half-downloaded catalogue folder is a problem to resume, not an adapter.
    part = reg.catalogue_folder(SD15) / ".cache" / "huggingface" / "download"
    part.mkdir(parents=True)
    (part / "x.incomplete").write_bytes(b"1")
    assert reg.ip_adapters() == [] and "interrupted" in reg.problems()[SD15]
    assert reg.installed() == []


def test_txt2img_follows_the_reference_and_scale_zero_is_no_adapter(
        ip_engine: Engine, ip_registry: ModelRegistry) -> None:
    plain = ip_engine.run(txt2img()).images[0]
    red = ip_engine.run(txt2img(ip_adapter_scale=1.0, ip_adapter_image=RED))
    blue = ip_engine.run(txt2img(ip_adapter_scale=1.0, ip_adapter_image=BLUE)).images[0]
    assert red.images[0].shape == (64, 64, 3)
    assert np.abs(red.images[0].astype(int) - blue.astype(int)).mean() > 1.0
    assert not np.array_equal(red.images[0], plain)
    # Same reference, same seed: the same pixels; scale 0 and a plain run after an adapter
    # run are the plain picture, bit for bit (the adapter is unloaded from the UNet).
    again = ip_engine.run(txt2img(ip_adapter_scale=1.0, ip_adapter_image=RED)).images[0]
    assert np.array_equal(again, red.images[0])
    assert np.array_equal(ip_engine.run(txt2img(ip_adapter_scale=0.0,
                                                ip_adapter_image=RED)).images[0], plain)
    assert np.array_equal(ip_engine.run(txt2img()).images[0], plain)
    rec = red.record(0)
    weights = ip_registry.resolve_ip_adapter(SD15).weight_path
    assert rec["ip_adapter"] == SD15 and rec["ip_adapter_scale"] == 1.0
    assert rec["ip_adapter_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert rec["ip_adapter_reference_sha256"] == ip_adapter.pixels_sha256(RED)
    text = parameters_text(rec)
    assert "IP-Adapter: ip-adapter-sd15" in text and "IP-Adapter scale: 1" in text


def test_img2img_inpaint_and_sdxl_with_the_adapter(ip_engine: Engine, doc_factory) -> None:
    doc = doc_factory(96)
    outs = {}
    for op in ("img2img", "inpaint"):
        for name, ref in (("red", RED), ("blue", BLUE)):
            req = make_request(doc, op, prompt="a boat", seed=5, steps=3, model="sd",
                               strength=0.7, ip_adapter_scale=0.8, ip_adapter_image=ref)
            outs[op, name] = ip_engine.run(req).images[0]
        assert np.abs(outs[op, "red"].astype(int) - outs[op, "blue"].astype(int)).max() > 8
    nine = make_request(doc, "inpaint", prompt="a boat", seed=5, steps=2, model="sd-inpaint",
                        ip_adapter_scale=1.0, ip_adapter_image=RED)
    assert ip_engine.run(nine).info["ip_adapter"] == SD15
    xl = [ip_engine.run(Txt2ImgRequest(rect=RECT, seed=2, steps=2, model="sdxl",
                                       ip_adapter_scale=1.0, ip_adapter_image=ref))
          for ref in (RED, BLUE)]
    assert xl[0].info["ip_adapter"] == "tiny-sdxl-adapter"
    assert not np.array_equal(xl[0].images[0], xl[1].images[0])


def test_record_remakes_the_same_bytes_from_the_reference_file(ip_engine: Engine,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "reference.png"
    Image.fromarray(RED).save(path)
    first = ip_engine.run(txt2img(ip_adapter_scale=0.7, ip_adapter_image=RED,
                                  ip_adapter_reference=str(path)))
    rec = json.loads(json.dumps(first.record(0)))  # as stored with the layer
    assert rec["ip_adapter_reference"] == str(path)
    params = request_params(rec)
    assert params["ip_adapter"] == SD15 and params["ip_adapter_scale"] == 0.7
    again = ip_engine.run(Txt2ImgRequest(rect=RECT, **params))  # pixels read from the file
    assert np.array_equal(again.images[0], first.images[0])
    assert again.record(0)["ip_adapter_reference_sha256"] == rec["ip_adapter_reference_sha256"]
    path.unlink()
    with pytest.raises(RequestError, match="reference.png"):
        ip_engine.run(Txt2ImgRequest(rect=RECT, **params))


def test_missing_or_mismatched_adapter_says_what_to_install(
        model_folders: dict[str, Path], tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    engine = default_engine(reg, device="cpu")
    with pytest.raises(RequestError, match="no IP-Adapter for sd is installed.*model manager"):
        engine.run(txt2img(ip_adapter_scale=1.0, ip_adapter_image=RED))
    with pytest.raises(RequestError, match="IP-Adapter SD 1.5 is not downloaded yet"):
        engine.run(txt2img(ip_adapter_scale=1.0, ip_adapter_image=RED, ip_adapter=SD15))
    with pytest.raises(RequestError, match="no IP-Adapter called 'mine'"):
        engine.run(txt2img(ip_adapter_scale=1.0, ip_adapter_image=RED, ip_adapter="mine"))
    assert "IP-Adapter SD 1.5" in ip_adapter.install_hint(768)
    assert "IP-Adapter SDXL" in ip_adapter.install_hint(2048)
    assert "no IP-Adapter for SD 2.x" in ip_adapter.install_hint(1024)
    with pytest.raises(RequestError, match="needs a reference picture"):
        txt2img(ip_adapter_scale=0.5)
    with pytest.raises(RequestError, match="needs a diffusion model"):
        Txt2ImgRequest(rect=RECT, model="classical", ip_adapter_scale=0.5, ip_adapter_image=RED)
    with pytest.raises(RequestError, match="between 0 and 2"):
        txt2img(ip_adapter_scale=3.0, ip_adapter_image=RED)
    # The plain job still works after the refusals.
    assert engine.run(txt2img()).images[0].shape == (64, 64, 3)
