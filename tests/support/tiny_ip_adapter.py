"""A tiny random-weight IP-Adapter for the tiny UNets of `tiny_models.py`, saved in the layout
of the `h94/IP-Adapter` repository, so the app loads it exactly like the real download:

    <folder>/models/ip-adapter_sd15.safetensors         image_proj.* and ip_adapter.<n>.*
    <folder>/models/image_encoder/config.json            a CLIPVisionModelWithProjection
    <folder>/models/image_encoder/model.safetensors

The adapter's tensors have the names and shapes diffusers' `load_ip_adapter` expects (see
`UNet2DConditionLoadersMixin._convert_ip_adapter_image_proj_to_diffusers` and
`_convert_ip_adapter_attn_to_diffusers`): `image_proj.proj` maps the encoder's projected image
embedding (`projection_dim`) to 4 tokens of the UNet's `cross_attention_dim`, `image_proj.norm`
is their LayerNorm, and every cross-attention processor of the UNet, in order, gets
`ip_adapter.<1, 3, 5, ...>.to_k_ip.weight` / `to_v_ip.weight` of shape (its hidden size,
cross_attention_dim).
"""
from __future__ import annotations

import json
from pathlib import Path

TOKENS = 4  # a plain IP-Adapter's image tokens


def cross_attention_layers(unet_config: dict) -> list[int]:
    """Hidden size of each cross-attention processor of a UNet with `unet_config`, in the
    order diffusers numbers them (its `attn_processors` order, skipping self-attention)."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_config(unet_config)
    blocks = list(unet_config["block_out_channels"])
    sizes = []
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            sizes.append(blocks[-1])
        elif name.startswith("up_blocks"):
            sizes.append(list(reversed(blocks))[int(name[len("up_blocks.")])])
        else:
            sizes.append(blocks[int(name[len("down_blocks.")])])
    return sizes


def build_ip_adapter(folder: str | Path, model_folder: str | Path, *, seed: int = 0,
                     subfolder: str = "models", weight_name: str = "ip-adapter_sd15.safetensors",
                     projection_dim: int = 16, scale: float = 0.5) -> Path:
    """A tiny IP-Adapter (and its CLIP image encoder) for the diffusers model in
    `model_folder`, saved under `folder` in the hub layout. Returns `folder`."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    folder = Path(folder)
    unet_config = json.loads((Path(model_folder) / "unet" / "config.json").read_text())
    cross = int(unet_config["cross_attention_dim"])
    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        image_size=32, patch_size=8, num_channels=3, projection_dim=projection_dim))
    encoder.save_pretrained(str(folder / subfolder / "image_encoder"), safe_serialization=True)
    gen = torch.Generator().manual_seed(seed + 1)

    def rand(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen) * scale).contiguous()

    tensors = {
        "image_proj.proj.weight": rand(TOKENS * cross, projection_dim),
        "image_proj.proj.bias": rand(TOKENS * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    for i, hidden in enumerate(cross_attention_layers(unet_config)):
        tensors[f"ip_adapter.{2 * i + 1}.to_k_ip.weight"] = rand(hidden, cross)
        tensors[f"ip_adapter.{2 * i + 1}.to_v_ip.weight"] = rand(hidden, cross)
    (folder / subfolder).mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / subfolder / weight_name))
    return folder
