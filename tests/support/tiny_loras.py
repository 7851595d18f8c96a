"""Tiny LoRAs and textual-inversion embeddings for the tiny models of `tiny_models`, built at
test time.

    build_lora(model_folder, out, arch="sd", layout="diffusers")   # peft LoRA layers on the
        # model's own UNet and text encoder(s), random weights, saved with diffusers'
        # `save_lora_weights` ("diffusers") or renamed to kohya's keys ("kohya":
        # lora_unet_..._lora_down.weight / lora_up.weight / alpha)
    build_embedding(out, arch="sd", vectors=2)   # {"emb_params": ...} or {"clip_l", "clip_g"}
    build_pickle(out)                            # a torch pickle (.pt) that must be refused

Everything is real peft / diffusers / safetensors code; only the sizes are small.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]


def _lora_layers(model: Any, targets: list[str], rank: int, seed: int, std: float
                 ) -> dict[str, Any]:
    """peft LoRA layers injected in `model`, B given random weights (peft starts it at zero);
    their state dict in peft's names (`<module>.lora_A.weight`, `lora_B`)."""
    import torch
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model

    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=targets,
                        init_lora_weights="gaussian")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = inject_adapter_in_model(config, model)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0.0, std)
    return {k: v.detach().clone().contiguous() for k, v in
            get_peft_model_state_dict(model).items()}


def _kohya(prefix: str, layers: dict[str, Any], rank: int, text: bool) -> dict[str, Any]:
    """peft names -> kohya's: lora_unet_down_blocks_1_..._to_q.lora_down.weight, .alpha."""
    import torch

    out: dict[str, Any] = {}
    for key, value in layers.items():
        module, ab = key.rsplit(".lora_", 1)
        if text:  # kohya names CLIP's modules as transformers 4 did: text_model.encoder...
            module = "text_model." + module if not module.startswith("text_model.") else module
        name = prefix + module.replace(".", "_")
        out[f"{name}.{'lora_down' if ab.startswith('A') else 'lora_up'}.weight"] = value
        out[f"{name}.alpha"] = torch.tensor(float(rank))
    return out


def build_lora(model_folder: str | Path, out: str | Path, *, arch: str = "sd",
               layout: str = "diffusers", text_encoder: bool = True, seed: int = 1,
               rank: int = 4, std: float = 0.5, metadata: dict[str, str] | None = None) -> Path:
    """A LoRA for the tiny model in `model_folder` (see the module's notes), at `out`."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from safetensors.torch import load_file, save_file
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    folder, out = Path(model_folder), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    unet = _lora_layers(UNet2DConditionModel.from_pretrained(folder / "unet"), UNET_TARGETS,
                        rank, seed, std)
    te: dict[str, Any] = {}
    te2: dict[str, Any] = {}
    if text_encoder:
        te = _lora_layers(CLIPTextModel.from_pretrained(folder / "text_encoder"), TEXT_TARGETS,
                          rank, seed + 1, std)
        if arch == "sdxl":
            te2 = _lora_layers(CLIPTextModelWithProjection.from_pretrained(
                folder / "text_encoder_2"), TEXT_TARGETS, rank, seed + 2, std)
    if layout == "kohya":
        tensors = _kohya("lora_unet_", unet, rank, False)
        tensors.update(_kohya("lora_te1_" if arch == "sdxl" else "lora_te_", te, rank, True))
        tensors.update(_kohya("lora_te2_", te2, rank, True))
        save_file(tensors, str(out), metadata=metadata or {})
        return out
    if layout != "diffusers":
        raise ValueError(layout)
    kw: dict[str, Any] = {"unet_lora_layers": convert_state_dict_to_diffusers(unet)}
    if te:
        kw["text_encoder_lora_layers"] = convert_state_dict_to_diffusers(te)
    if te2:
        kw["text_encoder_2_lora_layers"] = convert_state_dict_to_diffusers(te2)
    cls = StableDiffusionXLPipeline if arch == "sdxl" else StableDiffusionPipeline
    cls.save_lora_weights(str(out.parent), weight_name=out.name, **kw)
    if metadata:
        save_file(load_file(str(out)), str(out), metadata={"format": "pt", **metadata})
    return out


def tag_frequency(tags: dict[str, int]) -> dict[str, str]:
    """kohya's training-tag metadata for `tags` (tag -> count)."""
    return {"ss_tag_frequency": json.dumps({"10_concept": tags})}


def build_embedding(out: str | Path, *, arch: str = "sd", vectors: int = 2, width: int = 32,
                    seed: int = 5, std: float = 1.0) -> Path:
    """A textual-inversion embedding for the tiny models (SD: `emb_params`; SDXL: `clip_l` and
    `clip_g`, one set of vectors per text encoder)."""
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    if arch == "sdxl":
        tensors = {"clip_l": torch.randn(vectors, width, generator=g) * std,
                   "clip_g": torch.randn(vectors, width, generator=g) * std}
    else:
        tensors = {"emb_params": torch.randn(vectors, width, generator=g) * std}
    save_file(tensors, str(out))
    return out


def build_pickle(out: str | Path) -> Path:
    """A torch pickle file (what a .pt LoRA or embedding is): never to be loaded."""
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"emb_params": torch.zeros(1, 32)}, str(out))
    return out
