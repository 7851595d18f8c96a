"""LoRA benchmark: changing LoRAs on a loaded model against loading the model.

One random-weight Stable Diffusion model (the tests' tiny architecture, widened as in
ai_bench.py so that loading it is not trivial) and three LoRAs on its UNet and text encoder,
built in a temp folder and added through the model registry like a user's files. The model is
loaded by the app's local backend (`LocalBackend.load`), and its LoRAs are applied by the code a
job runs (`backends/local_lora.Addons.apply`). Prints `name: value` lines:

- model_load_ms: loading the base pipeline from its folder (unload, then load; the files in
  the OS cache), median;
- lora_first_load_ms: reading one LoRA file into the loaded model the first time, median;
- lora_switch_ms: going from one LoRA set / weights to the next (one LoRA, another, two at
  other weights, none, ...) once every file has been read, median;
- lora_switch_vs_load_ratio: lora_switch_ms / model_load_ms (target <= 0.2).

Usage: python bench/lora_bench.py [--runs N] [--device cpu|cuda] [--json]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import emit  # noqa: E402

from aiart_desktop.ai.backends.local import LocalBackend  # noqa: E402
from aiart_desktop.ai.job import Job  # noqa: E402
from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402

# The sets a painter goes through: weights changed, a LoRA swapped, two at once, none.
SETS = [(("a", 0.8),), (("a", 0.5),), (("b", 1.0),), (("a", 0.6), ("b", 0.9)),
        (), (("c", 1.0),), (("b", 0.4), ("c", 0.7)), (("a", 1.0), ("c", 0.3))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from tests.support.tiny_loras import build_lora
    from tests.support.tiny_models import build_sd

    tmp = Path(tempfile.mkdtemp(prefix="aiart-lora-bench-"))
    folder = build_sd(tmp / "model", unet_channels=(64, 128), sample_size=64)
    registry = ModelRegistry(tmp / "models", allow_pickle=False)
    info = registry.add_folder(folder, name="bench")
    for i, name in enumerate("abc"):
        registry.add_lora(build_lora(folder, tmp / "files" / f"{name}.safetensors", seed=i,
                                     rank=8))
    backend = LocalBackend(registry, args.device)
    backend.load(info)  # imports torch and diffusers once, outside the timings

    import torch

    def sync() -> None:  # the GPU's queued work counts in the timings
        if args.device == "cuda":
            torch.cuda.synchronize()

    loads = []
    for _ in range(args.runs):
        backend.unload()
        sync()
        t0 = time.perf_counter()
        backend.load(info)
        sync()
        loads.append(time.perf_counter() - t0)
    pipe = next(iter(backend._pipes.values()))

    def job(loras: tuple[tuple[str, float], ...]) -> Job:
        return Job(op="txt2img", model=info.id, prompt="a bench", seeds=(1,), loras=loras)

    firsts = []
    for _ in range(args.runs):
        backend._addons.reset()
        backend.unload()
        backend.load(info)
        pipe = next(iter(backend._pipes.values()))
        sync()
        t0 = time.perf_counter()
        backend._addons.apply(pipe, job((("a", 1.0),)), registry, "sd")
        sync()
        firsts.append(time.perf_counter() - t0)
    for s in SETS:  # every file read once: from now on, only switching
        backend._addons.apply(pipe, job(s), registry, "sd")
    reads = backend._addons.loads
    switches = []
    for _ in range(args.runs):
        for s in SETS:
            sync()
            t0 = time.perf_counter()
            backend._addons.apply(pipe, job(s), registry, "sd")
            sync()
            switches.append(time.perf_counter() - t0)
    assert backend._addons.loads == reads, "a switch read a LoRA file again"
    load_ms = statistics.median(loads) * 1000
    switch_ms = statistics.median(switches) * 1000
    emit({"device": args.device, "model_load_ms": round(load_ms, 1),
          "lora_first_load_ms": round(statistics.median(firsts) * 1000, 1),
          "lora_switch_ms": round(switch_ms, 2),
          "lora_switch_vs_load_ratio": round(switch_ms / load_ms, 3)}, args.json)


if __name__ == "__main__":
    main()
