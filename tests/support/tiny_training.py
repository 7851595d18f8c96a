"""Small pictures and plans for the Train a Style tests (ai/training.py, the trainer in
ai/backends/local_train.py, the dialog in qt/dialogs/train_style.py).

    style_pictures(4)                       # PictureSources: painted RGBA arrays of several shapes
    write_pictures(folder, 4)               # the same pictures as PNG files (paths)
    tiny_plan(registry, "sd", out, ...)     # a TrainPlan for a tiny model, fast on the CPU

The pictures are "paintings" of one style (warm gradient paper, a dark blob and a stroke), so a
LoRA trained on them has something to learn; their sizes differ, so they fall in different
aspect-ratio buckets.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.training import PictureSource, TrainPlan

SIZES = ((96, 96), (128, 80), (80, 128), (112, 96), (96, 64), (64, 112))


def painting(width: int, height: int, seed: int) -> np.ndarray:
    """An RGBA uint8 picture in the tests' "style"."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.zeros((height, width, 4), np.uint8)
    t = (x / max(1, width - 1) + y / max(1, height - 1)) / 2
    out[..., 0] = (230 - 60 * t).astype(np.uint8)
    out[..., 1] = (170 - 40 * t).astype(np.uint8)
    out[..., 2] = (90 + 30 * t).astype(np.uint8)
    out[..., 3] = 255
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    r = min(width, height) * rng.uniform(0.15, 0.3)
    blob = (x - cx) ** 2 + (y - cy) ** 2 < r * r
    out[blob, :3] = (40, 30, 60)
    row = int(rng.uniform(0.2, 0.8) * height)
    out[max(0, row - 2):row + 2, :, :3] = (200, 40, 30)
    return out


def style_pictures(n: int = 4, captions: bool = True) -> list[PictureSource]:
    from aiart_desktop.ai.training import PictureSource

    return [PictureSource(f"painting {i + 1}", rgba=painting(*SIZES[i % len(SIZES)], seed=i),
                          caption=f"a dark moon over a red line {i}" if captions else "")
            for i in range(n)]


def write_pictures(folder: Path, n: int = 4) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"painting-{i + 1}.png"
        Image.fromarray(painting(*SIZES[i % len(SIZES)], seed=i)).save(path)
        paths.append(path)
    return paths


def tiny_plan(registry: ModelRegistry, model_id: str, out: Path, **kw: Any) -> TrainPlan:
    """A plan for the tiny model `model_id` in `registry`, writing the LoRA at `out`: 64 px,
    rank 4, lr 1e-2 (the tiny random UNet learns visibly in 30 steps), on the CPU."""
    from aiart_desktop.ai.training import TrainPlan

    info = registry.resolve(model_id)
    values: dict[str, Any] = dict(
        name=out.stem, trigger="zqstyle", base_model=info.id, base_name=info.name,
        arch=info.arch, resolution=64, rank=4, steps=30, learning_rate=1e-2,
        checkpoint_every=10, sample_every=0, sample_steps=3, device="cpu",
        output=str(out), models_dir=str(registry.root), sample_prompt="a moon")
    values.update(kw)
    return TrainPlan(**values)
