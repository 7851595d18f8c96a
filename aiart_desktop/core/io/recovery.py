"""Crash recovery files, headless: autosave snapshots, their sidecars, owner locks, the scan.

Per autosaved document ("session") a recovery folder holds ``<sid>.lock`` (the owning process:
pid and start time, written when the session starts), ``<sid>.ora`` (the latest snapshot) and
``<sid>.json`` (its sidecar: original path, display name, time, pid, revision). Every file is
written atomically (`core.io.atomic`). Sessions whose owner process is gone are offered at the
next start (`find_recoverable`); a clean close discards its session's files.

    session = RecoverySession.start(folder)          # writes the lock (OSError if it cannot)
    gen = session.generation
    session.write(snapshot_document(doc), session.sidecar(doc, "cat.ora"), gen)  # any thread
    session.unpublish(keep_lock=True)                # the user saved: drop the snapshot
    session.unpublish(keep_lock=False)               # clean close: nothing left

    for entry in find_recoverable(folder):           # owners gone, newest first
        doc = entry.load()                           # marked modified; or entry.discard()
    docs = recover(entries, chosen, on_error)        # load the chosen, discard the others

The Qt side (timers, the writer thread, the question to the user) is `qt/autosave.py`.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..document import Document
from ..layer import Group, clone_node
from .atomic import atomic_write_json, move_into_place, pid_alive

log = logging.getLogger(__name__)
PathLike = str | os.PathLike[str]

# Recovered documents waiting for their first autosave in this process (then the old files go).
_claimed: weakref.WeakKeyDictionary[Document, RecoveryEntry] = weakref.WeakKeyDictionary()


# ---- snapshots ---------------------------------------------------------------------------------
def snapshot_document(doc: Document) -> Document:
    """A detached copy of `doc` that a background thread may save. Cheap: tiles are shared."""
    snap = Document(doc.width, doc.height)
    root = clone_node(doc.root)
    assert isinstance(root, Group)
    snap.root = root
    with contextlib.suppress(ValueError):
        if doc.active is not None:
            snap.active = root.walk()[doc.root.walk().index(doc.active)]
    snap.selection = None if doc.selection is None else doc.selection.copy()
    snap.metadata = copy.deepcopy(doc.metadata)
    snap.path = doc.path
    return snap


def mark_modified(doc: Document) -> None:
    """Make `doc` read as unsaved whatever is undone (its file on disk is older)."""
    doc.history.mark_dirty()
    doc.history.changed.emit()


# ---- owners ------------------------------------------------------------------------------------
def process_start_time(pid: int) -> float | None:
    """When process `pid` started (clock ticks on Linux), to tell a reused pid from the owner;
    None when it cannot be told."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                return float(f.read().rsplit(")", 1)[1].split()[19])
        except (OSError, IndexError, ValueError):
            return None
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def lock_record() -> dict[str, Any]:
    """What a lock file says about this process."""
    return {"pid": os.getpid(), "started": process_start_time(os.getpid()), "time": time.time()}


def owner_alive(lock: dict[str, Any]) -> bool:
    """Whether the process a lock record names still runs (and is that process, not a later
    one that got the same pid)."""
    pid = lock.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return False
    started, now = lock.get("started"), process_start_time(pid)
    return not (isinstance(started, float | int) and now is not None and abs(now - started) > 1)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from `path`; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """`data` as the JSON file `path`, atomically."""
    atomic_write_json(path, data, indent=1)


def remove_session_files(folder: Path, sid: str, keep_lock: bool = False) -> None:
    """Delete every file of session `sid` (and the temporary files of its unfinished writes)."""
    for p in list(folder.glob(f"{sid}.*")) + list(folder.glob(f".{sid}.*")):
        if not (keep_lock and p.name == f"{sid}.lock"):
            with contextlib.suppress(OSError):
                p.unlink()


# ---- one live session --------------------------------------------------------------------------
class RecoverySession:
    """The recovery files of one autosaved document in this process.

    `write` may run on any thread (one at a time); `unpublish` may run meanwhile on another:
    a write that began before it publishes nothing (`generation` tells them apart).
    """

    def __init__(self, folder: PathLike, sid: str) -> None:
        self.folder, self.sid = Path(folder), sid
        self._lock = threading.Lock()
        self._generation = 0

    @classmethod
    def start(cls, folder: PathLike) -> RecoverySession:
        """A new session in `folder` (created if needed), its lock written; OSError when the
        folder cannot be written."""
        session = cls(folder, f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        session.folder.mkdir(parents=True, exist_ok=True)
        write_json(session.lock_path, lock_record())
        return session

    @property
    def lock_path(self) -> Path:
        return self.folder / f"{self.sid}.lock"

    @property
    def ora_path(self) -> Path:
        return self.folder / f"{self.sid}.ora"

    @property
    def sidecar_path(self) -> Path:
        return self.folder / f"{self.sid}.json"

    @property
    def partial_path(self) -> Path:
        return self.folder / f"{self.sid}.partial.ora"

    @property
    def generation(self) -> int:
        """Read before taking a snapshot; `write` compares it with the current one."""
        return self._generation

    def sidecar(self, doc: Document, display_name: str) -> dict[str, Any]:
        """The sidecar that describes a snapshot of `doc` taken now."""
        return {"version": 1, "session": self.sid, "pid": os.getpid(),
                "original_path": doc.path, "display_name": display_name,
                "saved_at": time.time(), "revision": doc.revision,
                "width": doc.width, "height": doc.height}

    def write(self, snap: Document, meta: dict[str, Any], generation: int) -> Path | None:
        """Save `snap` as this session's autosave, then its sidecar `meta`; the path written,
        or None when `unpublish` ran since `generation` was read (nothing is published).
        Raises OSError (and the like) when it cannot be written: the previous autosave and its
        sidecar are then intact and no partial file is left."""
        from . import ora  # here, not at import: PIL, zipfile...

        partial = self.partial_path
        try:
            ora.save_ora(snap, partial)
            with self._lock:
                if generation != self._generation:
                    partial.unlink(missing_ok=True)
                    return None
                move_into_place(partial, self.ora_path)
                write_json(self.sidecar_path, meta)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise
        return self.ora_path

    def unpublish(self, keep_lock: bool) -> None:
        """Remove the autosave and its sidecar (and the lock unless `keep_lock`); a write in
        flight publishes nothing and removes its own partial file."""
        with self._lock:
            self._generation += 1
            for p in (self.sidecar_path, self.ora_path) if keep_lock else (
                    self.sidecar_path, self.ora_path, self.lock_path):
                with contextlib.suppress(OSError):
                    p.unlink()


# ---- recovery ----------------------------------------------------------------------------------
@dataclass
class RecoveryEntry:
    """The autosave of a session whose process died: load it, or discard it."""

    folder: Path
    session_id: str
    display_name: str
    original_path: str | None
    saved_at: float
    pid: int

    @property
    def ora_path(self) -> Path:
        return self.folder / f"{self.session_id}.ora"

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        return f"{self.display_name} (autosaved {when})"

    def load(self) -> Document:
        """The autosaved document, marked modified, its path the original file's (or None)."""
        from . import ora

        doc = ora.load_ora(self.ora_path)
        doc.path = self.original_path
        mark_modified(doc)
        return doc

    def discard(self) -> None:
        """Delete this autosave for good."""
        remove_session_files(self.folder, self.session_id)

    def claim(self) -> None:
        """Mark the entry as owned by this process, so no other instance offers it meanwhile."""
        write_json(self.folder / f"{self.session_id}.lock", lock_record())


def find_recoverable(folder: PathLike) -> list[RecoveryEntry]:
    """Autosaves in `folder` whose owning process is no longer running, newest first."""
    folder = Path(folder)
    out = []
    for side in folder.glob("*.json") if folder.is_dir() else []:
        sid = side.stem
        meta = read_json(side)
        if meta is None or not (folder / f"{sid}.ora").is_file():
            continue
        lock = read_json(folder / f"{sid}.lock") or {"pid": meta.get("pid")}
        if owner_alive(lock):
            continue
        orig = meta.get("original_path")
        try:
            out.append(RecoveryEntry(
                folder, sid, str(meta.get("display_name") or "Untitled"),
                orig if isinstance(orig, str) and orig else None,
                float(meta.get("saved_at") or side.stat().st_mtime), int(meta.get("pid") or 0)))
        except (TypeError, ValueError, OSError):  # a damaged sidecar: still worth offering
            out.append(RecoveryEntry(folder, sid, "Untitled", None, time.time(), 0))
    return sorted(out, key=lambda e: e.saved_at, reverse=True)


def cleanup_stale(folder: PathLike) -> None:
    """Remove leftovers of dead sessions that hold nothing to recover (locks, partial files)."""
    folder = Path(folder)
    for lock_path in folder.glob("*.lock") if folder.is_dir() else []:
        sid = lock_path.stem
        if (folder / f"{sid}.ora").exists() and (folder / f"{sid}.json").exists():
            continue
        lock = read_json(lock_path)
        if lock is None or not owner_alive(lock):
            remove_session_files(folder, sid)


def recover(entries: Sequence[RecoveryEntry], chosen: Sequence[RecoveryEntry],
            on_error: Callable[[RecoveryEntry, Exception], None]) -> list[Document]:
    """Load the `chosen` entries (claimed by this process) and discard the other `entries`.

    An entry that fails to load is reported to `on_error` and kept on disk. A recovered
    entry's files stay until `release_claim` (the document's own autosave was written, or it
    was saved or discarded), so a second crash loses nothing.
    """
    keep = {e.session_id for e in chosen}
    docs = []
    for entry in entries:
        if entry.session_id not in keep:
            entry.discard()
            continue
        try:
            doc = entry.load()
        except Exception as exc:
            log.warning("cannot recover %s: %s", entry.ora_path, exc)
            on_error(entry, exc)
            continue
        entry.claim()
        _claimed[doc] = entry
        docs.append(doc)
    return docs


def recovered_entry(doc: Document) -> RecoveryEntry | None:
    """The entry a recovered document came from (e.g. for its display name), if any."""
    return _claimed.get(doc)


def release_claim(doc: Document | None) -> bool:
    """Delete the files a recovered `doc` came from (it is safe elsewhere now); whether it
    had any."""
    entry = _claimed.pop(doc, None) if doc is not None else None
    if entry is None:
        return False
    entry.discard()
    return True
