"""A `Job` as a ComfyUI API-format workflow, from ComfyUI's core nodes only (a stock server
with no custom nodes runs it).

    wf = build(job, ckpt="sd15.safetensors", inpainting=False, image="aiart-….png",
               mask="aiart-….png")
    wf.graph      # {node id: {"class_type": ..., "inputs": ...}}: POST /prompt's "prompt"
    wf.outputs    # one PreviewImage node per seed, in the job's seed order

The loader and both text encodings are shared; each seed has its own KSampler chain, so the
picture of seed i is the one a job with that seed alone makes (a record re-makes its image).
- txt2img: EmptyLatentImage -> KSampler (denoise 1);
- img2img: LoadImage -> VAEEncode -> KSampler (denoise = strength);
- inpaint (outpaint comes prepared as an inpaint of the grown region): the mask is a grey PNG
  read by LoadImageMask's red channel (1 = repaint);
  - an ordinary checkpoint: VAEEncode -> SetLatentNoiseMask -> KSampler (denoise = strength);
  - an inpainting checkpoint (9-channel UNet): VAEEncodeForInpaint at full strength,
    InpaintModelConditioning below it (both ComfyUI's inpaint conditionings).
LoRAs: a LoraLoader per LoRA between the checkpoint and everything that uses its model and
CLIP (strength_model = strength_clip = the weight). Controls: a ControlNetLoader and a
ControlNetApplyAdvanced per control (its uploaded picture, strength, start and end) on both
conditionings. Upscale (`upscale`): LoadImage -> ImageUpscaleWithModel (UpscaleModelLoader).
Pictures go out as PreviewImage (the server's temp folder, fetched with /view).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RequestError
from ..job import Job

# The app's scheduler names -> ComfyUI's (sampler, scheduler).
SAMPLERS: dict[str, tuple[str, str]] = {
    "euler_a": ("euler_ancestral", "normal"),
    "dpmpp_2m": ("dpmpp_2m", "karras"),
    "ddim": ("ddim", "ddim_uniform"),
    "lcm": ("lcm", "sgm_uniform"),
}
OPS = ("txt2img", "img2img", "inpaint")


@dataclass
class Workflow:
    graph: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def add(self, node_id: str, class_type: str, **inputs: Any) -> list[Any]:
        self.graph[node_id] = {"class_type": class_type, "inputs": inputs}
        return [node_id, 0]


def out(node: list[Any], index: int) -> list[Any]:
    return [node[0], index]


def upscale(image: str, model: str) -> Workflow:
    """The upscale of the uploaded picture `image` by the server's upscale model `model`."""
    wf = Workflow()
    loader = wf.add("upscaler", "UpscaleModelLoader", model_name=model)
    pixels = wf.add("image", "LoadImage", image=image)
    scaled = wf.add("upscaled", "ImageUpscaleWithModel", upscale_model=loader, image=pixels)
    wf.add("out_0", "PreviewImage", images=scaled)
    wf.outputs.append("out_0")
    return wf


def build(job: Job, ckpt: str, inpainting: bool = False, image: str = "",
          mask: str = "", loras: tuple[tuple[str, float], ...] = (),
          controls: tuple[tuple[str, str], ...] = ()) -> Workflow:
    """The workflow of `job` (see the module); `image` / `mask`: the uploaded pictures'
    names on the server (img2img and inpaint); `loras`: (the server's LoRA file, weight);
    `controls`: (the server's ControlNet file, the uploaded control picture) per
    `job.controls`."""
    if job.op not in OPS:
        raise RequestError(f"a ComfyUI server cannot run {job.op} here")
    if job.op != "txt2img" and not image:
        raise RequestError(f"{job.op} needs a picture")
    if job.op == "inpaint" and not mask:
        raise RequestError("inpaint needs a mask")
    sampler, scheduler = SAMPLERS.get(job.scheduler, SAMPLERS["euler_a"])
    wf = Workflow()
    loader = wf.add("ckpt", "CheckpointLoaderSimple", ckpt_name=ckpt)
    model, clip, vae = out(loader, 0), out(loader, 1), out(loader, 2)
    for i, (lora, weight) in enumerate(loras):
        added = wf.add(f"lora_{i}", "LoraLoader", model=model, clip=clip, lora_name=lora,
                       strength_model=float(weight), strength_clip=float(weight))
        model, clip = out(added, 0), out(added, 1)
    positive = wf.add("positive", "CLIPTextEncode", text=job.prompt, clip=clip)
    negative = wf.add("negative", "CLIPTextEncode", text=job.negative_prompt, clip=clip)
    for i, (control, (net, picture)) in enumerate(zip(job.controls, controls, strict=True)):
        loaded = wf.add(f"controlnet_{i}", "ControlNetLoader", control_net_name=net)
        hint = wf.add(f"control_image_{i}", "LoadImage", image=picture)
        applied = wf.add(f"control_{i}", "ControlNetApplyAdvanced", positive=positive,
                         negative=negative, control_net=loaded, image=hint,
                         strength=control.strength, start_percent=control.start,
                         end_percent=control.end)
        positive, negative = out(applied, 0), out(applied, 1)
    denoise = 1.0 if job.op == "txt2img" else float(job.strength)
    if job.op == "txt2img":
        latent = wf.add("latent", "EmptyLatentImage", width=job.width, height=job.height,
                        batch_size=1)
    else:
        pixels = wf.add("image", "LoadImage", image=image)
        if job.op == "img2img":
            latent = wf.add("latent", "VAEEncode", pixels=pixels, vae=vae)
        else:
            noise_mask = wf.add("mask", "LoadImageMask", image=mask, channel="red")
            if inpainting and denoise >= 0.99:
                latent = wf.add("latent", "VAEEncodeForInpaint", pixels=pixels, vae=vae,
                                mask=noise_mask, grow_mask_by=0)
                denoise = 1.0
            elif inpainting:
                cond = wf.add("inpaint_cond", "InpaintModelConditioning", positive=positive,
                              negative=negative, vae=vae, pixels=pixels, mask=noise_mask)
                positive, negative, latent = out(cond, 0), out(cond, 1), out(cond, 2)
            else:
                encoded = wf.add("encoded", "VAEEncode", pixels=pixels, vae=vae)
                latent = wf.add("latent", "SetLatentNoiseMask", samples=encoded,
                                mask=noise_mask)
    for i, seed in enumerate(job.seeds):
        sampled = wf.add(f"sample_{i}", "KSampler", seed=int(seed) & 0xFFFFFFFFFFFFFFFF,
                         steps=job.steps, cfg=job.guidance, sampler_name=sampler,
                         scheduler=scheduler, denoise=denoise, model=model,
                         positive=positive, negative=negative, latent_image=latent)
        decoded = wf.add(f"decode_{i}", "VAEDecode", samples=sampled, vae=vae)
        wf.add(f"out_{i}", "PreviewImage", images=decoded)
        wf.outputs.append(f"out_{i}")
    return wf
