"""Atomic saves: write a temporary file beside the target, fsync it, then rename over it.

If anything fails before the rename, the old file is untouched and the temporary file is
removed, so a crash or a full disk never leaves a half-written document behind.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .errors import PathLike


def _read_umask() -> int:
    # os.umask can only be read by setting it; do that once, at import, on one thread,
    # rather than during saves that may run on a background thread (autosave).
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _new_file_mode() -> int:
    return 0o666 & ~_UMASK


def _fsync_dir(folder: str) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary binary file for writing; on success it atomically becomes `path`.

    The temporary file lives in the same folder (so the rename never crosses filesystems) and
    gets the permissions of the file it replaces, or the usual ones for a new file.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"{target!r} is a folder")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def write_atomically(path: PathLike, writer: Callable[[BinaryIO], None]) -> None:
    """Call `writer(file)` inside `atomic_write(path)`."""
    with atomic_write(path) as f:
        writer(f)
