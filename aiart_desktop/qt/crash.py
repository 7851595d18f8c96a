"""Uncaught exceptions in the window: logged with their traceback, shown once in plain words.

PySide6 hands an exception raised in a slot to `sys.excepthook` and carries on; the default
hook prints it to a console the installed app does not have, so it vanished. `ErrorReporter`
replaces the hook: the full traceback goes to the log file (`aiart_desktop.logs`), and the
first failure of a session is shown as a short message saying the picture is safe; later ones
(often the same failure repeating, e.g. in a paint event) only reach the status bar, so a bug
never becomes a storm of dialogs. Exceptions raised on another thread are carried to the UI
thread by a queued signal.

    reporter = install_error_reporter(win)   # run_gui does this
"""
from __future__ import annotations

import sys
import traceback
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from ..logs import log_exception

TITLE = "Something went wrong"


class ErrorReporter(QObject):
    report = Signal(str)      # one line: what failed (queued to the UI thread)

    def __init__(self, win: Any) -> None:
        super().__init__(win)
        self.win = win
        self.shown = 0          # dialogs shown this session (at most one)
        self.seen = 0           # failures reported
        self._previous = sys.excepthook
        self.report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self.hook

    def uninstall(self) -> None:
        if sys.excepthook == self.hook:
            sys.excepthook = self._previous

    def hook(self, etype: type[BaseException], value: BaseException,
             tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            self._previous(etype, value, tb)
            return
        where = ""
        frames = traceback.extract_tb(tb) if tb is not None else []
        if frames:
            last = frames[-1]
            where = f"{last.name} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
        log_exception((etype, value, tb), where)
        self.report.emit(_what(etype, value))

    def _show(self, what: str) -> None:
        self.seen += 1
        status = getattr(self.win, "statusBar", None)
        if self.shown:
            if status is not None:
                status().showMessage(f"Another error ({what}); details in the log "
                                     "(Help › Open Log Folder).", 8000)
            return
        self.shown += 1
        text = (f"An action failed ({what}), but your picture is safe: nothing was lost and "
                "you can keep working (saving now does no harm).\nThe details are in the log "
                "file: Help › Open Log Folder.")
        prompts = getattr(self.win, "prompts", None)
        if prompts is not None:
            prompts.show_error(TITLE, text)
        else:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(self.win, TITLE, text)


def _what(etype: type[BaseException], value: BaseException) -> str:
    """A few words on the failure, for the message (the log has the rest)."""
    text = str(value).strip().splitlines()[0] if str(value).strip() else ""
    if isinstance(value, MemoryError):
        return "out of memory"
    if isinstance(value, OSError) and value.strerror:
        return value.strerror.lower()
    if len(text) > 80:
        text = text[:80].rsplit(" ", 1)[0] + "…"
    return f"an internal error: {text}" if text else "an internal error"


def install_error_reporter(win: Any) -> ErrorReporter:
    reporter = ErrorReporter(win)
    reporter.install()
    win.error_reporter = reporter
    win.destroyed.connect(lambda *_: reporter.uninstall())
    return reporter
