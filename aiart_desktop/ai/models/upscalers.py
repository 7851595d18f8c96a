"""Upscaler models (Image › Upscale…) as the model source lists them, checked without torch.

An upscaler is one file of an ESRGAN-family model (ESRGAN, Real-ESRGAN, SwinIR, HAT, OmniSR…)
that `spandrel` recognises from its tensor names (backends/local_upscale.py loads it). Catalogue
downloads live in `<models>/<catalogue id>/<file>`; files the user drops in
`<models>/upscalers/` are listed too. `.safetensors` files are read freely; pickle files
(`.pth`, `.pt`, `.ckpt`, `.bin`) only when the user allowed pickle files in the model manager,
since loading one can run code. Nothing here imports torch: a `.safetensors` file is checked by
its header only; whether spandrel knows its architecture is learned when it loads.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError, ModelNotFoundError, UnsafeCheckpointError, quoted
from .checkpoints import safetensors_header

log = logging.getLogger(__name__)

UPSCALER_FOLDER = "upscalers"
UPSCALER_PICKLES = (".pth", ".pt", ".ckpt", ".bin")


@dataclass(frozen=True)
class UpscalerInfo:
    id: str                        # the catalogue id, or "upscalers/<file name>"
    name: str
    path: Path                     # the model file
    licence: str = ""


def check_upscaler(path: Path, allow_pickle: bool) -> None:
    """Whether `path` may be loaded as an upscaler; an AiError of at most two lines naming the
    file when it is missing, a damaged `.safetensors`, a pickle not allowed, or another kind
    of file. Cheap: a `.safetensors` file's header is read, no weights."""
    if not path.is_file():
        log.info("upscaler %s does not exist", path)
        raise ModelNotFoundError(f"the upscaler {quoted(path)} is missing (moved or deleted?)")
    ext = path.suffix.lower()
    if ext == ".safetensors":
        safetensors_header(path)  # its own two-line messages naming the file
        return
    if ext in UPSCALER_PICKLES:
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"the upscaler {quoted(path)} holds pickle weights, which can run code when "
                "loaded.\nAllow pickle files in the model manager, or use a .safetensors file.")
        return
    raise ModelLoadError(f"{quoted(path)} is not an upscaler file ({ext or 'no extension'}).\n"
                         "Use a .safetensors file (or a .pth file, with pickle files allowed).")


def scan_upscalers(root: Path, allow_pickle: bool) -> list[UpscalerInfo]:
    """The usable files in `<root>/upscalers/` (`.safetensors`, and pickle files when
    allowed), by name; broken ones are logged and left out."""
    base = root / UPSCALER_FOLDER
    if not base.is_dir():
        return []
    wanted = (".safetensors",) + (UPSCALER_PICKLES if allow_pickle else ())
    out: list[UpscalerInfo] = []
    for path in sorted(base.iterdir(), key=lambda p: p.name.lower()):
        if path.name.startswith(".") or path.suffix.lower() not in wanted:
            continue
        try:
            check_upscaler(path, allow_pickle)
        except Exception as exc:  # never fatal to a listing
            log.info("skipping the upscaler %s: %s", path, exc)
            continue
        out.append(UpscalerInfo(f"{UPSCALER_FOLDER}/{path.name}", path.stem, path))
    return out
