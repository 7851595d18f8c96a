"""The Style dock: a gallery of the 26 built-in styles and the user's own style pictures, the
controls, and style transfer through the window's one AI worker.

    gallery = install_style_gallery(win)   # after install_ai_dock(win): shares win.ai_worker

Picking a style previews it on the canvas (a job on the worker, with progress and Cancel/Esc);
"Apply style" (or a double-click) adds the previewed result as a new layer in one undo step
(`ai.apply.apply_result`; the canvas shows `ai.composite.variant_layer`, the very pixels it
adds) — the preview itself when it is still current, otherwise styling
first — as Photoshop's Neural Filters do with their preview and OK. Enter applies a current
preview, or previews when there is none (style_jobs.py). The status line is always derived
from the state it describes. The worker is shared with the AI panel: the gallery listens only
to the handle of its own running job and never queues behind another job.
Pictures dragged in from the desktop, or added with "Your picture…", go to the user's style library
(`ai.style_library`), imported on a background thread; right-click renames or removes them.
"""
from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QIcon, QImage, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...ai.composite import variant_layer
from ...ai.styles.builtins import BUILTINS, builtin_index
from ...ai.styles.library import StyleLibrary, builtin_styles_async
from ...core.geometry import Rect
from ..convert import array_to_qimage
from ..ui_thread import call_on_ui
from .style_controls import StyleControls
from .style_grid import CELL, KEY_ROLE, KIND_ROLE, StyleGrid, placeholder_icon, plus_icon
from .style_jobs import StyleJobs
from .style_progress import StyleProgress
from .style_user import UserStyles
from .widgets import guard_wheel

if TYPE_CHECKING:
    from ...ai.requests import AiResult
    from ...core.document import Document
    from ...core.layer import Layer
    from ..worker import AiWorker, JobHandle

PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.webp *.tif *.tiff);;All files (*)"
AUTO_DELAY_MS = 120
RECHECK_MS = 250   # after a document change, re-check the status line


class StyleGallery(StyleJobs, UserStyles, QWidget):
    preview_changed = Signal(object, object)   # QImage | None, Rect | None
    message = Signal(str)                      # a line for the status bar
    applied = Signal(object)                   # the new Layer
    running_changed = Signal(bool)
    job_ended = Signal(str)                    # "finished", "failed" or "cancelled"
    imported = Signal(object)                  # a UserStyle, or the error message (str)
    builtins_loaded = Signal()

    def __init__(self, worker: AiWorker, library: StyleLibrary | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StyleGallery")
        self.setAcceptDrops(True)
        self.worker = worker
        self.library = library or StyleLibrary()
        self._doc: Document | None = None         # the window's (install: document_changed)
        self.result: AiResult | None = None
        self.result_doc: Document | None = None
        self._result_key: tuple[Any, ...] | None = None
        self._job: JobHandle | None = None     # our running job (its signals reach us)
        self._job_doc: Document | None = None
        self._job_key: tuple[Any, ...] | None = None
        self._job_revision = -1
        self._took = 0.0
        self._fresh: tuple[Any, ...] | None = None    # (stamp, is the preview current)
        self._applied: tuple[Layer, Document] | None = None  # the last layer we added
        self._note = ""                                # what just happened (status line)
        self._watched: Document | None = None
        self._recheck = QTimer(self, singleShot=True, interval=RECHECK_MS)
        self._recheck.timeout.connect(self._sync)
        self._apply_when_done = False
        self._t0 = 0.0
        self._preview: tuple[QImage, Rect] | None = None
        self._filling = False
        self.builtins_ready = False
        # Hooks for dialogs (tests replace them): files to add; yes/no.
        self.ask_files = lambda: QFileDialog.getOpenFileNames(
            self, "Add style pictures", "", PICTURE_FILTER)[0]
        self.confirm = lambda title, text: QMessageBox.question(
            self, title, text) == QMessageBox.StandardButton.Yes
        self._auto = QTimer(self, singleShot=True, interval=AUTO_DELAY_MS)
        self._auto.timeout.connect(self.preview)
        self._build()
        self.refresh_user_styles()
        self._in_background(builtin_styles_async(self.library.builtin_thumbnail_dir()),
                            self._builtins_rendered)

    # ---- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.user_grid = StyleGrid("Drop a painting or photo here to use it as a style")
        self.user_grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.user_grid.customContextMenuRequested.connect(self._user_menu)
        self.user_grid.itemChanged.connect(self._renamed)
        self.builtin_grid = StyleGrid()
        icon = placeholder_icon()
        for b in BUILTINS:  # painterly ones first
            self.builtin_grid.add_style("builtin", b.id, b.name, icon,
                                        f"{b.name}: {b.look}\nBuilt-in style ({b.id}; offline "
                                        "network, Apache-2.0)")
        for grid in (self.user_grid, self.builtin_grid):
            grid.files_dropped.connect(self.import_files)
            grid.currentItemChanged.connect(self._picked)
            grid.itemDoubleClicked.connect(lambda _item: self.apply_style())
        self.add_button = QPushButton("Your picture…")
        self.add_button.setIcon(plus_icon())
        self.add_button.setToolTip("Use a painting or photo of your own as the style: pick "
                                   "files, or drag them onto this panel")
        self.add_button.clicked.connect(self.add_pictures)
        self.picture_hint = QLabel("Any painting or photo can be a style: drop it here.")
        self.picture_hint.setWordWrap(True)
        self.picture_hint.setStyleSheet("color: #aab0b8;")
        self.auto_preview = QCheckBox("Preview on the canvas when picked")
        self.auto_preview.setChecked(True)
        self.controls = StyleControls()
        self.controls.changed.connect(self._settings_changed)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Style the area and show it on the canvas, without "
                                       "changing the picture (Enter)")
        self.preview_button.clicked.connect(self.preview)
        self.apply_button = QPushButton("Apply style")
        self.apply_button.setMinimumHeight(30)
        self.apply_button.setStyleSheet("QPushButton { font-weight: 600; }")
        self.apply_button.setToolTip("Add the styled area as a new layer (Enter, once it is "
                                     "previewed); Ctrl+Z removes it")
        self.apply_button.clicked.connect(self.apply_style)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop styling (Esc); nothing is changed")
        self.cancel_button.clicked.connect(self.cancel)
        self.discard_button = QPushButton("Discard preview")
        self.discard_button.clicked.connect(self.discard)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.meter = StyleProgress(self.progress, self)   # live, with a time estimate
        self.status = QLabel("Pick a style.")
        self.status.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff8a80;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # What scrolls when the dock is short: the styles and the settings. The buttons, the
        # progress and the status line stay in sight below it at any dock height.
        upper = QWidget()
        upper.setObjectName("StyleGalleryContent")
        up = QVBoxLayout(upper)
        up.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(_heading("Your styles"), 1)
        head.addWidget(self.add_button)
        up.addLayout(head)
        up.addWidget(self.picture_hint)
        up.addWidget(self.user_grid)
        up.addWidget(_heading("Built-in styles"))
        up.addWidget(self.builtin_grid, 1)
        up.addWidget(self.auto_preview)
        up.addWidget(self.controls)
        self.scroll = QScrollArea()
        self.scroll.setWidget(upper)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setMinimumHeight(0)
        # Never narrower than the content needs (so nothing is cut off at the side).
        self.scroll.setMinimumWidth(upper.minimumSizeHint().width()
                                    + self.scroll.verticalScrollBar().sizeHint().width())

        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.apply_button, 1)
        self.run_row = QWidget()  # progress and Cancel: shown only while styling
        run = QHBoxLayout(self.run_row)
        run.setContentsMargins(0, 0, 0, 0)
        run.addWidget(self.progress, 1)
        run.addWidget(self.cancel_button)
        row = QHBoxLayout()      # the run row while styling, Discard preview while previewing
        row.addWidget(self.run_row, 1)
        row.addWidget(self.discard_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.scroll, 1)
        lay.addLayout(buttons)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.error)
        self.error.hide()
        self.run_row.hide()
        self.builtin_grid.setMinimumHeight(CELL.height() + 2 * self.builtin_grid.frameWidth() + 4)
        self.user_grid.fit_rows(2)
        self.user_grid.setVisible(self.user_grid.count() > 0)  # empty: the hint says it all
        # The wheel over a field that has no focus scrolls the panel instead of changing it.
        guard_wheel(self)
        self._sync()

    # ---- background work -------------------------------------------------------------------
    def _in_background(self, future: Future[Any], callback: Any) -> None:
        """Run `callback(future)` on the UI thread once `future` is done (not at all when the
        panel has been deleted by then)."""
        future.add_done_callback(lambda fut: call_on_ui(self, callback, fut))

    def _builtins_rendered(self, future: Future[Any]) -> None:
        try:
            styles = future.result()
        except Exception as exc:  # a missing network still leaves the panel usable
            self._show_error(f"The built-in styles cannot be shown: {exc}")
            return
        for info in styles:
            item = self.builtin_grid.find_key(info.name)
            if item is not None and info.thumbnail is not None:
                item.setIcon(QIcon(str(info.thumbnail)))
        self.builtins_ready = True
        self.builtins_loaded.emit()


    # ---- the picked style ------------------------------------------------------------------
    def _current_key(self, kind: str) -> str | None:
        grid = self.user_grid if kind == "user" else self.builtin_grid
        item = grid.currentItem()
        return item.data(KEY_ROLE) if item is not None and item.isSelected() else None

    def current_style(self) -> tuple[str, str, str] | None:
        """(kind, key, display name) of the picked style, or None."""
        for grid in (self.user_grid, self.builtin_grid):
            item = grid.currentItem()
            if item is not None and item.isSelected():
                return item.data(KIND_ROLE), item.data(KEY_ROLE), item.text()
        return None

    def pick(self, key: str) -> bool:
        """Pick a style by key ("Style 3", a built-in's name, or a library id), as a click
        would."""
        if (i := builtin_index(key)) is not None:
            key = f"Style {i}"
        for grid in (self.builtin_grid, self.user_grid):
            item = grid.find_key(key)
            if item is not None:
                grid.setCurrentItem(item)
                item.setSelected(True)
                grid.show_item(item)
                return True
        return False

    def _picked(self, item: QListWidgetItem | None, _prev: object = None) -> None:
        if item is None or self._filling:
            return
        other = self.builtin_grid if item.listWidget() is self.user_grid else self.user_grid
        other.clearSelection()
        other.setCurrentItem(None)  # type: ignore[arg-type]
        self._note = ""
        self._sync()
        if self.auto_preview.isChecked() and self.isVisible():
            self._auto.start()

    def _settings_changed(self) -> None:
        if self.result is not None or self._job:
            self._auto.start()
        self._sync()

    # ---- document ---------------------------------------------------------------------------
    @property
    def doc(self) -> Document | None:
        return self._doc

    def set_document(self, doc: Document | None) -> None:
        """The window shows another document: stop our job, drop the preview."""
        if doc is self._doc:
            return
        self._doc = doc
        self._watch(doc)
        if self._job:
            self._job.cancel()
        self._applied = None
        self.discard()
        self._note = ""
        self._sync()

    def _watch(self, doc: Document | None) -> None:
        """Re-check the status line (is the preview still current, is our layer still there)
        shortly after the document changes."""
        old, self._watched = self._watched, doc
        if old is not None:
            for sig in (old.revision_changed, old.structure_changed):
                try:
                    sig.disconnect(self._doc_changed)
                except ValueError:
                    pass
        if doc is not None:
            doc.revision_changed.connect(self._doc_changed)
            doc.structure_changed.connect(self._doc_changed)

    def _doc_changed(self, *_: object) -> None:
        self._recheck.start()

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    # ---- canvas preview ----------------------------------------------------------------------
    @property
    def preview_image(self) -> tuple[QImage, Rect] | None:
        return self._preview

    def preview_caption(self) -> str:
        if self.result is not None:
            return "Style preview · not applied yet — Apply style (Enter) adds it as a layer"
        return ""

    def _restore_preview(self) -> None:
        r = self.result
        if r is None:
            self._set_preview(None, None)
        else:
            self._set_preview(array_to_qimage(variant_layer(r, 0)), r.rect)

    def _set_preview(self, image: QImage | None, rect: Rect | None) -> None:
        self._preview = None if image is None or rect is None else (image, rect)
        if self.isVisible() or image is None:
            self.preview_changed.emit(image, rect)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._preview is not None:
            self.preview_changed.emit(*self._preview)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():
            self.preview_changed.emit(None, None)

    # ---- drops on the whole panel -------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:
        self.user_grid.dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        self.user_grid.dragMoveEvent(event)

    def dropEvent(self, event: Any) -> None:
        self.user_grid.dropEvent(event)

    # ---- keys ------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter anywhere in the dock (a grid, a field, a button without a key of its own):
        apply the current preview, or preview when there is none. Fields pass Enter on to
        their parent after taking their value, so this is where it arrives."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                self.user_grid.state() != QAbstractItemView.State.EditingState:
            event.accept()
            self.enter()
            return
        super().keyPressEvent(event)

    # ---- state: buttons and the status line ------------------------------------------------------
    def _sync(self) -> None:
        running = bool(self._job)
        has_style = self.current_style() is not None
        self.preview_button.setEnabled(has_style and self.doc is not None)
        self.apply_button.setEnabled(has_style and self.doc is not None)
        self.cancel_button.setEnabled(running)
        self.discard_button.setVisible(self.result is not None and not running)
        self.status.setText(self._status_text())

    def _tell(self, text: str) -> None:
        """Say what just happened (until the state changes)."""
        self._note = text
        self._sync()

    def _status_text(self) -> str:
        """The status line, from the state it describes (never left over from an earlier one)."""
        style = self.current_style()
        shown = f"“{style[2]}”" if style else ""
        if self._job:
            if self._note:
                return self._note
            then = " and adding it as a layer" if self._apply_when_done else ""
            return f"Styling with {shown}{then}… Esc cancels."
        if self.result is not None:
            lead = f"{self._note} " if self._note else ""
            if self.preview_is_current():
                return (f"{lead}Previewed on the canvas, not applied yet: Apply style (Enter) "
                        "adds it as a new layer.")
            return ("The preview no longer matches the settings or the picture: Apply style "
                    "(Enter) styles it again.")
        if self._applied is not None:
            layer, doc = self._applied
            if doc is self.doc and layer in doc.layers:
                return f"Added layer “{layer.name}”. Ctrl+Z removes it."
            self._applied = None
            if not self._note:
                self._note = f"“{layer.name}” was removed (undone)."
        if self._note:
            return self._note
        if style is not None:
            return (f"{shown}: Preview (Enter) shows it on the canvas; Apply style adds it as "
                    "a new layer.")
        return "Pick a style, or use a picture of your own."


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def install_style_gallery(win: Any, *, library: StyleLibrary | None = None) -> StyleGallery:
    """Put a StyleGallery in a "Style" dock of `win` (see `style_dock.install`)."""
    from .style_dock import install

    return install(win, library=library)
