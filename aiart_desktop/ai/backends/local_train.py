"""The style trainer: a LoRA on the UNet of an SD 1.5 or SDXL model, learned from a job
folder's pictures (ai/training.py holds the plan, the folder and the process around this).

    python -m aiart_desktop.ai.backends.local_train JOB_FOLDER   # what TrainerProcess runs
    Trainer(folder, emit, commands).run()                       # the same, in-process

It is the step of diffusers' text-to-image LoRA example, on the field's own primitives: the
base model loaded by the app's loader (local.load_base), peft's LoRA layers on the UNet's
attention projections (`to_q`, `to_k`, `to_v`, `to_out.0`; Gaussian init, alpha = rank),
diffusers' DDPM noise schedule (epsilon or v-prediction, as the model's scheduler says), an
MSE loss, torch's AdamW with gradient clipping at 1. Memory savers: the latent distribution
of each picture and the caption embeddings are computed once, before the first step (the VAE
and text encoders then rest); gradient checkpointing when the plan asks; on CUDA the frozen
weights in bf16 (fp16 where bf16 is missing) and the LoRA in fp32.

Resuming gives the same weights as an uninterrupted run (on the CPU): every random draw of a
step (which picture, the latent sample, the noise, the timestep) comes from a generator seeded
by (seed, step), and the checkpoint holds the LoRA and AdamW's state. The checkpoint, the
samples and the finished LoRA are written atomically. The LoRA is saved in kohya's key layout
(diffusers' `convert_state_dict_to_kohya`), with kohya's and modelspec's metadata, so A1111,
ComfyUI, Krita AI Diffusion and InvokeAI load it too.
"""
from __future__ import annotations

import errno
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...core.io.atomic import atomic_write_bytes, atomic_write_json
from ..errors import AiError, ModelNotFoundError, quoted
from ..training import (
    CHECKPOINT_FILE,
    DONE_FILE,
    PICTURES_DIR,
    SAMPLES_DIR,
    TrainError,
    TrainPlan,
    bucket_for,
    load_plan,
    record_rate,
)

TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
NOTE = "trained in AIArt Desktop on the artist's own pictures"
BASE_VERSION = {"sd": "sd_v1", "sdxl": "sdxl_base_v1-0"}
MODELSPEC = {"sd": "stable-diffusion-v1/lora", "sdxl": "stable-diffusion-xl-v1-base/lora"}


class Commands:
    """What the app asked for: pause, resume, cancel, stop (checkpoint and end). `listen()`
    reads them from stdin; the end of stdin (the app quit or died) counts as stop."""

    def __init__(self) -> None:
        self.paused = False
        self.cancelled = False
        self.stopped = False
        self._wake = threading.Event()

    def send(self, command: str) -> None:
        command = command.strip().lower()
        if command == "pause":
            self.paused = True
        elif command == "resume":
            self.paused = False
        elif command == "cancel":
            self.cancelled = True
        elif command == "stop":
            self.stopped = True
        self._wake.set()

    def listen(self, stream: Any) -> None:
        def read() -> None:
            for line in stream:
                self.send(line)
            self.send("stop")

        threading.Thread(target=read, name="trainer-commands", daemon=True).start()

    def wait(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()


def _step_seed(seed: int, step: int) -> int:
    return (int(seed) * 1_000_003 + step * 7_919 + 12_345) % (2**63 - 1)


class Trainer:
    """One training of a job folder; `emit(event)` gets each event (ai/training.py: EVENTS)."""

    def __init__(self, folder: str | Path, emit: Callable[[dict[str, Any]], None],
                 commands: Commands | None = None) -> None:
        self.folder = Path(folder)
        self.emit = emit
        self.commands = commands or Commands()
        self.plan: TrainPlan = load_plan(self.folder)
        self.step = 0
        self.saved_step = 0
        self.losses: list[float] = []

    # ---- set-up --------------------------------------------------------------------------
    def _load(self) -> None:
        import torch

        from ..models.registry import ModelRegistry
        from .local import _imports, load_base, pickle_facts, select_device

        _imports()  # quiet diffusers' and transformers' logs
        plan = self.plan
        models = ModelRegistry(plan.models_dir or None, read_pickle=pickle_facts)
        try:
            info = models.inspect(plan.base_model)
        except ModelNotFoundError as exc:
            raise TrainError(f"the base model \u201c{plan.base_name or plan.base_model}\u201d "
                             "of this training is no longer installed.\nInstall it again to "
                             "resume, or discard the training.") from exc
        if info.arch not in ("sd", "sdxl") or info.facts.inpaint:
            kind = "an inpainting model" if info.facts.inpaint else "not an SD 1.5 or SDXL model"
            raise TrainError(f"{info.name} cannot be trained: it is {kind}.\nPick an "
                             "ordinary SD 1.5 or SDXL model.")
        device, dtype_name = select_device(plan.device)
        if device == "cuda" and torch.cuda.is_bf16_supported():
            dtype_name = "bfloat16"
        self.device, self.dtype = device, getattr(torch, dtype_name)
        self.pipe = load_base(info, device, dtype_name)
        self.pipe.set_progress_bar_config(disable=True)
        self.arch = info.arch
        self.info = info

    def _cache(self) -> None:
        """The latent distribution of every picture and the embeddings of every caption."""
        import torch
        from PIL import Image

        pipe, plan = self.pipe, self.plan
        vae = pipe.vae
        upcast = self.device == "cuda"
        if upcast:  # SD's VAEs overflow in half precision: encode the pictures in fp32
            vae.to(torch.float32)
        self.latents: list[tuple[Any, Any]] = []
        self.embeds: list[dict[str, Any]] = []
        captions: dict[str, dict[str, Any]] = {}
        with torch.no_grad():  # (inference tensors could not take part in training)
            for pic in plan.pictures:
                path = self.folder / PICTURES_DIR / pic.file
                try:
                    img = Image.open(path).convert("RGB")
                except OSError as exc:
                    raise TrainError(f"the prepared picture {quoted(path)} of "
                                     f"\u201c{pic.source}\u201d cannot be read") from exc
                crop = bucket_for(img.width, img.height, plan.resolution)
                bw, bh = crop.bucket
                img = img.crop(crop.box).resize((bw, bh), Image.Resampling.LANCZOS)
                x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 127.5 - 1.0)
                x = x.permute(2, 0, 1)[None].to(self.device, vae.dtype)
                dist = vae.encode(x).latent_dist
                self.latents.append((dist.mean.float().clone(), dist.std.float().clone()))
                caption = plan.caption(pic)
                if caption not in captions:
                    captions[caption] = self._embed(caption)
                emb = dict(captions[caption])
                if self.arch == "sdxl":
                    x0, y0, x1, y1 = crop.box
                    s = bw / (x1 - x0)
                    ids = [pic.height, pic.width, round(y0 * s), round(x0 * s), bh, bw]
                    emb["time_ids"] = torch.tensor([ids], dtype=self.dtype, device=self.device)
                self.embeds.append(emb)
        if upcast:
            vae.to(self.dtype)

    def _embed(self, caption: str) -> dict[str, Any]:
        pipe = self.pipe
        if self.arch == "sdxl":
            pe, _, pooled, _ = pipe.encode_prompt(prompt=caption, device=self.device,
                                                  num_images_per_prompt=1,
                                                  do_classifier_free_guidance=False)
            return {"hidden": pe.to(self.dtype), "pooled": pooled.to(self.dtype)}
        pe, _ = pipe.encode_prompt(caption, self.device, 1, False)
        return {"hidden": pe.to(self.dtype)}

    def _adapter(self) -> None:
        import torch
        from diffusers import DDPMScheduler
        from peft import LoraConfig

        plan, unet = self.plan, self.pipe.unet
        for module in (unet, self.pipe.vae, self.pipe.text_encoder,
                       getattr(self.pipe, "text_encoder_2", None)):
            if module is not None:
                module.requires_grad_(False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(plan.seed)
            unet.add_adapter(LoraConfig(r=plan.rank, lora_alpha=plan.rank,
                                        init_lora_weights="gaussian", target_modules=TARGETS))
        self.params = [p for p in unet.parameters() if p.requires_grad]
        for p in self.params:  # the LoRA learns in fp32 whatever the frozen weights are in
            p.data = p.data.float()
        self.names = [n for n, p in unet.named_parameters() if p.requires_grad]
        if plan.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
        self.opt = torch.optim.AdamW(self.params, lr=plan.learning_rate, betas=(0.9, 0.999),
                                     weight_decay=1e-2, eps=1e-8)
        self.noise = DDPMScheduler.from_config(self.pipe.scheduler.config)
        self.v_pred = self.noise.config.prediction_type == "v_prediction"

    # ---- checkpoints ---------------------------------------------------------------------
    def _save_checkpoint(self) -> None:
        import torch
        from safetensors.torch import save

        tensors: dict[str, Any] = {}
        params = dict(self.pipe.unet.named_parameters())
        for i, name in enumerate(self.names):
            tensors[f"lora.{name}"] = params[name].detach().float().cpu().contiguous()
            state = self.opt.state.get(params[name]) or {}
            for key in ("exp_avg", "exp_avg_sq", "step"):
                if key in state:
                    t = state[key]
                    t = t if torch.is_tensor(t) else torch.tensor(float(t))
                    tensors[f"adam.{i}.{key}"] = t.detach().float().cpu().contiguous()
        meta = {"step": str(self.step), "losses": json.dumps(self.losses),
                "rank": str(self.plan.rank), "base_model": self.plan.base_model}
        atomic_write_bytes(self.folder / CHECKPOINT_FILE, save(tensors, metadata=meta))
        self.saved_step = self.step
        self.emit({"event": "checkpoint", "step": self.step})

    def _resume(self) -> None:
        import torch
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = self.folder / CHECKPOINT_FILE
        if not path.exists():
            return
        try:
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(path))
            step, losses = int(meta["step"]), [float(x) for x in json.loads(meta["losses"])]
        except Exception as exc:  # a damaged checkpoint: start again rather than fail
            self.emit({"event": "history", "step": 0, "losses": [], "note":
                       f"the checkpoint could not be read ({type(exc).__name__}): "
                       "training starts again"})
            return
        params = dict(self.pipe.unet.named_parameters())
        state = self.opt.state_dict()
        with torch.no_grad():
            for i, name in enumerate(self.names):
                params[name].copy_(tensors[f"lora.{name}"].to(params[name].device))
                if f"adam.{i}.exp_avg" in tensors:
                    dev = params[name].device
                    state["state"][i] = {
                        "step": tensors[f"adam.{i}.step"].clone(),
                        "exp_avg": tensors[f"adam.{i}.exp_avg"].to(dev),
                        "exp_avg_sq": tensors[f"adam.{i}.exp_avg_sq"].to(dev)}
        self.opt.load_state_dict(state)
        self.step = self.saved_step = step
        self.losses = losses

    # ---- the loop ------------------------------------------------------------------------
    def _order(self, step: int) -> int:
        n = len(self.latents)
        epoch, k = divmod(step, n)
        return int(np.random.default_rng([int(self.plan.seed), epoch]).permutation(n)[k])

    def train_step(self, step: int) -> float:
        import torch
        import torch.nn.functional as F

        g = torch.Generator("cpu").manual_seed(_step_seed(self.plan.seed, step))
        i = self._order(step)
        mean, std = self.latents[i]
        sample = torch.randn(mean.shape, generator=g).to(mean.device)
        noise = torch.randn(mean.shape, generator=g).to(mean.device)
        t = torch.randint(0, self.noise.config.num_train_timesteps, (1,), generator=g)
        t = t.to(mean.device)
        vae_cfg = self.pipe.vae.config
        latents = (mean + std * sample)
        if getattr(vae_cfg, "shift_factor", None):
            latents = latents - vae_cfg.shift_factor
        latents = latents * vae_cfg.scaling_factor
        noisy = self.noise.add_noise(latents, noise, t)
        target = self.noise.get_velocity(latents, noise, t) if self.v_pred else noise
        emb = self.embeds[i]
        kw: dict[str, Any] = {}
        if self.arch == "sdxl":
            kw["added_cond_kwargs"] = {"text_embeds": emb["pooled"], "time_ids": emb["time_ids"]}
        pred = self.pipe.unet(noisy.to(self.dtype), t, encoder_hidden_states=emb["hidden"],
                              return_dict=False, **kw)[0]
        loss = F.mse_loss(pred.float(), target.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    def eval_loss(self, timesteps: int = 4) -> float:
        """The loss on fixed noise at fixed timesteps over every picture (the training loss
        is noisy: each step draws its own timestep): what tells whether the LoRA learned."""
        import torch
        import torch.nn.functional as F

        g = torch.Generator("cpu").manual_seed(_step_seed(self.plan.seed, -1))
        total, n = 0.0, 0
        vae_cfg = self.pipe.vae.config
        steps = self.noise.config.num_train_timesteps
        with torch.no_grad():
            for (mean, _std), emb in zip(self.latents, self.embeds, strict=True):
                latents = mean
                if getattr(vae_cfg, "shift_factor", None):
                    latents = latents - vae_cfg.shift_factor
                latents = latents * vae_cfg.scaling_factor
                for k in range(timesteps):
                    t = torch.tensor([int((k + 0.5) * steps / timesteps)], device=mean.device)
                    noise = torch.randn(mean.shape, generator=g).to(mean.device)
                    noisy = self.noise.add_noise(latents, noise, t)
                    target = self.noise.get_velocity(latents, noise, t) if self.v_pred \
                        else noise
                    kw: dict[str, Any] = {}
                    if self.arch == "sdxl":
                        kw["added_cond_kwargs"] = {"text_embeds": emb["pooled"],
                                                   "time_ids": emb["time_ids"]}
                    pred = self.pipe.unet(noisy.to(self.dtype), t,
                                          encoder_hidden_states=emb["hidden"],
                                          return_dict=False, **kw)[0]
                    total += float(F.mse_loss(pred.float(), target.float()))
                    n += 1
        return total / max(1, n)

    def _sample(self) -> None:
        import torch
        from PIL import Image

        plan = self.plan
        unet = self.pipe.unet
        unet.eval()
        try:
            with torch.inference_mode():
                out = self.pipe(prompt=plan.sample_caption(), num_inference_steps=plan.sample_steps,
                                height=plan.resolution, width=plan.resolution,
                                generator=torch.Generator("cpu").manual_seed(plan.seed),
                                output_type="np")
        finally:
            unet.train()
        rgb = np.clip(np.asarray(out.images[0]) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        folder = self.folder / SAMPLES_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"step-{self.step:06d}.png"
        import io

        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        atomic_write_bytes(path, buf.getvalue())
        self.emit({"event": "sample", "step": self.step, "path": str(path)})

    def _save_lora(self) -> Path:
        import torch
        from diffusers.utils import convert_state_dict_to_kohya
        from peft.utils import get_peft_model_state_dict
        from safetensors.torch import save

        plan = self.plan
        state = get_peft_model_state_dict(self.pipe.unet)
        kohya = convert_state_dict_to_kohya(
            {f"unet.{k}": v.detach().to(torch.float16).cpu().contiguous()
             for k, v in state.items()})
        kohya = {k: (v.to(torch.float16) if v.ndim == 0 else v) for k, v in kohya.items()}
        words: dict[str, int] = {plan.trigger: len(plan.pictures)}
        for pic in plan.pictures:
            for word in (w.strip() for w in pic.caption.split(",")):
                if word:
                    words[word] = words.get(word, 0) + 1
        meta = {
            "ss_network_module": "networks.lora", "ss_network_dim": str(plan.rank),
            "ss_network_alpha": str(plan.rank), "ss_base_model_version": BASE_VERSION[self.arch],
            "ss_output_name": plan.name, "ss_sd_model_name": plan.base_name,
            "ss_tag_frequency": json.dumps({f"1_{plan.trigger}": words}),
            "ss_steps": str(plan.steps), "ss_max_train_steps": str(plan.steps),
            "ss_learning_rate": repr(plan.learning_rate),
            "ss_unet_lr": repr(plan.learning_rate), "ss_text_encoder_lr": "0",
            "ss_resolution": f"({plan.resolution}, {plan.resolution})",
            "ss_num_train_images": str(len(plan.pictures)), "ss_seed": str(plan.seed),
            "ss_training_comment": NOTE,
            "modelspec.architecture": MODELSPEC[self.arch], "modelspec.title": plan.name,
            "modelspec.trigger_phrase": plan.trigger,
            "modelspec.date": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "aiart.trained_here": "true", "aiart.note": NOTE,
            "aiart.base_model": plan.base_name or plan.base_model,
            "aiart.base_model_sha256": plan.base_sha256,
            "aiart.picture_sha256": json.dumps([p.sha256 for p in plan.pictures]),
        }
        out = Path(plan.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, save(kohya, metadata=meta))
        return out

    def run(self) -> str:
        """Train to the end, or until cancelled or stopped: "done", "stopped" or "cancelled"
        (a failure is an exception: `main` turns it into an "error" event)."""
        import torch

        threads = torch.get_num_threads()
        try:
            if self.plan.device in ("cpu", "auto"):  # a core left for the window and the rest
                torch.set_num_threads(cpu_threads())
            return self._run()
        finally:
            torch.set_num_threads(threads)

    def _run(self) -> str:
        plan = self.plan
        self._load()
        self._cache()
        self._adapter()
        self._resume()
        self.pipe.unet.train()
        self.emit({"event": "started", "step": self.step, "total": plan.steps,
                   "device": self.device, "pictures": len(plan.pictures),
                   "eval_loss": self.eval_loss()})
        samples = sorted(str(p) for p in (self.folder / SAMPLES_DIR).glob("step-*.png"))
        self.emit({"event": "history", "step": self.step, "losses": self.losses,
                   "samples": samples})
        if plan.sample_every and self.step == 0 and not samples:
            self._sample()  # the "before" picture
        t0, first = time.perf_counter(), self.step
        while self.step < plan.steps:
            c = self.commands
            if c.cancelled:
                return self._cancel()
            if c.stopped:
                self._save_checkpoint()
                self.emit({"event": "stopped", "step": self.step})
                return "stopped"
            if c.paused:
                if self.saved_step != self.step:
                    self._save_checkpoint()
                self.emit({"event": "paused", "step": self.step})
                paused_at = time.perf_counter()
                while c.paused and not (c.cancelled or c.stopped):
                    c.wait(0.25)
                t0 += time.perf_counter() - paused_at
                if not (c.cancelled or c.stopped):
                    self.emit({"event": "resumed", "step": self.step})
                continue
            loss = self.train_step(self.step)
            self.step += 1
            self.losses.append(loss)
            rate = (time.perf_counter() - t0) / (self.step - first)
            self.emit({"event": "step", "step": self.step, "total": plan.steps, "loss": loss,
                       "seconds_per_step": rate, "eta": rate * (plan.steps - self.step)})
            if plan.checkpoint_every and self.step % plan.checkpoint_every == 0 \
                    and self.step < plan.steps:
                self._save_checkpoint()
            if plan.sample_every and self.step % plan.sample_every == 0:
                self._sample()
        out = self._save_lora()
        if self.step > first:
            record_rate(self.folder.parent, plan, self.device,
                        (time.perf_counter() - t0) / (self.step - first))
        atomic_write_json(self.folder / DONE_FILE, {"lora": str(out), "steps": self.step})
        (self.folder / CHECKPOINT_FILE).unlink(missing_ok=True)
        self.emit({"event": "done", "step": self.step, "path": str(out),
                   "eval_loss": self.eval_loss(), "peak_rss_mb": peak_rss_mb()})
        return "done"

    def _cancel(self) -> str:
        import shutil

        self.emit({"event": "cancelled", "step": self.step})
        shutil.rmtree(self.folder, ignore_errors=True)  # a cancelled training is discarded
        return "cancelled"


def cpu_threads() -> int:
    """The trainer's torch threads on the CPU: one core fewer than the machine has (at least
    one), so the window and the generation worker keep a core (torch's threads spin while
    they wait: beside another busy process, a training on every core slowed to a crawl)."""
    import os

    return max(1, (os.cpu_count() or 2) - 1)


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB (0 where it cannot be read)."""
    try:
        import psutil

        info = psutil.Process().memory_info()
        peak = getattr(info, "peak_wset", None)  # Windows
        if peak:
            return round(peak / 2**20, 1)
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(rss / (2**20 if sys.platform == "darwin" else 2**10), 1)
    except (ImportError, OSError, AttributeError):
        return 0.0


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def failure_message(exc: BaseException, trainer: Trainer | None) -> str:
    """The two-line message of a failed training."""
    kept = (f"The last checkpoint (step {trainer.saved_step}) is kept: resume when ready."
            if trainer is not None and trainer.saved_step else "Nothing was saved yet.")
    step = trainer.step if trainer is not None else 0
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = trainer.folder if trainer is not None else Path(".")
        return f"the disk is full: the training in {quoted(where)} cannot be saved.\n{kept}"
    if _is_oom(exc):
        return (f"out of memory at step {step}: pick the Quick preset, a smaller rank, or "
                f"turn on Save memory.\n{kept}")
    if isinstance(exc, AiError):
        return str(exc)
    return (f"the training failed at step {step} ({type(exc).__name__}); the log has the "
            f"details.\n{kept}")


def main(argv: list[str] | None = None) -> int:
    """`local_train JOB_FOLDER`: train, printing events as JSON lines; 0 unless it failed."""
    from ...privacy import disable_telemetry

    disable_telemetry()
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: local_train JOB_FOLDER", file=sys.stderr)
        return 2
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()

    commands = Commands()
    commands.listen(sys.stdin)
    trainer: Trainer | None = None
    try:
        trainer = Trainer(args[0], emit, commands)
        trainer.run()
        return 0
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc(file=sys.stderr)
        emit({"event": "error", "message": failure_message(exc, trainer),
              "step": trainer.step if trainer else 0})
        return 1


if __name__ == "__main__":
    sys.exit(main())
