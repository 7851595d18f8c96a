"""AI engine benchmark: the app's whole job against the bare diffusers call; huge canvases.

One random-weight Stable Diffusion inpainting model (the tests' tiny architecture, widened so
the raw call takes about a second on a 2-core CPU), built in a temp folder and loaded through
the model registry like a user's model. Prints `name: value` lines:

- job_vs_raw_pipeline_ratio: make_request (crop + context + copy) + engine.run (scale, masks,
  generate, colour match) + apply_result (new layer, one undo step), against the bare
  `pipeline(...)` call with the same model-space inputs, steps, scheduler and seed (target
  ≤ 1.10).
- region_8k_vs_1k_ratio: the same job, same 512² selection, on an 8192² and a 1024² canvas
  (target ≤ 1.2).

Medians of interleaved runs. Usage: python bench/ai_bench.py [--runs N] [--steps N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from aiart_desktop.ai.apply import apply_result  # noqa: E402
from aiart_desktop.ai.backends.local import make_scheduler  # noqa: E402
from aiart_desktop.ai.capture import make_request  # noqa: E402
from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core import selection as sel  # noqa: E402
from aiart_desktop.core.document import Document  # noqa: E402
from aiart_desktop.core.geometry import Rect  # noqa: E402

SELECTION = 512


def make_doc(size: int) -> Document:
    doc = Document.new(size, size, (200, 190, 170, 255))
    c = size // 2
    blob = np.zeros((SELECTION, SELECTION, 4), np.uint8)
    yy, xx = np.mgrid[0:SELECTION, 0:SELECTION]
    blob[..., 0] = (xx // 2) % 256
    blob[..., 1] = (yy // 2) % 256
    blob[..., 2] = 90
    blob[..., 3] = 255
    doc.add_layer("paint", pixels=blob, x=c - SELECTION // 2, y=c - SELECTION // 2)
    r = Rect(c - SELECTION // 2, c - SELECTION // 2, SELECTION, SELECTION)
    doc.set_selection(sel.rect_mask(size, size, r))
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    from tests.support.tiny_models import build_sd

    tmp = Path(tempfile.mkdtemp(prefix="aiart-bench-"))
    folder = build_sd(tmp / "model", inpaint=True, unet_channels=(64, 128), sample_size=64)
    registry = ModelRegistry(tmp / "models", allow_pickle=False)
    info = registry.add_folder(folder, name="bench")
    engine = default_engine(registry, device="cpu")
    params = dict(prompt="a bench", model=info.id, seed=1, steps=args.steps, scheduler="euler_a")
    docs = {1024: make_doc(1024), 8192: make_doc(8192)}

    breakdown: dict[str, list[float]] = {"capture": [], "apply": []}

    def job(doc: Document):
        t0 = time.perf_counter()
        req = make_request(doc, "inpaint", **params)
        t1 = time.perf_counter()
        res = engine.run(req)
        t2 = time.perf_counter()
        apply_result(doc, res)
        t3 = time.perf_counter()
        doc.history.undo()
        breakdown["capture"].append(t1 - t0)
        breakdown["apply"].append(t3 - t2)
        return t3 - t0, res

    _, res = job(docs[1024])  # warm up: load the model, compile kernels
    job(docs[8192])
    pipe = engine.backend("diffusers")._pipeline(info, "inpaint")
    from PIL import Image

    from aiart_desktop.ai import region

    req = res.request
    w, h = res.size
    selm = req.selection()
    original = region.rgba_to_rgb(req.image)
    sb_w = sb_h = SELECTION
    scale = w / selm.shape[1]
    mask = region.denoise_mask(region.resize(selm, (w, h)),
                               max(1, round(region.default_grow(sb_w, sb_h) * scale)),
                               max(1.0, region.default_feather(sb_w, sb_h) * scale))
    image_pil = Image.fromarray(region.resize(original, (w, h)))
    mask_pil = Image.fromarray(mask, "L")
    base_scheduler = engine.backend("diffusers")._base_scheduler

    def raw() -> float:
        import torch

        pipe.scheduler = make_scheduler("euler_a", base_scheduler)
        t0 = time.perf_counter()
        pipe(prompt="a bench", image=image_pil, mask_image=mask_pil, width=w, height=h,
             num_inference_steps=args.steps, guidance_scale=7.0, strength=1.0,
             generator=[torch.Generator("cpu").manual_seed(1)], output_type="np")
        return time.perf_counter() - t0

    raw()
    jobs1k, jobs8k, raws = [], [], []
    for _ in range(args.runs):
        raws.append(raw())
        jobs1k.append(job(docs[1024])[0])
        jobs8k.append(job(docs[8192])[0])
    med = statistics.median
    print(f"model_size_px: {w}x{h}")
    print(f"steps: {args.steps}")
    print(f"raw_pipeline_ms: {med(raws) * 1000:.1f}")
    print(f"job_1k_ms: {med(jobs1k) * 1000:.1f}")
    print(f"job_8k_ms: {med(jobs8k) * 1000:.1f}")
    print(f"capture_ms: {med(breakdown['capture']) * 1000:.1f}")
    print(f"apply_ms: {med(breakdown['apply']) * 1000:.1f}")
    print(f"job_vs_raw_pipeline_ratio: {med(jobs1k) / med(raws):.3f}")
    print(f"region_8k_vs_1k_ratio: {med(jobs8k) / med(jobs1k):.3f}")


if __name__ == "__main__":
    main()
