"""The generation history's part of an OpenRaster file (`Document.generation_history`).

Layout, inside the `aiart/` part other programs ignore:

- `aiart/history.json`: `{"format": "aiart-desktop-history", "version": 1, "entries": [...]}`,
  each entry as the document holds it, its `thumbnails` replaced by member names;
- `aiart/history/NNNNN-V.png`: the thumbnail of variation V of entry NNNNN, bytes as given.

Entries are kept as they are (keys we do not know included), so a save after a load writes the
same part again. Reading is forgiving: the history is a convenience, so a damaged, oversized or
hostile part is skipped with a logged warning and the document still opens.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from .errors import FileFormatError, PathLike
from .safezip import SafeZip, safe_member_name

log = logging.getLogger(__name__)

HISTORY_JSON = "aiart/history.json"
HISTORY_DIR = "aiart/history/"
FORMAT = "aiart-desktop-history"
MAX_JSON_BYTES = 64 << 20
MAX_ENTRIES = 100_000
MAX_THUMB_BYTES = 1 << 20
MAX_THUMBS_TOTAL = 512 << 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def thumb_name(entry_index: int, variant: int) -> str:
    return f"{HISTORY_DIR}{entry_index:05d}-{variant}.png"


def write_history(history: list[Any], put: Callable[[str, bytes, bool], None],
                  to_json: Callable[[Any], bytes]) -> None:
    """Store `history` through `put(name, data, stored)`; nothing when it is empty."""
    out: list[dict[str, Any]] = []
    for data in history:
        if not isinstance(data, dict):
            continue
        entry = dict(data)
        names = []
        for v, png in enumerate(entry.get("thumbnails") or []):
            if not isinstance(png, (bytes, bytearray)):
                continue
            name = thumb_name(len(out), v)
            put(name, bytes(png), True)
            names.append(name)
        entry["thumbnails"] = names
        out.append(entry)
    if out:
        put(HISTORY_JSON, to_json({"format": FORMAT, "version": 1, "entries": out}), False)


def read_history(z: SafeZip, path: PathLike) -> list[dict[str, Any]]:
    """The history stored in the archive ([] when there is none or it cannot be used)."""
    if not z.has(HISTORY_JSON):
        return []
    try:
        raw = z.read(HISTORY_JSON, MAX_JSON_BYTES)
        part = json.loads(raw.decode("utf-8"))
    except FileFormatError as exc:
        _warn(path, f"its generation history was skipped: {exc.problem}")
        return []
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        _warn(path, f"its generation history is damaged and was skipped ({exc})")
        return []
    items = part.get("entries") if isinstance(part, dict) else None
    if not isinstance(items, list):
        _warn(path, "its generation history is not a list of entries; skipped")
        return []
    if len(items) > MAX_ENTRIES:
        _warn(path, f"its generation history holds {len(items)} entries; only the last "
              f"{MAX_ENTRIES} were read")
        items = items[-MAX_ENTRIES:]
    reader = _ThumbReader(z, path)
    out = []
    dropped = 0
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("record"), dict):
            dropped += 1
            continue
        entry = dict(item)
        names = entry.get("thumbnails")
        entry["thumbnails"] = [reader.read(n) for n in names] if isinstance(names, list) else []
        entry["thumbnails"] = [b for b in entry["thumbnails"] if b is not None]
        out.append(entry)
    if dropped:
        _warn(path, f"{dropped} damaged generation history entr{'y' if dropped == 1 else 'ies'}"
              " skipped")
    if reader.skipped:
        _warn(path, f"{reader.skipped} generation history thumbnail(s) skipped "
              "(missing, too large or not PNG)")
    return out


class _ThumbReader:
    def __init__(self, z: SafeZip, path: PathLike) -> None:
        self.z, self.path = z, path
        self.total = 0
        self.skipped = 0

    def read(self, name: Any) -> bytes | None:
        key = safe_member_name(name) if isinstance(name, str) else None
        if key is None or not key.startswith(HISTORY_DIR) or not self.z.has(key):
            self.skipped += 1
            return None
        try:
            size = self.z.info(key).file_size
            if size > MAX_THUMB_BYTES or self.total + size > MAX_THUMBS_TOTAL:
                raise FileFormatError(self.path, f"{key} is too large")
            data = self.z.read(key, MAX_THUMB_BYTES)
        except FileFormatError:
            self.skipped += 1
            return None
        if not data.startswith(PNG_MAGIC):
            self.skipped += 1
            return None
        self.total += len(data)
        return data


def _warn(path: PathLike, message: str) -> None:
    log.warning("%s: %s", path, message)
