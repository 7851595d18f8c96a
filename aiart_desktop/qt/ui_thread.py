"""Work done on a background thread, handed back to the UI thread safely.

    call_on_ui(panel, panel._show, result)    # from any thread: runs on the UI thread,
                                              # unless the panel has been deleted meanwhile

A signal of the panel itself, emitted from the background thread, races the panel's
destruction on the UI thread: Qt tears the panel's connection lists down while the emit walks
them, and the emitting thread holds Python's lock while it waits for Qt's, which the UI thread
may hold while it waits for Python's. One relay object that is never deleted carries every such
call instead, queued to the UI thread, and the owner is only looked at there.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
from shiboken6 import isValid

log = logging.getLogger(__name__)
_lock = threading.Lock()
_relay: _Relay | None = None


class _Relay(QObject):
    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, item: tuple[QObject | None, Callable[..., Any], tuple[Any, ...]]) -> None:
        owner, fn, args = item
        if owner is not None and not isValid(owner):
            return   # deleted while the work ran: nobody is waiting for it
        try:
            fn(*args)
        except RuntimeError as exc:
            if "already deleted" not in str(exc):
                raise
            log.debug("a background result found a widget of its owner gone: %s", exc)


def _the_relay() -> _Relay:
    global _relay
    with _lock:
        if _relay is None:
            relay = _Relay()
            app = QCoreApplication.instance()
            if app is not None and QThread.currentThread() is not app.thread():
                relay.moveToThread(app.thread())   # created off the UI thread: hand it over
            _relay = relay
        return _relay


def call_on_ui(owner: QObject | None, fn: Callable[..., Any], *args: Any) -> None:
    """`fn(*args)` on the UI thread at its next turn, unless `owner` (the object `fn` belongs
    to) has been deleted by then. Safe from any thread, and from the UI thread itself."""
    _the_relay().call.emit((owner, fn, args))
