"""Tiny random-weight ControlNets and control detectors, saved in the layouts users have.

- `build_controlnet(folder, model_folder)`: a `ControlNetModel` made from the tiny base
  model's UNet (`ControlNetModel.from_unet`), saved as a diffusers folder;
  `union=True` makes a tiny `ControlNetUnionModel` (8 control types, as xinsir's ProMax);
- `save_single_file(folder, file)`: the same weights as one `.safetensors` file in diffusers'
  key layout, its config beside it as `<name>.json`;
- `build_depth_detector(folder)` / `build_pose_detector(folder)`: a tiny Depth Anything
  (`DepthAnythingForDepthEstimation`) and ViTPose (`VitPoseForPoseEstimation`, 17 COCO
  keypoints) in the transformers layout (config.json, model.safetensors,
  preprocessor_config.json).

A fresh ControlNet's output convolutions are zero ("zero convolutions"), so it would change
nothing: every all-zero weight is filled with small random values, so the control picture
visibly steers the tiny model (deterministically: seeded).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

UNION_EXTRA = {"num_control_type": 8, "num_trans_head": 4, "num_trans_layer": 1}


def _wake(model: Any, seed: int, scale: float = 0.3) -> None:
    """Fill every all-zero weight of `model` with seeded random values."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() and not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * scale)


def build_controlnet(folder: str | Path, model_folder: str | Path, *, seed: int = 0,
                     union: bool = False) -> Path:
    """A tiny ControlNet for the diffusers model in `model_folder`, saved in `folder`."""
    import torch
    from diffusers import ControlNetModel, ControlNetUnionModel, UNet2DConditionModel

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(str(Path(model_folder) / "unet"))
    cond = (16, 32, 32, 32)
    if union:
        cfg = dict(unet.config)
        keep = {k: cfg[k] for k in (
            "in_channels", "down_block_types", "block_out_channels", "layers_per_block",
            "cross_attention_dim", "attention_head_dim", "use_linear_projection",
            "addition_embed_type", "addition_time_embed_dim", "transformer_layers_per_block",
            "projection_class_embeddings_input_dim", "norm_num_groups") if k in cfg}
        ch = int(cfg["block_out_channels"][0])
        net = ControlNetUnionModel(**keep, conditioning_embedding_out_channels=cond,
                                   num_trans_channel=ch, num_proj_channel=ch, **UNION_EXTRA)
    else:
        net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=cond)
    _wake(net, seed + 1)
    net.save_pretrained(str(folder), safe_serialization=True)
    return folder


def save_single_file(folder: str | Path, file: str | Path) -> Path:
    """The ControlNet in diffusers folder `folder` as one .safetensors file (diffusers key
    layout) with its config beside it as `<name>.json`."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(folder) / "diffusion_pytorch_model.safetensors", file)
    shutil.copyfile(Path(folder) / "config.json", file.with_suffix(".json"))
    return file


def _write_prep(folder: Path, extra: dict[str, Any]) -> None:
    prep = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], **extra}
    (folder / "preprocessor_config.json").write_text(json.dumps(prep), encoding="utf-8")


def build_depth_detector(folder: str | Path, seed: int = 0) -> Path:
    """A tiny Depth Anything (DINOv2 backbone, DPT head) with random weights."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    folder = Path(folder)
    torch.manual_seed(seed)
    backbone = Dinov2Config(hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                            intermediate_size=32, image_size=518, patch_size=14,
                            out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False, apply_layernorm=True)
    cfg = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16,
                              neck_hidden_sizes=[8, 8, 16, 16], fusion_hidden_size=16,
                              head_hidden_size=8, depth_estimation_type="relative")
    model = DepthAnythingForDepthEstimation(cfg)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # a head of weights big enough that the depth varies visibly
        for p in model.head.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * 0.5).abs())
    model.save_pretrained(str(folder), safe_serialization=True)
    _write_prep(folder, {"size": {"height": 70, "width": 70}})
    return folder


def build_pose_detector(folder: str | Path, seed: int = 0) -> Path:
    """A tiny ViTPose (simple decoder, 17 COCO keypoints) with random weights."""
    import torch
    from transformers import VitPoseBackboneConfig, VitPoseConfig, VitPoseForPoseEstimation

    folder = Path(folder)
    torch.manual_seed(seed)
    backbone = VitPoseBackboneConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=32, image_size=[64, 48],
                                     patch_size=[8, 8], out_indices=[2])
    cfg = VitPoseConfig(backbone_config=backbone, num_labels=17, use_simple_decoder=True)
    model = VitPoseForPoseEstimation(cfg)
    model.save_pretrained(str(folder), safe_serialization=True)
    _write_prep(folder, {"size": {"height": 64, "width": 48}})
    return folder
