"""The one error type every failed load raises, and helpers that translate low-level errors.

A user who opens a broken, truncated or hostile file gets a single exception type naming the
file and the problem, never a traceback from zipfile, Pillow or the XML parser. Its `kind` says
what went wrong in one word ("missing", "folder", "permission", "empty", "not_picture",
"truncated", "too_large", "memory", "unreadable" or "damaged"), `problem` says it in a few
words for the log and the command line, and `message` is what a painter is shown: at most two
short lines naming the file, the problem and what to do.
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


OPENS = ".ora, .png, .jpg, .webp and .tif"
KINDS = ("missing", "folder", "permission", "empty", "not_picture", "truncated", "too_large",
         "memory", "unreadable", "damaged")


class FileFormatError(Exception):
    """A file could not be read: it is missing, corrupt, truncated, hostile or unsupported."""

    def __init__(self, path: PathLike, problem: str, kind: str = "damaged") -> None:
        self.path = os.fspath(path)
        self.problem = problem
        self.kind = kind if kind in KINDS else "damaged"
        super().__init__(f"Cannot open {self.path!r}: {problem}")

    def __reduce__(self) -> tuple[type[FileFormatError], tuple[str, str, str]]:
        return (type(self), (self.path, self.problem, self.kind))

    @property
    def message(self) -> str:
        """What the user is shown: two short lines naming the file, the problem and what to
        do (the path and `problem` are for the log)."""
        return user_message(self.path, self.kind)


def user_message(path: PathLike, kind: str) -> str:
    name = f"\u201c{os.path.basename(os.fspath(path).rstrip(os.sep)) or os.fspath(path)}\u201d"
    ora = os.path.splitext(os.fspath(path))[1].lower() == ".ora"
    if kind == "missing":
        return f"{name} does not exist any more: it was moved, renamed or deleted."
    if kind == "folder":
        return f"{name} is a folder, not a picture.\nOpen a picture file inside it instead."
    if kind == "permission":
        return (f"{name} cannot be opened: you do not have permission to read it.\n"
                "Change its permissions, or copy it somewhere you can read it.")
    if kind == "empty":
        return (f"{name} is empty (0 bytes): there is no picture in it.\n"
                "It may be an unfinished download or copy.")
    if kind == "truncated":
        return (f"{name} is cut short: part of it is missing.\n"
                "It may be an unfinished download or copy; get it again.")
    if kind == "too_large":
        return (f"{name} is too large to open safely.\n"
                "Make it smaller in another program first.")
    if kind == "memory":
        return (f"There is not enough memory to open {name}.\n"
                "Close other documents or programs and try again.")
    if kind == "unreadable":
        return (f"{name} cannot be read: the disk or network drive reported an error.\n"
                "Copy it to a local disk and try again.")
    if ora:
        return (f"{name} is damaged or not an OpenRaster file.\n"
                "If another program made it, save it there again as .ora or PNG.")
    if kind == "not_picture":
        return (f"{name} is not a picture AIArt Desktop can open.\n"
                f"It opens {OPENS} files.")
    return (f"{name} is damaged: AIArt Desktop cannot read the picture in it.\n"
            "If another program made it, save it there again.")


def fail(path: PathLike, problem: str, kind: str = "damaged") -> NoReturn:
    raise FileFormatError(path, problem, kind)


def kind_of(exc: BaseException) -> str:
    """What a low-level exception raised while reading a file means, in one word (`KINDS`)."""
    if isinstance(exc, FileFormatError):
        return exc.kind
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, IsADirectoryError):
        return "folder"
    if isinstance(exc, PermissionError):
        return "permission"
    if isinstance(exc, Image.DecompressionBombError):
        return "too_large"
    if isinstance(exc, UnidentifiedImageError):
        return "not_picture"
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return "truncated"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, (zipfile.BadZipFile, zlib.error)):
        return "damaged"
    if isinstance(exc, OSError) and exc.errno is not None:
        return "unreadable"
    return "damaged"


def check_file(path: PathLike) -> None:
    """Refuse, with its kind, a path that is missing, a folder, unreadable or empty."""
    try:
        st = os.stat(path)
        if os.path.isdir(path):
            fail(path, "it is a folder, not a file", "folder")
        with open(path, "rb"):
            pass
    except FileFormatError:
        raise
    except OSError as exc:
        raise FileFormatError(path, describe(exc), kind_of(exc)) from exc
    if st.st_size == 0:
        fail(path, "the file is empty (0 bytes)", "empty")


def describe(exc: BaseException) -> str:
    """A short, human message for a low-level exception raised while reading a file."""
    if isinstance(exc, FileNotFoundError):
        return "the file does not exist"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, Image.DecompressionBombError):
        return "the image is too large to open safely (possible decompression bomb)"
    if isinstance(exc, UnidentifiedImageError):
        return "it is not an image in a supported format"
    if isinstance(exc, zipfile.BadZipFile):
        return "the archive is corrupt"
    if isinstance(exc, zlib.error):
        return "compressed data is corrupt"
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
        raise FileFormatError(path, f"{what}: {problem}" if what else problem,
                              kind_of(exc)) from exc
