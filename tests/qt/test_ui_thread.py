"""call_on_ui: results of background threads come back on the UI thread through one relay that
is never deleted, and are dropped when their owner was deleted meanwhile."""
from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QApplication, QWidget

from aiart_desktop.qt.ui_thread import call_on_ui


def test_a_call_from_a_thread_runs_on_the_ui_thread(qtbot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    ran: list[tuple[int, int]] = []
    t = threading.Thread(target=lambda: call_on_ui(owner, lambda a, b: ran.append(
        (threading.get_ident(), a + b)), 2, 3))
    t.start()
    t.join()
    assert ran == []                       # queued, not run on the thread
    qtbot.waitUntil(lambda: bool(ran), timeout=5000)
    assert ran == [(threading.main_thread().ident, 5)]


def test_a_call_whose_owner_was_deleted_is_dropped(qtbot) -> None:
    owner = QWidget()
    ran: list[int] = []
    t = threading.Thread(target=lambda: call_on_ui(owner, ran.append, 1))
    t.start()
    t.join()
    shiboken6.delete(owner)                # the panel closed while the work ran
    for _ in range(5):
        QApplication.processEvents()
    assert ran == []


def test_calls_racing_the_owners_destruction_neither_hang_nor_crash(qtbot) -> None:
    """A thread keeps handing results to panels while the UI thread deletes them (what a
    background thumbnail does when a test or the painter closes the window)."""
    done = threading.Event()
    owners = [QWidget() for _ in range(200)]
    alive: list[bool] = []

    def work() -> None:
        for owner in owners:
            call_on_ui(owner, lambda o=owner: alive.append(shiboken6.isValid(o)))
        done.set()

    t = threading.Thread(target=work, daemon=True)
    t.start()
    for owner in owners:
        shiboken6.delete(owner)            # as a closing window deletes its panels
        QApplication.processEvents()
    assert done.wait(10)
    t.join(10)
    for _ in range(5):
        QApplication.processEvents()
    assert not t.is_alive()
    assert all(not shiboken6.isValid(o) for o in owners)
    assert all(alive)                      # a call never ran after its owner was deleted


class _Garbage:
    """A Qt object caught in a reference cycle: only the cyclic collector frees it."""

    freed_on: list[int] = []

    def __init__(self) -> None:
        from PySide6.QtCore import QObject

        self.obj = QObject()
        self.me = self

    def __del__(self) -> None:
        _Garbage.freed_on.append(threading.get_ident())


def test_the_collector_runs_on_the_ui_thread_even_when_a_worker_asks(qtbot) -> None:
    """The suite runs as the app does (tests/support/plugin.py): no automatic collection, and
    a worker's full collection (after dropping a model) runs on the UI thread, so the UI's own
    cyclic garbage is never destroyed on the worker's thread."""
    import gc

    from aiart_desktop.ai import memory

    assert not gc.isenabled()
    _Garbage.freed_on.clear()
    _Garbage()                                  # unreachable, in a cycle
    ran: list[bool] = []
    t = threading.Thread(target=lambda: ran.append(memory.collect_garbage()))
    t.start()
    qtbot.waitUntil(lambda: bool(ran), timeout=10_000)   # the UI thread's loop runs it
    t.join(5)
    assert ran == [True]
    assert _Garbage.freed_on == [threading.main_thread().ident]


def test_a_worker_waits_a_bounded_time_for_a_busy_ui_thread(monkeypatch) -> None:
    """The UI thread may itself be waiting for that worker (shutting it down): the worker
    goes on after `WAIT_S` without the collection."""
    from aiart_desktop.ai import memory

    monkeypatch.setattr(memory, "WAIT_S", 0.2)
    ran: list[bool] = []
    t = threading.Thread(target=lambda: ran.append(memory.collect_garbage()))
    t.start()
    t.join(5)                                   # the UI thread runs no events meanwhile
    assert ran == [False] and not t.is_alive()
    QApplication.processEvents()                # the collection still happens, here


def test_collect_due_collects_a_generation_only_past_its_threshold() -> None:
    import gc

    from aiart_desktop.qt.ui_thread import collect_due

    gc.collect()
    assert collect_due() == -1                  # nothing due right after a collection
    junk = [[i] for i in range(gc.get_threshold()[0] + 50)]   # container allocations
    assert collect_due() >= 0
    del junk


def test_a_full_collection_freezes_its_survivors_and_collect_all_frees_frozen_cycles() -> None:
    """With torch imported a full collection takes 0.3-0.5 s: the survivors are frozen so the
    next ones look only at newer objects; garbage among the frozen goes with `collect_all`
    (a dropped model, a closed document, or every THAW_INTERVAL_S)."""
    import gc
    import weakref

    from aiart_desktop.qt import ui_thread

    class Node:
        pass

    a = Node()
    a.me = a                                   # a cycle: only the collector frees it
    ref = weakref.ref(a)
    for _ in range(gc.get_threshold()[2] + 1):
        gc.collect(1)                          # each one counts toward the oldest generation
    try:
        assert ui_thread.collect_due() == 2
        frozen = gc.get_freeze_count()
        assert frozen > 0                      # the survivors, our node among them
        del a
        gc.collect()                           # a full collection skips the frozen ones
        assert ref() is not None
        ui_thread.collect_all()
        assert ref() is None
        assert gc.get_freeze_count() > 0       # frozen again, without the garbage
    finally:
        gc.unfreeze()
