"""The main window: canvas in the centre, docks around it, menus, status bar, settings.

The app is started by bootstrap.py (`create_app` / `create_window` / `run_gui`; app.py calls
run_gui, the startup benchmark the first two); this module holds the `MainWindow` class.

Skeleton first (`MainWindow(lazy=True)`, what run_gui uses): the constructor builds only what
Qt alone can build (title, menu titles, a tool bar of the tools' icons, the docks with their
titles and empty placeholders, a canvas-coloured central area, the status bar), so the first
frame comes before numpy and the core are imported. Right after that frame `_build` imports
them and fills the SAME window (canvas, panels, actions, document, saved layout), then emits
`ready`. With lazy=False (the default, and every test's) `_build` runs inside the constructor
and `ready` is never emitted: use `when_ready(callback)`, which runs at once on a built window.
This module therefore imports only Qt (and Qt-only modules of ours) at module level.
"""
from __future__ import annotations

import base64
import functools
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QPointF, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .actions import TOOL_ACTIONS, build_actions
from .bootstrap import APP_NAME, after_first_paint, load_settings, save_settings
from .file_ops import OPEN_EXTENSIONS, FileOps
from .resources import icon
from .theme import CANVAS_BACKDROP

NOTE_S = 8.0   # a passing status message a tool's line covered comes back within this time

if TYPE_CHECKING:
    from ..core.document import Document
    from .dialogs.prompts import Prompts

MENU_TITLES = ("&File", "&Edit", "&Image", "&Layer", "&Select", "&View", "&AI", "&Help")
DOCKS = (  # object name, title, area (True: right)
    ("colorDock", "Colour", True),
    ("toolOptionsDock", "Tool Options", False),
    ("historyDock", "Undo History", False),
    ("layersDock", "Layers", True),
    ("aiDock", "AI", True),
)

# The skeleton's empty dock contents hint at the sizes _size_docks gives the real panels: with
# no size hint the dock layout splits the space evenly and the canvas area is squeezed.
DOCK_HINTS = {"colorDock": (300, 260), "toolOptionsDock": (270, 420),
              "historyDock": (270, 300), "layersDock": (300, 520)}


class _Placeholder(QWidget):
    def __init__(self, w: int, h: int) -> None:
        super().__init__()
        self._hint = QSize(w, h)

    def sizeHint(self) -> QSize:
        return self._hint


class MainWindow(FileOps, QMainWindow):
    ready = Signal()  # a lazy window is fully built (document shown); never on lazy=False
    # The window shows another document (set_document): every panel that follows it (layers,
    # undo history, and the AI, Style and Generations docks from their install functions)
    # connects here; it fires synchronously, so they all follow at once.
    document_changed = Signal(object)

    def __init__(self, settings: Any = None, prompts: Prompts | None = None,
                 autosave: bool = True, ai: bool = True, lazy: bool = False) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.settings = settings if settings is not None else load_settings()
        self.prompts: Prompts = prompts  # type: ignore[assignment]  # set in _build if None
        self.doc: Document | None = None
        self._built = False
        self._skeleton: dict[str, Any] = {}
        self._last_export = ""
        self.recent_menu: QMenu | None = None
        self.panels_menu: QMenu | None = None
        self.tools_toolbar: QToolBar | None = None
        self.ai_panel: Any = None
        self.subject_ops: Any = None   # Select Subject, Remove / Replace Background
        self.autosave: Any = None
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        if lazy:
            self._build_skeleton()
            after_first_paint(self, functools.partial(self._build_or_quit, autosave, ai))
        else:
            self._build(autosave, ai, False)

    @property
    def is_ready(self) -> bool:
        """True once the real content is built (at once for lazy=False)."""
        return self._built

    def when_ready(self, callback: Callable[[], Any]) -> None:
        """Run `callback` now if the window is built, else when `ready` fires."""
        if self._built:
            callback()
        else:
            self.ready.connect(callback)

    def _build_skeleton(self) -> None:
        """Qt only: what the first frame shows, with every part in its final place."""
        self.update_title()
        self._skeleton["menus"] = [self.menuBar().addMenu(title) for title in MENU_TITLES]
        tb = QToolBar("Tools", self)
        tb.setObjectName("toolsToolBar")
        tb.setOrientation(Qt.Orientation.Vertical)
        tb.setIconSize(QSize(22, 22))
        items = [(text, icon_name) for _tool, text, _key, icon_name in TOOL_ACTIONS]
        for text, icon_name in [*items, ("", ""), ("Quick Mask", "quick-mask")]:
            if not text:
                tb.addSeparator()
                continue
            a = QAction(icon(icon_name), text, tb)
            a.setEnabled(False)
            tb.addAction(a)
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tb)
        central = _Placeholder(800, 800)
        pal = central.palette()
        pal.setColor(QPalette.ColorRole.Window, CANVAS_BACKDROP)
        central.setPalette(pal)
        central.setAutoFillBackground(True)
        # Expanding like the canvas: the docks keep their sizes, the centre takes the rest.
        central.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCentralWidget(central)
        self._skeleton["toolbar"] = tb
        self._build_docks({**{key: _Placeholder(*DOCK_HINTS[key]) for key, _t, _r in DOCKS[:-1]},
                           "aiDock": _ai_placeholder()})
        self._build_status_bar()
        self.fit_to_screen()
        self._restore_layout()

    def _build_or_quit(self, autosave: bool, ai: bool) -> None:
        """The lazy build; when it fails (a broken install: a library that does not load),
        say so and quit with status 1 rather than leave a skeleton window that cannot work."""
        try:
            self._build(autosave, ai, True)
        except Exception as exc:  # anything here leaves no usable window
            import logging

            logging.getLogger(__name__).exception("the window could not be built")
            text = (f"{APP_NAME} could not finish starting: {type(exc).__name__}: {exc}\n\n"
                    "No file was changed. Reinstalling the app usually brings back a missing "
                    "part.")
            if self.prompts is not None:
                self.prompts.show_error("Cannot start", text)
            else:
                QMessageBox.critical(self, "Cannot start", text)
            self.close()  # not built: closes without asking to save
            QApplication.exit(1)

    def _build(self, autosave: bool, ai: bool, lazy: bool) -> None:
        """The real content: imports numpy, the core, the canvas and the panels."""
        from ..core.document import Document
        from .canvas.state import ToolState
        from .canvas.view import CanvasView
        from .dialogs.prompts import Prompts
        from .panels.history_panel import HistoryPanel
        from .panels.layers_panel import LayersPanel
        from .panels.tool_options import ToolOptionsPanel
        from .select_ops import SelectOps

        # The skeleton's layout (the saved one, or the defaults): put back once the real
        # widgets are in, or the docks take the space the empty placeholders left.
        layout = self.saveState() if lazy else None
        if self.prompts is None:
            self.prompts = Prompts(self)
        self.state = ToolState(parent=self)
        self.canvas = CanvasView(self.state)
        if lazy:  # visible at once in the placeholder's place: a central widget that Qt shows
            # only later (queued) counts as absent, and the docks would take its space
            self.canvas.setParent(self)
            self.canvas.setGeometry(self.centralWidget().geometry())
            self.canvas.show()
        self.setCentralWidget(self.canvas)   # deletes the skeleton's placeholder
        self.layers_panel = LayersPanel()
        self.tool_options = ToolOptionsPanel(self.state)
        self.history_panel = HistoryPanel()
        self.document_changed.connect(self.layers_panel.set_document)
        self.document_changed.connect(self.history_panel.set_document)
        self.color_panel = _make_color_panel()
        panels = {"colorDock": self.color_panel, "toolOptionsDock": self.tool_options,
                  "historyDock": self.history_panel, "layersDock": self.layers_panel}
        if lazy:
            for key, widget in panels.items():
                old = self.docks[key].widget()
                self.docks[key].setWidget(widget)
                if old is not None:
                    old.deleteLater()
            tb = self._skeleton.pop("toolbar")
            self.removeToolBar(tb)
            tb.setObjectName("")   # restoreState must find the real tool bar only
            tb.setParent(None)
            tb.deleteLater()
            self.menuBar().clear()
            for menu in self._skeleton.pop("menus"):  # gone at once: menus are found by title
                menu.setParent(None)
                menu.deleteLater()
        else:
            self._build_docks({**panels, "aiDock": _ai_placeholder()})
        self.select_ops = SelectOps(self)
        self.acts = build_actions(self)
        if lazy and ai:  # keep the AI menu's place until the AI dock fills it
            help_menu = next((m.menuAction() for m in self.menuBar().findChildren(QMenu)
                              if m.title().replace("&", "") == "Help"), None)
            ai_menu = QMenu("&AI", self.menuBar())
            self.menuBar().insertMenu(help_menu, ai_menu)  # type: ignore[arg-type]
            self._skeleton["ai_menu"] = ai_menu
        for dock in self.docks.values():
            assert self.panels_menu is not None
            self.panels_menu.addAction(dock.toggleViewAction())
        if self.tools_toolbar is not None and self.panels_menu is not None:
            self.panels_menu.addAction(self.tools_toolbar.toggleViewAction())
        if not lazy:
            self._build_status_bar()
        self._wire_status_bar()
        self.canvas.quick_mask.history_changed.connect(self._history_changed)
        self._wire_colors()
        self._restore_brush()
        self.autosave = _make_autosave(self) if autosave else None

        s = self.settings
        w, h = getattr(s, "new_width", 2048), getattr(s, "new_height", 2048)
        bg = None if getattr(s, "new_transparent", False) else (255, 255, 255, 255)
        if not lazy:
            self.fit_to_screen()
        self.set_document(Document.new(w, h, bg))
        if ai:  # after the first frame: the AI panel is not needed to show the window
            after_first_paint(self, self._install_ai)
        if layout is not None:  # geometry was restored by the skeleton
            self.restoreState(layout)
        else:
            self._restore_layout()
        self._built = True
        if lazy:
            self.ready.emit()

    # ---- construction ----------------------------------------------------------------------
    def _build_docks(self, widgets: dict[str, QWidget]) -> None:
        L, R = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.docks: dict[str, QDockWidget] = {}
        for key, title, right in DOCKS:
            dock = QDockWidget(title, self)
            dock.setObjectName(key)
            dock.setWidget(widgets[key])
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.addDockWidget(R if right else L, dock)
            self.docks[key] = dock
        self.tabifyDockWidget(self.docks["layersDock"], self.docks["aiDock"])
        self.docks["layersDock"].raise_()
        self._size_docks()

    def _size_docks(self) -> None:
        self.resizeDocks([self.docks["toolOptionsDock"]], [270], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["colorDock"]], [300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["colorDock"], self.docks["layersDock"]], [260, 520],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["toolOptionsDock"], self.docks["historyDock"]], [420, 300],
                         Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.pos_label = QLabel("")
        self.pos_label.setMinimumWidth(90)
        self.pos_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.size_label = QLabel("")
        self.zoom_label = QLabel("")
        for lab, tip in ((self.pos_label, "Cursor position (pixels)"),
                         (self.size_label, "Canvas size"), (self.zoom_label, "Zoom")):
            lab.setToolTip(tip)
            sb.addPermanentWidget(lab)

    def _wire_status_bar(self) -> None:
        sb = self.statusBar()
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.4g} %"))
        self.canvas.message.connect(lambda text: sb.showMessage(text, 5000))
        self.canvas.status.connect(self._canvas_status)
        sb.messageChanged.connect(self._status_seen)

    def _status_seen(self, text: str) -> None:
        """Remember the last passing message (a result, a hint) that a tool's lasting line
        covered: when the line goes, the message comes back for the rest of its time."""
        if not text:
            self._status_note = None        # expired or cleared: nothing to bring back
        elif text != getattr(self, "_tool_status", ""):
            self._status_note = (text, time.monotonic())

    def _canvas_status(self, text: str) -> None:
        """A lasting line from a tool; "" takes it away (only if it is still showing), and
        the message it covered shows again if it is recent (`NOTE_S`)."""
        sb = self.statusBar()
        if text:
            self._tool_status = text
            sb.showMessage(text)
        elif sb.currentMessage() == getattr(self, "_tool_status", ""):
            note = getattr(self, "_status_note", None)
            self._tool_status = ""
            sb.clearMessage()
            if note is not None and (left := NOTE_S - (time.monotonic() - note[1])) > 1.0:
                sb.showMessage(note[0], int(left * 1000))

    def _wire_colors(self) -> None:
        panel, st = self.color_panel, self.state
        if panel is None:
            return
        if self.settings is not None and hasattr(panel, "from_settings"):
            panel.from_settings(self.settings)
        st.set_foreground(_rgb(panel.foreground))
        st.set_background(_rgb(panel.background))
        panel.foreground_changed.connect(lambda c: st.set_foreground(_rgb(c)))
        panel.background_changed.connect(lambda c: st.set_background(_rgb(c)))
        st.foreground_changed.connect(lambda rgb: panel.set_foreground(QColor(*rgb)))
        st.background_changed.connect(lambda rgb: panel.set_background(QColor(*rgb)))
        self.canvas.painted.connect(lambda rgb: panel.add_recent(QColor(*rgb)))

    def _restore_brush(self) -> None:
        s = self.settings
        name = getattr(s, "last_brush", "") if s is not None else ""
        preset = next((p for p in self.state.presets
                       if p.name.lower() == name.lower() and not p.eraser), None)
        if preset is not None:
            self.state.apply_preset(preset)
            self.state.update_brush(size=getattr(s, "brush_size", preset.size))

    def fit_to_screen(self) -> None:
        """The default size (DEFAULT_SIZE), or the screen's available area when that is
        smaller (then maximized too, as Krita opens on a laptop), centred on the screen."""
        avail = _available(self)
        geo, maximize = initial_geometry(avail, self.minimumSizeHint())
        self.setGeometry(geo)
        if maximize:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def _restore_layout(self) -> None:
        """The saved window geometry, only if it still fits the screen (a layout saved on a
        big monitor must not open off-screen on the laptop), then the docks' layout."""
        s = self.settings
        geo = _b64decode(getattr(s, "window_geometry", ""))
        state = _b64decode(getattr(s, "window_state", ""))
        if geo is not None:
            before = self.geometry()
            maximized = bool(self.windowState() & Qt.WindowState.WindowMaximized)
            if self.restoreGeometry(geo) and not self.isMaximized() \
                    and not fits(self.frameGeometry(), _available(self)):
                self.setGeometry(before)   # saved elsewhere: keep the fitted default
                if maximized:
                    self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        if state is not None:
            self.restoreState(state)

    def save_layout(self) -> None:
        s = self.settings
        if s is None or not self._built:
            return
        s.window_geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode()
        s.window_state = base64.b64encode(bytes(self.saveState().data())).decode()
        if self.color_panel is not None and hasattr(self.color_panel, "to_settings"):
            self.color_panel.to_settings(s)
        brush = self.state.brushes["brush"]
        s.last_brush, s.brush_size = brush.name, brush.size

    # ---- document --------------------------------------------------------------------------
    def _install_ai(self) -> None:
        """The AI, Style and Generations docks, after the first frame. A failure here leaves
        the painting program working and says what is missing."""
        try:
            self._install_ai_docks()
        except Exception as exc:  # painting goes on without the AI docks
            import logging

            logging.getLogger(__name__).exception("the AI docks could not be installed")
            self.prompts.show_error("AI is not available",
                                    f"The AI panels could not start: {type(exc).__name__}: "
                                    f"{exc}\n\nPainting and files work as usual.")

    def _install_ai_docks(self) -> None:
        from .ai_dock import install_ai_dock

        if self.ai_panel is None:
            ai_menu = self._skeleton.pop("ai_menu", None)
            if ai_menu is not None:  # the real AI menu takes the placeholder's place
                self.menuBar().removeAction(ai_menu.menuAction())
                ai_menu.deleteLater()
            install_ai_dock(self)  # sets self.ai_panel
            from .subject_ops import install_subject_ops

            install_subject_ops(self)  # sets self.subject_ops; shares self.ai_worker
            from .dialogs.upscale import install_upscale

            install_upscale(self)  # Image › Upscale…, on self.ai_worker
            from .dialogs.train_style import install_train_style

            install_train_style(self)  # AI › Train a Style…, a trainer process of its own
            from .panels.style_gallery import install_style_gallery

            install_style_gallery(self)  # sets self.style_gallery; shares self.ai_worker
            from .panels.generation_history import install_generation_history

            install_generation_history(self)  # sets self.generations_panel
            self._install_live_dock()

    def _install_live_dock(self) -> None:
        try:
            from .panels.live_dock import install_live_dock

            install_live_dock(self)  # sets self.live_panel; shares self.ai_worker
        except ImportError:  # live painting's session is not there: the other docks work
            import logging

            logging.getLogger(__name__).exception("the Live dock could not be installed")

    def set_document(self, doc: Document) -> None:
        old = self.doc
        if old is not None:
            old.history.changed.disconnect(self._history_changed)
            old.size_changed.disconnect(self._doc_size_changed)
        self.doc = doc
        self.canvas.set_document(doc)
        self.select_ops.attach(doc)
        if old is not None:   # the old document's cycles, frozen survivors included, go now
            from .ui_thread import collect_all

            QTimer.singleShot(0, collect_all)
        self.document_changed.emit(doc)   # the panels and docks follow
        doc.history.changed.connect(self._history_changed)
        doc.size_changed.connect(self._doc_size_changed)
        if self.autosave is not None:
            self.autosave.attach(doc, self.document_name())
        self._doc_size_changed(doc.width, doc.height)
        self._history_changed()

    def doc_required(self, fn: Callable[..., Any]) -> Callable[[], Any]:
        @functools.wraps(fn)
        def run() -> Any:
            return fn() if self.doc is not None else None
        return run

    def _history_changed(self) -> None:
        doc = self.doc
        if doc is None:
            return
        qm = self.canvas.quick_mask
        h = qm.doc.history if qm.doc is not None else doc.history   # quick mask: its strokes
        a = self.acts
        a.undo.setEnabled(h.can_undo)
        a.redo.setEnabled(h.can_redo)
        a.undo.setText(f"&Undo {h.undo_text}" if h.can_undo else "&Undo")
        a.redo.setText(f"&Redo {h.redo_text}" if h.can_redo else "&Redo")
        self.update_title()

    def _doc_size_changed(self, w: int, h: int) -> None:
        self.size_label.setText(f"{w} \u00d7 {h} px")

    def update_title(self) -> None:
        star = "*" if self.doc is not None and self.doc.modified else ""
        self.setWindowTitle(f"{self.document_name()}{star} \u2014 {APP_NAME}")

    def _cursor_moved(self, pos: tuple[int, int] | None) -> None:
        self.pos_label.setText("" if pos is None else f"{pos[0]}, {pos[1]}")

    # ---- edit ------------------------------------------------------------------------------
    def undo(self) -> None:
        if self.doc is None or self.canvas.painting:
            return
        if self.canvas.quick_mask.active:
            self.canvas.finish_tool()
            self.canvas.quick_mask.undo()
        elif not self.canvas.revert_pending():   # an open transform: Undo drops it
            self.canvas.finish_tool()
            self.doc.history.undo()

    def redo(self) -> None:
        if self.doc is None or self.canvas.painting:
            return
        self.canvas.finish_tool()
        if self.canvas.quick_mask.active:
            self.canvas.quick_mask.redo()
        else:
            self.doc.history.redo()

    def copy(self) -> bool:
        from . import edit_ops

        self.canvas.finish_tool()
        self.canvas.quick_mask.leave()
        ok = self.doc is not None and edit_ops.copy(self.doc)
        if not ok:
            self.statusBar().showMessage("Copy: nothing to copy on the active layer", 4000)
        return ok

    def cut(self) -> bool:
        from . import edit_ops

        self.canvas.finish_tool()
        self.canvas.quick_mask.leave()
        ok = self.doc is not None and edit_ops.cut(self.doc)
        if not ok:
            self.statusBar().showMessage("Cut: nothing to cut on the active layer", 4000)
        return ok

    def paste(self) -> bool:
        if self.doc is None:
            return False
        self.canvas.finish_tool()
        self.canvas.quick_mask.leave()
        from . import edit_ops

        vp = self.canvas.viewport()
        c = self.canvas.view_to_doc(QPointF(vp.width() / 2, vp.height() / 2))
        ok = edit_ops.paste(self.doc, (c.x(), c.y()))
        if not ok:
            self.statusBar().showMessage("Paste: the clipboard holds no image", 4000)
        return ok

    def canvas_size_dialog(self) -> None:
        doc = self.doc
        if doc is None:
            return
        spec = self.prompts.ask_canvas_size(doc.width, doc.height)
        if spec is not None and (spec.width, spec.height) != (doc.width, doc.height):
            doc.resize_canvas(spec.width, spec.height, spec.dx, spec.dy)
            self.canvas.fit()

    # ---- help ------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        rows = [(text, key) for _t, text, key, _i in TOOL_ACTIONS]
        seen: set[str] = set()
        for a in self.actions():   # the menus' and the AI dock's (Run AI, Detail Pass, ...)
            key = a.shortcut().toString()
            text = a.text().replace("&", "").rstrip("\u2026").split(" Undo")[0]
            if key and not a.isCheckable() and text not in seen:
                seen.add(text)
                rows.append((text, key))
        rows += [("Pan", "Space-drag, middle-drag"), ("Zoom about cursor", "Ctrl+wheel"),
                 ("Pick colour while painting", "Ctrl-click"), ("Straight line", "Shift-click")]
        body = "".join(f"<tr><td>{t}</td><td>&nbsp;&nbsp;<b>{k}</b></td></tr>" for t, k in rows)
        self.prompts.show_info("Keyboard Shortcuts", f"<table>{body}</table>")

    def open_log_folder(self) -> str:
        """Show the folder of the log files in the file manager; returns its path."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from ..logs import log_dir

        folder = log_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.prompts.show_error("Log folder", f"Cannot open the log folder {folder}: "
                                    f"{exc.strerror or exc}.")
            return str(folder)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.prompts.show_info("Log folder", f"The log files are in<br><b>{folder}</b>")
        return str(folder)

    def show_about(self) -> None:
        from ..licences import about_licences_html

        self.prompts.show_info(
            f"About {APP_NAME}",
            f"<h3>{APP_NAME}</h3><p>A painting program where AI is a brush, not a "
            "replacement for the painter.</p><p>Layers are saved as OpenRaster (.ora), which "
            "Krita, GIMP and MyPaint open too.</p>" + about_licences_html())

    # ---- window events ---------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._built:  # closed before the content was built: nothing to save
            event.accept()
            return
        if not self.maybe_save():
            event.ignore()
            return
        live = getattr(self, "live_panel", None)
        if live is not None:  # before the worker stops with the window
            live.shutdown()
        self.save_layout()
        save_settings(self.settings)
        if self.autosave is not None:
            self.autosave.discard()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _dropped_paths(event)
        if not paths:
            return
        event.acceptProposedAction()
        mods = event.modifiers()
        as_layers = bool(mods & (Qt.KeyboardModifier.ControlModifier
                                 | Qt.KeyboardModifier.ShiftModifier))
        # Open after the drop has finished: a modal question inside a drop is fragile.
        QTimer.singleShot(0, lambda: self.when_ready(lambda: self.open_dropped(paths, as_layers)))

    def open_dropped(self, paths: list[str], as_layers: bool = False) -> None:
        """Open the first file (the rest become layers); with `as_layers`, import them all."""
        if not as_layers and self.open_path(paths[0]):
            paths = paths[1:]
        elif not as_layers:
            return
        for p in paths:
            self.import_layer(p)

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        files = self.recent_files()
        for path in files:
            a = menu.addAction(os.path.basename(path))
            a.setToolTip(path)
            a.setStatusTip(path)
            a.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if not files:
            menu.addAction("(no recent files)").setEnabled(False)


# ---- helpers -------------------------------------------------------------------------------
DEFAULT_SIZE = QSize(1400, 900)
SCREEN_MARGIN = QSize(16, 48)   # room for the window frame and title bar


def initial_geometry(avail: QRect, minimum: QSize | None = None,
                     default: QSize = DEFAULT_SIZE) -> tuple[QRect, bool]:
    """(geometry, maximize?) for a new window on a screen whose available area (without the
    task bar) is `avail`: the default size centred when it fits, else the whole area (and
    maximized). Never smaller than `minimum`, never placed off the area's top-left."""
    room = QSize(max(1, avail.width() - SCREEN_MARGIN.width()),
                 max(1, avail.height() - SCREEN_MARGIN.height()))
    maximize = default.width() > room.width() or default.height() > room.height()
    size = default.boundedTo(room)
    if minimum is not None:
        size = size.expandedTo(minimum)
    # The geometry is the client area: the frame's title bar sits above it.
    x = avail.x() + SCREEN_MARGIN.width() // 2 + max(0, (room.width() - size.width()) // 2)
    y = avail.y() + SCREEN_MARGIN.height() * 2 // 3 \
        + max(0, (room.height() - size.height()) // 2)
    return QRect(x, y, size.width(), size.height()), maximize


def fits(frame: QRect, avail: QRect) -> bool:
    """`frame` (a window with its title bar) lies inside the available area, give or take
    a few pixels of frame."""
    return avail.adjusted(-8, -8, 8, 8).contains(frame)


def _available(win: QWidget) -> QRect:
    screen = win.screen() or QApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 728)


def _rgb(c: QColor) -> tuple[int, int, int]:
    return (c.red(), c.green(), c.blue())


def _b64decode(text: str) -> QByteArray | None:
    if not text:
        return None
    try:
        return QByteArray(base64.b64decode(text))
    except ValueError:
        return None


def _dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    md = event.mimeData()
    if md is None or not md.hasUrls():
        return []
    return [u.toLocalFile() for u in md.urls()
            if u.isLocalFile() and os.path.splitext(u.toLocalFile())[1].lower()
            in OPEN_EXTENSIONS]


def _ai_placeholder() -> QWidget:
    ai = QWidget()
    lay = QVBoxLayout(ai)
    note = QLabel("AI tools are loading…")
    note.setWordWrap(True)
    note.setStyleSheet("color: #a8a8a8;")
    lay.addWidget(note)
    lay.addStretch(1)
    return ai


def _make_color_panel() -> Any:
    from .panels.color_panel import ColorPanel

    return ColorPanel()


def _make_autosave(win: MainWindow) -> Any:
    from ..settings import recovery_dir
    from .autosave import AutosaveManager

    interval = getattr(win.settings, "autosave_interval_s", 60)
    return AutosaveManager(recovery_dir(), interval, parent=win)
