"""run_off_ui: file work (adding a LoRA, a model) runs on a thread while the window keeps
answering; its result or its error comes back to the caller, and the button is off meanwhile."""
from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QPushButton

from aiart_desktop.qt.panels.widgets import run_off_ui


def test_the_ui_thread_keeps_answering_and_gets_the_result(qtbot) -> None:
    button = QPushButton("Add LoRA…")
    qtbot.addWidget(button)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    seen: dict[str, object] = {}

    def work(x: int) -> int:
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        seen["busy"] = not button.isEnabled()
        time.sleep(0.4)
        return x * 2

    t0 = time.perf_counter()
    assert run_off_ui(work, 21, busy=button) == 42
    timer.stop()
    during = [t for t in ticks if t0 < t < t0 + 0.35]
    assert seen == {"thread": True, "busy": True} and button.isEnabled()
    assert len(during) >= 10   # the event loop ran all along (a blocked UI would tick 0 times)


def test_an_error_is_raised_on_the_caller_and_the_button_comes_back(qtbot) -> None:
    button = QPushButton("Add…")
    qtbot.addWidget(button)

    def refuse(path: str) -> None:
        raise ValueError(f"{path} is a pickle")

    with pytest.raises(ValueError, match="old.pt is a pickle"):
        run_off_ui(refuse, "old.pt", busy=button)
    assert button.isEnabled()
    assert run_off_ui(lambda: "quick") == "quick"   # done before the loop even starts
