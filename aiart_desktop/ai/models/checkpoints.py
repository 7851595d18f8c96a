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
import logging
import os
import re
import shutil
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from ...core.io.atomic import atomic_directory
from ...settings.paths import resources_dir
from ..errors import (
    IncompleteModelError,
    ModelLoadError,
    ModelNotFoundError,
    UnsafeCheckpointError,
    quoted,
)

log = logging.getLogger(__name__)

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


def _inner(path: Path) -> str:
    """A file inside a model folder as a message names it: “unet/config.json” of “my-model”."""
    return f"\u201c{path.parent.name}/{path.name}\u201d of {quoted(path.parent.parent)}"


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise IncompleteModelError(f"{_inner(path)} is missing: copy or download the model "
                                   "again") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.info("cannot read %s: %r", path, exc)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is damaged"
        raise ModelLoadError(f"cannot read {_inner(path)}: {why.lower()}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{_inner(path)} is damaged (not a settings file)")
    return data


# ---- safetensors -------------------------------------------------------------------------
def safetensors_header(path: Path) -> dict[str, dict]:
    """The tensor table of a .safetensors file, checked against the file's size."""
    bad = (f"{quoted(path)} is not a valid .safetensors file: it is damaged, or not a model "
           "file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                log.info("%s: %d bytes, too short for a safetensors header", path, size)
                raise ModelLoadError(bad)
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or 8 + n > size:
                log.info("%s: header length %d does not fit the file (%d bytes)", path, n, size)
                raise ModelLoadError(bad)
            header = json.loads(f.read(n).decode("utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"{quoted(path)} does not exist (moved or deleted?)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        log.info("%s: the safetensors header does not parse: %r", path, exc)
        raise ModelLoadError(bad) from exc
    except OSError as exc:
        log.info("cannot read %s: %r", path, exc)
        raise ModelLoadError(f"cannot read {quoted(path)}: "
                             f"{(exc.strerror or 'read error').lower()}") from exc
    if not isinstance(header, dict):
        log.info("%s: the safetensors header is not a JSON object", path)
        raise ModelLoadError(bad)
    header.pop("__metadata__", None)
    end = 0
    for name, t in header.items():
        try:
            end = max(end, int(t["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            log.info("%s: bad safetensors header entry %r: %r", path, name, t)
            raise ModelLoadError(bad) from None
    if 8 + n + end > size:
        log.info("%s is truncated: %d bytes, needs %d", path, size, 8 + n + end)
        raise ModelLoadError(f"{quoted(path)} is truncated (an interrupted download or copy?): "
                             "download or copy it again")
    return header


# ---- folders -----------------------------------------------------------------------------
def _weight_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix in (".safetensors", ".bin")
                  and p.is_file())


def _check_component(root: Path, name: str, allow_pickle: bool) -> tuple[int, bool]:
    """Bytes of weights in component `name`, and whether they are fp16-variant only."""
    folder = root / name
    if not (folder / "config.json").is_file():
        raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: "
                                   f"{name}/config.json is missing")
    files = _weight_files(folder)
    safe = [p for p in files if p.suffix == ".safetensors"]
    if not safe and files and not allow_pickle:
        raise UnsafeCheckpointError(
            f"{quoted(root)} has only pickle weights in {name}/ ({files[0].name}), which can "
            "run code when loaded.\nConvert them to .safetensors, or allow pickle checkpoints "
            "in the settings if you trust them.")
    if not files:
        raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: no weights "
                                   f"in {name}/")
    for index in folder.glob("*.safetensors.index.json"):
        shards = set(_read_json(index).get("weight_map", {}).values())
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: "
                                       f"{name}/{missing[0]} is missing")
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


# What inspect_folder found, per folder, with the size and time of every file in it: a job
# re-checks its model folder each time, and an unchanged folder is not read again (on SDXL a
# dozen JSON and header reads, ~10 ms a job). Any added, removed or changed file reads it anew.
_FOLDER_FACTS: dict[tuple[str, bool], tuple[tuple[tuple[str, int, int], ...], ModelFacts]] = {}
_FOLDER_FACTS_LOCK = threading.Lock()


def _folder_signature(root: Path) -> tuple[tuple[str, int, int], ...] | None:
    """(relative path, size, mtime_ns) of every file under `root`, or None when unreadable."""
    try:
        out = []
        for p in root.rglob("*"):
            st = p.stat()
            if not p.is_dir():
                out.append((p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
        return tuple(sorted(out))
    except OSError:
        return None


def inspect_folder(path: str | os.PathLike[str], allow_pickle: bool = False) -> ModelFacts:
    """Check a diffusers folder is complete and say what it holds (clear errors otherwise).
    The answer for an unchanged folder is kept (see `_FOLDER_FACTS`); errors are not."""
    root = Path(path).expanduser()
    key = (str(root.resolve()) if root.is_dir() else str(root), bool(allow_pickle))
    sig = _folder_signature(root) if root.is_dir() else None
    with _FOLDER_FACTS_LOCK:
        kept = _FOLDER_FACTS.get(key)
    if sig is not None and kept is not None and kept[0] == sig:
        return kept[1]
    facts = _inspect_folder(root, allow_pickle)
    if sig is not None:
        with _FOLDER_FACTS_LOCK:
            _FOLDER_FACTS[key] = (sig, facts)
    return facts


def _inspect_folder(root: Path, allow_pickle: bool) -> ModelFacts:
    if not root.exists():
        log.info("model folder %s does not exist", root)
        raise ModelNotFoundError(f"the model folder {quoted(root)} does not exist (moved or "
                                 "deleted?)")
    if not root.is_dir():
        raise ModelLoadError(f"{quoted(root)} is a file, not a model folder")
    if not (root / "model_index.json").is_file():
        cfg = root / "config.json"
        if cfg.is_file() and _read_json(cfg).get("_class_name") == "AutoencoderTiny":
            size, fp16 = _check_component(root.parent, root.name, allow_pickle)
            return ModelFacts("taesd", False, 0, "fp16" if fp16 else None, size)
        if _partial_downloads(root):
            raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: the "
                                       "download was interrupted (download it again to resume)")
        raise IncompleteModelError(f"{quoted(root)} is not a diffusers model folder: "
                                   "model_index.json is missing")
    index = _read_json(root / "model_index.json")
    cls = str(index.get("_class_name", ""))
    if not cls.startswith("StableDiffusion") or "Pipeline" not in cls:
        raise ModelLoadError(f"{quoted(root)} holds a {cls or 'unknown'} model; only Stable "
                             "Diffusion 1.x / 2.x and SDXL models are supported")
    if _partial_downloads(root):
        raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: the "
                                   "download was interrupted (download it again to resume)")
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
                raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: "
                                           f"{name}/scheduler_config.json is missing")
        elif name.startswith("tokenizer"):
            has = (folder / "tokenizer.json").is_file() or (
                (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())
            if not has:
                raise IncompleteModelError(f"the model folder {quoted(root)} is incomplete: "
                                           f"{name}/ has no vocabulary")
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
        log.info("checkpoint %s does not exist", p)
        raise ModelNotFoundError(f"the checkpoint {quoted(p)} does not exist (moved or "
                                 "deleted?)")
    if p.is_dir():
        raise ModelLoadError(f"{quoted(p)} is a folder, not a checkpoint file")
    ext = p.suffix.lower()
    if ext in PICKLE_EXTENSIONS:
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{quoted(p)} is a pickle checkpoint ({ext}), which can run code when loaded.\n"
                "Use a .safetensors file, or allow pickle checkpoints if you trust its source.")
        return ModelFacts("sd", False, 512, None, p.stat().st_size, "")  # refined on load
    if ext != ".safetensors":
        raise ModelLoadError(f"{quoted(p)}: unknown checkpoint type {ext or '(none)'!r} "
                             "(use a .safetensors file or a diffusers folder)")
    header = safetensors_header(p)
    return facts_from_keys({k: v.get("shape", []) for k, v in header.items()},
                           p.stat().st_size, str(p))


def facts_from_keys(shapes: dict[str, list[int]], size: int, where: str) -> ModelFacts:
    """Architecture of an original-layout (LDM) Stable Diffusion state dict."""
    if UNET_IN not in shapes:
        log.info("%s has no %s: not a Stable Diffusion checkpoint", where, UNET_IN)
        raise ModelLoadError(f"{quoted(where)} is not a Stable Diffusion checkpoint (it may be "
                             "a LoRA, an embedding or another kind of model)")
    in_ch = int(shapes[UNET_IN][1]) if len(shapes[UNET_IN]) > 1 else 4
    inpaint = in_ch == 9
    suffix = "_inpaint" if inpaint else ""
    if any(k.startswith("conditioner.embedders.1.") for k in shapes):
        return ModelFacts("sdxl", inpaint, 1024, None, size, "sdxl" + suffix)
    if any(k.startswith("cond_stage_model.model.") for k in shapes):
        return ModelFacts("sd", inpaint, 512, None, size, "sd2" + suffix)
    if any(k.startswith("cond_stage_model.transformer.") for k in shapes):
        return ModelFacts("sd", inpaint, 512, None, size, "sd15" + suffix)
    raise ModelLoadError(f"{quoted(where)}: cannot tell which Stable Diffusion version this "
                         "checkpoint is (it has no known text encoder)")


# ---- load failures -----------------------------------------------------------------------
ARCH_NAMES = {"sd15": "Stable Diffusion 1.5", "sd2": "Stable Diffusion 2.x", "sdxl": "SDXL"}
COMPONENT_NAMES = {"UNet2DConditionModel": "UNet", "AutoencoderKL": "VAE",
                   "AutoencoderTiny": "preview decoder", "CLIPTextModel": "text encoder",
                   "CLIPTextModelWithProjection": "second text encoder"}


def arch_name(facts: ModelFacts) -> str:
    """The architecture a model is loaded as, in words ("Stable Diffusion 1.5 inpainting")."""
    kind = facts.config_kind
    if kind:
        base = kind.removesuffix("_inpaint")
        name = ARCH_NAMES.get(base, base)
    else:
        name = "SDXL" if facts.arch == "sdxl" else "Stable Diffusion"
    return name + (" inpainting" if facts.inpaint else "")


def _messages(exc: BaseException) -> str:
    out: list[str] = []
    cur: BaseException | None = exc
    seen = 0
    while cur is not None and seen < 10:
        out.append(str(cur))
        cur, seen = cur.__cause__ or cur.__context__, seen + 1
    return "\n".join(out)


def load_failure(path: str | os.PathLike[str], facts: ModelFacts, exc: BaseException
                 ) -> ModelLoadError:
    """The two-line message for a model that diffusers could not load, from its exception
    (every detail of which is logged): weights of other shapes than the architecture's (a
    pruned or unusual model), missing weights, an unreadable file, or anything else."""
    log.error("loading the model %s as %s failed", path, arch_name(facts),
              exc_info=(type(exc), exc, exc.__traceback__))
    text = _messages(exc)
    what = quoted(path)
    arch = arch_name(facts)
    found = re.search(r"state_dict for (\w+)", text)
    part = COMPONENT_NAMES.get(found.group(1), "weights") if found else "weights"
    its = f"its {part}" if part != "weights" else "its weights"
    # PyTorch lists every such weight ("size mismatch for"); diffusers' fast loader names only
    # the first ("expected shape"), so its count is a fallback.
    shapes = text.count("size mismatch for") or len(re.findall(r"expected shape", text))
    after = "It may be pruned or made for another program; the details are in the log."
    if shapes:
        n = f"{shapes} weights have other shapes" if shapes > 1 else "1 weight has another shape"
        return ModelLoadError(f"{what}: {its} {'does' if part != 'weights' else 'do'} not "
                              f"match {arch} ({n}).\n{after}")
    missing = re.search(r"Missing key\(s\) in state_dict: (.*)", text)
    if missing:
        count = len(re.findall(r'"[^"]+"', missing.group(1))) or 1
        return ModelLoadError(f"{what}: {its} lack{'s' if part != 'weights' else ''} {count} "
                              f"weight{'s' if count > 1 else ''} that {arch} needs.\n{after}")
    for e in (exc, exc.__cause__):
        if isinstance(e, OSError) and e.strerror:
            return ModelLoadError(f"cannot read {what}: {e.strerror.lower()}.\n"
                                  "The details are in the log.")
    return ModelLoadError(f"{what} could not be loaded as {arch}: it may be damaged or made for "
                          "another program.\nThe details are in the log.")


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
        log.error("no shipped configuration for %r models in %s", kind, src)
        raise ModelLoadError(f"this installation lacks the settings for {kind!r} models: "
                             "reinstall AIArt Desktop")
    dst = cache_root / kind
    if (dst / ".complete").is_file():
        return dst
    raw = gzip.decompress((resources_dir() / "model_configs" / "clip" / "merges.txt.gz")
                          .read_bytes()).decode("utf-8")
    merges = [m for m in raw.split("\n")[1:] if m]
    vocab = json.dumps(_clip_vocab(merges), ensure_ascii=False)
    cache_root.mkdir(parents=True, exist_ok=True)
    # Built in a staging folder of its own that replaces `dst` whole: a crash leaves no
    # half-written folder, and threads building the same folder at once never share one.
    with atomic_directory(dst) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        for tok in tmp.glob("tokenizer*"):
            (tok / "vocab.json").write_text(vocab, encoding="utf-8")
            (tok / "merges.txt").write_text(raw, encoding="utf-8")
        (tmp / ".complete").write_text("ok\n", encoding="utf-8")
    return dst
