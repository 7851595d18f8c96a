"""A test that leaves a QThread running fails.

For the length of each test `QThread.start` is wrapped (as napari's test suite does) to record
every thread started, with where it was started. When the test has ended — after its own
fixtures have been torn down and pytest-qt has closed its widgets — every recorded thread that
is still running gets `GRACE_MS` to finish (a thread whose `run` is returning), then it is
stopped (`quit`, then `wait`) so the tests after it are safe, and the test fails with an error
that names where the thread was started. Stop a thread in the test, or collect AI workers in
the `stop_workers` fixture.

The check is an autouse fixture of the support plugin: it needs nothing from a test.
"""
from __future__ import annotations

import sysconfig
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GRACE_MS = 1000       # a thread whose run() is returning gets this long to finish
STOP_MS = 10_000      # how long a left-running thread gets to stop once told to quit
_REPO = Path(__file__).resolve().parents[2]
_HERE = str(Path(__file__).resolve())
_LIBRARIES = tuple({variant for key in ("stdlib", "purelib", "platlib")
                    for variant in (sysconfig.get_paths()[key],
                                    str(Path(sysconfig.get_paths()[key]).resolve()))})
# Threads that would not stop even when told to: kept referenced for the rest of the session,
# because destroying a QThread that is still running aborts the process.
_unstoppable: list[Any] = []


def _where() -> str:
    """The innermost three lines of code outside Python's and pytest's libraries that led to
    the thread's start, innermost first."""
    frames = [f for f in traceback.extract_stack()[:-2]
              if f.filename != _HERE and not f.filename.startswith(("<", *_LIBRARIES))]
    return " <- ".join(f"{_short(f.filename)}:{f.lineno}"
                       for f in reversed(frames[-3:])) or "(unknown)"


def _short(filename: str) -> str:
    path = Path(filename)
    return str(path.relative_to(_REPO)) if path.is_relative_to(_REPO) else filename


def _running(thread: Any) -> bool:
    try:
        return bool(thread.isRunning())
    except RuntimeError:  # its C++ object was deleted: it is not running
        return False


def _stop(thread: Any) -> bool:
    try:
        thread.quit()
        return bool(thread.wait(STOP_MS))
    except RuntimeError:
        return True


def left_running(started: dict[int, tuple[Any, str]]) -> list[str]:
    """Where each thread of `started` (id -> thread, where it was last started) that is still
    running after `GRACE_MS` was started; every such thread is told to stop."""
    left = []
    for thread, where in started.values():
        if not _running(thread):
            continue
        try:
            thread.wait(GRACE_MS)
        except RuntimeError:
            continue
        if not _running(thread):
            continue
        name = thread.objectName() or type(thread).__name__
        left.append(f"{name} started at {where}")
        if not _stop(thread):
            _unstoppable.append(thread)
    return left


@pytest.fixture(autouse=True)
def _no_qthread_left_running() -> Iterator[None]:
    """Fails the test when a QThread it started is still running after its teardown."""
    from PySide6.QtCore import QThread

    started: dict[int, tuple[Any, str]] = {}   # strong references until the check
    original = QThread.start

    def start(self: QThread, priority: QThread.Priority = QThread.Priority.InheritPriority
              ) -> None:
        started[id(self)] = (self, _where())
        original(self, priority)

    QThread.start = start  # type: ignore[method-assign]
    try:
        yield
    finally:
        QThread.start = original  # type: ignore[method-assign]
    left = left_running(started)
    started.clear()
    if left:
        pytest.fail(f"{len(left)} QThread(s) left running by the test (stop them in the test "
                    "or through the stop_workers fixture):\n  " + "\n  ".join(left),
                    pytrace=False)
