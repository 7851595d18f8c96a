"""Segment Anything models (Select Object) as the model source lists them, read without torch.

A segmenter is a transformers folder: `config.json` (model_type "sam") and `model.safetensors`
(a sharded `model.safetensors.index.json` too), with the processor's settings beside them
(`preprocessor_config.json` or `processor_config.json`; without them SAM's defaults for the
model's input size are used). Catalogue downloads live in `<models>/<catalogue id>/`; folders
the user drops in `<models>/segmenters/` are listed too. Pickle-only folders
(`pytorch_model.bin`) are refused: they can run code when loaded.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import (
    IncompleteModelError,
    ModelLoadError,
    ModelNotFoundError,
    UnsafeCheckpointError,
    quoted,
)
from ..segment import SEGMENT_HINT
from .checkpoints import safetensors_header

log = logging.getLogger(__name__)

SEGMENTER_FOLDER = "segmenters"
FAMILIES = {"sam": "sam"}          # config.json's model_type -> the loader's family


@dataclass(frozen=True)
class SegmenterInfo:
    id: str
    name: str
    path: Path
    family: str                    # "sam"
    licence: str = ""


def check_segmenter(folder: Path) -> str:
    """The family of the segmenter in `folder` ("sam"); an AiError of at most two lines naming
    the folder when it is missing, incomplete, damaged, pickle-only or not a segmenter."""
    if not folder.is_dir():
        raise ModelNotFoundError(f"the Segment Anything model {quoted(folder)} is missing "
                                 f"(moved or deleted?).\n{SEGMENT_HINT}")
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise IncompleteModelError(f"the Segment Anything model {quoted(folder)} is incomplete: "
                                   "config.json is missing (download it again)")
    try:
        model_type = json.loads(cfg.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("cannot read %s: %r", cfg, exc)
        raise ModelLoadError(f"the config.json of {quoted(folder)} is damaged: it is not a "
                             "model's settings.\nDownload the model again.") from exc
    family = FAMILIES.get(str(model_type))
    if family is None:
        raise ModelLoadError(f"{quoted(folder)} is not a Segment Anything model (its config.json "
                             f"says {model_type!r}).\n{SEGMENT_HINT}")
    weights = folder / "model.safetensors"
    if weights.is_file():
        safetensors_header(weights)
    elif not (folder / "model.safetensors.index.json").is_file():
        if any(folder.glob("*.bin")) or any(folder.glob("*.pt")) or any(folder.glob("*.pth")):
            raise UnsafeCheckpointError(f"{quoted(folder)} holds only pickle weights (.bin), "
                                        "which can run code when loaded.\nUse a folder with "
                                        "model.safetensors.")
        raise IncompleteModelError(f"the Segment Anything model {quoted(folder)} is incomplete: "
                                   "model.safetensors is missing (download it again)")
    return family


def scan_segmenters(root: Path) -> list[SegmenterInfo]:
    """The usable folders in `<models>/segmenters/` (broken ones are left out)."""
    base = root / SEGMENTER_FOLDER
    out: list[SegmenterInfo] = []
    if not base.is_dir():
        return out
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            family = check_segmenter(folder)
        except Exception as exc:  # listed by problems(), never fatal to a listing
            log.info("skipping the segmenter %s: %s", folder, exc)
            continue
        out.append(SegmenterInfo(f"{SEGMENTER_FOLDER}/{folder.name}", folder.name, folder,
                                 family))
    return out
