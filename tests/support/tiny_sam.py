"""A tiny random-weight Segment Anything model (transformers' `SamModel`) saved as users have
it: config.json, model.safetensors and the processor's settings (preprocessor_config.json as
on the Hub, processor_config.json as `SamProcessor.save_pretrained` writes it).

`build_sam(folder)` makes a 64-pixel input, two-layer, 32-wide vision encoder with a prompt
encoder and mask decoder of the same width (8x8 image embedding, 32x32 low-resolution masks);
its weights are seeded, so its masks are arbitrary but reproducible.
`sam_config(**vision)` is that config; `SamConfig()` itself is SAM ViT-B (bench/object_bench.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

SIDE = 64


def sam_config(side: int = SIDE) -> Any:
    from transformers import (
        SamConfig,
        SamMaskDecoderConfig,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    vision = SamVisionConfig(hidden_size=32, output_channels=32, num_hidden_layers=2,
                             num_attention_heads=2, image_size=side, patch_size=8, window_size=4,
                             global_attn_indexes=[1], num_pos_feats=16, mlp_dim=64,
                             initializer_range=0.02)
    prompt = SamPromptEncoderConfig(hidden_size=32, image_size=side, patch_size=8,
                                    mask_input_channels=4)
    decoder = SamMaskDecoderConfig(hidden_size=32, mlp_dim=64, num_attention_heads=2,
                                   iou_head_hidden_dim=32)
    return SamConfig(vision_config=vision, prompt_encoder_config=prompt,
                     mask_decoder_config=decoder)


def build_sam(folder: str | Path, seed: int = 0, side: int = SIDE, pickle: bool = False
              ) -> Path:
    """The tiny SAM in `folder`; `pickle=True` saves only `pytorch_model.bin` (refused)."""
    import torch
    from transformers import SamImageProcessorPil, SamModel, SamProcessor

    folder = Path(folder)
    torch.manual_seed(seed)
    model = SamModel(sam_config(side)).eval()
    if pickle:
        folder.mkdir(parents=True, exist_ok=True)
        model.config.save_pretrained(str(folder))
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        return folder
    model.save_pretrained(str(folder))
    images = SamImageProcessorPil(size={"longest_edge": side},
                                  pad_size={"height": side, "width": side})
    images.save_pretrained(str(folder))
    SamProcessor(image_processor=images).save_pretrained(str(folder))
    return folder
