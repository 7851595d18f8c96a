"""The ComfyUI backend's parts that need no server: set up only when servers are set, the
workflows (core nodes only, one sampler per seed), the token kept out of sight, a server that
is down listed quickly. Against a real server: tests/comfy."""
from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.ai.backends import comfy_workflows
from aiart_desktop.ai.backends.comfy import ComfyBackend, ComfyModels, facts_of, remote_id
from aiart_desktop.ai.backends.comfy_client import ComfyClient, ComfyError
from aiart_desktop.ai.errors import ModelNotFoundError
from aiart_desktop.ai.job import Job
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import backends, with_servers
from aiart_desktop.settings import load_settings, save_settings
from aiart_desktop.settings.tokens import load_token, save_token

# ComfyUI's core nodes the workflows may use (nodes.py of a stock server).
CORE = {"CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "LoadImage",
        "LoadImageMask", "VAEEncode", "VAEEncodeForInpaint", "InpaintModelConditioning",
        "SetLatentNoiseMask", "KSampler", "VAEDecode", "PreviewImage"}


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_no_servers_set_means_no_comfy_backend_and_no_connection(tmp_path: Path) -> None:
    local = ModelRegistry(tmp_path / "models")
    assert with_servers(local) is local           # the settings list none
    assert "comfy" not in [b.name for b in backends(local, "cpu")]


def test_servers_in_the_settings_add_the_backend_with_their_tokens(tmp_path: Path) -> None:
    url = closed_port()
    settings = load_settings()
    settings.comfy_servers = [url]
    settings.comfy_token_servers = [url]
    save_settings(settings)
    save_token(url, "s3cret")
    source = with_servers(ModelRegistry(tmp_path / "models"))
    assert isinstance(source, ComfyModels)
    assert [b.name for b in backends(source, "cpu")][-1] == "comfy"
    assert "s3cret" not in repr(source.servers[0]) and "s3cret" not in repr(settings)
    tokens = Path(os.environ["AIART_CONFIG_DIR"]) / "tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert load_token(url) == "s3cret"
    save_token(url, "")
    assert load_token(url) is None


def test_a_server_that_is_down_lists_nothing_quickly_and_says_why(tmp_path: Path) -> None:
    url = closed_port()
    models = ComfyModels([ComfyClient(url)], ModelRegistry(tmp_path / "models"))
    t0 = time.perf_counter()
    assert models.models() == []
    assert models.models() == []                  # not asked again for a while
    assert time.perf_counter() - t0 < 3
    label = url.split("//")[1]
    assert "cannot be reached" in models.errors[label]
    with pytest.raises(ModelNotFoundError) as err:
        models.inspect(remote_id("sd15.safetensors"))
    assert label in str(err.value) and len(str(err.value).splitlines()) <= 2


def test_only_http_and_https_addresses() -> None:
    with pytest.raises(ComfyError):
        ComfyClient("ftp://example/")
    assert ComfyClient("gpu-box:8188").url == "http://gpu-box:8188"
    assert ComfyClient("https://gpu.example/").label == "gpu.example:443"


def test_what_a_remote_checkpoint_is() -> None:
    assert facts_of("dream.safetensors").arch == "sd"
    assert facts_of("juggernautXL.safetensors").native == 1024
    assert facts_of("sd-1.5-inpainting.ckpt").inpaint
    meta = {"modelspec.architecture": "stable-diffusion-xl-v1-base",
            "modelspec.resolution": "1024x1024"}
    assert facts_of("x.safetensors", meta).arch == "sdxl"


@pytest.mark.parametrize(("op", "inpainting", "strength", "special"), [
    ("txt2img", False, 1.0, "EmptyLatentImage"),
    ("img2img", False, 0.6, "VAEEncode"),
    ("inpaint", False, 1.0, "SetLatentNoiseMask"),
    ("inpaint", True, 1.0, "VAEEncodeForInpaint"),
    ("inpaint", True, 0.7, "InpaintModelConditioning"),
])
def test_workflows_use_core_nodes_and_one_sampler_per_seed(op: str, inpainting: bool,
                                                          strength: float, special: str) -> None:
    px = np.zeros((64, 64, 3), np.uint8)
    job = Job(op=op, model=remote_id("m.safetensors"), prompt="p", seeds=(1, 2, 3), steps=4,
              strength=strength, width=64, height=64,
              image=None if op == "txt2img" else px,
              mask=np.zeros((64, 64), np.uint8) if op == "inpaint" else None)
    wf = comfy_workflows.build(job, "m.safetensors", inpainting, "i.png", "m.png")
    kinds = [n["class_type"] for n in wf.graph.values()]
    assert set(kinds) <= CORE and special in kinds
    seeds = [n["inputs"]["seed"] for n in wf.graph.values() if n["class_type"] == "KSampler"]
    assert seeds == [1, 2, 3] and len(wf.outputs) == 3


def test_the_backend_runs_the_paint_ops(tmp_path: Path) -> None:
    backend = ComfyBackend(ComfyModels([], ModelRegistry(tmp_path / "models")))
    assert backend.name == "comfy"
    assert {"txt2img", "img2img", "inpaint", "outpaint"} <= backend.capabilities.ops
