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

Helpers: `atomic_write_bytes`, `atomic_write_text`, `atomic_write_json` write a whole file at
once; `move_into_place` publishes a finished file under its final name. Whole folders are
replaced with `atomic_directory` (fill a fresh staging folder, then it replaces the target) or
`replace_directory` (a staging folder someone else filled): the staging folder is named
``.<name>.aiart-<host>-<pid>-<random>.dirtmp``, the folder it replaces is set aside as
``...old`` and deleted only once the new one is in place. Folders are only ever removed by the
folder helpers, files only by the file helpers.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

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
_DIR_TAIL = re.compile(r"([0-9a-f]{8})-([0-9]{1,10})-[A-Za-z0-9_]{4,16}\.(dirtmp|old)")


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
    if sys.platform == "win32":  # (the type checker skips this block elsewhere)
        import ctypes

        k32 = ctypes.windll.kernel32
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


def _stale_entries(path: PathLike, tail: re.Pattern[str], folders: bool,
                   now: float | None) -> list[tuple[os.DirEntry[str], re.Match[str], float]]:
    """Entries beside `path` named after it with `tail`, of the kind asked (plain files, or
    real folders), whose writer is gone: (entry, name match, modification time)."""
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
        m = tail.fullmatch(entry.name[len(prefix):])
        try:
            if m is None:
                continue
            kind_ok = (entry.is_dir(follow_symlinks=False) if folders
                       else entry.is_file(follow_symlinks=False))
            if not kind_ok:
                continue
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        host, pid = m.group(1), int(m.group(2))
        writer_gone = host == _HOST and pid != os.getpid() and not pid_alive(pid)
        if writer_gone or now - mtime > STALE_AGE:
            out.append((entry, m, mtime))
    return out


def stale_temp_files(path: PathLike, now: float | None = None) -> list[str]:
    """The temporary files that earlier, unfinished atomic saves of `path` left beside it and
    whose writer is gone (see the module's docstring); full paths."""
    return [e.path for e, _, _ in _stale_entries(path, _TAIL, False, now)]


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


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Make `data` the whole content of file `path`, atomically (see `atomic_write`)."""
    with atomic_write(path) as f:
        f.write(data)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Make `text` the whole content of file `path`, atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: PathLike, data: Any, *, indent: int | None = 2,
                      sort_keys: bool = False, ensure_ascii: bool = True) -> None:
    """Write `data` as JSON text (UTF-8, a final newline) to `path`, atomically. It is
    serialised first: a value JSON cannot hold raises before the disk is touched."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    atomic_write_text(path, text + "\n")


def move_into_place(src: PathLike, target: PathLike) -> None:
    """Publish the finished file `src` as `target` (same folder): one rename, made durable.
    On failure `target` is untouched and `src` is removed; the error is raised."""
    source = os.path.abspath(os.fspath(src))
    dest = os.path.abspath(os.fspath(target))
    try:
        os.replace(source, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(source)
        raise
    _fsync_dir(os.path.dirname(dest))


# ---- folders ------------------------------------------------------------------------------------
def stale_temp_dirs(path: PathLike, now: float | None = None) -> list[str]:
    """The folders that unfinished replacements of folder `path` left beside it (staging
    ``.dirtmp`` folders, set-aside ``.old`` ones) and whose writer is gone; full paths."""
    return [e.path for e, _, _ in _stale_entries(path, _DIR_TAIL, True, now)]


def remove_stale_temp_dirs(path: PathLike) -> int:
    """Remove `stale_temp_dirs(path)`; how many went. When folder `path` itself is missing
    (a replacement killed between its two renames), the newest set-aside ``.old`` folder is
    first put back in its place. Never raises."""
    target = os.path.abspath(os.fspath(path))
    stale = _stale_entries(target, _DIR_TAIL, True, None)
    if not os.path.lexists(target):
        olds = sorted((e for e in stale if e[1].group(3) == "old"), key=lambda e: e[2])
        if olds:
            entry = olds[-1][0]
            try:
                os.replace(entry.path, target)
                log.info("put back %s, set aside by a replacement that did not finish", target)
                stale = [e for e in stale if e[0] is not entry]
            except OSError as exc:
                log.warning("could not put back %s from %s: %s", target, entry.path, exc)
    removed = 0
    for entry, _, _ in stale:
        shutil.rmtree(entry.path, ignore_errors=True)
        if os.path.lexists(entry.path):
            log.warning("could not remove %s, left by an unfinished replacement", entry.path)
            continue
        log.info("removed %s, left by an earlier replacement that did not finish", entry.path)
        removed += 1
    return removed


def _aside_name(target: str, suffix: str) -> str:
    folder, name = os.path.split(target)
    return os.path.join(folder, f"{_temp_prefix(name)}{_HOST}-{os.getpid()}-"
                                f"{uuid.uuid4().hex[:8]}{suffix}")


def replace_directory(staging: PathLike, target: PathLike) -> None:
    """Make the finished folder `staging` (beside `target`) the folder `target`.

    A folder already at `target` is first renamed aside (``.<name>.aiart-...old``) and deleted
    only once `staging` is in its place; if that second rename fails, the old folder is put
    back, `staging` is left to the caller and the error is raised. A process killed between the
    two renames leaves the old folder under its ``.old`` name, and the next replacement of
    `target` puts it back first (`remove_stale_temp_dirs`).
    """
    src = os.path.abspath(os.fspath(staging))
    dest = os.path.abspath(os.fspath(target))
    folder = os.path.dirname(dest)
    if os.path.dirname(src) != folder:
        raise ValueError(f"{src!r} is not beside {dest!r}: the rename would not be atomic")
    if not os.path.isdir(src):
        raise NotADirectoryError(f"{src!r} is not a folder")
    remove_stale_temp_dirs(dest)
    aside = None
    if os.path.lexists(dest):
        if not os.path.isdir(dest):
            raise NotADirectoryError(f"{dest!r} is not a folder")
        aside = _aside_name(dest, ".old")
        os.replace(dest, aside)
    try:
        os.replace(src, dest)
    except BaseException:
        if aside is not None:
            try:
                os.replace(aside, dest)
            except OSError as exc:  # the next replacement puts it back
                log.error("could not put back %s from %s: %s", dest, aside, exc)
        raise
    _fsync_dir(folder)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def atomic_directory(path: PathLike) -> Iterator[Path]:
    """A new, empty staging folder beside folder `path` to fill; when the block ends without
    an error it replaces `path` (`replace_directory`); on an error it is deleted and `path`
    is untouched. The parent folder must exist."""
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    remove_stale_temp_dirs(target)
    staging = tempfile.mkdtemp(prefix=f"{_temp_prefix(name)}{_HOST}-{os.getpid()}-",
                               suffix=".dirtmp", dir=folder)
    try:
        with contextlib.suppress(OSError):
            os.chmod(staging, 0o777 & ~_UMASK)
        yield Path(staging)
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
