"""A model's content hash for provenance: which weights made a picture, not just their name.

- a single checkpoint file (`.safetensors`): the SHA-256 of the file, so its first ten hex
  digits are the "Model hash" AUTOMATIC1111 writes (its "AutoV2" hash) and civitai lists;
- a diffusers folder: the SHA-256 over the sorted (relative path, SHA-256) pairs of its weight
  files, so renaming or moving the folder keeps the hash and changing any weight changes it.

Hashing a multi-GB model reads it once (a few seconds); the digest is remembered in
`model_hashes.json` in the user's data folder, keyed by path, size and modification time, so
later jobs pay nothing. Runs on the worker thread.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".onnx")
CACHE_FILE = "model_hashes.json"
BLOCK = 1 << 22
_lock = threading.Lock()
_memory: dict[str, str] = {}

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)


def _key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _cache_path() -> Path:
    from ...settings.paths import data_dir

    return data_dir() / CACHE_FILE


def _load_cache() -> dict[str, str]:
    try:
        data = json.loads(_cache_path().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _save_cache(entries: dict[str, str]) -> None:
    from ...core.io.atomic import atomic_write

    try:
        path = _cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            f.write(json.dumps(entries, indent=0, sort_keys=True).encode())
    except OSError as exc:  # a read-only data folder only costs hashing again next time
        log.warning("could not remember model hashes: %s", exc)


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a diffusers folder (every component), sorted."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES)


def file_sha256(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """SHA-256 of one file, remembered (in memory and on disk) while it stays the same."""
    key = _key(path)
    with _lock:
        if not _memory:
            _memory.update(_load_cache())
        if key in _memory:
            return _memory[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
            if on_bytes is not None:
                on_bytes(len(block))
    digest = h.hexdigest()
    with _lock:
        _memory[key] = digest
        _save_cache(dict(_memory))
    return digest


def model_sha256(path: str | Path, on_progress: ProgressFn | None = None) -> str:
    """The content hash of a model file or diffusers folder (see the module's notes)."""
    p = Path(path)
    if p.is_file():
        files, root = [p], p.parent
    elif p.is_dir():
        files, root = weight_files(p), p
        if not files:
            raise FileNotFoundError(f"{p} holds no weight files")
    else:
        raise FileNotFoundError(f"{p} does not exist")
    total = sum(f.stat().st_size for f in files)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if on_progress is not None:
            on_progress(done[0], total)

    digests = [(f.relative_to(root).as_posix(), file_sha256(f, step)) for f in files]
    if p.is_file():
        return digests[0][1]
    h = hashlib.sha256()
    for rel, digest in digests:
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()

