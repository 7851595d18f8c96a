"""The test suite's pytest plugin (named in tests/conftest.py).

Before anything of the app is imported it sets the test-wide environment: offscreen Qt, no
network models, settings, data and logs in a temporary folder. Then it loads the suite's
fixtures, one stack for every test folder:

- `tests.support.models`: tiny random-weight models, registries and engines (`model_folders`,
  `registry`, `engine`, `empty_registry`, `doc_factory`, `tiny_registry`, `tiny_engine`);
- `tests.support.window`: the real main window offscreen (`win`, `prompts`) and
  `stop_workers`;
- `tests.support.qthreads`: the autouse check that fails a test leaving a QThread running;
- here: the garbage collector kept on the UI thread, as in the app (`_gc_on_the_ui_thread`);
- pytest's own `pytester`, for the tests of the checks themselves.

Every test also gets its own settings folder (`_own_settings_folder`).
"""
from __future__ import annotations

import faulthandler
import os
import sys
import tempfile
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
_tmp = tempfile.mkdtemp(prefix="aiart-test-")
os.environ["AIART_CONFIG_DIR"] = os.path.join(_tmp, "config")
os.environ["AIART_DATA_DIR"] = os.path.join(_tmp, "data")
os.environ["AIART_LOG_DIR"] = os.path.join(_tmp, "logs")

pytest_plugins = [
    "pytester",
    "tests.support.models",
    "tests.support.window",
    "tests.support.qthreads",
]


# Past pytest-timeout's 300 s: for a hang that holds Python's lock (AIART_TEST_HANG_S: the
# suite's own check of it).
HANG_S = float(os.environ.get("AIART_TEST_HANG_S", "420"))


_real_stderr: list[object] = []   # a copy of the terminal's stderr, made before capturing


def pytest_configure(config: pytest.Config) -> None:
    if not _real_stderr:   # outside the tests' output capture, fd 2 is the real stderr
        _real_stderr.append(os.fdopen(os.dup(2), "w"))


@pytest.fixture(autouse=True)
def _hang_watchdog() -> Iterator[None]:
    """A test still running after `HANG_S` ends the run with every thread's stack, from C: a
    deadlock that holds Python's lock stops pytest-timeout's own thread too."""
    out = _real_stderr[0] if _real_stderr else sys.__stderr__
    faulthandler.dump_traceback_later(HANG_S, exit=True, file=out)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True, scope="session")
def _gc_on_the_ui_thread(qapp: object) -> None:
    """As in the app (`qt/bootstrap.create_app`): Python's cyclic garbage collector runs on
    the UI thread only (`qt/ui_thread.keep_gc_on_ui_thread`). A collection on an AI worker's
    thread destroyed earlier tests' Qt garbage there and deadlocked the suite."""
    from aiart_desktop.qt.ui_thread import keep_gc_on_ui_thread

    keep_gc_on_ui_thread(qapp)  # type: ignore[arg-type]


_between = [0]


@pytest.fixture(autouse=True)
def _collect_between_tests(_gc_on_the_ui_thread: None) -> Iterator[None]:
    """What the app's UI-thread timer collects, also at the end of each test (many run no
    event loop)."""
    yield
    from aiart_desktop.qt.ui_thread import collect_all, collect_due

    collect_due()
    _between[0] += 1
    if _between[0] % 40 == 0:   # what the app thaws on its own (a closed document, a dropped
        collect_all()           # model, every ten minutes) happens here every 40 tests


@pytest.fixture(autouse=True)
def _own_settings_folder(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test reads and writes its own settings.json: a window closed by one test saves
    its settings (certificates, last model, ...) and must not change what the next one sees."""
    monkeypatch.setenv("AIART_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
