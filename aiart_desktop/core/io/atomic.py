"""Atomic saves: write a temporary file beside the target, fsync it, then rename over it.

If anything fails before the rename, the old file is untouched and the temporary file is
removed, so a crash or a full disk never leaves a half-written document behind.

A process killed mid-save cannot remove its temporary file, so the next save of the same file
does. Our temporary files are named ``.<name>.aiart-<host>-<pid>-<random>.tmp`` (``<name>``
the target's file name, ``<host>`` 8 hex digits of this machine's name, ``<pid>`` the writing
process): only files of exactly that form, for that target, are ever removed, and only when
their writer is gone: written on this machine by a process that is no longer running, or
untouched for `STALE_AGE` seconds (a writer on another machine sharing the folder, or a pid
reused since). A live writer's file, still being written, is left alone. Temporary files of
other programs, or of other documents in the folder, are never touched.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .errors import PathLike

log = logging.getLogger(__name__)

STALE_AGE = 3600.0  # seconds without a write after which a temp of a live pid counts as stale
_NAME_BYTES = 180   # longer target names are shortened in the temp name (NAME_MAX is 255)


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


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


_HOST = _host_tag()


def _temp_prefix(name: str) -> str:
    """``.<name>.aiart-``: the start of every temporary file name of target `name` (a long name
    is cut and completed with a hash of the whole, so the temp name stays within NAME_MAX)."""
    if len(name.encode("utf-8", "surrogateescape")) > _NAME_BYTES:
        digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        name = name.encode("utf-8", "surrogateescape")[:_NAME_BYTES - 12].decode(
            "utf-8", "ignore") + "~" + digest
    return f".{name}.aiart-"


_TAIL = re.compile(r"([0-9a-f]{8})-([0-9]{1,10})-[A-Za-z0-9_]{4,16}\.tmp")


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (a zombie counts as gone)."""
    if pid <= 0:
        return False
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            return True
    if os.name == "nt":
        import ctypes

        k32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = k32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(k32.GetLastError() == 5)  # access denied: it exists
        code = ctypes.c_ulong()
        try:
            ok = k32.GetExitCodeProcess(handle, ctypes.byref(code))
            return not ok or code.value == 259  # STILL_ACTIVE
        finally:
            k32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temp_files(path: PathLike, now: float | None = None) -> list[str]:
    """The temporary files that earlier, unfinished atomic saves of `path` left beside it and
    whose writer is gone (see the module's docstring); full paths."""
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    prefix = _temp_prefix(name)
    now = time.time() if now is None else now
    out = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = _TAIL.fullmatch(entry.name[len(prefix):])
        try:
            if m is None or not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        host, pid = m.group(1), int(m.group(2))
        writer_gone = host == _HOST and pid != os.getpid() and not pid_alive(pid)
        if writer_gone or age > STALE_AGE:
            out.append(entry.path)
    return out


def remove_stale_temp_files(path: PathLike) -> int:
    """Remove `stale_temp_files(path)`; how many went. Never raises: a leftover that cannot be
    removed stays for the next save."""
    removed = 0
    for tmp in stale_temp_files(path):
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            continue  # another save of the same file removed it first
        except OSError as exc:
            log.warning("could not remove %s, left by an unfinished save: %s", tmp, exc)
            continue
        log.info("removed %s, left by an earlier save that did not finish", tmp)
        removed += 1
    return removed


@contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Open a temporary binary file for writing; on success it atomically becomes `path`.

    The temporary file lives in the same folder (so the rename never crosses filesystems) and
    gets the permissions of the file it replaces, or the usual ones for a new file. Temporary
    files that killed earlier saves of `path` left behind are removed first.
    """
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"{target!r} is a folder")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    remove_stale_temp_files(target)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(name)}{_HOST}-{os.getpid()}-",
                               suffix=".tmp", dir=folder)
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
