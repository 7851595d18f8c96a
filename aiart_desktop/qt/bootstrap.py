"""Starting the app: the QApplication, the main window (skeleton first), what follows its first
frame, and the settings read at start and written at close.

    app = create_app(args)                     # QApplication, name, DPI policy, theme
    win = create_window(args, lazy=True)       # the skeleton now, the content after frame one
    win.show(); app.exec()                     # run_gui(args) does all of this (app.py)

`create_window(lazy=True)` is what `run_gui` uses and what the startup benchmark measures: the
window shows a Qt-only skeleton first (`MainWindow(lazy=True)`, see main_window.py), builds its
content just after the first frame has been painted (`after_first_paint`), and only then opens
the file named on the command line, offers to recover unsaved work (`offer_recovery`) and warms
the pixel kernels up in the background. The window itself uses `after_first_paint` (its lazy
build, then the AI docks) and `load_settings` / `save_settings` (no settings given; at close).

Only Qt is imported at module level: numpy, the core and the window's panels load after the
first frame. main_window.py imports this module; this module imports `MainWindow` only inside
`create_window`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from .theme import apply_theme
from .ui_thread import keep_gc_on_ui_thread

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)
APP_NAME = "AIArt Desktop"
KERNEL_WARM_UP_MS = 500   # after the content is built


# ---- settings ------------------------------------------------------------------------------
def load_settings() -> Any:
    """The user's settings (None when the settings package cannot be imported)."""
    try:
        from ..settings import load_settings as load
    except ImportError:
        return None
    return load()


def save_settings(settings: Any) -> None:
    """Write `settings` (atomically, by the settings package); a failure is logged, not
    raised: closing the window must not fail on a read-only config folder."""
    if settings is None:
        return
    try:
        from ..settings import save_settings as save
    except ImportError:
        return
    try:
        save(settings)
    except OSError as exc:
        log.warning("could not save settings: %s", exc)


# ---- the first frame -----------------------------------------------------------------------
class FirstPaint(QObject):
    """Runs `callback` once, just after the first frame of `win` has been painted."""

    def __init__(self, win: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(win)
        self.win, self.callback = win, callback

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                and obj.window() is self.win):
            QApplication.instance().removeEventFilter(self)
            QTimer.singleShot(0, self.callback)
        return False


def after_first_paint(win: QWidget, callback: Callable[[], None]) -> None:
    """Run `callback` (once) right after `win` has painted its first frame."""
    QApplication.instance().installEventFilter(FirstPaint(win, callback))


def warm_up_kernels() -> None:
    """Compile the pixel kernels in the background (core/kernels.py)."""
    from ..core import kernels

    kernels.warm_up()


# ---- the app and its window ----------------------------------------------------------------
def create_app(args: list[str] | None = None) -> QApplication:
    """The QApplication (made once: name, organisation, high-DPI policy), themed from the
    settings."""
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(["aiart-desktop", *(args or [])])
        app.setApplicationName(APP_NAME)
        app.setOrganizationName("AIArt")
        keep_gc_on_ui_thread(app)   # never a collection on the AI worker's thread
    settings = load_settings()
    apply_theme(app, getattr(settings, "theme", "dark"))  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def create_window(args: list[str] | None = None, recover: bool = True,
                  lazy: bool = False) -> MainWindow:
    """The main window; with `lazy` its skeleton first (see the module's docstring). The file
    named in `args`, the recovery offer and the kernels' warm-up wait for the real content."""
    from .main_window import MainWindow

    win = MainWindow(lazy=lazy)
    paths = [a for a in (args or []) if not a.startswith("-")]

    def after_build() -> None:
        if paths:
            QTimer.singleShot(0, lambda: win.open_path(paths[0], ask=False))
        if recover and win.autosave is not None:
            QTimer.singleShot(0, lambda: offer_recovery(win))
        QTimer.singleShot(KERNEL_WARM_UP_MS, warm_up_kernels)

    win.when_ready(after_build)
    return win


def offer_recovery(win: MainWindow) -> None:
    """Offer the unsaved work autosave kept from an earlier session; open what is chosen."""
    from .autosave import check_and_offer_recovery, recovered_entry

    for doc in check_and_offer_recovery(win):
        if win.doc is not None and win.doc.modified and not win.maybe_save():
            return
        win.set_document(doc)
        entry = recovered_entry(doc)
        if entry is not None and win.autosave is not None:
            win.autosave.set_display_name(entry.describe())
        win.statusBar().showMessage("Recovered unsaved work", 6000)


def run_gui(args: list[str]) -> int:
    """The desktop app (app.py): logging, the app, the lazy window, the error reporter."""
    from ..logs import setup_logging
    from .crash import install_error_reporter

    setup_logging()
    app = create_app(args)
    win = create_window(args, lazy=True)
    install_error_reporter(win)   # an exception in any slot: logged, shown once
    win.show()
    return app.exec()
