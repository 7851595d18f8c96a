"""The log file and uncaught exceptions: warnings and tracebacks reach a rotating file in the
log folder; an exception raised in a slot is logged and shown once, in plain words."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from aiart_desktop import logs


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(logs.LOG_ENV, str(tmp_path / "logs"))
    monkeypatch.setattr(logs, "_handler", None)
    root = logging.getLogger()
    before = list(root.handlers)
    # pytest records warnings per test: let setup_logging install its capture afresh, inside.
    logging.captureWarnings(False)
    path = logs.setup_logging()
    yield path
    logging.captureWarnings(False)
    for h in root.handlers[:]:
        if h not in before:
            root.removeHandler(h)
            h.close()


def _flush() -> None:
    for h in logging.getLogger().handlers:
        h.flush()


def test_warnings_and_details_go_to_the_rotating_log_file(log_file: Path) -> None:
    assert log_file == Path(logs.log_dir()) / logs.LOG_FILE
    logging.getLogger("aiart_desktop.ai.engine").warning("the model %s failed", "tiny")
    logging.getLogger("some.library").info("library chatter")        # below WARNING: dropped
    logging.getLogger("some.library").warning("library warning")
    import warnings

    warnings.warn("a deprecated call", UserWarning, stacklevel=1)
    _flush()
    text = log_file.read_text("utf-8")
    assert "AIArt Desktop started" in text
    assert "the model tiny failed" in text and "library warning" in text
    assert "library chatter" not in text and "a deprecated call" in text
    ours = [h for h in logging.getLogger().handlers
            if isinstance(h, logging.handlers.RotatingFileHandler)
            and h.baseFilename == str(log_file)]
    assert len(ours) == 1
    assert ours[0].maxBytes == logs.MAX_BYTES and ours[0].backupCount == logs.BACKUPS
    n = len(logging.getLogger().handlers)
    assert logs.setup_logging() == log_file   # a second call adds no second handler
    assert len(logging.getLogger().handlers) == n


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_logged_and_shown_once(qtbot, win, prompts, log_file
                                                         ) -> None:
    from aiart_desktop.qt.crash import install_error_reporter

    reporter = install_error_reporter(win)
    try:
        def broken_slot() -> None:
            raise ZeroDivisionError("division by zero in the brush")

        for _ in range(3):                   # the same failure, again and again
            QTimer.singleShot(0, broken_slot)
            qtbot.waitUntil(lambda n=_: reporter.seen == n + 1, timeout=3000)
        QApplication.processEvents()
        shown = [e for e in prompts.errors if e[0] == "Something went wrong"]
        assert len(shown) == 1                # shown once, not a storm of dialogs
        text = shown[0][1]
        assert "your picture is safe" in text and "Help › Open Log Folder" in text
        assert len(text.splitlines()) <= 2 and "ZeroDivisionError" not in text
        assert "Another error" in win.statusBar().currentMessage()
        _flush()
        logged = log_file.read_text("utf-8")
        assert logged.count("ZeroDivisionError: division by zero in the brush") == 3
        assert "broken_slot" in logged and "Traceback" in logged
    finally:
        reporter.uninstall()


def test_help_opens_the_log_folder(win, log_file, monkeypatch) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    help_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Help")
    action = next(a for a in help_menu.actions() if a.text() == "Open &Log Folder")
    action.trigger()
    assert opened == [str(logs.log_dir())] and Path(opened[0]).is_dir()
