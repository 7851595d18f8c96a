"""Fixtures for the window tests: `win`, a real MainWindow, offscreen, whose dialogs never
block (`prompts`, a `tests.support.prompts.StubPrompts`, answers them and records what was
asked), and `stop_workers`, a list of AI workers that are shut down, and must have stopped,
at the end of the test."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from aiart_desktop.core.document import Document

if TYPE_CHECKING:
    from .prompts import StubPrompts


@pytest.fixture
def prompts() -> StubPrompts:
    from .prompts import StubPrompts

    return StubPrompts()


@pytest.fixture
def win(qtbot, prompts: StubPrompts):
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.settings import Settings

    w = MainWindow(settings=Settings(), prompts=prompts, autosave=False, ai=False)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.setWindowState(Qt.WindowState.WindowNoState)  # fit_to_screen maximizes on a small screen
    w.resize(1100, 760)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.set_document(Document.new(240, 160))
    w.canvas.set_view(1.0, 40.0, 30.0)
    QApplication.processEvents()
    return w


@pytest.fixture
def stop_workers() -> Iterator[list[Any]]:
    """Collects workers; at the end of the test each one is shut down and must have stopped."""
    workers: list[Any] = []
    yield workers
    for w in workers:
        w.shutdown()
        assert not w.thread_handle.isRunning()
