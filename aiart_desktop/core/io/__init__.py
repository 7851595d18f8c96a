"""File input and output for the core: OpenRaster (native), flat images, atomic saves.

`load_document(path)` and `save_document(doc, path, **opts)` pick the format from the file:
loading sniffs the content (a zip is OpenRaster), saving goes by the extension.
"""
from __future__ import annotations

import os
from typing import Any

from ..document import Document
from .atomic import atomic_write
from .errors import FileFormatError, PathLike, check_file, describe, kind_of
from .images import (
    export_jpeg,
    export_png,
    export_tiff,
    export_webp,
    import_image_as_layer,
    load_image,
    open_image_document,
)
from .ora import load_ora, save_ora

__all__ = [
    "FileFormatError", "atomic_write", "export_jpeg", "export_png", "export_tiff",
    "export_webp", "import_image_as_layer", "load_document", "load_image", "load_ora",
    "open_image_document", "save_document", "save_ora", "READ_EXTENSIONS", "WRITE_EXTENSIONS",
]

READ_EXTENSIONS = (".ora", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
WRITE_EXTENSIONS = (".ora", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
ZIP_MAGIC = b"PK\x03\x04"


def _ext(path: PathLike) -> str:
    return os.path.splitext(os.fspath(path))[1].lower()


def _is_zip(path: PathLike) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ZIP_MAGIC
    except OSError as exc:
        raise FileFormatError(path, describe(exc), kind_of(exc)) from exc


def load_document(path: PathLike) -> Document:
    """Open an .ora file or a flat image as a new Document."""
    check_file(path)
    if _ext(path) == ".ora" or _is_zip(path):
        return load_ora(path)
    return open_image_document(path)


def save_document(doc: Document, path: PathLike, **opts: Any) -> None:
    """Save or export by extension: .ora keeps layers; the others write the flattened canvas.

    Options: `quality` (JPEG, and lossy WebP), `parameters` (PNG text chunk).
    Raises ValueError for an extension we cannot write, OSError when the disk refuses.
    """
    ext = _ext(path)
    quality = opts.get("quality")
    if ext == ".ora":
        save_ora(doc, path)
    elif ext == ".png":
        export_png(doc, path, parameters=opts.get("parameters"))
    elif ext in (".jpg", ".jpeg"):
        export_jpeg(doc, path, quality=92 if quality is None else int(quality))
    elif ext == ".webp":
        export_webp(doc, path, quality=None if quality is None else int(quality))
    elif ext in (".tif", ".tiff"):
        export_tiff(doc, path)
    else:
        known = ", ".join(WRITE_EXTENSIONS)
        raise ValueError(f"cannot save {os.fspath(path)!r}: unknown file type {ext or '(none)'!r}"
                         f" (use one of {known})")
