"""Turn a (tiny) diffusers Stable Diffusion 1.x folder into an original-layout single-file
checkpoint, the format of the `.safetensors` files users download from model sites.

This is the inverse of diffusers' `convert_ldm_*_checkpoint` for the SD 1.x layout, so the
tests can load a real single file through `from_single_file` with no download.
"""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
          ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"),
          ("conv_shortcut", "skip_connection"))
VAE_ATTN = (("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."),
            ("to_out.0.", "proj_out."))


def _unet_key(k: str, layers: int, attn_up: set[int]) -> str:
    top = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
           "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    for d, ldm in top.items():
        if k.startswith(d + "."):
            return ldm + k[len(d):]
    parts = k.split(".")

    def resnet(rest: str) -> str:
        for d, ldm in RESNET:
            rest = rest.replace(d, ldm)
        return rest

    if parts[0] == "down_blocks":
        b = int(parts[1])
        if parts[2] == "downsamplers":
            return f"input_blocks.{(b + 1) * (layers + 1)}.0.op." + ".".join(parts[5:])
        j = int(parts[3])
        idx = b * (layers + 1) + j + 1
        rest = ".".join(parts[4:])
        if parts[2] == "resnets":
            return f"input_blocks.{idx}.0.{resnet(rest)}"
        return f"input_blocks.{idx}.1.{rest}"
    if parts[0] == "mid_block":
        j = int(parts[2])
        rest = ".".join(parts[3:])
        if parts[1] == "resnets":
            return f"middle_block.{0 if j == 0 else 2}.{resnet(rest)}"
        return f"middle_block.1.{rest}"
    if parts[0] == "up_blocks":
        b = int(parts[1])
        if parts[2] == "upsamplers":
            idx = b * (layers + 1) + layers
            return f"output_blocks.{idx}.{2 if b in attn_up else 1}.conv." + ".".join(parts[5:])
        j = int(parts[3])
        idx = b * (layers + 1) + j
        rest = ".".join(parts[4:])
        if parts[2] == "resnets":
            return f"output_blocks.{idx}.0.{resnet(rest)}"
        return f"output_blocks.{idx}.1.{rest}"
    raise KeyError(k)


def _vae_key(k: str, n_up: int) -> str:
    simple = {"conv_norm_out": "norm_out"}
    parts = k.split(".")
    side = parts[0]
    if side in ("quant_conv", "post_quant_conv") or parts[1] in ("conv_in", "conv_out"):
        return k
    if parts[1] in simple:
        return f"{side}.{simple[parts[1]]}." + ".".join(parts[2:])
    if parts[1] == "mid_block":
        rest = ".".join(parts[4:])
        if parts[2] == "resnets":
            return f"{side}.mid.block_{int(parts[3]) + 1}.{rest}".replace(
                "conv_shortcut", "nin_shortcut")
        for d, ldm in VAE_ATTN:
            rest = rest.replace(d, ldm) if rest.startswith(d) else rest
        return f"{side}.mid.attn_1.{rest}"
    i = int(parts[2])
    block = i if side == "encoder" else n_up - 1 - i
    name = "down" if side == "encoder" else "up"
    if parts[3] in ("downsamplers", "upsamplers"):
        kind = "downsample" if side == "encoder" else "upsample"
        return f"{side}.{name}.{block}.{kind}.conv." + ".".join(parts[6:])
    rest = ".".join(parts[5:]).replace("conv_shortcut", "nin_shortcut")
    return f"{side}.{name}.{block}.block.{parts[4]}.{rest}"


def write_sd15_checkpoint(folder: Path, out: Path) -> Path:
    """Write the diffusers SD 1.x folder `folder` as one original-layout .safetensors file."""
    ucfg = json.loads((folder / "unet" / "config.json").read_text())
    layers = int(ucfg["layers_per_block"])
    attn_up = {i for i, t in enumerate(ucfg["up_block_types"]) if "CrossAttn" in t}
    sd: dict = {}
    for k, v in load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors")).items():
        sd["model.diffusion_model." + _unet_key(k, layers, attn_up)] = v
    vcfg = json.loads((folder / "vae" / "config.json").read_text())
    n_up = len(vcfg["up_block_types"])
    for k, v in load_file(str(folder / "vae" / "diffusion_pytorch_model.safetensors")).items():
        ldm = _vae_key(k, n_up)
        if ".mid.attn_1." in ldm and ldm.endswith("weight") and v.ndim == 2:
            v = v[:, :, None, None]  # the original stores these as 1x1 convolutions
        sd["first_stage_model." + ldm] = v
    for k, v in load_file(str(folder / "text_encoder" / "model.safetensors")).items():
        # transformers 5 saves CLIPTextModel without its "text_model." prefix.
        name = k if k.startswith("text_model.") else "text_model." + k
        sd["cond_stage_model.transformer." + name] = v
    save_file({k: v.contiguous() for k, v in sd.items()}, str(out))
    return out


def config_copy(folder: Path, out: Path) -> Path:
    """The folder's configs and tokenizer without weights: a `from_single_file` config."""
    import shutil

    shutil.copytree(folder, out, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return out


def write_sd15_pickle(folder: Path, out: Path) -> Path:
    """The same single-file checkpoint as `write_sd15_checkpoint`, saved with `torch.save`:
    a pickle checkpoint (.ckpt), as older model sites offer them."""
    import torch

    tmp = out.with_suffix(".tmp.safetensors")
    write_sd15_checkpoint(folder, tmp)
    torch.save(load_file(str(tmp)), str(out))
    tmp.unlink()
    return out
