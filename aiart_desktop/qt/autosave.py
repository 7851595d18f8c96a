"""Never lose work: background autosave of the open document, and recovery after a crash.

This is the Qt layer: the autosave timer, the writer thread's hand-back to the UI thread, and
the question asked at start-up. The files themselves (per attached document, or "session":
``<sid>.lock``, ``<sid>.ora`` and its ``<sid>.json`` sidecar, all written atomically), the scan
for sessions whose owner process is gone, and loading or discarding them are plain Python in
`aiart_desktop.core.io.recovery`. A clean close calls `discard()`, which removes the files.

Wiring in the main window::

    self.autosave = AutosaveManager(recovery_dir(), settings.autosave_interval_s, parent=self)
    self.autosave.attach(doc, "Untitled")       # after New / Open (discards the previous doc's)
    self.autosave.set_display_name("cat.ora")   # after Save As
    self.autosave.discard()                     # on close, after the unsaved-changes prompt
    QTimer.singleShot(0, lambda: [self.open_document(d)
                                  for d in check_and_offer_recovery(self)])
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from aiart_desktop.core.document import Document
from aiart_desktop.core.io import recovery
from aiart_desktop.core.io.atomic import pid_alive
from aiart_desktop.core.io.recovery import (
    RecoveryEntry,
    RecoverySession,
    recovered_entry,
    snapshot_document,
)
from aiart_desktop.settings import recovery_dir as default_recovery_dir

__all__ = [
    "AutosaveManager", "RecoveryEntry", "ask_to_recover", "check_and_offer_recovery",
    "cleanup_stale", "find_recoverable", "pid_alive", "recovered_entry", "snapshot_document",
]

log = logging.getLogger(__name__)


# ---- recovery ----------------------------------------------------------------------------------
def find_recoverable(folder: str | os.PathLike[str] | None = None) -> list[RecoveryEntry]:
    """Autosaves whose owning process is no longer running, newest first (default folder:
    the settings' recovery folder)."""
    return recovery.find_recoverable(folder if folder is not None else default_recovery_dir())


def cleanup_stale(folder: str | os.PathLike[str] | None = None) -> None:
    """Remove leftovers of dead sessions that hold nothing to recover (locks, partial files)."""
    recovery.cleanup_stale(folder if folder is not None else default_recovery_dir())


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

    def warn(entry: RecoveryEntry, exc: Exception) -> None:
        QMessageBox.warning(parent, "Recovery failed", f"{entry.describe()}:\n{exc}")

    return recovery.recover(entries, chosen, on_error or warn)


# ---- autosave ----------------------------------------------------------------------------------
class _Writer:
    """A `RecoverySession` and the plain thread that writes it (no Qt object crosses threads)."""

    def __init__(self, session: RecoverySession) -> None:
        self.session = session
        self.thread: threading.Thread | None = None
        self.result: tuple[bool, int, str] | None = None  # (ok, revision, path or message)
        self.thread_id: int | None = None

    @property
    def sid(self) -> str:
        return self.session.sid

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, snap: Document, meta: dict[str, Any], revision: int) -> None:
        gen = self.session.generation
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(snap, meta, revision, gen),
                                       name=f"autosave-{self.sid}")
        self.thread.start()

    def _run(self, snap: Document, meta: dict[str, Any], revision: int, gen: int) -> None:
        self.thread_id = threading.get_ident()
        try:
            path = self.session.write(snap, meta, gen)
        except Exception as exc:  # disk full, permissions...: report, keep painting
            self.result = (False, revision, f"{type(exc).__name__}: {exc}")
            return
        if path is not None:  # None: discarded meanwhile, nothing published
            self.result = (True, revision, str(path))

    def remove(self, keep_lock: bool) -> None:
        """Unpublish the autosave; a write in flight removes its own partial file."""
        self.session.unpublish(keep_lock)


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
        return self._writer.session.ora_path if self._writer else None

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
        try:
            session = RecoverySession.start(self.recovery_dir)
        except OSError as exc:
            log.warning("autosave disabled: cannot write to %s: %s", self.recovery_dir, exc)
            self.failed.emit(f"cannot write to {self.recovery_dir}: {exc}")
            return
        self.doc, self.display_name = doc, display_name
        self._writer = _Writer(session)
        self._saved_revision, self._pending, self._published = None, False, False
        self._timer.start()
        if recovered_entry(doc) is not None:  # recovered: secure it under this session right away
            QTimer.singleShot(0, self.save_now)

    def set_display_name(self, name: str) -> None:
        self.display_name = name

    def save_now(self) -> bool:
        """Start an autosave if the document changed since the last one; True if one started."""
        doc, writer = self.doc, self._writer
        if doc is None or writer is None:
            return False
        if not doc.modified:  # saved by the user (or undone to the saved state)
            if self._published or recovered_entry(doc) is not None:
                writer.remove(keep_lock=True)
                self._release_claim()
                self._saved_revision, self._published = None, False
            return False
        if doc.revision == self._saved_revision:
            return False
        if writer.busy:
            self._pending = True
            return False
        meta = writer.session.sidecar(doc, self.display_name)
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
        recovery.release_claim(self.doc)

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
