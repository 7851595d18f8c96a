"""What the registry learned about each single-file checkpoint, kept so it is learned once.

Reading a pickle checkpoint's tensor names needs `torch.load` (seconds, and torch itself);
a .safetensors header is cheap but still a read. The facts (`ModelFacts`) are kept per file,
keyed by its resolved path, size and modification time: a file that changed is read again.
They live in memory for the process (per models folder) and in
`<models folder>/file-facts.json` (written atomically) for the next start, so listing the
models never needs torch.

    cache = FileFacts(models_root)
    cache.get(path)          # ModelFacts, or None when unknown or the file changed since
    cache.put(path, facts)
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from ...core.io.atomic import atomic_write_json
from .checkpoints import ModelFacts

FILE = "file-facts.json"
VERSION = 1

log = logging.getLogger(__name__)
_lock = threading.Lock()
# (cache file, path, size, mtime_ns) -> facts: shared by the registries of one models folder
_memory: dict[tuple[str, str, int, int], ModelFacts] = {}


def file_key(path: Path) -> tuple[str, int, int] | None:
    """(resolved path, size, mtime in ns) of a file, None when it cannot be read."""
    try:
        p = path.expanduser().resolve()
        st = p.stat()
    except OSError:
        return None
    return str(p), int(st.st_size), int(st.st_mtime_ns)


def _facts(data: Any) -> ModelFacts | None:
    if not isinstance(data, dict):
        return None
    names = {f.name for f in dataclasses.fields(ModelFacts)}
    try:
        return ModelFacts(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None


class FileFacts:
    """The facts cache of one models folder (see the module's notes)."""

    def __init__(self, root: Path) -> None:
        self.file = root / FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    def get(self, path: Path) -> ModelFacts | None:
        key = file_key(path)
        if key is None:
            return None
        with _lock:
            hit = _memory.get((str(self.file), *key))
        if hit is not None:
            return hit
        entry = self._read().get(key[0])
        if not isinstance(entry, dict) or [entry.get("size"), entry.get("mtime_ns")] != \
                [key[1], key[2]]:
            return None
        facts = _facts(entry.get("facts"))
        if facts is not None:
            with _lock:
                _memory[(str(self.file), *key)] = facts
        return facts

    def put(self, path: Path, facts: ModelFacts) -> None:
        """Remember `facts` for `path` as it is now: in memory, and in the models folder when
        there is one (nothing creates it here; a failed write is logged, not raised: the facts
        are learned again next time)."""
        key = file_key(path)
        if key is None:
            return
        with _lock:
            _memory[(str(self.file), *key)] = facts
            if not self.file.parent.is_dir():
                return
            files = self._read()
            files[key[0]] = {"size": key[1], "mtime_ns": key[2],
                             "facts": dataclasses.asdict(facts)}
            # forget files that are gone
            files = {p: e for p, e in files.items() if os.path.exists(p)}
            try:
                atomic_write_json(self.file, {"version": VERSION, "files": files})
            except OSError as exc:
                log.warning("cannot save what was learned about %s in %s: %s", path,
                            self.file, exc)
