"""Freeing memory once a model is dropped, whichever thread drops it.

    collect_garbage()      # after dropping a pipeline: its reference cycles are freed

Headless (the CLI, the self-test, the AI alone) this is `gc.collect()` here and now. In the
window, Python's cyclic collector runs on the UI thread only (`qt/ui_thread.py:
keep_gc_on_ui_thread`): a collection on the AI worker's thread would also destroy the UI's own
garbage — widgets and Qt objects caught in reference cycles — on the wrong thread, and that can
deadlock the process. There the window installs a collector that asks the UI thread to collect
and waits for it a bounded time.
"""
from __future__ import annotations

import gc
from collections.abc import Callable

WAIT_S = 5.0   # how long a worker waits for the UI thread's collection
_collector: Callable[[float], bool] | None = None


def set_collector(collector: Callable[[float], bool] | None) -> None:
    """`collector(timeout_s)` collects garbage on the thread that may, True once done (None:
    collect where asked)."""
    global _collector
    _collector = collector


def collect_garbage() -> bool:
    """A full collection: here when the collector runs automatically (headless), else through
    the installed collector. True when it ran (the UI thread may be busy past `WAIT_S`)."""
    collector = _collector
    if collector is None or gc.isenabled():
        gc.collect()
        return True
    return collector(WAIT_S)
