"""Live painting on a GPU (issue 14): full-size SD-Turbo (the SD 2.1 architecture, 512²) and
SDXL-Turbo (the SDXL architecture, 1024²) with random weights in fp16 (the same compute as real
weights; nothing is downloaded).

For each model and 1, 2 and 4 steps, the app's live frames (an edit, then the work of its frame
on the worker thread: the request captured, the engine's job, the frame over its region)
against the bare img2img pipeline call on the same pixels, prompt and seed, medians of
`--rounds`. No Qt here (the device machine has none): the UI side of a frame, the worker and
LiveSession's scheduling, is measured by bench/live_bench.py (frame/raw 1.07-1.14 on the CPU).
Three set-ups:

    vae        frames decoded by the full VAE
    taesd      frames decoded by TAESD (a full-size random AutoencoderTiny installed in the
               models folder as the catalogue's taesd / taesdxl; the bare call decodes the
               same latents with the same tiny VAE)
    compiled   TAESD, and the UNet compiled (`Settings.torch_compile`); the first frames,
               which trace it, are not timed

Prints `name: value` lines: `<model>_<steps>steps_<setup>_app_fps`, `..._raw_fps` and
`..._app_vs_raw_ratio` (time of a frame over time of the bare call).

    python bench/live_gpu_bench.py                                   # needs CUDA
    python bench/live_gpu_bench.py --tiny --device cpu --steps 2 --rounds 2   # smoke test
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="aiart-live-gpu-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))

import numpy as np  # noqa: E402
from gpu_bench import build_full  # noqa: E402

MODELS = {"sd_turbo": ("sd", 512), "sdxl_turbo": ("sdxl", 1024)}


def build_sd_turbo(folder: Path, device: str) -> Path:
    """SD-Turbo's architecture (SD 2.1: OpenCLIP-H text encoder, 1024-wide cross-attention,
    linear projections) from the shipped SD 1.5 configs, random weights, fp16."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from aiart_desktop.settings import resources_dir
    from tests.support.tiny_models import SCHEDULER, write_tokenizer

    cfg = resources_dir() / "model_configs" / "sd15"
    unet_cfg = dict(UNet2DConditionModel.load_config(cfg / "unet"))
    unet_cfg.update(cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20],
                    use_linear_projection=True)
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel.from_config(unet_cfg)
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(cfg / "vae"))
        te = CLIPTextModel(CLIPTextConfig(hidden_size=1024, intermediate_size=4096,
                                          num_attention_heads=16, num_hidden_layers=23,
                                          hidden_act="gelu", projection_dim=1024))
    write_tokenizer(folder / "_tok")
    pipe: Any = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=te,
        tokenizer=CLIPTokenizer.from_pretrained(str(folder / "_tok")),
        scheduler=EulerAncestralDiscreteScheduler(**SCHEDULER), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)
    if device != "cpu":
        pipe.to(torch.float16)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def build_taesd_full(folder: Path, device: str) -> Path:
    """TAESD's architecture (diffusers' AutoencoderTiny defaults), random weights."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    vae = AutoencoderTiny()
    if device != "cpu":
        vae.to(torch.float16)
    vae.save_pretrained(str(folder), safe_serialization=True)
    return folder


def dab(doc: Any, k: int, rect: Any) -> None:
    px = np.zeros((24, 24, 4), np.uint8)
    px[...] = ((37 * k) % 256, 200, 60, 255)
    doc.put_pixels(doc.layers[0], rect.x + 20 + (k * 37) % (rect.w - 60),
                   rect.y + 20 + (k * 53) % (rect.h - 60), px)


def bench_setup(key: str, model_id: str, registry: Any, size: int, setup: str,
                args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.ai.composite import variant_over_original
    from aiart_desktop.ai.live import LiveSettings
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core.document import Document
    from aiart_desktop.core.geometry import Rect

    out: dict[str, Any] = {}
    decoder = "vae" if setup == "vae" else "taesd"
    engine = default_engine(registry, device=args.device, compile=setup == "compiled")
    doc = Document.new(size + 256, size + 256, (40, 120, 200, 255))
    frame = Rect(128, 128, size, size)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    local = engine.backend("diffusers")
    info = registry.inspect(model_id)
    for steps in args.steps:
        settings = LiveSettings("a lighthouse on a cliff at dusk", model=model_id, steps=steps,
                                strength=1.0 if steps == 1 else 0.6, seed=7, region="frame",
                                frame=frame, decoder=decoder)

        def frame_s(k: int, settings: LiveSettings = settings) -> float:
            """An edit, then its live frame as the session makes it on the worker thread: the
            request captured, the job run, the frame composited over its region."""
            dab(doc, k, frame)
            sync()
            t0 = time.perf_counter()
            req = make_request(doc, "img2img", seed=7, **settings.capture_params())
            variant_over_original(engine.run(req), 0)
            sync()
            return time.perf_counter() - t0

        for k in range(3):  # loads the model and TAESD; a compiled UNet traces
            frame_s(1000 + k)
        if decoder == "taesd" and (local._taesd is None or local.decoded != "taesd"):
            raise SystemExit(f"{key}: live frames were not decoded by TAESD")
        pipe = local._pipeline(info, "img2img")
        taesd = local._taesd[1] if decoder == "taesd" else None

        def raw(pipe: Any = pipe, taesd: Any = taesd, settings: LiveSettings = settings
                ) -> float:
            from PIL import Image

            req = make_request(doc, "img2img", seed=7, **settings.capture_params())
            image = Image.fromarray(np.ascontiguousarray(req.image[..., :3]))
            sync()
            t0 = time.perf_counter()
            with torch.inference_mode():
                res = pipe(prompt=req.prompt, image=image, strength=req.strength,
                           num_inference_steps=req.steps, guidance_scale=req.guidance,
                           generator=torch.Generator(args.device).manual_seed(req.seed),
                           output_type="latent" if taesd is not None else "np")
                if taesd is not None:
                    lat = res.images / float(taesd.config.scaling_factor or 1.0)
                    taesd.decode(lat.to(taesd.dtype), return_dict=False)[0].float().cpu()
            sync()
            return time.perf_counter() - t0

        app_s = [frame_s(k) for k in range(args.rounds)]
        raw_s = [raw() for _ in range(args.rounds)]
        a, r = statistics.median(app_s), statistics.median(raw_s)
        name = f"{key}_{steps}steps_{setup}"
        figures = {f"{name}_app_fps": round(1 / a, 2), f"{name}_raw_fps": round(1 / r, 2),
                   f"{name}_app_vs_raw_ratio": round(a / r, 3)}
        for k_, v in figures.items():
            print(f"{k_}: {v}", flush=True)
        out.update(figures)
    engine.unload()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny models (a smoke test on the CPU)")
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--setups", nargs="+", default=["vae", "taesd", "compiled"],
                    choices=["vae", "taesd", "compiled"])
    args = ap.parse_args()

    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd, build_sdxl, build_taesd

    base = Path(_tmp)
    registry = ModelRegistry(base / "models", allow_pickle=False)
    for key in args.models:
        arch, size = MODELS[key]
        t0 = time.perf_counter()
        folder = base / key
        if args.tiny:
            (build_sdxl(folder) if arch == "sdxl" else build_sd(folder))
            build_taesd(registry.catalogue_folder("taesdxl" if arch == "sdxl" else "taesd"))
            size = 64
        else:
            (build_full("sdxl", folder, args.device) if arch == "sdxl"
             else build_sd_turbo(folder, args.device))
            build_taesd_full(registry.catalogue_folder("taesdxl" if arch == "sdxl"
                                                       else "taesd"), args.device)
        info = registry.add_folder(folder, name=f"bench-{key}")
        print(f"{key}_build_s: {round(time.perf_counter() - t0, 1)}", flush=True)
        for setup in args.setups:
            if setup == "compiled" and args.device != "cuda":
                continue  # torch.compile is CUDA only in the app
            bench_setup(key, info.id, registry, size, setup, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
