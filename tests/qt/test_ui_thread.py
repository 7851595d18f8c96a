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
