"""Control layer benchmark: the app's job with one ControlNet against the bare diffusers call.

A medium random-weight Stable Diffusion model (the tests' tiny architecture widened, native
512 px, as in `ai_bench.py`) and a ControlNet made from its UNet, built in a temp folder: the
model is added to the registry, the ControlNet put in `<models>/controlnet` as a line-art
model, both loaded through the app's loaders. Prints `name: value` lines:

- control_job_ms: `make_request(..., controls=[line art layer])` (the layer's pixels over the
  region) + `engine.run` (control picture made and scaled, control model found, generate) +
  `apply_result`, txt2img over a 512² canvas;
- raw_controlnet_pipeline_ms: the bare `StableDiffusionControlNetPipeline(...)` call with the
  same control picture, size, steps, scheduler and seed;
- control_job_vs_raw_ratio: their ratio (target ≤ 1.10).

Medians of interleaved runs. Usage: python bench/control_bench.py [--runs N] [--steps N]
[--device cpu|cuda] (CUDA: fp16, as the app runs there).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from aiart_desktop.ai.apply import apply_result  # noqa: E402
from aiart_desktop.ai.backends.local import make_scheduler  # noqa: E402
from aiart_desktop.ai.capture import make_request  # noqa: E402
from aiart_desktop.ai.controls import ControlLayer  # noqa: E402
from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core.document import Document  # noqa: E402

SIZE = 512


def sketch_doc() -> tuple[Document, int]:
    doc = Document.new(SIZE, SIZE, (235, 230, 220, 255))
    lines = np.zeros((SIZE, SIZE, 4), np.uint8)
    for k in range(64, SIZE - 63, 96):  # a grid of strokes
        lines[k:k + 4, 48:SIZE - 48] = (20, 20, 20, 255)
        lines[48:SIZE - 48, k:k + 4] = (20, 20, 20, 255)
    layer = doc.add_layer("Sketch", pixels=lines, x=0, y=0)
    doc.set_visible(layer, False)
    return doc, layer.uid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    args = ap.parse_args()
    from tests.support.tiny_controlnets import build_controlnet
    from tests.support.tiny_models import build_sd

    tmp = Path(tempfile.mkdtemp(prefix="aiart-control-bench-"))
    try:
        folder = build_sd(tmp / "model", unet_channels=(64, 128), sample_size=64)
        registry = ModelRegistry(tmp / "models", allow_pickle=False)
        info = registry.add_folder(folder, name="bench")
        build_controlnet(registry.control_folder() / "control_v11p_sd15_lineart", folder)
        engine = default_engine(registry, device=args.device)
        figures = measure(engine, info.id, args.runs, args.steps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures["device"] = args.device
    for k, v in figures.items():
        print(f"{k}: {v}")


def measure(engine: Any, model: str, runs: int, steps: int) -> dict[str, Any]:
    import torch
    from PIL import Image

    doc, uid = sketch_doc()
    backend = engine.backend("diffusers")
    jobs: list[Any] = []
    generate = backend.generate

    def spy(job: Any, *a: Any) -> Any:
        jobs.append(job)
        return generate(job, *a)

    backend.generate = spy
    params = dict(prompt="a house", model=model, seed=1, steps=steps, scheduler="euler_a",
                  guidance=7.0, target="image")
    spec = [ControlLayer(uid, "lineart")]

    def job() -> float:
        t0 = time.perf_counter()
        req = make_request(doc, "txt2img", controls=spec, **params)
        res = engine.run(req)
        apply_result(doc, res)
        t1 = time.perf_counter()
        doc.history.undo()
        return t1 - t0

    job()  # warm up: load the model and the ControlNet, hash them once
    pipe = backend._control.current
    control = Image.fromarray(jobs[-1].controls[0].image)
    base_scheduler = backend._base_scheduler

    def raw() -> float:
        pipe.scheduler = make_scheduler("euler_a", base_scheduler)
        t0 = time.perf_counter()
        pipe(prompt="a house", image=control, width=SIZE, height=SIZE,
             num_inference_steps=steps, guidance_scale=7.0,
             controlnet_conditioning_scale=1.0, control_guidance_start=0.0,
             control_guidance_end=1.0,
             generator=[torch.Generator("cpu").manual_seed(1)], output_type="np")
        return time.perf_counter() - t0

    raw()
    jobs_s, raws = [], []
    for _ in range(runs):
        raws.append(raw())
        jobs_s.append(job())
    med = statistics.median
    return {"model_size_px": f"{SIZE}x{SIZE}", "steps": steps,
            "control_job_ms": f"{med(jobs_s) * 1000:.1f}",
            "raw_controlnet_pipeline_ms": f"{med(raws) * 1000:.1f}",
            "control_job_vs_raw_ratio": f"{med(jobs_s) / med(raws):.3f}"}


if __name__ == "__main__":
    main()
