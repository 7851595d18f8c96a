"""Tiny random-weight Stable Diffusion / SDXL pipelines, saved as real diffusers folders.

The tests (and `bench/ai_bench.py`) build these once and then load them through
`aiart_desktop.ai.models.registry` exactly like a model the user added. Everything is real diffusers
code; only the sizes are small. A byte-level CLIP vocabulary is written to disk so the tokenizer
loads without any download.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "steps_offset": 1,
    "prediction_type": "epsilon",
}


def byte_vocab() -> dict[str, int]:
    """CLIP-style vocabulary: every byte-level character, alone and as a word end."""
    from aiart_desktop.ai.models.checkpoints import byte_level_chars

    chars = byte_level_chars()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}


def write_tokenizer(folder: Path, pad: str = "<|endoftext|>") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(byte_vocab()), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"),
                        pad_token=pad, model_max_length=77)
    tok.save_pretrained(str(folder))


def _text_config(projection: bool = False, hidden: int = 32) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=len(byte_vocab()) - 2, eos_token_id=len(byte_vocab()) - 1,
        hidden_size=hidden, intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=4,
        num_hidden_layers=2, pad_token_id=1, vocab_size=len(byte_vocab()),
        projection_dim=32 if projection else hidden, hidden_act="gelu",
    )


def _vae(channels: tuple[int, ...]) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=channels, in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * len(channels),
        up_block_types=["UpDecoderBlock2D"] * len(channels), layers_per_block=1,
        norm_num_groups=8, sample_size=64,
    )


def build_sd(folder: str | Path, *, inpaint: bool = False, seed: int = 0,
             unet_channels: tuple[int, int] = (32, 64), sample_size: int = 8,
             vae_channels: tuple[int, ...] = (8, 16, 16, 16)) -> Path:
    """A Stable Diffusion 1.x-shaped pipeline (9-channel UNet when `inpaint`), saved."""
    import torch
    from diffusers import (
        EulerAncestralDiscreteScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=unet_channels, layers_per_block=1, sample_size=sample_size,
        in_channels=9 if inpaint else 4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=16,
    )
    vae = _vae(vae_channels)
    text_encoder = CLIPTextModel(_text_config())
    write_tokenizer(folder / "_tok")
    tokenizer = CLIPTokenizer.from_pretrained(str(folder / "_tok"))
    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    pipe = cls(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
               scheduler=EulerAncestralDiscreteScheduler(**SCHEDULER), safety_checker=None,
               feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    _rmtree(folder / "_tok")
    return folder


def build_sdxl(folder: str | Path, *, inpaint: bool = False, seed: int = 0) -> Path:
    """An SDXL-shaped pipeline: two text encoders, text_time addition embeddings."""
    import torch
    from diffusers import (
        EulerAncestralDiscreteScheduler,
        StableDiffusionXLInpaintPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8,
        in_channels=9 if inpaint else 4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=16,
    )
    vae = _vae((8, 16, 16, 16))
    write_tokenizer(folder / "_tok")
    write_tokenizer(folder / "_tok2", pad="!")
    pipe_cls = StableDiffusionXLInpaintPipeline if inpaint else StableDiffusionXLPipeline
    kwargs: dict[str, Any] = {}
    if inpaint:
        kwargs["requires_aesthetics_score"] = False
    pipe = pipe_cls(
        unet=unet, vae=vae, text_encoder=CLIPTextModel(_text_config()),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(projection=True)),
        tokenizer=CLIPTokenizer.from_pretrained(str(folder / "_tok")),
        tokenizer_2=CLIPTokenizer.from_pretrained(str(folder / "_tok2")),
        scheduler=EulerAncestralDiscreteScheduler(**SCHEDULER), **kwargs,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    _rmtree(folder / "_tok")
    _rmtree(folder / "_tok2")
    return folder


def build_taesd(folder: str | Path, seed: int = 0) -> Path:
    """A tiny AutoencoderTiny (the TAESD architecture) for live previews."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    vae = AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8),
                          decoder_block_out_channels=(8, 8, 8, 8),
                          num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1))
    vae.save_pretrained(str(folder), safe_serialization=True)
    return Path(folder)


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
