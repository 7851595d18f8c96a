"""Work done on a background thread, handed back to the UI thread safely; Python's garbage
collector kept on the UI thread.

    call_on_ui(panel, panel._show, result)    # from any thread: runs on the UI thread,
                                              # unless the panel has been deleted meanwhile
    keep_gc_on_ui_thread(app)                 # once, at start-up (bootstrap.create_app)

A signal of the panel itself, emitted from the background thread, races the panel's
destruction on the UI thread: Qt tears the panel's connection lists down while the emit walks
them, and the emitting thread holds Python's lock while it waits for Qt's, which the UI thread
may hold while it waits for Python's. One relay object that is never deleted carries every such
call instead, queued to the UI thread, and the owner is only looked at there.

The cyclic garbage collector runs on whichever thread happens to allocate when a threshold is
passed; on the AI worker's thread (which allocates most, and collects in full after dropping a
model) it would destroy the UI's garbage — Qt objects caught in reference cycles — on the wrong
thread, which deadlocked the test suite (worker in `gc.collect`, UI thread waiting for Python's
lock). So automatic collection is off, a timer on the UI thread collects each generation when
its threshold has passed (as Python would), and a full collection asked for by the worker
(`ai/memory.py: collect_garbage`) runs on the UI thread while the worker waits, a bounded time.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot
from shiboken6 import isValid

log = logging.getLogger(__name__)
GC_INTERVAL_MS = 500     # how often the UI thread looks at the collector's counts
_lock = threading.Lock()
_relay: _Relay | None = None
_gc_timer: QTimer | None = None


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


# ---- the garbage collector on the UI thread ----------------------------------------------------
# Once torch and diffusers are imported, the oldest generation holds some 400 000 objects and
# a full collection takes 0.3-0.5 s: a visible hitch of the brush. So the survivors of a full
# collection are frozen (`gc.freeze`: the collector no longer looks at them) and the next full
# collections look only at what came since: milliseconds. Garbage that involves frozen objects
# waits for a full collection of everything (`collect_all`), made where a hitch does not show
# or is worth it: when the AI worker dropped a model, when a document is closed, and at most
# every `THAW_INTERVAL_S` when the oldest generation is due.
THAW_INTERVAL_S = 600.0
_thawed_at = time.monotonic()


def collect_all() -> None:
    """A full collection of everything, the frozen survivors included; they are frozen again."""
    global _thawed_at
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _thawed_at = time.monotonic()


def collect_due() -> int:
    """On the UI thread: collect the oldest generation whose count has passed its threshold, as
    Python's automatic collection would (-1: none was due). Returns the generation. A full
    collection freezes its survivors (see above)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = -1
    for gen in range(3):
        if thresholds[gen] and counts[gen] > thresholds[gen]:
            due = gen
    if due == 2:
        if time.monotonic() - _thawed_at > THAW_INTERVAL_S:
            collect_all()
        else:
            gc.collect(2)
            gc.freeze()
    elif due >= 0:
        gc.collect(due)
    return due


def _collect_for_worker(timeout_s: float) -> bool:
    """A full collection on the UI thread for a worker that dropped a model (waits at most
    `timeout_s`: the UI thread may itself be waiting for that worker, as when it shuts down)."""
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is app.thread():
        collect_all()
        return True
    done = threading.Event()

    def collect() -> None:
        collect_all()
        done.set()

    call_on_ui(None, collect)
    return done.wait(timeout_s)


def keep_gc_on_ui_thread(app: QCoreApplication) -> None:
    """Turn Python's automatic garbage collection off and collect on `app`'s (UI) thread
    instead: every `GC_INTERVAL_MS`, and in full when a worker asks (`ai.memory`). Once."""
    global _gc_timer
    from ..ai import memory

    if _gc_timer is not None:
        return
    gc.disable()
    _the_relay()
    timer = QTimer(app)
    timer.setInterval(GC_INTERVAL_MS)
    timer.timeout.connect(collect_due)
    timer.start()
    _gc_timer = timer
    memory.set_collector(_collect_for_worker)
