"""A random-weight checkpoint that a stock ComfyUI takes for Stable Diffusion 1.5.

ComfyUI tells a checkpoint's kind from its key layout (`comfy/model_detection.py`): a UNet with
model_channels 320, context 768 and convolution proj_in is SD 1.5 whatever its depth. So the
UNet here has SD 1.5's channels but two levels of one block each (a 256² 4-step job runs in
seconds on a CPU), while the CLIP text model and the VAE are full size (ComfyUI builds them
from its own SD 1.5 configs and would refuse smaller tensors). Saved in fp16 in the original
(ldm) layout by `ldm_checkpoint.write_sd15_checkpoint`, 573 MB each, with model-spec
metadata naming SD 1 at 256 px.

`checkpoints(cache)` builds them once into `cache/<VERSION>/` (an ignored build folder kept
across test sessions) and returns their paths: "aiart-test-sd15.safetensors" and the
9-channel inpainting one, "aiart-test-sd15-inpainting.safetensors" (same CLIP and VAE).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from safetensors.torch import load_file, save_file

from .ldm_checkpoint import write_sd15_checkpoint

VERSION = "sd15-random-v2"   # change it to rebuild every cached checkpoint
PLAIN = "aiart-test-sd15.safetensors"
INPAINT = "aiart-test-sd15-inpainting.safetensors"
# Stability's model-spec keys, as trainers write them: what a client may read from the
# server's /view_metadata without loading the weights. 256 px keeps CPU jobs short.
METADATA = {"modelspec.architecture": "stable-diffusion-v1", "modelspec.resolution": "256x256"}


def _unet(in_channels: int):  # type: ignore[no-untyped-def]
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=32, in_channels=in_channels, out_channels=4, layers_per_block=1,
        block_out_channels=(320, 640),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32)


def _parts(folder: Path) -> None:
    """CLIP-L text model and SD's VAE, full size, random, saved as diffusers parts."""
    import torch
    from diffusers import AutoencoderKL
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    clip = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
        projection_dim=768))
    clip.half().save_pretrained(str(folder / "text_encoder"), safe_serialization=True)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
        block_out_channels=(128, 256, 512, 512), norm_num_groups=32, sample_size=256,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    vae.half().save_pretrained(str(folder / "vae"), safe_serialization=True)


def checkpoints(cache: Path) -> dict[str, Path]:
    """{"plain": path, "inpaint": path}, built into `cache/VERSION` on first use (with a
    `built.txt` noting how long it took)."""
    out = cache / VERSION
    paths = {"plain": out / PLAIN, "inpaint": out / INPAINT}
    if all(p.is_file() for p in paths.values()):
        return paths
    import torch

    t0 = time.perf_counter()
    work = cache / f".{VERSION}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with torch.random.fork_rng():
        _parts(work)
        for kind, channels in (("plain", 4), ("inpaint", 9)):
            torch.manual_seed(1)
            _unet(channels).half().save_pretrained(str(work / "unet"), safe_serialization=True)
            tmp = write_sd15_checkpoint(work, work / "tmp.safetensors")
            save_file(load_file(str(tmp)), str(work / paths[kind].name), metadata=METADATA)
            tmp.unlink()
    out.mkdir(parents=True, exist_ok=True)
    for p in paths.values():
        os.replace(work / p.name, p)
    (out / "built.txt").write_text(f"built in {time.perf_counter() - t0:.1f} s\n")
    shutil.rmtree(work, ignore_errors=True)
    return paths
