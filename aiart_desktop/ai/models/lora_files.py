"""What a LoRA or textual-inversion file is, read from its `.safetensors` header without torch.

    tensors, meta, offset = read_header(path)   # the tensor table, the metadata, where data starts
    lora_arch(tensors, meta)                    # "sd", "sdxl", "sd2", "flux"...
    inspect_lora(path) / inspect_embedding(path)   # the facts, or a ModelLoadError naming the file

The architecture comes from the training metadata (`ss_base_model_version`,
`modelspec.architecture`), else from the tensor names (a second text encoder: SDXL) and shapes
(the cross-attention width: 768 SD 1.x, 1024 SD 2, 2048 SDXL). Trigger words are kohya's
`ss_tag_frequency`, most frequent first. Only `.safetensors` files are read: a pickle is refused
before anything is opened. models/loras.py lists, caches and adds the files.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError, UnsafeCheckpointError, quoted
from .checkpoints import PICKLE_EXTENSIONS, safetensors_header

MAX_TRIGGERS = 40
ARCH_LABELS = {"sd": "SD 1.5", "sdxl": "SDXL", "sd2": "SD 2.x", "sd3": "SD 3", "flux": "FLUX"}
SUPPORTED = ("sd", "sdxl")


def arch_label(arch: str) -> str:
    return ARCH_LABELS.get(arch, arch or "an unknown model")


def read_header(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str], int]:
    """(tensor table, metadata, data offset) of a .safetensors file: the tensor table checked
    against the file's size (a damaged or truncated file raises a ModelLoadError naming it)."""
    tensors = safetensors_header(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        raw = json.loads(f.read(n).decode("utf-8"))
    meta = raw.get("__metadata__") or {}
    meta = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return tensors, meta, 8 + n


def _shape(t: dict[str, Any]) -> list[int]:
    shape = t.get("shape") if isinstance(t, dict) else None
    return [int(s) for s in shape] if isinstance(shape, list) else []


def lora_layout(keys: list[str]) -> str:
    """"kohya", "diffusers", "lycoris" (LoHa/LoKr: not applied by diffusers) or "" (no LoRA)."""
    if any(".hada_w1_a" in k or ".lokr_w1" in k for k in keys):
        return "lycoris"
    kohya = ("lora_down.weight", "lora_up.weight")
    if any(k.endswith(kohya) for k in keys):
        return "kohya" if any(k.startswith(("lora_unet_", "lora_te")) for k in keys) \
            else "diffusers"
    if any(k.endswith((".lora_A.weight", ".lora.down.weight", ".lora_linear_layer.down.weight"))
           for k in keys):
        return "diffusers"
    return ""


def lora_arch(tensors: dict[str, dict[str, Any]], meta: dict[str, str]) -> str:
    """The base model a LoRA was trained for, from its metadata, else its tensor names and
    shapes: "sd", "sdxl", "sd2", or another family's name ("flux", "sd3")."""
    base = meta.get("ss_base_model_version", "").lower()
    spec = meta.get("modelspec.architecture", "").lower()
    if base.startswith("sdxl") or spec.startswith("stable-diffusion-xl"):
        return "sdxl"
    if base.startswith(("sd_v2", "sd_2")) or meta.get("ss_v2") == "True" \
            or spec.startswith("stable-diffusion-v2"):
        return "sd2"
    if base.startswith("sd_v1") or spec.startswith("stable-diffusion-v1"):
        return "sd"
    if "flux" in base or "flux" in spec:
        return "flux"
    if base.startswith("sd3") or spec.startswith("stable-diffusion-3"):
        return "sd3"
    keys = list(tensors)
    if any(k.startswith(("lora_te2_", "text_encoder_2.", "te2.")) for k in keys):
        return "sdxl"
    if any(k.startswith(("transformer.", "lora_transformer_")) or "double_blocks" in k
           for k in keys):
        return "flux"
    for k, t in tensors.items():  # the cross-attention width: 768 SD 1.x, 1024 SD 2, 2048 SDXL
        if "attn2" in k and "to_k" in k and k.endswith(("lora_down.weight", "lora_A.weight",
                                                        "lora.down.weight")):
            width = (_shape(t) or [0, 0])[-1]
            if width == 2048:
                return "sdxl"
            if width == 1024:
                return "sd2"
            break
    if any("transformer_blocks_1_" in k or "transformer_blocks.1." in k for k in keys):
        return "sdxl"  # SDXL stacks 2-10 transformer blocks per attention; SD 1.x one
    return "sd"


def triggers(meta: dict[str, str]) -> tuple[str, ...]:
    """The training tags of a kohya LoRA (`ss_tag_frequency`), most frequent first."""
    counts: dict[str, int] = {}
    phrase = meta.get("modelspec.trigger_phrase", "").strip()
    try:
        freq = json.loads(meta.get("ss_tag_frequency") or "{}")
    except ValueError:
        freq = {}
    if isinstance(freq, dict):
        for tags in freq.values():
            if isinstance(tags, dict):
                for tag, n in tags.items():
                    word = str(tag).strip()
                    if word:
                        try:
                            counts[word] = counts.get(word, 0) + int(n)
                        except (TypeError, ValueError):
                            continue
    ordered = sorted(counts, key=lambda w: (-counts[w], w.lower()))
    words = ([phrase] if phrase else []) + [w for w in ordered if w != phrase]
    return tuple(words[:MAX_TRIGGERS])


def embedding_facts(tensors: dict[str, dict[str, Any]]) -> tuple[str, int]:
    """(arch, vectors) of a textual-inversion embedding; ("", 0) when it is not one."""
    if "clip_l" in tensors and "clip_g" in tensors:
        return "sdxl", (_shape(tensors["clip_g"]) or [1])[0]
    keys = [k for k in tensors if k == "emb_params" or k.startswith("string_to_param")]
    if not keys and len(tensors) == 1:
        keys = list(tensors)  # a diffusers concept: {token: vector(s)}
    if len(keys) != 1:
        return "", 0
    shape = _shape(tensors[keys[0]])
    if not shape or len(shape) > 2:
        return "", 0
    vectors, width = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
    return ("sd2" if width == 1024 else "sd"), vectors


def check_suffix(path: Path, what: str) -> None:
    suffix = path.suffix.lower()
    if suffix in PICKLE_EXTENSIONS:
        raise UnsafeCheckpointError(
            f"{quoted(path)} is a pickle file, which can run code when it is loaded: "
            f"{what}s are taken only as .safetensors.\nLook for a .safetensors version where "
            "you found it.")
    if suffix != ".safetensors":
        raise ModelLoadError(f"{quoted(path)} is not a .safetensors file: {what}s are taken "
                             "only as .safetensors")


def inspect_lora(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The facts of a LoRA file (arch, layout, triggers, alias), refused with a message naming
    the file when it is a pickle, damaged, no LoRA, or for a model family this program does not
    run."""
    p = Path(path)
    check_suffix(p, "LoRA")
    tensors, meta, _ = read_header(p)
    layout = lora_layout(list(tensors))
    if layout == "lycoris":
        raise ModelLoadError(f"{quoted(p)} is a LyCORIS file (LoHa / LoKr), which this program "
                             "cannot apply yet: only LoRAs are taken")
    if not layout:
        raise ModelLoadError(f"{quoted(p)} holds no LoRA weights: it may be a checkpoint or an "
                             "embedding (add those in their own tab)")
    arch = lora_arch(tensors, meta)
    if arch not in SUPPORTED:
        raise ModelLoadError(f"{quoted(p)} is a LoRA for {arch_label(arch)} models, which this "
                             "program does not run: only SD 1.5 and SDXL LoRAs are taken")
    return {"kind": "lora", "arch": arch, "layout": layout, "triggers": list(triggers(meta)),
            "alias": meta.get("ss_output_name", ""),
            "trained_here": meta.get("aiart.trained_here") == "true"}


def inspect_embedding(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The facts of an embedding file (arch, vectors), refused with a message naming the file
    when it is a pickle, damaged, or not an embedding."""
    p = Path(path)
    check_suffix(p, "embedding")
    if any(c.isspace() for c in p.stem):
        raise ModelLoadError(f"the embedding {quoted(p)} has a space in its name: rename the "
                             "file (the name is the word that calls it in a prompt)")
    tensors, _, _ = read_header(p)
    arch, vectors = embedding_facts(tensors)
    if not arch:
        raise ModelLoadError(f"{quoted(p)} is not a textual-inversion embedding (it holds "
                             f"{len(tensors)} tensors, not one token's vectors)")
    if arch not in SUPPORTED:
        raise ModelLoadError(f"{quoted(p)} is an embedding for {arch_label(arch)} models, which "
                             "this program does not run")
    return {"kind": "embedding", "arch": arch, "vectors": vectors}
