"""The suite's own checks catch what they are for: a test that leaves a QThread running fails
(tests/support/qthreads.py); one that stops its thread, or whose thread is ending by itself,
passes; a test that hangs ends the run with every thread's stack (the plugin's watchdog).
The tests run in a child pytest with the support plugin, so their failure stays there."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = '''
from PySide6.QtCore import QThread


class Sleeper(QThread):
    def run(self) -> None:
        self.msleep(50)


def test_stops_its_thread() -> None:
    t = QThread()
    t.start()
    t.quit()
    assert t.wait(5000)


def test_its_thread_is_ending_by_itself() -> None:
    Sleeper().start()  # run() returns well within the grace period


def test_leaves_an_event_loop_running(qapp) -> None:
    t = QThread()
    t.setObjectName("left-behind")
    t.start()  # LEAK


def test_leaves_a_subclass_running(qapp) -> None:
    class Waiter(QThread):
        def run(self) -> None:
            self.exec()

    Waiter().start()  # LEAK


def test_a_thread_after_the_leaks_runs_and_stops() -> None:
    t = QThread()
    t.start()
    t.quit()
    assert t.wait(5000)
'''


def test_a_test_that_leaves_a_qthread_running_fails(pytester: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the child imports tests.support
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    child = pytester.makepyfile(test_child=CHILD)
    leaks = [i + 1 for i, line in enumerate(CHILD.splitlines()[1:]) if line.endswith("# LEAK")]
    result = pytester.runpytest_subprocess("-p", "tests.support.plugin", "-p",
                                           "no:cacheprovider", "-rE", str(child), timeout=120)
    result.assert_outcomes(passed=5, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_leaves_an_event_loop_running*",
        "*1 QThread(s) left running by the test*",
        f"*left-behind started at {child}:{leaks[0]}*",
        "*ERROR at teardown of test_leaves_a_subclass_running*",
        f"*Waiter started at {child}:{leaks[1]}*",
    ], consecutive=False)
    assert "test_stops_its_thread" not in "".join(
        line for line in result.stdout.lines if line.startswith("ERROR"))


HANGS = '''
import threading
import time


def test_hangs() -> None:
    threading.Thread(target=time.sleep, args=(60,), name="stuck-worker", daemon=True).start()
    time.sleep(60)   # HANG
'''


def test_a_hung_test_ends_the_run_with_every_threads_stack(pytester: pytest.Pytester,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's faulthandler watchdog: it works from C, so it also ends a deadlock that
    holds Python's lock (which pytest-timeout's thread cannot). pytest-timeout is off here."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("AIART_TEST_HANG_S", "2")
    child = pytester.makepyfile(test_hangs=HANGS)
    line = next(i + 1 for i, text in enumerate(HANGS.splitlines()[1:]) if text.endswith("HANG"))
    t0 = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "tests.support.plugin", "-p", "no:timeout",
                                           "-p", "no:cacheprovider", str(child), timeout=50)
    assert time.monotonic() - t0 < 40 and result.ret != 0
    err = "\n".join(result.stderr.lines)
    assert "Timeout" in err and f"{child}\", line {line}" in err, err
    assert err.count("Thread 0x") >= 2          # the stuck worker's stack too
