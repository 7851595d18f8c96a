"""The live recorder's files: each live frame as `frame-00001.png` in a folder, the region as
applying it would show it, with its A1111 `parameters` text (a time-lapse of the session)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.io.atomic import atomic_write_bytes
from ...core.io.images import png_bytes
from ..composite import variant_over_original
from ..requests import AiResult
from .export_parameters import record_parameters


def frame_path(folder: Path, index: int) -> Path:
    return folder / f"frame-{index:05d}.png"


def write_frame(folder: str | Path, index: int, result: AiResult) -> Path:
    """Write frame `index` of a live session (OSError when the folder cannot take it)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rgb = variant_over_original(result, 0)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    text = record_parameters(result.record(0), (result.rect.w, result.rect.h))
    path = frame_path(folder, index)
    atomic_write_bytes(path, png_bytes(rgba, compress_level=1, text={"parameters": text}))
    return path
