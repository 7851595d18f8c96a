"""GPU benchmark: the app's whole AI job against the bare diffusers call, on full-size
Stable Diffusion 1.5 and SDXL architectures with random weights (the same compute as real
weights; nothing is downloaded).

For each architecture at its native size (512² / 1024²) and 4 and 20 steps, prints
`name: value` lines: raw pipeline and app job in iterations per second, and their ratio
(`*_job_vs_raw_ratio`, time of the job over time of the raw call; target ≤ 1.10). fp16 on
CUDA, PyTorch SDPA attention (diffusers' default), optionally channels_last UNet.

With `--control`, also the issue-13 figure on SD 1.5: the app's txt2img job following a Line
art control layer (a full-size random-weight ControlNet made from the UNet, added to the
registry as a user's control model) against the bare `StableDiffusionControlNetPipeline`
call on the same control picture (`sd15_control_job_vs_raw_ratio`, target <= 1.10).

    python bench/gpu_bench.py                  # needs CUDA
    python bench/gpu_bench.py --tiny --device cpu --steps 2   # smoke test of this script
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import emit  # noqa: E402

from aiart_desktop.ai.apply import apply_result  # noqa: E402
from aiart_desktop.ai.capture import make_request  # noqa: E402
from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core import selection as sel  # noqa: E402
from aiart_desktop.core.document import Document  # noqa: E402
from aiart_desktop.core.geometry import Rect  # noqa: E402
from aiart_desktop.settings import resources_dir  # noqa: E402

NATIVE = {"sd15": 512, "sdxl": 1024}


def build_full(arch: str, folder: Path, device: str) -> Path:
    """A full-size random-weight pipeline from the shipped configs, saved in fp16."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
    )

    from tests.support.tiny_models import SCHEDULER, write_tokenizer

    cfg = resources_dir() / "model_configs" / arch
    torch.manual_seed(0)
    with torch.device(device):  # initialise straight on the GPU: much faster than on the CPU
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(cfg / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(cfg / "vae"))
        te = CLIPTextModel(CLIPTextConfig.from_pretrained(cfg / "text_encoder"))
        te2 = (CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(cfg / "text_encoder_2"))
               if arch == "sdxl" else None)
    # byte-level vocabulary: token ids stay inside the real vocabulary size; same compute
    write_tokenizer(folder / "_tok")
    tok = CLIPTokenizer.from_pretrained(str(folder / "_tok"))
    sched = EulerAncestralDiscreteScheduler(**SCHEDULER)
    if arch == "sdxl":
        write_tokenizer(folder / "_tok2", pad="!")
        pipe: Any = StableDiffusionXLPipeline(
            unet=unet, vae=vae, text_encoder=te, text_encoder_2=te2, tokenizer=tok,
            tokenizer_2=CLIPTokenizer.from_pretrained(str(folder / "_tok2")), scheduler=sched)
    else:
        pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=te, tokenizer=tok,
                                       scheduler=sched, safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
    if device != "cpu":
        pipe.to(torch.float16)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def build_tiny(arch: str, folder: Path) -> Path:
    from tests.support.tiny_models import build_sd, build_sdxl

    return build_sdxl(folder) if arch == "sdxl" else build_sd(folder)


def compare(key: str, steps: int, raw: Callable[[], float], job: Callable[[], float],
            runs: int) -> dict[str, Any]:
    """Both timed `runs` times, interleaved, after one warm-up each: speeds and the ratio of
    the medians (job time over raw time)."""
    raw(), job()  # warm-up at this step count
    raws, jobs = [], []
    for _ in range(runs):
        raws.append(raw())
        jobs.append(job())
    r, j = statistics.median(raws), statistics.median(jobs)
    return {f"{key}_raw_its": round(steps / r, 2), f"{key}_job_its": round(steps / j, 2),
            f"{key}_job_vs_raw_ratio": round(j / r, 3)}


def bench_arch(arch: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import torch

    size = args.size or NATIVE[arch]
    folder = tmp / arch
    t0 = time.perf_counter()
    (build_tiny(arch, folder) if args.tiny else build_full(arch, folder, args.device))
    out: dict[str, Any] = {f"{arch}_build_s": round(time.perf_counter() - t0, 1)}
    registry = ModelRegistry(tmp / "models", allow_pickle=False)
    info = registry.add_folder(folder, name=f"bench-{arch}")
    engine = default_engine(registry, device=args.device)
    doc = Document.new(size + 256, size + 256)
    doc.set_selection(sel.rect_mask(doc.width, doc.height, Rect(128, 128, size, size)))
    t0 = time.perf_counter()
    engine.run(make_request(doc, "txt2img", prompt="warm up", model=info.id, seed=1, steps=1))
    out[f"{arch}_load_s"] = round(time.perf_counter() - t0, 1)
    pipe = engine.backend("diffusers")._pipeline(info, "txt2img")
    if args.channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)

    for steps in args.steps:
        params: dict[str, Any] = dict(prompt="a lighthouse at dusk", model=info.id, seed=7,
                                      steps=steps, guidance=7.0, scheduler="euler_a")

        def raw(steps: int = steps, params: dict[str, Any] = params) -> float:
            sync()
            t = time.perf_counter()
            pipe(prompt=params["prompt"], width=size, height=size, num_inference_steps=steps,
                 guidance_scale=7.0, generator=torch.Generator(args.device).manual_seed(7),
                 output_type="np")
            sync()
            return time.perf_counter() - t

        def job(params: dict[str, Any] = params) -> float:
            sync()
            t = time.perf_counter()
            res = engine.run(make_request(doc, "txt2img", **params))
            apply_result(doc, res)
            sync()
            dt = time.perf_counter() - t
            doc.history.undo()
            return dt

        out.update(compare(f"{arch}_{size}_{steps}steps", steps, raw, job, args.runs))
    engine.unload()
    return out


def bench_control(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The app's job with one Line art control against the bare ControlNet pipeline call."""
    import numpy as np
    import torch
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    from aiart_desktop.ai.controls import ControlLayer, preprocess

    size = args.size or NATIVE["sd15"]
    folder = tmp / "sd15-control"
    (build_tiny("sd15", folder) if args.tiny else build_full("sd15", folder, args.device))
    net_dir = tmp / "controlnet" / "control_v11p_sd15_lineart"
    torch.manual_seed(3)
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(folder / "unet"))
    net = ControlNetModel.from_unet(unet)
    if args.device != "cpu":
        net.to(torch.float16)
    net.save_pretrained(str(net_dir), safe_serialization=True)
    del unet, net
    registry = ModelRegistry(tmp / "models-control", allow_pickle=False)
    info = registry.add_folder(folder, name="bench-control")
    registry.add_control_model(net_dir)
    engine = default_engine(registry, device=args.device)
    doc = Document.new(size + 256, size + 256)
    doc.set_selection(sel.rect_mask(doc.width, doc.height, Rect(128, 128, size, size)))
    sketch = np.zeros((size, size, 4), np.uint8)
    for k in range(0, size, size // 8):
        sketch[k:k + 3, :, 3] = 255
        sketch[:, k:k + 3, 3] = 255
    layer = doc.add_layer("Sketch", pixels=sketch, x=128, y=128)
    control = ControlLayer(layer_uid=layer.uid, kind="lineart", strength=1.0)
    picture = preprocess("lineart", sketch)
    out: dict[str, Any] = {}
    engine.run(make_request(doc, "txt2img", prompt="warm up", model=info.id, seed=1, steps=1,
                            controls=[control]))
    backend = engine.backend("diffusers")
    plain = backend._pipeline(info, "txt2img")
    # the bare call: the same loaded base, its weights shared by from_pipe
    raw_net = ControlNetModel.from_pretrained(str(net_dir), torch_dtype=plain.unet.dtype)
    raw_pipe = StableDiffusionControlNetPipeline.from_pipe(plain,
                                                           controlnet=raw_net.to(plain.device))
    raw_pipe.set_progress_bar_config(disable=True)
    from PIL import Image

    control_image = Image.fromarray(picture)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    for steps in args.steps:
        def raw(steps: int = steps) -> float:
            sync()
            t = time.perf_counter()
            raw_pipe(prompt="a lighthouse at dusk", image=control_image, width=size,
                     height=size, num_inference_steps=steps, guidance_scale=7.0,
                     controlnet_conditioning_scale=1.0,
                     generator=torch.Generator("cpu").manual_seed(7), output_type="np")
            sync()
            return time.perf_counter() - t

        def job(steps: int = steps) -> float:
            sync()
            t = time.perf_counter()
            res = engine.run(make_request(doc, "txt2img", prompt="a lighthouse at dusk",
                                          model=info.id, seed=7, steps=steps, guidance=7.0,
                                          controls=[control]))
            apply_result(doc, res)
            sync()
            dt = time.perf_counter() - t
            doc.history.undo()
            return dt

        out.update(compare(f"sd15_control_{size}_{steps}steps", steps, raw, job, args.runs))
    engine.unload()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--arch", nargs="*", default=["sd15", "sdxl"], choices=list(NATIVE))
    ap.add_argument("--steps", nargs="*", type=int, default=[4, 20])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=0, help="override the native size")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="tiny models (smoke test, CPU)")
    ap.add_argument("--control", action="store_true",
                    help="also the SD 1.5 job with a Line art ControlNet (issue 13)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_bench: no CUDA device here; run it on a machine with one "
              "(or --tiny --device cpu to check the script)", file=sys.stderr)
        return 2
    out: dict[str, Any] = {"device": args.device, "torch": torch.__version__,
                           "channels_last": args.channels_last, "tiny": args.tiny}
    if args.device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory(prefix="aiart-gpu-bench-") as tmp:
        for arch in args.arch:
            out.update(bench_arch(arch, args, Path(tmp)))
        if args.control:
            out.update(bench_control(args, Path(tmp)))
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
