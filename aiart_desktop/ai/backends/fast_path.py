"""The local backend's fast path for live painting: TAESD decoding, channels_last, the UNet's
`torch.compile`, attention processors. It imports neither torch nor diffusers: the local backend
(backends/local.py, the only importer) passes its `torch` in.

    compiled = speed_up(pipe, "cuda", compile_unet=True, torch=torch)   # once, at load
    images = taesd_decode(pipe, taesd, latents, torch)                  # float RGB in [0, 1]
    uncompile(pipe)                                                      # a compile that failed

TAESD (diffusers' `AutoencoderTiny`: madebyollin/taesd for SD 1.x/2.x and SD-Turbo, taesdxl for
SDXL) decodes the latents the diffusion model works on (the VAE's latents times its
`scaling_factor`) directly: its own config's `scaling_factor` is 1.0, so `latents /
taesd.config.scaling_factor` is what diffusers itself does when a pipeline's `vae` is an
AutoencoderTiny. Its output is in [-1, 1] like the VAE's, and the pipeline's own
`image_processor.postprocess` makes pixels of it, as after the VAE.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# channels_last is applied on CUDA only. Measured on this project's 2-core CPU (tiny random
# SD, img2img 4 steps; a 64²-latent-8 model and a (64, 128)-channel UNet at 256²): no steady
# gain on the CPU (256²: 0.8-2.1 s contiguous against 1.6-3.9 s channels_last, noisy), and
# the CPU's convolutions then give other float roundings (max 2e-6), which would change the
# pixels of a seed the user already has. On CUDA (fp16, tensor cores) it is the layout the
# convolutions want.
CHANNELS_LAST_DEVICES = ("cuda",)
SDPA = "AttnProcessor2_0"   # diffusers' default processor: torch's scaled_dot_product_attention


def speed_up(pipe: Any, device: str, compile_unet: bool, torch: Any) -> bool:
    """channels_last for the UNet and the VAE where it helps (`CHANNELS_LAST_DEVICES`), and
    the UNet compiled with `torch.compile` when asked. Returns whether the UNet is compiled: a
    compile that fails here leaves it eager, with a line in the log."""
    if device in CHANNELS_LAST_DEVICES:
        for name in ("unet", "vae"):
            module = getattr(pipe, name, None)
            if module is not None:
                module.to(memory_format=torch.channels_last)
    if not compile_unet:
        return False
    try:
        # The module compiles itself in place (`nn.Module.compile`): the pipelines derived
        # with `from_pipe`, LoRAs and the IP-Adapter keep the same UNet object. Tracing
        # happens at the first step, so a failure may also come then (`uncompile`).
        pipe.unet.compile(fullgraph=False)
    except Exception as exc:
        log.warning("torch.compile of the UNet failed; running eager: %s", exc)
        uncompile(pipe)
        return False
    log.info("the UNet is compiled with torch.compile (the first frame traces it)")
    return True


def uncompile(pipe: Any) -> None:
    """The UNet back to eager (its compiled call dropped)."""
    unet = getattr(pipe, "unet", None)
    if unet is not None:
        unet.__dict__.pop("_compiled_call_impl", None)


def is_compiled(pipe: Any) -> bool:
    unet = getattr(pipe, "unet", None)
    return unet is not None and unet.__dict__.get("_compiled_call_impl") is not None


def attention_processors(pipe: Any) -> set[str]:
    """The class names of the UNet's attention processors (`SDPA` by diffusers' default)."""
    procs = getattr(pipe.unet, "attn_processors", {}) or {}
    return {type(p).__name__ for p in procs.values()}


def taesd_decode(pipe: Any, taesd: Any, latents: Any, torch: Any) -> np.ndarray:
    """The pipeline's final `latents` (its `output_type="latent"` result) decoded by `taesd`:
    (n, h, w, 3) float32 in [0, 1], as the pipeline's own `output_type="np"` gives."""
    lat = latents.to(device=taesd.device, dtype=taesd.dtype)
    lat = lat / float(getattr(taesd.config, "scaling_factor", 1.0) or 1.0)
    image = taesd.decode(lat, return_dict=False)[0]
    watermark = getattr(pipe, "watermark", None)  # SDXL's invisible watermark, when installed
    if watermark is not None:
        image = watermark.apply_watermark(image)
    out = pipe.image_processor.postprocess(image.float(), output_type="np")
    return np.asarray(out, np.float32)
