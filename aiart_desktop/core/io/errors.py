"""The one error type every failed load raises, and helpers that translate low-level errors.

A user who opens a broken, truncated or hostile file gets a single exception type naming the
file and the problem, never a traceback from zipfile, Pillow or the XML parser.
"""
from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from PIL import Image, UnidentifiedImageError

PathLike = str | os.PathLike[str]


class FileFormatError(Exception):
    """A file could not be read: it is missing, corrupt, truncated, hostile or unsupported."""

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"Cannot open {self.path!r}: {problem}")

    def __reduce__(self) -> tuple[type[FileFormatError], tuple[str, str]]:
        return (type(self), (self.path, self.problem))


def fail(path: PathLike, problem: str) -> NoReturn:
    raise FileFormatError(path, problem)


def describe(exc: BaseException) -> str:
    """A short, human message for a low-level exception raised while reading a file."""
    if isinstance(exc, FileNotFoundError):
        return "the file does not exist"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, Image.DecompressionBombError):
        return f"the image is too large to open safely ({exc})"
    if isinstance(exc, UnidentifiedImageError):
        return "it is not an image in a supported format"
    if isinstance(exc, zipfile.BadZipFile):
        return f"the archive is corrupt ({exc})"
    if isinstance(exc, zlib.error):
        return f"compressed data is corrupt ({exc})"
    if isinstance(exc, EOFError):
        return "the file is truncated"
    if isinstance(exc, MemoryError):
        return "not enough memory to read it"
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower():
        return f"the file is truncated ({text})"
    return text


@contextmanager
def reading(path: PathLike, what: str = "") -> Iterator[None]:
    """Turn any error raised in the block into a FileFormatError for `path`.

    `what` names the part being read (e.g. "layer 'Sky' (data/1.png)") and prefixes the problem.
    """
    try:
        yield
    except FileFormatError:
        raise
    except (OSError, ValueError, EOFError, MemoryError, zipfile.BadZipFile, zlib.error,
            SyntaxError, KeyError, IndexError, TypeError, OverflowError, RuntimeError,
            Image.DecompressionBombError) as exc:
        # Pillow raises SyntaxError for malformed headers; KeyError/IndexError for some
        # corrupt chunks; RuntimeError for zip features it refuses (e.g. encryption).
        problem = describe(exc)
        raise FileFormatError(path, f"{what}: {problem}" if what else problem) from exc
