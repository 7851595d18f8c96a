"""Random-weight add-ons for the test ComfyUI's random SD 1.5 checkpoint (comfy_checkpoint.py).

- a LoRA in kohya's layout: `lora_unet_<the UNet weight's ldm name with _>` (ComfyUI's
  `model_lora_keys_unet` maps those names) with lora_down / lora_up / alpha for every attention
  projection of the checkpoint's UNet;
- a ControlNet in the original (ldm, `control_model.`) layout: the checkpoint's UNet encoder
  (time embedding, input blocks, middle block) with noise added, the hint encoder and one
  1×1 "zero" convolution per input block plus the middle one, all random (not zero, so the
  control changes the picture). ComfyUI detects its layout from the key names
  (`model_config_from_unet`), as for the checkpoint, so the two-level UNet is no problem; a
  diffusers-layout ControlNet would not do: ComfyUI matches those against full SD 1.5 sizes;
- a tiny ESRGAN ×4 upscaler (tiny_upscaler.py), saved as a pickle `.pth` (the state dict in
  the network's order): this ComfyUI's loader (chainner's RRDBNet) reads the input channels
  from the first tensor, and a `.safetensors` file lists `model.0.bias` first, so it refuses
  an ESRGAN `.safetensors` ("UnsupportedModel"); newer servers load both through spandrel.

`addons(cache, ckpt)` builds them once into `cache/<VERSION>/` and returns their paths.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

VERSION = "addons-v2"
LORA = "aiart-test-lora.safetensors"
CONTROLNET = "aiart-test-controlnet-canny.safetensors"
UPSCALER = "aiart-test-esrgan-x4.pth"   # see addons(): a .pth, not .safetensors
UNET = "model.diffusion_model."
HINT = (16, 16, 32, 32, 96, 96, 256)   # cldm's hint encoder widths (then model_channels)


def _lora(ckpt: dict, rank: int = 4) -> dict:
    import torch

    g = torch.Generator().manual_seed(3)
    out = {}
    for key, w in ckpt.items():
        if not (key.startswith(UNET) and re.search(r"attn[12]\.to_(q|k|v|out\.0)\.weight$", key)):
            continue
        name = "lora_unet_" + key[len(UNET):-len(".weight")].replace(".", "_")
        out[f"{name}.lora_down.weight"] = torch.randn(rank, w.shape[1], generator=g) * 0.3
        out[f"{name}.lora_up.weight"] = torch.randn(w.shape[0], rank, generator=g) * 0.3
        out[f"{name}.alpha"] = torch.tensor(float(rank))
    return {k: v.half().contiguous() for k, v in out.items()}


def _controlnet(ckpt: dict) -> dict:
    import torch

    g = torch.Generator().manual_seed(4)
    out = {}
    for key, w in ckpt.items():
        rest = key[len(UNET):]
        if key.startswith(UNET) and rest.startswith(("time_embed.", "input_blocks.",
                                                     "middle_block.")):
            noise = torch.randn(w.shape, generator=g) * 0.02
            out["control_model." + rest] = (w.float() + noise).half()
    blocks = sorted({int(k.split(".")[2]) for k in out if k.startswith("control_model.input_")})

    def width(i: int) -> int:
        for suffix in ("0.out_layers.3.weight", "0.op.weight", "0.weight"):
            k = f"control_model.input_blocks.{i}.{suffix}"
            if k in out:
                return int(out[k].shape[0])
        raise KeyError(f"input block {i}")

    def conv(name: str, cin: int, cout: int, k: int, scale: float = 0.05) -> None:
        out[f"{name}.weight"] = (torch.randn(cout, cin, k, k, generator=g) * scale).half()
        out[f"{name}.bias"] = torch.zeros(cout).half()

    cin = 3
    for j, c in enumerate((*HINT, width(0))):
        conv(f"control_model.input_hint_block.{2 * j}", cin, c, 3, 0.2)
        cin = c
    for i in blocks:
        conv(f"control_model.zero_convs.{i}.0", width(i), width(i), 1, 0.2)
    mid = int(out["control_model.middle_block.2.out_layers.3.weight"].shape[0])
    conv("control_model.middle_block_out.0", mid, mid, 1, 0.2)
    return {k: v.contiguous() for k, v in out.items()}


def addons(cache: Path, ckpt: Path) -> dict[str, Path]:
    """{"loras": path, "controlnet": path, "upscale_models": path}: the add-ons of the
    checkpoint `ckpt`, built into `cache/VERSION` on first use (keyed by the ComfyUI models
    folder each goes in)."""
    out = cache / VERSION
    paths = {"loras": out / LORA, "controlnet": out / CONTROLNET,
             "upscale_models": out / UPSCALER}
    if all(p.is_file() for p in paths.values()):
        return paths
    from safetensors.torch import load_file, save_file

    from .tiny_upscaler import tiny_upscaler

    work = cache / f".{VERSION}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    state = load_file(str(ckpt))
    save_file(_lora(state), str(work / LORA), metadata={"ss_base_model_version": "sd_v1"})
    save_file(_controlnet(state), str(work / CONTROLNET))
    tiny_upscaler(work / UPSCALER, 4)
    out.mkdir(parents=True, exist_ok=True)
    for p in paths.values():
        os.replace(work / p.name, p)
    shutil.rmtree(work, ignore_errors=True)
    return paths
