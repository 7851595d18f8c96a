"""The test server itself: a stock txt2img API workflow posted to the real ComfyUI with a
minimal client (plain urllib: /prompt, then /history and /view), the random SD 1.5 checkpoint
detected and run. What the app's backend is measured against."""
from __future__ import annotations

import io
import json
import time
import urllib.parse
import urllib.request
import uuid

import numpy as np
import pytest
from PIL import Image

from tests.support.comfy_checkpoint import PLAIN
from tests.support.comfy_server import ComfyServer, get_json


def stock_txt2img(ckpt: str, seed: int = 1, size: int = 256, steps: int = 4) -> dict:
    """ComfyUI's default workflow in API format, smaller."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red apple", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": size, "height": size, "batch_size": 1}},
        "3": {"class_type": "KSampler",
              "inputs": {"seed": seed, "steps": steps, "cfg": 7.0, "sampler_name": "euler",
                         "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                         "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage",
              "inputs": {"filename_prefix": "stock", "images": ["8", 0]}},
    }


def run_direct(url: str, workflow: dict, timeout: float = 120.0) -> np.ndarray:
    """Post `workflow`, poll /history until it is done, fetch its first image with /view."""
    body = json.dumps({"prompt": workflow, "client_id": uuid.uuid4().hex}).encode()
    req = urllib.request.Request(url + "/prompt", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        prompt_id = json.loads(r.read())["prompt_id"]
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        hist = get_json(f"{url}/history/{prompt_id}")
        assert isinstance(hist, dict)
        if prompt_id in hist:
            for out in hist[prompt_id]["outputs"].values():
                for im in out.get("images", []):
                    q = urllib.parse.urlencode({k: im[k] for k in ("filename", "subfolder",
                                                                   "type")})
                    with urllib.request.urlopen(f"{url}/view?{q}", timeout=10) as r:
                        return np.asarray(Image.open(io.BytesIO(r.read())).convert("RGB"))
            raise AssertionError(f"no image in {hist[prompt_id]}")
        time.sleep(0.05)
    raise TimeoutError("the stock workflow did not finish")


@pytest.mark.comfy
def test_stock_txt2img_runs_on_the_test_server(comfy_server: ComfyServer) -> None:
    stats = get_json(comfy_server.url + "/system_stats")
    assert isinstance(stats, dict) and stats["devices"][0]["type"] == "cpu"
    t0 = time.perf_counter()
    image = run_direct(comfy_server.url, stock_txt2img(PLAIN))
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = run_direct(comfy_server.url, stock_txt2img(PLAIN, seed=2))
    second = time.perf_counter() - t1
    print(f"server start {comfy_server.started_s:.1f} s, first job {first:.1f} s "
          f"(loads the checkpoint), next job {second:.1f} s")
    assert image.shape == (256, 256, 3) and again.shape == (256, 256, 3)
    assert "SD15" in comfy_server.log_tail(20000) or "model_type EPS" in comfy_server.log_tail(
        20000)
