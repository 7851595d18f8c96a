"""Never lose work: background autosave of the open document, and recovery after a crash.

Per attached document ("session") the recovery folder holds ``<sid>.lock`` (the owning process,
written at attach), ``<sid>.ora`` (the latest autosave) and ``<sid>.json`` (a sidecar: original
path, display name, time, pid). Files whose owner process is gone are offered at the next
start; a clean close calls `discard()`, which removes them.

Wiring in the main window::

    self.autosave = AutosaveManager(recovery_dir(), settings.autosave_interval_s, parent=self)
    self.autosave.attach(doc, "Untitled")       # after New / Open (discards the previous doc's)
    self.autosave.set_display_name("cat.ora")   # after Save As
    self.autosave.discard()                     # on close, after the unsaved-changes prompt
    QTimer.singleShot(0, lambda: [self.open_document(d)
                                  for d in check_and_offer_recovery(self)])
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from aiart_desktop.core.document import Document
from aiart_desktop.core.io.atomic import pid_alive
from aiart_desktop.core.layer import Group, clone_node
from aiart_desktop.settings import recovery_dir as default_recovery_dir

log = logging.getLogger(__name__)
# Recovered documents waiting for their first autosave in this session (then the old files go).
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


def _mark_modified(doc: Document) -> None:
    """Make `doc` read as unsaved whatever is undone (its file on disk is older)."""
    doc.history.mark_dirty()
    doc.history.changed.emit()


# ---- process liveness ----------------------------------------------------------------------------
def _start_time(pid: int) -> float | None:
    """When process `pid` started (clock ticks on Linux), to tell a reused pid from the owner."""
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


def _owner_alive(lock: dict[str, Any]) -> bool:
    pid = lock.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return False
    started, now = lock.get("started"), _start_time(pid)
    return not (isinstance(started, float | int) and now is not None and abs(now - started) > 1)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _lock_record() -> dict[str, Any]:
    return {"pid": os.getpid(), "started": _start_time(os.getpid()), "time": time.time()}


def _remove_session_files(folder: Path, sid: str, keep_lock: bool = False) -> None:
    for p in list(folder.glob(f"{sid}.*")) + list(folder.glob(f".{sid}.*")):
        if not (keep_lock and p.name == f"{sid}.lock"):
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
        from aiart_desktop.core.io import ora

        doc = ora.load_ora(self.ora_path)
        doc.path = self.original_path
        _mark_modified(doc)
        return doc

    def discard(self) -> None:
        """Delete this autosave for good."""
        _remove_session_files(self.folder, self.session_id)

    def claim(self) -> None:
        """Mark the entry as owned by this process, so no other instance offers it meanwhile."""
        _write_json(self.folder / f"{self.session_id}.lock", _lock_record())


def find_recoverable(folder: str | os.PathLike[str] | None = None) -> list[RecoveryEntry]:
    """Autosaves whose owning process is no longer running, newest first."""
    folder = Path(folder) if folder is not None else default_recovery_dir()
    out = []
    for side in folder.glob("*.json") if folder.is_dir() else []:
        sid = side.stem
        meta = _read_json(side)
        if meta is None or not (folder / f"{sid}.ora").is_file():
            continue
        lock = _read_json(folder / f"{sid}.lock") or {"pid": meta.get("pid")}
        if _owner_alive(lock):
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


def cleanup_stale(folder: str | os.PathLike[str] | None = None) -> None:
    """Remove leftovers of dead sessions that hold nothing to recover (locks, partial files)."""
    folder = Path(folder) if folder is not None else default_recovery_dir()
    for lock_path in folder.glob("*.lock") if folder.is_dir() else []:
        sid = lock_path.stem
        if (folder / f"{sid}.ora").exists() and (folder / f"{sid}.json").exists():
            continue
        lock = _read_json(lock_path)
        if lock is None or not _owner_alive(lock):
            _remove_session_files(folder, sid)


def recovered_entry(doc: Document) -> RecoveryEntry | None:
    """The entry a recovered document came from (e.g. for its display name), if any."""
    return _claimed.get(doc)


def ask_to_recover(parent: QWidget | None,
                   entries: Sequence[RecoveryEntry]) -> list[RecoveryEntry] | None:
    """The default question: Recover (all) / Discard (all) / Later (None: keep for next time)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Recover unsaved work")
    box.setText("AIArt Desktop did not close normally. Unsaved work can be recovered:")
    box.setInformativeText("\n".join(f"• {e.describe()}" for e in entries))
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.exec()
    clicked = box.clickedButton()
    return list(entries) if clicked is recover else [] if clicked is discard else None


def check_and_offer_recovery(
    parent: QWidget | None = None,
    ask: Callable[[QWidget | None, Sequence[RecoveryEntry]], Sequence[RecoveryEntry] | None]
    | None = None,
    folder: str | os.PathLike[str] | None = None,
    on_error: Callable[[RecoveryEntry, Exception], None] | None = None,
) -> list[Document]:
    """Offer the autosaves of dead sessions; returns the documents the user chose to recover.

    `ask(parent, entries)` returns the entries to recover (the others are deleted), or None to
    decide later (all are kept). An entry that fails to load is reported to `on_error` (default:
    a warning box) and kept on disk. A recovered entry's files stay until the document's own
    autosave has been written (or it is saved or discarded), so a second crash loses nothing.
    """
    cleanup_stale(folder)
    entries = find_recoverable(folder)
    if not entries:
        return []
    chosen = (ask or ask_to_recover)(parent, entries)
    if chosen is None:
        return []
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
            if on_error is not None:
                on_error(entry, exc)
            else:
                QMessageBox.warning(parent, "Recovery failed", f"{entry.describe()}:\n{exc}")
            continue
        entry.claim()
        _claimed[doc] = entry
        docs.append(doc)
    return docs


# ---- autosave ----------------------------------------------------------------------------------
class _Writer:
    """Plain-Python state shared with the writer thread (no Qt object crosses threads)."""

    def __init__(self, folder: Path, sid: str) -> None:
        self.folder, self.sid = folder, sid
        self.lock = threading.Lock()
        self.generation = 0
        self.thread: threading.Thread | None = None
        self.result: tuple[bool, int, str] | None = None  # (ok, revision, path or message)
        self.thread_id: int | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, snap: Document, meta: dict[str, Any], revision: int) -> None:
        gen = self.generation
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(snap, meta, revision, gen),
                                       name=f"autosave-{self.sid}")
        self.thread.start()

    def _run(self, snap: Document, meta: dict[str, Any], revision: int, gen: int) -> None:
        self.thread_id = threading.get_ident()
        partial = self.folder / f"{self.sid}.partial.ora"
        final = self.folder / f"{self.sid}.ora"
        try:
            from aiart_desktop.core.io import ora  # here, not at startup: PIL, zipfile...

            ora.save_ora(snap, partial)
            with self.lock:
                if gen != self.generation:  # discarded meanwhile: publish nothing
                    partial.unlink(missing_ok=True)
                    return
                os.replace(partial, final)
                _write_json(self.folder / f"{self.sid}.json", meta)
            self.result = (True, revision, str(final))
        except Exception as exc:  # disk full, permissions...: report, keep painting
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            self.result = (False, revision, f"{type(exc).__name__}: {exc}")

    def remove(self, keep_lock: bool) -> None:
        """Unpublish the autosave; a write in flight removes its own partial file."""
        with self.lock:
            self.generation += 1
            for ext in ("json", "ora") if keep_lock else ("json", "ora", "lock"):
                with contextlib.suppress(OSError):
                    (self.folder / f"{self.sid}.{ext}").unlink()


class AutosaveManager(QObject):
    """Autosaves one document every `interval_s` while it is modified, off the UI thread."""

    saved = Signal(str)   # path of the autosave just written
    failed = Signal(str)  # why an autosave could not be written

    def __init__(self, recovery_dir: str | os.PathLike[str] | None = None,
                 interval_s: float = 60.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recovery_dir = Path(recovery_dir) if recovery_dir else default_recovery_dir()
        self.doc: Document | None = None
        self.display_name = "Untitled"
        self._writer: _Writer | None = None
        self._saved_revision: int | None = None
        self._published = False
        self._pending = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.save_now)
        self._poll = QTimer(self)
        self._poll.setInterval(50)
        self._poll.timeout.connect(self._check_writer)
        self.interval_s = interval_s

    @property
    def interval_s(self) -> float:
        return self._timer.interval() / 1000.0

    @interval_s.setter
    def interval_s(self, seconds: float) -> None:
        self._timer.setInterval(max(1, round(seconds * 1000)))

    @property
    def session_id(self) -> str | None:
        return self._writer.sid if self._writer else None

    @property
    def autosave_path(self) -> Path | None:
        return self.recovery_dir / f"{self._writer.sid}.ora" if self._writer else None

    @property
    def is_writing(self) -> bool:
        return self._writer is not None and self._writer.busy

    @property
    def last_write_thread(self) -> int | None:
        """`threading.get_ident()` of the thread that ran the last write."""
        return self._writer.thread_id if self._writer else None

    def attach(self, doc: Document, display_name: str = "Untitled") -> None:
        """Watch `doc`. The previously attached document's autosave is discarded."""
        if doc is self.doc:
            self.display_name = display_name
            return
        self.discard()
        sid = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self.recovery_dir.mkdir(parents=True, exist_ok=True)
            _write_json(self.recovery_dir / f"{sid}.lock", _lock_record())
        except OSError as exc:
            log.warning("autosave disabled: cannot write to %s: %s", self.recovery_dir, exc)
            self.failed.emit(f"cannot write to {self.recovery_dir}: {exc}")
            return
        self.doc, self.display_name = doc, display_name
        self._writer = _Writer(self.recovery_dir, sid)
        self._saved_revision, self._pending, self._published = None, False, False
        self._timer.start()
        if doc in _claimed:  # recovered: secure it under this session right away
            QTimer.singleShot(0, self.save_now)

    def set_display_name(self, name: str) -> None:
        self.display_name = name

    def save_now(self) -> bool:
        """Start an autosave if the document changed since the last one; True if one started."""
        doc, writer = self.doc, self._writer
        if doc is None or writer is None:
            return False
        if not doc.modified:  # saved by the user (or undone to the saved state)
            if self._published or doc in _claimed:
                writer.remove(keep_lock=True)
                self._release_claim()
                self._saved_revision, self._published = None, False
            return False
        if doc.revision == self._saved_revision:
            return False
        if writer.busy:
            self._pending = True
            return False
        meta = {"version": 1, "session": writer.sid, "pid": os.getpid(),
                "original_path": doc.path, "display_name": self.display_name,
                "saved_at": time.time(), "revision": doc.revision,
                "width": doc.width, "height": doc.height}
        writer.start(snapshot_document(doc), meta, doc.revision)
        self._published = True  # (about to be) on disk
        self._saved_revision = doc.revision  # a failure resets it so the next tick retries
        self._poll.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running write ends (tests, shutdown); True if none is running."""
        w = self._writer
        if w is not None and w.thread is not None:
            w.thread.join(timeout)
        done = not self.is_writing
        if done:
            self._check_writer()
        return done

    def discard(self) -> None:
        """Stop watching and delete this session's files (clean close, or work saved)."""
        self._timer.stop()
        if self._writer is not None:
            self._writer.remove(keep_lock=False)
        self._release_claim()
        self.doc, self._writer, self._saved_revision = None, None, None

    def _release_claim(self) -> None:
        entry = _claimed.pop(self.doc, None) if self.doc is not None else None
        if entry is not None:
            entry.discard()

    def _check_writer(self) -> None:
        w = self._writer
        if w is None or w.busy:
            return
        self._poll.stop()
        result, w.result = w.result, None
        if result is not None:
            ok, revision, text = result
            if ok:
                self._release_claim()
                self.saved.emit(text)
            else:
                log.warning("autosave failed: %s", text)
                if self._saved_revision == revision:
                    self._saved_revision = None
                self.failed.emit(text)
        if self._pending:
            self._pending = False
            self.save_now()
