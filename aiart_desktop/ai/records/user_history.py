"""The per-user generation history: every generation of every document, in the data folder.

`history/YYYY-MM.jsonl` files hold one entry a line (`GenerationEntry.to_data()`, thumbnails
by file name) and `history/thumbs/<id>-<n>.png` the thumbnails. See `ai.gen_history`.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ...core.io.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from .gen_history import GenerationEntry

USER_MAX_BYTES = 64 << 20        # the per-user folder is pruned past this
USER_MAX_LINE = 1 << 20          # a longer JSONL line is skipped as damaged
USER_LIST_LIMIT = 5000           # entries the "All" view reads at most
_MONTH_RE = re.compile(r"^\d{4}-\d{2}\.jsonl$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}\.png$")


def user_history_dir() -> Path:
    from ...settings.paths import data_dir

    return data_dir() / "history"


class UserHistory:
    """Every generation of every document, per user: `YYYY-MM.jsonl` files of entries (one
    JSON object a line; thumbnails by file name) and `thumbs/<id>-<n>.png`.

    Appends are thread-safe within the process and need no lock across processes: each line is
    written with one `write` in append mode, after its thumbnails (written to a temporary name,
    then renamed). Readers skip damaged lines. Past `max_bytes` the oldest entries are removed
    (their lines rewritten atomically, their thumbnails deleted).
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None,
                 max_bytes: int = USER_MAX_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else user_history_dir()
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()

    @property
    def thumbs_dir(self) -> Path:
        return self.folder / "thumbs"

    def month_files(self) -> list[Path]:
        """The JSONL files, oldest month first."""
        try:
            names = sorted(p for p in self.folder.iterdir() if _MONTH_RE.match(p.name))
        except OSError:
            return []
        return names

    # ---- writing ---------------------------------------------------------------------------
    def append(self, entry: GenerationEntry) -> None:
        """Add `entry` (raises OSError when the folder cannot be written)."""
        from .gen_history import json_default

        with self._lock:
            self.thumbs_dir.mkdir(parents=True, exist_ok=True)
            names = []
            for i, png in enumerate(entry.thumbnails):
                name = f"{entry.id}-{i}.png"
                _write_file(self.thumbs_dir / name, png)
                names.append(name)
            data = entry.to_data()
            data["thumbnails"] = names
            line = json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                              default=json_default) + "\n"
            month = time.strftime("%Y-%m", time.gmtime(entry.time)) + ".jsonl"
            fd = os.open(self.folder / month, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
            self._prune()

    def size(self) -> int:
        total = 0
        for p in self.month_files():
            total += _size(p)
        try:
            total += sum(_size(p) for p in self.thumbs_dir.iterdir())
        except OSError:
            pass
        return total

    def _prune(self) -> None:
        total = self.size()
        if total <= self.max_bytes:
            return
        target = int(self.max_bytes * 0.9)
        for path in self.month_files():
            if total <= target:
                break
            lines = _read_lines(path)
            keep_from = 0
            for raw in lines:
                if total <= target:
                    break
                total -= len(raw) + 1
                for name in _thumb_names(raw):
                    p = self.thumbs_dir / name
                    total -= _size(p)
                    _unlink(p)
                keep_from += 1
            rest = lines[keep_from:]
            if rest:
                _write_file(path, b"".join(r + b"\n" for r in rest))
            else:
                _unlink(path)

    # ---- reading ---------------------------------------------------------------------------
    def load(self, limit: int = USER_LIST_LIMIT) -> list[GenerationEntry]:
        """The newest `limit` entries, newest first, thumbnails read from their files."""
        out: list[GenerationEntry] = []
        for path in reversed(self.month_files()):
            for raw in reversed(_read_lines(path)):
                entry = self._parse(raw)
                if entry is not None:
                    out.append(entry)
                    if len(out) >= limit:
                        return _by_time(out)
        return _by_time(out)

    def _parse(self, raw: bytes) -> GenerationEntry | None:
        from .gen_history import GenerationEntry

        if len(raw) > USER_MAX_LINE:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        thumbs = []
        for name in data.get("thumbnails") or []:
            if isinstance(name, str) and _NAME_RE.match(name):
                try:
                    thumbs.append((self.thumbs_dir / name).read_bytes())
                except OSError:
                    thumbs.append(b"")
        data["thumbnails"] = thumbs
        return GenerationEntry.from_data(data)


def _by_time(items: list[GenerationEntry]) -> list[GenerationEntry]:
    return sorted(items, key=lambda e: e.time, reverse=True)


def _thumb_names(raw: bytes) -> list[str]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    names = data.get("thumbnails") if isinstance(data, dict) else None
    return [n for n in names or [] if isinstance(n, str) and _NAME_RE.match(n)]


def _read_lines(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [line for line in data.split(b"\n") if line.strip()]


def _write_file(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass
