"""LoRAs and textual-inversion embeddings: the artist's `.safetensors` files in the models folder.

    <models>/loras/NAME.safetensors        -> LoraInfo(id="NAME", arch="sd", triggers=(...))
    <models>/embeddings/NAME.safetensors   -> EmbeddingInfo(id="NAME", arch="sdxl", vectors=8)

`AddonFolders` (a base of `ModelRegistry`, so of the model source) lists them (`loras()`,
`embeddings()`), finds one (`resolve_lora(id)`: by file name, any case, or by the name the
trainer gave it, `ss_output_name`), adds a file (`add_lora(path)`, `add_embedding(path)`: checked
first, then copied in atomically) and removes one (`remove_lora(id)`, `remove_embedding(id)`:
the file is deleted from the folder).

Only `.safetensors` are taken: a pickle (`.pt`, `.ckpt`, `.bin`) can run code when it is loaded,
so it is refused with a message naming the file, as is a damaged or truncated file and one that
holds no LoRA (or no embedding). Everything is read from the file's header without torch
(models/lora_files.py: the architecture, the trigger words). What was learned is cached per
file (path, size, time) in `<models>/addon-facts.json`, so listing on the UI thread reads at most
the headers of files it has not seen.

The short hash in a picture's parameters (`Lora hashes: "name: 1a2b3c4d5e6f"`) is A1111's: the
first 12 hex digits of the SHA-256 of the file's tensor data, after the header (kohya's
"addnet" hash; `lora_sha256`), computed while the file is copied in, or once on the worker.
Embeddings are hashed whole (`TI hashes`), as A1111 does (`model_hash.file_sha256`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.io.atomic import atomic_write, atomic_write_json
from ..errors import ModelLoadError, ModelNotFoundError, quoted
from .lora_files import (
    check_suffix,
    inspect_embedding,
    inspect_lora,
    read_header,
)

log = logging.getLogger(__name__)

LORA_FOLDER = "loras"
EMBEDDING_FOLDER = "embeddings"
FACTS_FILE = "addon-facts.json"
BLOCK = 1 << 22


@dataclass(frozen=True)
class LoraInfo:
    """One LoRA file: `id` is its file name without the extension (what `<lora:id:w>` names),
    `arch` the base model it was trained for ("sd", "sdxl"; others cannot be used), `layout`
    "kohya" or "diffusers", `triggers` its training tags, most frequent first, `alias` the
    name its trainer gave it (`ss_output_name`), `sha256` A1111's hash of it when known (a file
    added with `add_lora` is hashed while copied; one put in the folder by hand, at its first
    job: `AddonFolders.lora_sha256`); `trained_here` when Train a Style made it (its metadata
    says so: `aiart.trained_here`)."""

    id: str
    name: str
    path: Path
    arch: str
    layout: str
    triggers: tuple[str, ...] = ()
    alias: str = ""
    size_bytes: int = 0
    sha256: str = ""
    trained_here: bool = False

    @property
    def short_hash(self) -> str:
        """The 12 hex digits A1111 writes in `Lora hashes` ("" while not known)."""
        return self.sha256[:12]


@dataclass(frozen=True)
class EmbeddingInfo:
    """One textual-inversion embedding: `id` (its file name without the extension) is the word
    that calls it in a prompt; `vectors` how many tokens it stands for."""

    id: str
    name: str
    path: Path
    arch: str
    vectors: int = 1
    size_bytes: int = 0


# ---- hashes ---------------------------------------------------------------------------------
def _data_sha256(path: Path, offset: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


# ---- the facts cache ------------------------------------------------------------------------
_LOCK = threading.RLock()
_MEMORY: dict[str, dict[str, dict[str, Any]]] = {}   # facts file -> key -> facts


def _key(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


class _Facts:
    """What was learned per file, in `<models>/addon-facts.json` (and in memory)."""

    def __init__(self, root: Path) -> None:
        self.file = root / FACTS_FILE

    def _all(self) -> dict[str, dict[str, Any]]:
        name = str(self.file)
        if name not in _MEMORY:
            try:
                data = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            items = data.get("files", {}) if isinstance(data, dict) else {}
            _MEMORY[name] = {k: v for k, v in items.items() if isinstance(v, dict)}
        return _MEMORY[name]

    def get(self, path: Path) -> dict[str, Any] | None:
        key = _key(path)
        with _LOCK:
            return None if key is None else self._all().get(key)

    def put(self, path: Path, facts: dict[str, Any]) -> None:
        key = _key(path)
        if key is None:
            return
        with _LOCK:
            entries = self._all()
            prefix = key.rsplit("|", 2)[0] + "|"
            for old in [k for k in entries if k.startswith(prefix) and k != key]:
                del entries[old]  # the same file before it changed
            entries[key] = dict(facts)
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_json(self.file, {"version": 1, "files": entries}, indent=1)
            except OSError as exc:  # a read-only models folder costs reading headers again
                log.warning("could not remember the LoRA / embedding facts: %s", exc)


def _lora_info(path: Path, facts: dict[str, Any]) -> LoraInfo:
    return LoraInfo(path.stem, path.stem, path, str(facts.get("arch", "sd")),
                    str(facts.get("layout", "")), tuple(map(str, facts.get("triggers") or ())),
                    str(facts.get("alias") or ""), _size(path), str(facts.get("sha256_data") or ""),
                    bool(facts.get("trained_here")))


def _embedding_info(path: Path, facts: dict[str, Any]) -> EmbeddingInfo:
    return EmbeddingInfo(path.stem, path.stem, path, str(facts.get("arch", "sd")),
                         int(facts.get("vectors") or 1), _size(path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() == ".safetensors"), key=lambda p: p.name.lower())


# ---- the model source's side ----------------------------------------------------------------
class AddonFolders:
    """LoRAs and embeddings under `root` (see the module's notes): a base of `ModelRegistry`."""

    @property
    def root(self) -> Path:
        raise NotImplementedError

    def lora_folder(self) -> Path:
        return self.root / LORA_FOLDER

    def embedding_folder(self) -> Path:
        return self.root / EMBEDDING_FOLDER

    def _addon_facts(self, path: Path, inspect: Callable[[Path], dict[str, Any]]
                 ) -> dict[str, Any]:
        cache = _Facts(self.root)
        facts = cache.get(path)
        if facts is None:
            facts = inspect(path)
            cache.put(path, facts)
        return facts

    def loras(self) -> list[LoraInfo]:
        """Every usable LoRA in the LoRA folder (a refused file is logged and left out)."""
        out = []
        for p in _files(self.lora_folder()):
            try:
                out.append(_lora_info(p, self._addon_facts(p, inspect_lora)))
            except (ModelLoadError, ModelNotFoundError, OSError) as exc:
                log.warning("LoRA %s left out: %s", p, exc)
        return out

    def embeddings(self) -> list[EmbeddingInfo]:
        """Every usable embedding in the embeddings folder."""
        out = []
        for p in _files(self.embedding_folder()):
            try:
                out.append(_embedding_info(p, self._addon_facts(p, inspect_embedding)))
            except (ModelLoadError, ModelNotFoundError, OSError) as exc:
                log.warning("embedding %s left out: %s", p, exc)
        return out

    def resolve_lora(self, lora_id: str) -> LoraInfo:
        """The LoRA called `lora_id`: its file name (any case), else its trainer's name."""
        infos = self.loras()
        for match in (lambda i: i.id == lora_id, lambda i: i.id.lower() == lora_id.lower(),
                      lambda i: bool(i.alias) and i.alias.lower() == lora_id.lower()):
            found = [i for i in infos if match(i)]
            if found:
                return found[0]
        raise ModelNotFoundError(f"no LoRA called \u201c{lora_id}\u201d is installed: add its "
                                 "file with Add LoRA\u2026 in the AI panel or the model manager")

    def lora_sha256(self, info: LoraInfo) -> str:
        """A1111's LoRA hash (see the module's notes), read once per file and remembered."""
        cache = _Facts(self.root)
        facts = cache.get(info.path) or {}
        digest = facts.get("sha256_data")
        if not isinstance(digest, str):
            _, _, offset = read_header(info.path)
            digest = _data_sha256(info.path, offset)
            cache.put(info.path, {**(facts or inspect_lora(info.path)), "sha256_data": digest})
        return digest

    def add_lora(self, path: str | os.PathLike[str]) -> LoraInfo:
        """Check a LoRA file and copy it into the LoRA folder (see the module's notes)."""
        dest, facts = self._copy_addon(Path(path).expanduser(), self.lora_folder(), inspect_lora,
                                "LoRA")
        return _lora_info(dest, facts)

    def add_embedding(self, path: str | os.PathLike[str]) -> EmbeddingInfo:
        """Check an embedding file and copy it into the embeddings folder."""
        dest, facts = self._copy_addon(Path(path).expanduser(), self.embedding_folder(),
                                inspect_embedding, "embedding")
        return _embedding_info(dest, facts)

    def _copy_addon(self, src: Path, folder: Path, inspect: Callable[[Path], dict[str, Any]],
             what: str) -> tuple[Path, dict[str, Any]]:
        if not src.is_file():
            check_suffix(src, what)  # a pickle is named as one even when it is missing
            raise ModelNotFoundError(f"{quoted(src)} does not exist (moved or deleted?)")
        facts = inspect(src)
        dest = folder / src.name
        if dest.exists():
            if dest.resolve() == src.resolve():
                return dest, self._addon_facts(dest, inspect)
            if _same_content(src, dest):
                return dest, self._addon_facts(dest, inspect)
            raise ModelLoadError(f"a {what} called \u201c{src.stem}\u201d is already installed: "
                                 "remove it first, or rename the new file")
        folder.mkdir(parents=True, exist_ok=True)
        _, _, offset = read_header(src)
        data = hashlib.sha256()
        done = 0
        with open(src, "rb") as fin, atomic_write(dest) as fout:
            for block in iter(lambda: fin.read(BLOCK), b""):
                fout.write(block)
                if done + len(block) > offset:
                    data.update(block[max(0, offset - done):])
                done += len(block)
        if what == "LoRA":
            facts = {**facts, "sha256_data": data.hexdigest()}
        _Facts(self.root).put(dest, facts)
        log.info("added the %s %s as %s", what, src, dest)
        return dest, facts

    def remove_lora(self, lora_id: str) -> None:
        """Delete the LoRA's file from the LoRA folder."""
        _remove(self.resolve_lora(lora_id).path)

    def remove_embedding(self, embedding_id: str) -> None:
        """Delete the embedding's file from the embeddings folder."""
        found = [e for e in self.embeddings() if e.id == embedding_id]
        if not found:
            raise ModelNotFoundError(f"no embedding called \u201c{embedding_id}\u201d is "
                                     "installed")
        _remove(found[0].path)


def _same_content(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(BLOCK), fb.read(BLOCK)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ModelLoadError(f"cannot remove {quoted(path)}: "
                             f"{(exc.strerror or 'error').lower()}") from exc
    log.info("removed %s", path)

