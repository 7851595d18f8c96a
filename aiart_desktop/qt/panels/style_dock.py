"""Puts the Style gallery into a main window: a "Style" dock (tabbed with the AI dock), an
"AI > Style Transfer…" action, Esc to cancel, and the preview over the canvas.

    gallery = install_style_gallery(win)      # after install_ai_dock(win)

It uses the window's one worker (`win.ai_worker`, made by install_ai_dock). A window without
one (no AI dock) gets a worker of its own, stopped when the window goes or the app quits. The
gallery follows the window's document through `win.document_changed`.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

from ...ai.styles.library import StyleLibrary
from .style_gallery import StyleGallery
from .widgets import add_tabbed_dock

DOCK_NAME = "styleDock"


def _menu(win: Any, title: str) -> QMenu | None:
    for m in win.menuBar().findChildren(QMenu):
        if m.title().replace("&", "") == title and m.menuAction() in win.menuBar().actions():
            return m
    return None


def _ai_menu(win: Any) -> QMenu:
    menu = _menu(win, "AI")
    if menu is None:  # a window without the AI dock: make the menu, before Help
        menu = QMenu("&AI", win.menuBar())
        help_menu = _menu(win, "Help")
        if help_menu is not None:
            win.menuBar().insertMenu(help_menu.menuAction(), menu)
        else:
            win.menuBar().addMenu(menu)
    return menu


def _own_worker(win: Any) -> Any:
    from ..worker import AiWorker

    settings = getattr(win, "settings", None)
    worker = AiWorker(device=getattr(settings, "device", None) or "auto")
    app = QApplication.instance()

    def stop() -> None:
        try:
            worker.shutdown()
        except RuntimeError:
            pass

    win.destroyed.connect(lambda *_: stop())
    if app is not None:
        app.aboutToQuit.connect(stop)
    return worker


def install(win: Any, *, library: StyleLibrary | None = None) -> StyleGallery:
    """Add the Style dock to `win`; returns the gallery (also `win.style_gallery`)."""
    if getattr(win, "style_gallery", None) is not None:
        raise RuntimeError("this window already has its Style gallery")
    worker = getattr(win, "ai_worker", None)
    if worker is None:
        worker = _own_worker(win)
    gallery = StyleGallery(worker, library=library)
    gallery.set_document(getattr(win, "doc", None))
    win.document_changed.connect(gallery.set_document)

    dock = add_tabbed_dock(win, DOCK_NAME, "Style", gallery)
    win.style_gallery = gallery

    # The preview over the canvas, and status bar messages.
    if hasattr(win, "canvas"):
        from ..ai_dock import CanvasPreview

        overlay = CanvasPreview(win.canvas, gallery.preview_caption)
        gallery.preview_changed.connect(overlay.set_preview)
        win.style_canvas_preview = overlay
    if hasattr(win, "statusBar"):
        gallery.message.connect(lambda text: win.statusBar().showMessage(text, 6000))

    def show_gallery() -> None:
        dock.show()
        dock.raise_()
        grid = gallery.user_grid if gallery.current_style() and \
            gallery.user_grid.currentItem() else gallery.builtin_grid
        grid.setFocus()

    act_open = QAction("&Style Transfer\u2026", win)
    act_open.setToolTip("Restyle the selection with a built-in style or your own picture")
    act_open.triggered.connect(lambda _c=False: show_gallery())
    act_cancel = QAction("Cancel Style Transfer", win)
    act_cancel.setShortcut(QKeySequence("Esc"))
    act_cancel.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act_cancel.setEnabled(False)
    act_cancel.triggered.connect(lambda _c=False: gallery.cancel())
    ai_panel = getattr(win, "ai_panel", None)

    def esc_enabled(*_: object) -> None:
        # Two enabled actions on Esc would be ambiguous and neither would fire: while the AI
        # panel's job also waits, Esc is its own, and the gallery's Cancel button stays.
        act_cancel.setEnabled(gallery.running and not getattr(ai_panel, "running", False))

    gallery.running_changed.connect(esc_enabled)
    if ai_panel is not None and hasattr(ai_panel, "running_changed"):
        ai_panel.running_changed.connect(esc_enabled)
    win.addAction(act_cancel)
    win.style_actions = {"open": act_open, "cancel": act_cancel}
    if hasattr(win, "menuBar"):
        menu = _ai_menu(win)
        menu.addSeparator()
        menu.addAction(act_open)   # its panel toggle lives in View › Panels
    return gallery
