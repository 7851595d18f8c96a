"""Control models (ControlNets) and the detectors that make depth and pose pictures.

A control model steers a base model with a control picture (ai/controls.py). It is a
diffusers folder (`config.json` + `diffusion_pytorch_model[.fp16].safetensors`) or a single
`.safetensors` file: in diffusers' key layout (its config beside it: `<name>.json`, or the
folder's `config.json`), or in the original (A1111 / LDM) layout, read with the shipped
SD 1.5 / SDXL ControlNet settings. Pickles are refused unless allowed, as for checkpoints.

- `inspect_control_model(path)` -> `ControlModelInfo`: its architecture ("sd" / "sdxl", from
  the cross-attention width and the SDXL time embedding), whether it is a union model (one
  model, several kinds: xinsir's SDXL union ControlNet), and the kinds it serves (a single
  model's from its name: "control_v11p_sd15_lineart" serves lineart);
- `UNION_MODES`: the union model's control type index of each kind;
- `shipped_config(kind, cache_root)`: a folder holding the shipped ControlNet config for an
  original-layout single file.

The registry (models/registry.py) lists them; the local backend (backends/local_control.py)
loads them. Nothing here imports torch.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.io.atomic import atomic_write_json
from ..conditioning import CONTROL_KINDS, CONTROL_LABELS
from ..errors import (
    IncompleteModelError,
    ModelLoadError,
    ModelNotFoundError,
    UnsafeCheckpointError,
    quoted,
)
from .checkpoints import PICKLE_EXTENSIONS, safetensors_header

CONTROL_FOLDER = "controlnet"        # <models root>/controlnet: the user's control models
CONTROL_CLASSES = ("ControlNetModel", "ControlNetUnionModel")
# xinsir/controlnet-union-sdxl-1.0: the control type index of each kind (tile: ProMax only).
UNION_MODES = {"pose": 0, "depth": 1, "scribble": 2, "softedge": 2, "canny": 3, "lineart": 3,
               "tile": 6}
_NAME_KINDS = (("scribble", ("scribble",)), ("lineart", ("lineart", "line_art", "line-art")),
               ("softedge", ("softedge", "soft_edge", "soft-edge", "hed", "pidi")),
               ("canny", ("canny",)), ("depth", ("depth",)), ("pose", ("pose",)),
               ("tile", ("tile",)))
WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors")

# The settings of the standard ControlNets (diffusers' ControlNetModel defaults fill the rest):
# lllyasviel/control_v11p_sd15_* and diffusers/controlnet-canny-sdxl-1.0.
SHIPPED_CONFIGS: dict[str, dict[str, Any]] = {
    "sd15": {"_class_name": "ControlNetModel", "cross_attention_dim": 768,
             "conditioning_embedding_out_channels": [16, 32, 96, 256]},
    "sdxl": {"_class_name": "ControlNetModel", "cross_attention_dim": 2048,
             "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280],
             "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
             "transformer_layers_per_block": [1, 2, 10], "use_linear_projection": True,
             "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
             "projection_class_embeddings_input_dim": 2816,
             "conditioning_embedding_out_channels": [16, 32, 96, 256]},
}


@dataclass(frozen=True)
class ControlModelInfo:
    """An installed control model. `layout`: "folder" (diffusers folder), "diffusers" (a
    single file in diffusers' key layout, `config` the folder holding its config.json) or
    "original" (A1111 / LDM key layout, `config` a shipped config kind: "sd15", "sdxl")."""

    id: str
    name: str
    path: Path
    arch: str                       # "sd" or "sdxl"
    kinds: tuple[str, ...]          # the control kinds it serves (empty: only when picked)
    union: bool = False
    cross_dim: int | None = None
    size_bytes: int = 0
    layout: str = "folder"
    config: str = ""
    variant: str | None = None
    source: str = "folder"          # "catalogue", "folder" (added or in <models>/controlnet)
    licence: str = ""
    allow_pickle: bool = False

    def serves(self, kind: str) -> bool:
        return kind in self.kinds

    def union_mode(self, kind: str) -> int:
        return UNION_MODES[kind]

    @property
    def kinds_label(self) -> str:
        return ", ".join(CONTROL_LABELS[k] for k in self.kinds) or "any (pick it by name)"

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "path": str(self.path), "arch": self.arch,
                "kinds": list(self.kinds), "union": self.union, "size_bytes": self.size_bytes,
                "source": self.source, "licence": self.licence}


def kinds_from_name(name: str) -> tuple[str, ...]:
    """The control kinds a model's name says it serves ("control_v11p_sd15_lineart")."""
    n = name.lower()
    found = [kind for kind, words in _NAME_KINDS if any(w in n for w in words)]
    if "lineart" in found and "scribble" in found:
        found.remove("lineart")
    return tuple(found)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IncompleteModelError(f"the control model {quoted(path.parent)} is incomplete: "
                                   "config.json is missing") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read {quoted(path)}: it is damaged") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{quoted(path)} is damaged (not a settings file)")
    return data


def _union_kinds(cfg: dict[str, Any]) -> tuple[str, ...]:
    n = int(cfg.get("num_control_type") or 6)
    return tuple(k for k in CONTROL_KINDS if UNION_MODES[k] < n)


def _arch(cross: int | None, sdxl_time: bool) -> str:
    return "sdxl" if sdxl_time or cross == 2048 else "sd"


def _check_config(cfg: dict[str, Any], where: Path) -> bool:
    """Whether the config describes a union model (ModelLoadError: not a ControlNet)."""
    cls = str(cfg.get("_class_name", ""))
    if cls not in CONTROL_CLASSES:
        raise ModelLoadError(f"{quoted(where)} holds a {cls or 'unknown'} model, not a "
                             "ControlNet")
    return cls == "ControlNetUnionModel"


def _cross(cfg: dict[str, Any]) -> int | None:
    dim: Any = cfg.get("cross_attention_dim")
    try:
        return int(dim[0] if isinstance(dim, list) else dim)
    except (TypeError, ValueError, IndexError):
        return None


def inspect_control_model(path: str | os.PathLike[str], allow_pickle: bool = False,
                          name: str | None = None) -> ControlModelInfo:
    """Check a control model folder or file and say what it is (clear errors otherwise); its
    id is left empty for the registry to fill."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelNotFoundError(f"the control model {quoted(p)} does not exist (moved or "
                                 "deleted?)")
    label = name or (p.name if p.is_dir() else p.stem)
    if p.is_dir():
        return _inspect_folder(p, allow_pickle, label)
    if p.suffix.lower() in PICKLE_EXTENSIONS:
        raise UnsafeCheckpointError(
            f"{quoted(p)} is a pickle file, which can run code when loaded.\n"
            "Use the .safetensors version of the control model.")
    if p.suffix.lower() != ".safetensors":
        raise ModelLoadError(f"{quoted(p)}: unknown control model type {p.suffix or '(none)'!r} "
                             "(use a .safetensors file or a diffusers folder)")
    return _inspect_file(p, label)


def _inspect_folder(root: Path, allow_pickle: bool, label: str) -> ControlModelInfo:
    cfg = _read_config(root / "config.json")
    union = _check_config(cfg, root)
    cache = root / ".cache" / "huggingface"
    if cache.is_dir() and any(cache.rglob("*.incomplete")):
        raise IncompleteModelError(f"the control model {quoted(root)} is incomplete: the "
                                   "download was interrupted (download it again to resume)")
    weights = [root / n for n in WEIGHT_NAMES if (root / n).is_file()]
    pickles = [q for q in root.glob("*.bin") if q.is_file()]
    if not weights and pickles and not allow_pickle:
        raise UnsafeCheckpointError(
            f"{quoted(root)} has only pickle weights ({pickles[0].name}), which can run code "
            "when loaded.\nConvert them to .safetensors, or allow pickle checkpoints.")
    if not weights and not pickles:
        raise IncompleteModelError(f"the control model {quoted(root)} is incomplete: no "
                                   "diffusion_pytorch_model.safetensors")
    size = 0
    for w in weights or pickles:
        if w.suffix == ".safetensors":
            safetensors_header(w)
        size += w.stat().st_size
    variant = "fp16" if weights and all(".fp16." in w.name for w in weights) else None
    cross = _cross(cfg)
    arch = _arch(cross, cfg.get("addition_embed_type") == "text_time")
    kinds = _union_kinds(cfg) if union else kinds_from_name(label)
    return ControlModelInfo("", label, root, arch, kinds, union, cross, size, "folder", "",
                            variant, allow_pickle=bool(pickles and not weights))


def _sidecar_config(p: Path) -> Path | None:
    """The config.json describing a diffusers-layout single file, if one lies beside it."""
    tail = p.stem.removeprefix("diffusion_pytorch_model") if p.stem.startswith(
        "diffusion_pytorch_model") else None
    options = [p.with_suffix(".json"), p.parent / f"{p.stem}.config.json"]
    if tail is not None:
        options.append(p.parent / f"config{tail}.json")
    options.append(p.parent / "config.json")
    return next((o for o in options if o.is_file()), None)


def _inspect_file(p: Path, label: str) -> ControlModelInfo:
    header = safetensors_header(p)
    keys = set(header)
    size = p.stat().st_size
    if "controlnet_cond_embedding.conv_in.weight" in keys:  # diffusers' layout
        sidecar = _sidecar_config(p)
        if sidecar is None:
            raise ModelLoadError(f"{quoted(p)} is a ControlNet without its settings: put its "
                                 "config.json beside it\n(as “<name>.json”), or add its folder")
        cfg = _read_config(sidecar)
        union = _check_config(cfg, sidecar)
        cross = _cross(cfg)
        arch = _arch(cross, "add_embedding.linear_1.weight" in keys)
        kinds = _union_kinds(cfg) if union else kinds_from_name(label)
        # The folder holding the config, as diffusers' loaders take it.
        return ControlModelInfo("", label, p, arch, kinds, union, cross, size, "diffusers",
                                str(sidecar))
    prefix = "control_model." if "control_model.input_hint_block.0.weight" in keys else ""
    if f"{prefix}input_hint_block.0.weight" not in keys:
        raise ModelLoadError(f"{quoted(p)} is not a ControlNet (it may be a checkpoint, a LoRA "
                             "or another kind of model)")
    sdxl = f"{prefix}label_emb.0.0.weight" in keys
    cross = None
    for k, t in header.items():
        if k.endswith("attn2.to_k.weight") and isinstance(t, dict) and len(t["shape"]) == 2:
            cross = int(t["shape"][1])
            break
    arch = _arch(cross, sdxl)
    if arch == "sd" and cross not in (None, 768):
        raise ModelLoadError(f"{quoted(p)} is a ControlNet for Stable Diffusion 2.x, whose "
                             "original layout is not supported: use its diffusers folder")
    return ControlModelInfo("", label, p, arch, kinds_from_name(label), False, cross, size,
                            "original", "sdxl" if arch == "sdxl" else "sd15")


def shipped_config(kind: str, cache_root: Path) -> Path:
    """A folder holding config.json for an original-layout ControlNet of `kind` ("sd15",
    "sdxl"), written (atomically) under `cache_root` the first time."""
    folder = cache_root / f"controlnet-{kind}"
    target = folder / "config.json"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(target, SHIPPED_CONFIGS[kind], indent=2)
    return folder


# ---- detectors (depth, pose) -----------------------------------------------------------------
DETECTOR_FILES = ("config.json", "model.safetensors")


def check_detector(folder: Path) -> None:
    """Raise an AiError unless `folder` holds a complete detector (transformers layout)."""
    for n in DETECTOR_FILES:
        if not (folder / n).is_file():
            raise IncompleteModelError(f"the detector {quoted(folder)} is incomplete: {n} is "
                                       "missing (download it again)")
    safetensors_header(folder / "model.safetensors")


def slug(text: str) -> str:
    s = re.sub(r"[^a-zA-Z0-9._-]+", "-", text).strip("-.").lower()
    return s[:60] or "controlnet"
