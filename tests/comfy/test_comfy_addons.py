"""LoRAs, ControlNets and upscale models on a real ComfyUI (issue 16, item 2): the server's
files (tests/support/comfy_addons.py, in its loras/, controlnet/ and upscale_models/ folders)
are listed by the model source, run by core nodes, and a missing one is named plainly."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.ai import upscale as up
from aiart_desktop.ai.backends.comfy import remote_id
from aiart_desktop.ai.conditioning import LoraRef
from aiart_desktop.ai.controls import ControlLayer
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.errors import AiError
from aiart_desktop.core.document import Document
from tests.comfy.test_comfy_backend import FAST, engine_on, picture
from tests.support.comfy_addons import CONTROLNET, LORA, UPSCALER
from tests.support.comfy_checkpoint import PLAIN
from tests.support.comfy_server import ComfyServer

TXT = {**FAST, "target": "image", "seed": 5, "model": remote_id(PLAIN)}


def differ(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


_PLAIN: dict[str, np.ndarray] = {}


def plain_image(engine: Engine, url: str) -> np.ndarray:
    """TXT's picture without add-ons (made once per server: txt2img reads no pixels)."""
    from aiart_desktop.ai.capture import make_request

    if url not in _PLAIN:
        _PLAIN[url] = engine.run(make_request(picture(), "txt2img", **TXT)).images[0]
    return _PLAIN[url]


@pytest.mark.comfy
def test_a_lora_on_the_server_changes_the_result_and_weight_0_does_not(
        comfy_server: ComfyServer, tmp_path: Path) -> None:
    from aiart_desktop.ai.capture import make_request

    engine, models = engine_on(comfy_server.url, tmp_path)
    assert [lo for lo in models.loras() if lo.id.startswith("comfy:")] == []   # not asked yet
    models.refresh()   # as Test connection does; a job lists them too
    lora = next(lo for lo in models.loras() if lo.id == remote_id(LORA))
    assert "remote" in lora.name and lora.arch == "sd"
    doc = picture()
    plain = plain_image(engine, comfy_server.url)
    strong = engine.run(make_request(doc, "txt2img", loras=(LoraRef(remote_id(LORA), 1.0),),
                                     **TXT))
    assert differ(strong.images[0], plain) > 2.0
    assert strong.record(0)["loras"] and "lora_hashes" in strong.record(0)
    # weight 0 (as a prompt tag, by the file's stem) is the picture without it
    zero = engine.run(make_request(doc, "txt2img", **{**TXT, "prompt": TXT["prompt"] +
                                                      " <lora:aiart-test-lora:0>"}))
    assert differ(zero.images[0], plain) < 0.01


@pytest.mark.comfy
def test_a_missing_lora_on_the_server_is_named_plainly(comfy_server: ComfyServer,
                                                      tmp_path: Path) -> None:
    from aiart_desktop.ai.capture import make_request

    engine, _ = engine_on(comfy_server.url, tmp_path)
    with pytest.raises(AiError) as err:
        engine.run(make_request(picture(), "txt2img",
                                loras=(LoraRef(remote_id("gone.safetensors"), 0.8),), **TXT))
    text = str(err.value)
    assert "LoRA" in text and "gone.safetensors" in text
    assert comfy_server.url.split("//")[1] in text and len(text.splitlines()) <= 2


@pytest.mark.comfy
def test_a_control_layer_steers_the_servers_result(comfy_server: ComfyServer,
                                                   tmp_path: Path) -> None:
    from aiart_desktop.ai.capture import make_request

    engine, models = engine_on(comfy_server.url, tmp_path)
    models.refresh()
    assert remote_id(CONTROLNET) in [c.id for c in models.control_models()]
    doc = picture()
    sketch = doc.add_layer("Sketch")
    lines = np.zeros((256, 256, 4), np.uint8)
    lines[60:200, 120:136] = (0, 0, 0, 255)
    lines[120:136, 40:220] = (0, 0, 0, 255)
    doc.put_pixels(sketch, 0, 0, lines)
    doc.set_visible(sketch, False)
    plain = plain_image(engine, comfy_server.url)
    spec = [ControlLayer(sketch.uid, "scribble", model=remote_id(CONTROLNET))]
    steered = engine.run(make_request(doc, "txt2img", controls=spec, **TXT))
    assert differ(steered.images[0], plain) > 2.0
    ran = steered.record(0)["controls"][0]
    assert ran["model"] == remote_id(CONTROLNET) and ran["control_sha256"]


@pytest.mark.comfy
def test_a_depth_control_is_detected_here_and_steers_the_server(comfy_server: ComfyServer,
                                                                tmp_path: Path) -> None:
    """A server's core nodes have no depth detector: this computer's makes the depth picture
    (the local backend's, a tiny Depth Anything here) and the server's ControlNet uses it."""
    from aiart_desktop.ai.backends.comfy import ComfyModels
    from aiart_desktop.ai.backends.comfy_client import ComfyClient
    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.ai.models.ip_adapter import pixels_sha256
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from tests.support.tiny_controlnets import build_depth_detector

    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    shutil.copytree(build_depth_detector(tmp_path / "depth"),
                    reg.catalogue_folder("depth-anything-v2-small"))
    models = ComfyModels([ComfyClient(comfy_server.url)], reg)
    engine = default_engine(models, device="cpu")
    models.refresh()
    local = next(b for b in engine.backends if callable(getattr(b, "detect", None)))
    made: list[np.ndarray] = []
    detect = local.detect

    def spy(kind: str, rgb: np.ndarray) -> np.ndarray:
        made.append(detect(kind, rgb))
        return made[-1]

    local.detect = spy  # type: ignore[method-assign]
    doc = picture()
    shapes = doc.add_layer("Shapes")
    px = np.zeros((256, 256, 4), np.uint8)
    px[..., 3] = 255
    px[40:220, 40:120] = (250, 250, 250, 255)
    px[100:180, 140:230] = (90, 90, 90, 255)
    doc.put_pixels(shapes, 0, 0, px)
    doc.set_visible(shapes, False)
    spec = [ControlLayer(shapes.uid, "depth", model=remote_id(CONTROLNET))]
    steered = engine.run(make_request(doc, "txt2img", controls=spec, **TXT))
    assert steered.backend == "comfy" and len(made) == 1
    assert differ(steered.images[0], plain_image(engine, comfy_server.url)) > 2.0
    ran = steered.record(0)["controls"][0]
    assert ran["type"] == "depth" and ran["model"] == remote_id(CONTROLNET)
    assert ran["control_sha256"] == pixels_sha256(made[0])   # what the server was sent


@pytest.mark.comfy
def test_an_upscale_through_the_server_gives_the_exact_size(comfy_server: ComfyServer,
                                                            tmp_path: Path) -> None:
    engine, models = engine_on(comfy_server.url, tmp_path)
    models.refresh()
    assert remote_id(UPSCALER) in [u.id for u in models.upscalers()]
    doc = Document.new(90, 60, (200, 40, 40, 255))
    ink = doc.add_layer("Ink")
    px = np.zeros((60, 90, 4), np.uint8)
    px[10:40, 20:70] = (20, 40, 160, 255)
    doc.put_pixels(ink, 0, 0, px)
    req = up.upscale_request(doc, 3.0, model=remote_id(UPSCALER))
    result = engine.run(req)
    assert result.backend == "comfy" and result.size == (270, 180)
    assert result.info["server"] == comfy_server.url.split("//")[1]
    up.apply_upscale(doc, result)
    assert (doc.width, doc.height) == (270, 180)
    # the ink's straight alpha came through: transparent outside, opaque inside
    scaled = doc.layers[1].read(doc.layers[1].bounds())
    assert scaled[..., 3].max() == 255
    with pytest.raises(AiError) as err:
        engine.run(up.upscale_request(doc, 2.0, model=remote_id("gone.pth")))
    assert "gone.pth" in str(err.value) and comfy_server.url.split("//")[1] in str(err.value)
