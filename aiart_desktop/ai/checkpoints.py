"""Reading model files without torch: diffusers folders and single-file checkpoints.

- `inspect_folder(path)`: architecture (sd / sdxl / taesd), inpaint UNet (9 input channels),
  native size, and verification that every component's config and weights are present and
  that each .safetensors file is whole (its header parses and its data fits in the file).
- `inspect_checkpoint(path)`: the same from a single `.safetensors` file's tensor names and
  shapes, read from its header. Pickle files (.ckpt/.bin/.pt/.pth) are refused unless allowed.
- `config_folder(kind)`: the diffusers config folder shipped in `resources/model_configs/`,
  completed with the CLIP tokenizer files, so `from_single_file` never fetches anything.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from ..settings.paths import resources_dir
from .errors import IncompleteModelError, ModelLoadError, ModelNotFoundError, UnsafeCheckpointError

PICKLE_EXTENSIONS = (".ckpt", ".bin", ".pt", ".pth", ".pkl")
WEIGHT_COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2")
OPTIONAL_COMPONENTS = ("safety_checker", "feature_extractor", "image_encoder")
MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class ModelFacts:
    """What a model folder or checkpoint is."""

    arch: str            # "sd" (1.x / 2.x), "sdxl", or "taesd"
    inpaint: bool        # UNet with 9 input channels
    native: int          # native resolution (512, 768, 1024)
    variant: str | None  # "fp16" when only fp16 weight files are present
    size_bytes: int
    config_kind: str = ""  # shipped config folder for single files (e.g. "sd15_inpaint")


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise IncompleteModelError(f"{path} is missing") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object")
    return data


# ---- safetensors -------------------------------------------------------------------------
def safetensors_header(path: Path) -> dict[str, dict]:
    """The tensor table of a .safetensors file, checked against the file's size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ModelLoadError(f"{path} is not a valid safetensors file: it is truncated")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or 8 + n > size:
                raise ModelLoadError(f"{path} is not a valid safetensors file: corrupt header")
            header = json.loads(f.read(n).decode("utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"{path} does not exist") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not a valid safetensors file: {exc}") from exc
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path} is not a valid safetensors file: bad header")
    header.pop("__metadata__", None)
    end = 0
    for name, t in header.items():
        try:
            end = max(end, int(t["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            raise ModelLoadError(f"{path} is not a valid safetensors file: bad entry {name!r}"
                                 ) from None
    if 8 + n + end > size:
        raise ModelLoadError(f"{path} is truncated: {size} bytes, needs {8 + n + end} "
                             "(an interrupted download or copy?)")
    return header


# ---- folders -----------------------------------------------------------------------------
def _weight_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix in (".safetensors", ".bin")
                  and p.is_file())


def _check_component(root: Path, name: str, allow_pickle: bool) -> tuple[int, bool]:
    """Bytes of weights in component `name`, and whether they are fp16-variant only."""
    folder = root / name
    if not (folder / "config.json").is_file():
        raise IncompleteModelError(f"model folder {root} is incomplete: {name}/config.json "
                                   "is missing")
    files = _weight_files(folder)
    safe = [p for p in files if p.suffix == ".safetensors"]
    if not safe and files and not allow_pickle:
        raise UnsafeCheckpointError(
            f"{folder} only has pickle weights ({files[0].name}), which can run code when "
            "loaded; convert them to .safetensors or allow pickle checkpoints in the settings")
    if not files:
        raise IncompleteModelError(f"model folder {root} is incomplete: no weights in {name}/")
    for index in folder.glob("*.safetensors.index.json"):
        shards = set(_read_json(index).get("weight_map", {}).values())
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise IncompleteModelError(f"model folder {root} is incomplete: {name}/{missing[0]}"
                                       " is missing")
    total = 0
    for p in safe or files:
        if p.suffix == ".safetensors":
            safetensors_header(p)
        total += p.stat().st_size
    fp16_only = bool(safe) and all(".fp16." in p.name for p in safe)
    return total, fp16_only


def _partial_downloads(root: Path) -> list[Path]:
    cache = root / ".cache" / "huggingface"
    return list(cache.rglob("*.incomplete")) if cache.is_dir() else []


def inspect_folder(path: str | os.PathLike[str], allow_pickle: bool = False) -> ModelFacts:
    """Check a diffusers folder is complete and say what it holds (clear errors otherwise)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ModelNotFoundError(f"model folder {root} does not exist")
    if not root.is_dir():
        raise ModelLoadError(f"{root} is not a folder")
    if not (root / "model_index.json").is_file():
        cfg = root / "config.json"
        if cfg.is_file() and _read_json(cfg).get("_class_name") == "AutoencoderTiny":
            size, fp16 = _check_component(root.parent, root.name, allow_pickle)
            return ModelFacts("taesd", False, 0, "fp16" if fp16 else None, size)
        if _partial_downloads(root):
            raise IncompleteModelError(f"model folder {root} is incomplete: the download was "
                                       "interrupted (download it again to resume)")
        raise IncompleteModelError(f"{root} is not a diffusers model folder: model_index.json "
                                   "is missing")
    index = _read_json(root / "model_index.json")
    cls = str(index.get("_class_name", ""))
    if not cls.startswith("StableDiffusion") or "Pipeline" not in cls:
        raise ModelLoadError(f"{root} holds a {cls or 'unknown'} pipeline; only Stable "
                             "Diffusion 1.x / 2.x and SDXL pipelines are supported")
    if _partial_downloads(root):
        raise IncompleteModelError(f"model folder {root} is incomplete: the download was "
                                   "interrupted (download it again to resume)")
    size, fp16_all = 0, True
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or None in spec[:2]:
            continue
        if name in OPTIONAL_COMPONENTS:
            continue
        folder = root / name
        if name in WEIGHT_COMPONENTS:
            n, fp16 = _check_component(root, name, allow_pickle)
            size += n
            fp16_all &= fp16
        elif name.startswith("scheduler"):
            if not (folder / "scheduler_config.json").is_file():
                raise IncompleteModelError(f"model folder {root} is incomplete: "
                                           f"{name}/scheduler_config.json is missing")
        elif name.startswith("tokenizer"):
            has = (folder / "tokenizer.json").is_file() or (
                (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())
            if not has:
                raise IncompleteModelError(f"model folder {root} is incomplete: {name}/ has "
                                           "no vocabulary")
    unet = _read_json(root / "unet" / "config.json")
    vae = _read_json(root / "vae" / "config.json")
    native = int(unet.get("sample_size", 64)) * 2 ** (len(vae.get("block_out_channels", [0] * 4))
                                                      - 1)
    return ModelFacts(arch="sdxl" if "XL" in cls else "sd",
                      inpaint=int(unet.get("in_channels", 4)) == 9, native=native,
                      variant="fp16" if fp16_all and size else None, size_bytes=size)


# ---- single files ------------------------------------------------------------------------
UNET_IN = "model.diffusion_model.input_blocks.0.0.weight"


def inspect_checkpoint(path: str | os.PathLike[str], allow_pickle: bool = False) -> ModelFacts:
    """What a single-file checkpoint is, from its tensor names (no weights are read)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelNotFoundError(f"checkpoint {p} does not exist")
    if p.is_dir():
        raise ModelLoadError(f"{p} is a folder, not a checkpoint file")
    ext = p.suffix.lower()
    if ext in PICKLE_EXTENSIONS:
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{p} is a pickle checkpoint ({ext}), which can run code when loaded; use a "
                ".safetensors file, or allow pickle checkpoints in the settings if you trust it")
        return ModelFacts("sd", False, 512, None, p.stat().st_size, "")  # refined on load
    if ext != ".safetensors":
        raise ModelLoadError(f"{p}: unknown checkpoint type {ext or '(none)'!r} "
                             "(use a .safetensors file or a diffusers folder)")
    header = safetensors_header(p)
    return facts_from_keys({k: v.get("shape", []) for k, v in header.items()},
                           p.stat().st_size, str(p))


def facts_from_keys(shapes: dict[str, list[int]], size: int, where: str) -> ModelFacts:
    """Architecture of an original-layout (LDM) Stable Diffusion state dict."""
    if UNET_IN not in shapes:
        raise ModelLoadError(f"{where} is not a Stable Diffusion checkpoint "
                             f"(it has no {UNET_IN})")
    in_ch = int(shapes[UNET_IN][1]) if len(shapes[UNET_IN]) > 1 else 4
    inpaint = in_ch == 9
    suffix = "_inpaint" if inpaint else ""
    if any(k.startswith("conditioner.embedders.1.") for k in shapes):
        return ModelFacts("sdxl", inpaint, 1024, None, size, "sdxl" + suffix)
    if any(k.startswith("cond_stage_model.model.") for k in shapes):
        return ModelFacts("sd", inpaint, 512, None, size, "sd2" + suffix)
    if any(k.startswith("cond_stage_model.transformer.") for k in shapes):
        return ModelFacts("sd", inpaint, 512, None, size, "sd15" + suffix)
    raise ModelLoadError(f"{where}: cannot tell which Stable Diffusion version this checkpoint "
                         "is (no known text encoder weights)")


# ---- shipped configs ---------------------------------------------------------------------
def byte_level_chars() -> list[str]:
    """CLIP's byte-level alphabet: one printable character for each of the 256 byte values."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _clip_vocab(merges: list[str]) -> dict[str, int]:
    chars = byte_level_chars()
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}


def config_folder(kind: str, cache_root: Path) -> Path:
    """The shipped diffusers config folder for `kind` (e.g. "sdxl_inpaint"), copied under
    `cache_root` and completed with the CLIP tokenizer vocabulary (built from the shipped BPE
    merges), ready for `from_single_file(config=...)`."""
    src = resources_dir() / "model_configs" / kind
    if not (src / "model_index.json").is_file():
        raise ModelLoadError(f"no shipped configuration for {kind!r} models in {src}")
    dst = cache_root / kind
    if (dst / ".complete").is_file():
        return dst
    tmp = cache_root / f".{kind}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    raw = gzip.decompress((resources_dir() / "model_configs" / "clip" / "merges.txt.gz")
                          .read_bytes()).decode("utf-8")
    merges = [m for m in raw.split("\n")[1:] if m]
    vocab = json.dumps(_clip_vocab(merges), ensure_ascii=False)
    for tok in tmp.glob("tokenizer*"):
        (tok / "vocab.json").write_text(vocab, encoding="utf-8")
        (tok / "merges.txt").write_text(raw, encoding="utf-8")
    (tmp / ".complete").write_text("ok\n", encoding="utf-8")
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    return dst
