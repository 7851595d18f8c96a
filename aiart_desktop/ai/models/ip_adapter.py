"""IP-Adapter: style and content from a reference picture, as an add-on to a base model.

An IP-Adapter is a small set of weights (`image_proj.*`, and `ip_adapter.<n>.to_k_ip` /
`to_v_ip` for each cross-attention layer of the UNet) plus the CLIP image encoder whose
embedding of the reference picture it turns into extra "image tokens" the UNet attends to.

- `inspect_ip_adapter(folder)`: find and check the files of an IP-Adapter folder (the
  `h94/IP-Adapter` layout `models/ip-adapter_sd15.safetensors` + `models/image_encoder/`, or a
  flat folder), reading only the safetensors headers and the encoder's config: no torch.
- `check_fits(adapter, model)`: an adapter fits a base model when its image tokens have the
  width of the UNet's cross-attention (768: SD 1.x, 2048: SDXL); otherwise a clear error that
  names what to install.
- `pixels_sha256(rgb)`: the reference picture's hash, for the provenance record.

Loading an adapter into a pipeline is the local backend's (backends/ip_adapter_slot.py).
Nothing here imports torch.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AiError, IncompleteModelError, ModelLoadError, ModelNotFoundError, RequestError
from .checkpoints import PICKLE_EXTENSIONS, safetensors_header

if TYPE_CHECKING:
    from .source import ModelInfo

PROJ = "image_proj.proj.weight"
FIRST_K = "ip_adapter.1.to_k_ip.weight"
TOKENS = 4  # a plain IP-Adapter's image tokens
FAMILIES = {768: "SD 1.x", 1024: "SD 2.x", 2048: "SDXL"}
MAX_SCALE = 2.0


def family(cross_dim: int | None) -> str:
    """A base-model family by the width of its cross-attention ("SD 1.x", "SDXL"...)."""
    if cross_dim is None:
        return "unknown"
    return FAMILIES.get(int(cross_dim), f"cross-attention {cross_dim}")


@dataclass(frozen=True)
class IpAdapterInfo:
    """An installed IP-Adapter: `root` holds `weight` and the `encoder` folder (both relative,
    POSIX style), as `load_ip_adapter(root, subfolder, weight_name, image_encoder_folder)`
    takes them."""

    id: str
    name: str
    root: Path
    weight: str
    encoder: str
    cross_dim: int            # the width of its image tokens = the base UNet's cross-attention
    image_dim: int            # the image encoder's projection width it reads
    size_bytes: int
    source: str = "folder"    # "catalogue" or "folder"
    licence: str = ""

    @property
    def weight_path(self) -> Path:
        return self.root / self.weight

    @property
    def subfolder(self) -> str:
        parent = Path(self.weight).parent.as_posix()
        return "" if parent == "." else parent

    @property
    def weight_name(self) -> str:
        return Path(self.weight).name

    @property
    def family(self) -> str:
        return family(self.cross_dim)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "path": str(self.root), "weight": self.weight,
                "encoder": self.encoder, "family": self.family, "size_bytes": self.size_bytes,
                "source": self.source, "licence": self.licence}


# ---- reading the files ------------------------------------------------------------------------
def _candidates(root: Path) -> list[Path]:
    found: list[Path] = []
    for sub in ("", "models", "sdxl_models"):
        folder = root / sub if sub else root
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.is_file()
                            and p.suffix in (".safetensors",) + PICKLE_EXTENSIONS)
    return found


def _adapter_shapes(path: Path) -> tuple[int, int] | None:
    """(cross_dim, image_dim) of a plain IP-Adapter file, None when it is not one."""
    header = safetensors_header(path)
    proj, k = header.get(PROJ), header.get(FIRST_K)
    if not isinstance(proj, dict) or not isinstance(k, dict):
        return None
    out_dim, image_dim = (int(n) for n in proj.get("shape", [0, 0])[:2])
    cross = int(k.get("shape", [0, 0])[1])
    if out_dim != TOKENS * cross:
        return None
    return cross, image_dim


def _encoder_folder(root: Path, weight: Path, hint: str | None) -> Path:
    options = [root / hint] if hint else [weight.parent / "image_encoder",
                                          root / "image_encoder", root / "models" / "image_encoder"]
    for folder in options:
        if (folder / "config.json").is_file():
            return folder
    where = options[0].relative_to(root) if hint else "image_encoder"
    raise IncompleteModelError(f"the IP-Adapter in {root} has no CLIP image encoder: "
                               f"{where}/config.json and model.safetensors are missing")


def inspect_ip_adapter(path: str | os.PathLike[str], weight: str | None = None,
                       encoder: str | None = None) -> tuple[str, str, int, int, int]:
    """Check an IP-Adapter folder: (weights, encoder folder) relative to it, the adapter's
    cross-attention and image widths, and the bytes of both. `weight` / `encoder` name them
    (catalogue downloads); otherwise they are looked for. Clear errors for what is missing."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ModelNotFoundError(f"IP-Adapter folder {root} does not exist")
    if not root.is_dir():
        raise ModelLoadError(f"{root} is not a folder: point at the folder holding the "
                             "IP-Adapter .safetensors file and its image_encoder folder")
    cache = root / ".cache" / "huggingface"
    if cache.is_dir() and any(cache.rglob("*.incomplete")):
        raise IncompleteModelError(f"IP-Adapter folder {root} is incomplete: the download was "
                                   "interrupted (download it again to resume)")
    if weight is not None:
        w = root / weight
        if not w.is_file():
            raise IncompleteModelError(f"IP-Adapter folder {root} is incomplete: {weight} is "
                                       "missing")
        shapes = _adapter_shapes(w)
    else:
        files = _candidates(root)
        safe = [p for p in files if p.suffix == ".safetensors"]
        if not safe:
            if files:
                raise ModelLoadError(f"{files[0]} is a pickle file, which can run code when "
                                     "loaded: use the .safetensors version of the IP-Adapter")
            raise ModelNotFoundError(f"{root} holds no IP-Adapter (.safetensors with "
                                     "image_proj and ip_adapter weights)")
        found = [(p, s) for p in safe if (s := _try_shapes(p)) is not None]
        if not found:
            raise ModelLoadError(f"{safe[0]} is not a plain IP-Adapter (no {PROJ}); "
                                 "IP-Adapter Plus, FaceID and Full variants are not supported")
        w, shapes = found[0]
    if shapes is None:
        raise ModelLoadError(f"{w} is not a plain IP-Adapter (no {PROJ}); IP-Adapter Plus, "
                             "FaceID and Full variants are not supported")
    cross, image_dim = shapes
    enc = _encoder_folder(root, w, encoder)
    cfg = _read_config(enc / "config.json")
    proj_dim = int(cfg.get("projection_dim") or cfg.get("vision_config", {}).get(
        "projection_dim", 0))
    if proj_dim != image_dim:
        raise ModelLoadError(f"the image encoder in {enc} gives {proj_dim}-wide embeddings but "
                             f"{w.name} reads {image_dim}: they do not belong together")
    weights = [p for p in enc.glob("*.safetensors") if p.is_file()]
    if not weights:
        raise IncompleteModelError(f"IP-Adapter folder {root} is incomplete: no "
                                   f"model.safetensors in {enc.relative_to(root)}/")
    size = w.stat().st_size
    for p in weights:
        safetensors_header(p)
        size += p.stat().st_size
    return (w.relative_to(root).as_posix(), enc.relative_to(root).as_posix(), cross, image_dim,
            size)


def _try_shapes(path: Path) -> tuple[int, int] | None:
    try:
        return _adapter_shapes(path)
    except AiError:
        return None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} is not a configuration")
    return data


def model_cross_dim(info: ModelInfo) -> int | None:
    """The cross-attention width of a base model's UNet, from its config."""
    folder = info.config_path if info.source == "checkpoint" else info.path
    if folder is None:
        return None
    try:
        cfg = json.loads((Path(folder) / "unet" / "config.json").read_text(encoding="utf-8"))
        dim = cfg.get("cross_attention_dim")
        return int(dim[0] if isinstance(dim, list) else dim)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def check_fits(adapter: IpAdapterInfo, model: ModelInfo) -> None:
    """Raise a RequestError naming what to install when `adapter` cannot drive `model`."""
    cross = model_cross_dim(model)
    if cross != adapter.cross_dim:
        raise RequestError(f"the IP-Adapter {adapter.name} is for {adapter.family} models, but "
                           f"{model.name} is a {family(cross)} model; {install_hint(cross)}")


def install_hint(cross_dim: int | None) -> str:
    """What to install for an IP-Adapter fitting models of that cross-attention width."""
    from .catalogue import adapter_entry

    entry = adapter_entry(int(cross_dim or 0))
    if entry is not None:
        return (f"download “{entry.name}” in the model manager (Models…), or add an IP-Adapter "
                f"folder for {entry.works_with} there")
    return (f"there is no IP-Adapter for {family(cross_dim)} models in the catalogue: add one "
            "in the model manager, use an SD 1.5 or SDXL model, or Refine with a reference "
            "style instead")


# ---- hashes for the record ----------------------------------------------------------------------
def pixels_sha256(rgb: np.ndarray) -> str:
    """SHA-256 of a reference picture's RGB8 pixels (with its shape, so a crop differs)."""
    h = hashlib.sha256(f"{rgb.shape[1]}x{rgb.shape[0]}:".encode())
    h.update(np.ascontiguousarray(rgb).tobytes())
    return h.hexdigest()
