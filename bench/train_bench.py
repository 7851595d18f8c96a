"""Train a Style benchmark: the app's trainer against a bare diffusers + peft loop.

One random-weight Stable Diffusion model (the tests' architecture widened as in lora_bench.py)
and four pictures, prepared as a job
by the app (ai/training.py). Both sides run in a process of their own, on the same pictures,
crops, captions, rank, learning rate and batch (1), and are timed over the same steps after a
warm-up:

- the app: the real trainer process (`TrainerProcess`, ai/backends/local_train.py), its
  steps timed from the step events the app receives;
- the bare loop: diffusers' text-to-image LoRA example reduced to its steps (peft LoRA on the
  UNet's attention, DDPM noise, MSE, AdamW, clipping), in this file, timed in its process,
  on as many torch threads as the app's trainer takes on the CPU (one core fewer than the
  machine has: `train_cpu_threads`).

Prints `name: value` lines:
- train_steps_per_s: the app's trainer;  bare_steps_per_s: the bare loop;
- train_steps_per_s_vs_raw_ratio: app / bare (target >= 0.9);
- train_peak_rss_mb and bare_peak_rss_mb: the peak resident memory of each process.

Usage: python bench/train_bench.py [--steps N] [--warmup N] [--resolution PX] [--rank R]
       [--device cpu|cuda] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import emit  # noqa: E402


def bare_loop(job: Path, steps: int, warmup: int) -> dict[str, float]:
    """diffusers' text-to-image LoRA training steps, bare: steps/s and peak RSS (MB)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from diffusers import DDPMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline
    from peft import LoraConfig
    from PIL import Image

    from aiart_desktop.ai.backends.local_train import peak_rss_mb
    from aiart_desktop.ai.training import bucket_for, load_plan

    plan = load_plan(job)
    device = "cuda" if plan.device == "cuda" else "cpu"
    if device == "cpu":  # the app's trainer leaves a core free; the same threads here
        from aiart_desktop.ai.backends.local_train import cpu_threads

        torch.set_num_threads(cpu_threads())
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    from aiart_desktop.ai.models.registry import ModelRegistry

    path = str(ModelRegistry(plan.models_dir).resolve(plan.base_model).path)
    cls = StableDiffusionXLPipeline if plan.arch == "sdxl" else StableDiffusionPipeline
    pipe = cls.from_pretrained(path, torch_dtype=dtype).to(device)
    for m in (pipe.unet, pipe.vae, pipe.text_encoder, getattr(pipe, "text_encoder_2", None)):
        if m is not None:
            m.requires_grad_(False)
    latents, hidden, added = [], [], []
    with torch.no_grad():
        for pic in plan.pictures:
            img = Image.open(job / "pictures" / pic.file).convert("RGB")
            crop = bucket_for(img.width, img.height, plan.resolution)
            img = img.crop(crop.box).resize(crop.bucket, Image.Resampling.LANCZOS)
            x = torch.from_numpy(np.asarray(img, np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
            latents.append(pipe.vae.encode(x.to(device, dtype)).latent_dist)
            caption = plan.caption(pic)
            if plan.arch == "sdxl":
                pe, _, pooled, _ = pipe.encode_prompt(prompt=caption, device=device,
                                                      do_classifier_free_guidance=False)
                bw, bh = crop.bucket
                ids = torch.tensor([[pic.height, pic.width, 0, 0, bh, bw]], device=device,
                                   dtype=dtype)
                added.append({"text_embeds": pooled, "time_ids": ids})
            else:
                pe, _ = pipe.encode_prompt(caption, device, 1, False)
            hidden.append(pe)
    unet = pipe.unet
    unet.add_adapter(LoraConfig(r=plan.rank, lora_alpha=plan.rank, init_lora_weights="gaussian",
                                target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    params = [p for p in unet.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()
    opt = torch.optim.AdamW(params, lr=plan.learning_rate)
    noise_sched = DDPMScheduler.from_config(pipe.scheduler.config)
    unet.train()
    n = len(latents)
    t0 = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        i = step % n
        lat = latents[i].sample() * pipe.vae.config.scaling_factor
        noise = torch.randn_like(lat)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (1,), device=device)
        noisy = noise_sched.add_noise(lat, noise, t)
        kw: dict[str, Any] = {"added_cond_kwargs": added[i]} if added else {}
        pred = unet(noisy, t, encoder_hidden_states=hidden[i], return_dict=False, **kw)[0]
        loss = F.mse_loss(pred.float(), noise.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        float(loss)
    elapsed = time.perf_counter() - t0
    return {"steps_per_s": steps / elapsed, "peak_rss_mb": peak_rss_mb()}


def app_loop(job: Path, warmup: int) -> dict[str, float]:
    """The app's trainer process on `job`; its steps timed from the events received."""
    from aiart_desktop.ai.training import TrainerProcess

    stamps: dict[int, float] = {}
    done: dict[str, Any] = {}
    ended = threading.Event()

    def on_event(e: dict[str, Any]) -> None:
        if e["event"] == "step":
            stamps[int(e["step"])] = time.perf_counter()
        elif e["event"] in ("done", "error", "stopped", "cancelled"):
            done.update(e)
            ended.set()

    proc = TrainerProcess(job, on_event)
    proc.start()
    ended.wait(3600)
    proc.wait(60)
    if done.get("event") != "done":
        raise SystemExit(f"the trainer did not finish: {done}")
    last = max(stamps)
    return {"steps_per_s": (last - warmup) / (stamps[last] - stamps[warmup]),
            "peak_rss_mb": float(done.get("peak_rss_mb", 0.0))}


def make_job(tmp: Path, args: argparse.Namespace) -> Path:
    from aiart_desktop.ai import training as T
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd
    from tests.support.tiny_training import style_pictures

    registry = ModelRegistry(tmp / "models", allow_pickle=False)
    folder = build_sd(tmp / "model", unet_channels=(64, 128), sample_size=64)
    info = registry.add_folder(folder, name="bench")
    plan = T.TrainPlan(name="bench", trigger="benchstyle", base_model=info.id,
                       base_name=info.name, arch=info.arch, resolution=args.resolution,
                       rank=args.rank, steps=args.warmup + args.steps, learning_rate=1e-4,
                       checkpoint_every=0, sample_every=0, device=args.device,
                       output=str(registry.lora_folder() / "bench.safetensors"),
                       models_dir=str(registry.root))
    return T.prepare_job(tmp / "training", plan, style_pictures(4))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bare-worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_worker:
        print(json.dumps(bare_loop(Path(args.bare_worker), args.steps, args.warmup)))
        return
    from aiart_desktop.ai.backends.local_train import cpu_threads

    tmp = Path(tempfile.mkdtemp(prefix="aiart-train-bench-"))
    job = make_job(tmp, args)
    runs = []
    for _ in range(2):  # alternated: app, bare, app, bare (the best of each)
        app = app_loop(job, args.warmup)
        from aiart_desktop.ai.training import DONE_FILE, load_plan

        Path(load_plan(job).output).unlink(missing_ok=True)
        (job / DONE_FILE).unlink(missing_ok=True)
        out = subprocess.run([sys.executable, __file__, "--bare-worker", str(job), "--steps",
                              str(args.steps), "--warmup", str(args.warmup)],
                             capture_output=True, text=True, check=True)
        bare = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append((app, bare))
    app_rate = max(a["steps_per_s"] for a, _ in runs)
    bare_rate = max(b["steps_per_s"] for _, b in runs)
    emit({
        "train_steps_per_s": round(app_rate, 3),
        "bare_steps_per_s": round(bare_rate, 3),
        "train_steps_per_s_vs_raw_ratio": round(app_rate / bare_rate, 3),
        "train_peak_rss_mb": max(a["peak_rss_mb"] for a, _ in runs),
        "train_cpu_threads": cpu_threads(),
        "bare_peak_rss_mb": max(b["peak_rss_mb"] for _, b in runs),
    }, args.json)


if __name__ == "__main__":
    main()
