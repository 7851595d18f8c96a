"""The Live dock: live painting's switch, its own settings, the newest frame, Apply.

    panel = install_live_dock(win)      # after install_ai_dock(win): shares win.ai_worker

While Live is on, a `qt/live.py: LiveSession` re-generates the chosen region (the selection,
a live frame, or the whole canvas) each time the picture changes; the dock shows the newest
frame scaled to fit (or at the canvas' zoom: `live_view.FrameView`), a status line (waiting,
painting, frames per second) and, when asked, the frame over its region on the canvas
(`ai_dock.CanvasPreview`, with an opacity). Apply (the button, Enter in the dock, or
Ctrl+Shift+Enter) adds the frame as a new layer with its record: one undo step, through the
session. The dock never edits the document itself. The live frame is moved and resized on the
canvas (`qt/live_frame.py: LiveFrameEditor`, shown while the region is "Live frame"); the AI
dock's control layers and LoRAs ride along unless unticked.

Live turns off when the window shows another document, when the window closes, when the AI
panel or the Style dock starts a job of their own, and when the session reports an error
(`stopped(message)`: shown here in at most two lines).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...ai.errors import AiError
from ...core import selection as sel
from ...core.geometry import Rect
from ..convert import array_to_qimage
from .live_view import FrameView
from .messages import short_message
from .widgets import SliderSpin, add_tabbed_dock, guard_wheel, scroll_body

log = logging.getLogger(__name__)
DOCK_NAME = "liveDock"
TOGGLE_KEYS = "Ctrl+Shift+L"
APPLY_KEYS = ("Ctrl+Shift+Return", "Ctrl+Shift+Enter")
REGIONS = (("selection", "Selection"), ("frame", "Live frame"), ("canvas", "Canvas"))
STATE_TEXT = {"off": "Live is off", "waiting": "Waiting for a change\u2026",
              "running": "Painting frame\u2026"}
FRAME_SIDE = 512          # a new live frame's side (smaller on a smaller canvas)
EDIT_DELAY_MS = 250       # typing in the prompt reaches the session after this pause


class LivePanel(QWidget):
    """The Live dock's content. `session` is a `LiveSession`; `models()` the model source
    (the AI panel's registry); `ask_folder()` the folder for recorded frames (or None);
    `addons()` the AI dock's (controls, LoRAs) that live uses when asked (None: no AI dock)."""

    applied = Signal(object)       # the new Layer
    message = Signal(str)          # a line for the status bar

    def __init__(self, session: Any, models: Any, ask_folder: Any = None,
                 parent: QWidget | None = None, addons: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("LivePanel")
        self.session = session
        self._models = models
        self._ask_folder = ask_folder
        self._addons = addons
        self.doc: Any = None
        self.frame_rect: Rect | None = None     # the live frame (region "frame")
        self.result: Any = None                 # the newest frame's AiResult
        self.overlay: Any = None                # a CanvasPreview, when on a window
        self.frame_editor: Any = None           # a live_frame.LiveFrameEditor, when on a window
        self.view_centre: Any = None            # () -> the canvas view's centre (doc QPointF)
        self._layer_image: np.ndarray | None = None
        self._times: list[float] = []           # how long the last frames took (s)
        self._t_start = 0.0                     # when the frame in flight started
        self._state = "off"
        self._build()
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(EDIT_DELAY_MS)
        self._edit_timer.timeout.connect(self._push_settings)
        session.frame.connect(self._on_frame)
        session.state_changed.connect(self._on_state)
        session.stopped.connect(self._on_stopped)
        session.applied.connect(self._on_applied)

    # ---- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.toggle = QPushButton("Live")
        self.toggle.setCheckable(True)
        self.toggle.setMinimumHeight(30)
        self.toggle.setStyleSheet("QPushButton { font-weight: 600; } "
                                  "QPushButton:checked { background: #2f6f3f; color: white; }")
        self.toggle.setToolTip(f"Repaint the region each time the picture changes ({TOGGLE_KEYS})")
        self.toggle.toggled.connect(self._toggled)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Describe what to paint\u2026")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * 2 + 12)
        self.negative = QLineEdit()
        self.negative.setPlaceholderText("Things to avoid (optional)")
        self.strength = SliderSpin("Strength", 1, 100, suffix=" %",
                                   tooltip="How much of the region may change")
        self.strength.label.setMinimumWidth(0)
        self.strength.set_value(60)
        self.steps = QSpinBox()
        self.steps.setRange(1, 8)
        self.steps.setValue(2)
        self.steps.setToolTip("Steps per frame: fewer is faster (Turbo models: 1\u20134)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        self.seed.setToolTip("The seed; unlocked, each time Live is turned on draws one (shown "
                             "here once the first frame comes)")
        self.seed_lock = QCheckBox("Lock")
        self.seed_lock.setToolTip("Locked: every frame uses this seed (frames differ only where "
                                  "you painted). Unlocked: a new seed each time Live is turned on")
        self.model = QComboBox()
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(8)
        self.model.setToolTip("The model that paints the frames (a Turbo model is fastest)")
        self.region = QComboBox()
        for key, label in REGIONS:
            self.region.addItem(label, key)
        self.region.setToolTip("What is repainted: the selection, a live frame (from the "
                               "selection's bounds when there is one), or the whole canvas")
        self.frame_button = QPushButton("Frame ← selection")
        self.frame_button.setToolTip("Move the live frame onto the selection's bounds (select a "
                                     "rectangle, then click: the frame follows)")
        self.frame_button.clicked.connect(self.frame_from_selection)
        self.view = FrameView()
        self.zoom_button = QPushButton("1:1 zoom")
        self.zoom_button.setCheckable(True)
        self.zoom_button.setToolTip("Show the frame at the canvas' zoom (off: scaled to fit)")
        self.zoom_button.toggled.connect(lambda on: self.view.set_fit(not on))
        self.use_addons = QCheckBox("Use the AI dock's controls and LoRAs")
        self.use_addons.setChecked(True)
        self.use_addons.setToolTip("Live follows the control layers and LoRAs set in the AI "
                                   "dock (a line-art control makes it follow your sketch)")
        self.addons_label = QLabel("")
        self.addons_label.setObjectName("liveAddons")
        self.addons_label.setStyleSheet("color: #a0a0a0;")
        self.addons_label.setWordWrap(True)
        self.status = QLabel(STATE_TEXT["off"])
        self.status.setObjectName("liveStatus")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #f0a070;")
        self.error.hide()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setMinimumHeight(30)
        self.apply_button.setToolTip("Add the frame as a new layer (Enter here, or "
                                     f"{APPLY_KEYS[0]})")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.show_overlay = QCheckBox("Overlay on canvas")
        self.show_overlay.setChecked(True)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(80)
        self.opacity.setToolTip("The overlay's opacity")
        self.record = QCheckBox("Record frames to folder\u2026")
        self.record.setToolTip("Write every frame to a folder as PNG with its parameters")
        self.record_label = QLabel("")
        self.record_label.setStyleSheet("color: #a0a0a0;")
        self.record_label.setWordWrap(True)
        self.record_label.hide()

        g = QGridLayout()
        g.setContentsMargins(0, 0, 0, 0)
        g.addWidget(self.prompt, 0, 0, 1, 4)
        g.addWidget(self.negative, 1, 0, 1, 4)
        g.addWidget(self.strength, 2, 0, 1, 4)
        g.addWidget(QLabel("Steps"), 3, 0)
        g.addWidget(self.steps, 3, 1)
        g.addWidget(QLabel("Seed"), 3, 2, Qt.AlignmentFlag.AlignRight)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.seed_lock)
        g.addLayout(seed_row, 3, 3)
        g.addWidget(QLabel("Model"), 4, 0)
        g.addWidget(self.model, 4, 1, 1, 3)
        g.addWidget(QLabel("Region"), 5, 0)
        region_row = QHBoxLayout()
        region_row.addWidget(self.region, 1)
        region_row.addWidget(self.frame_button)
        g.addLayout(region_row, 5, 1, 1, 3)
        g.setColumnStretch(3, 1)
        overlay_row = QHBoxLayout()
        overlay_row.addWidget(self.show_overlay)
        overlay_row.addWidget(self.opacity, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        top = QHBoxLayout()   # the switch and Apply first: in view on the shortest screen
        top.addWidget(self.toggle, 2)
        top.addWidget(self.apply_button, 1)
        top.addWidget(self.zoom_button)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.error)
        lay.addLayout(overlay_row)
        lay.addLayout(g)
        lay.addWidget(self.use_addons)
        lay.addWidget(self.addons_label)
        lay.addWidget(self.record)
        lay.addWidget(self.record_label)
        scroll_body(self, min_height=120)
        guard_wheel(self)   # the wheel scrolls the dock, not the field under the pointer

        for sig in (self.prompt.textChanged, self.negative.textChanged):
            sig.connect(lambda *_: self._settings_changed(typed=True))
        self.seed.valueChanged.connect(lambda *_: self.seed_lock.setChecked(True))  # typed
        for sig in (self.strength.value_changed, self.steps.valueChanged,
                    self.seed.valueChanged, self.seed_lock.toggled,
                    self.model.currentIndexChanged, self.region.currentIndexChanged):
            sig.connect(lambda *_: self._settings_changed())
        self.region.currentIndexChanged.connect(lambda *_: self._sync_frame())
        self._sync_frame()
        self.use_addons.toggled.connect(lambda *_: self.addons_changed())
        self._show_addons()
        self.show_overlay.toggled.connect(lambda *_: self._show_overlay())
        self.opacity.valueChanged.connect(lambda *_: self._show_overlay())
        self.record.toggled.connect(self._record_toggled)

    # ---- models and document ---------------------------------------------------------------
    def refresh_models(self) -> None:
        """Re-read the installed diffusion models into the picker (keeps the picked one)."""
        keep = self.model.currentData()
        try:
            models = list(self._models().models()) if self._models is not None else []
        except Exception as exc:  # a broken models folder: the picker stays empty
            log.warning("could not list the installed models: %s", exc)
            models = []
        self.model.blockSignals(True)
        self.model.clear()
        for m in models:
            self.model.addItem(m.name, m.id)
        i = self.model.findData(keep)
        self.model.setCurrentIndex(i if i >= 0 else (0 if self.model.count() else -1))
        self.model.blockSignals(False)

    def set_document(self, doc: Any) -> None:
        """Follow the window's document: live turns off (the session stops itself)."""
        if doc is self.doc:
            return
        if self.doc is not None:
            self.doc.size_changed.disconnect(self._canvas_resized)
        self.doc = doc
        if doc is not None:
            doc.size_changed.connect(self._canvas_resized)
        self.frame_rect = None
        self.session.set_document(doc)
        self._set_checked(False)
        self._clear_frame()
        self._sync_frame()

    def _canvas_resized(self, *_a: object) -> None:
        self._sync_frame()
        self._settings_changed()

    # ---- settings --------------------------------------------------------------------------
    def region_key(self) -> str:
        return str(self.region.currentData())

    def _frame(self) -> Rect | None:
        """The live frame: kept while it is on the canvas, else made from the selection's
        bounds, or a square (`FRAME_SIDE`, at most the canvas) centred on the view."""
        doc = self.doc
        if doc is None:
            return None
        canvas = Rect(0, 0, doc.width, doc.height)
        r = self.frame_rect
        if r is None or not canvas.contains_rect(r):
            b = sel.bounds(doc.selection)
            if not b.empty:
                r = b
            else:
                side = min(FRAME_SIDE, doc.width, doc.height)
                c = self.view_centre() if self.view_centre is not None else None
                cx, cy = (c.x(), c.y()) if c is not None else (doc.width / 2, doc.height / 2)
                x = min(max(0, round(cx - side / 2)), doc.width - side)
                y = min(max(0, round(cy - side / 2)), doc.height - side)
                r = Rect(x, y, side, side)
            self.frame_rect = r
        return r

    def set_frame(self, rect: Rect) -> None:
        """The live frame moves to `rect` (the canvas' frame editor, on release): a frame in
        flight is stale, the next one is made there. Not a document edit."""
        self.frame_rect = rect
        self.error.hide()
        self._sync_frame()
        self._settings_changed()

    def _sync_frame(self) -> None:
        """The Frame button and the canvas' frame editor follow the region."""
        on = self.region_key() == "frame"
        self.frame_button.setVisible(on)
        ed = self.frame_editor
        if ed is None or ed.dragging:
            return
        show = on and self.doc is not None and (self.isVisible() or self.live)
        rect = self._frame() if show else None
        if ed.frame != rect or ed.isVisible() != (rect is not None):
            ed.set_frame(rect)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._sync_frame()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._sync_frame()

    def frame_from_selection(self) -> None:
        """The live frame moves onto the selection's bounds (a frame in flight is stale)."""
        doc = self.doc
        if doc is None:
            return
        b = sel.bounds(doc.selection)
        if b.empty:
            self._show_error("Nothing is selected: select where the live frame should go.")
            return
        self.set_frame(b)

    def settings(self) -> Any:
        """The form as a `LiveSettings`."""
        from ...ai.live import LiveSettings

        region = self.region_key()
        controls, loras = self.addons()
        return LiveSettings(
            prompt=self.prompt.toPlainText().strip(),
            negative_prompt=self.negative.text().strip(),
            strength=self.strength.value() / 100.0,
            steps=self.steps.value(),
            seed=self.seed.value() if self.seed_lock.isChecked() else None,
            model=str(self.model.currentData() or ""),
            region=region,
            frame=self._frame() if region == "frame" else None,
            controls=tuple(controls), loras=tuple(loras))

    def addons(self) -> tuple[list[Any], list[Any]]:
        """The AI dock's control layers and LoRAs live uses: none when not asked or there is
        no AI dock."""
        if self._addons is None or not self.use_addons.isChecked():
            return [], []
        try:
            controls, loras = self._addons()
        except RuntimeError:   # the AI dock's widgets are gone (the window closes)
            return [], []
        return list(controls), list(loras)

    def addons_changed(self) -> None:
        """The AI dock's controls or LoRAs changed (or the checkbox): say so, push them."""
        self._show_addons()
        self._settings_changed()

    def _show_addons(self) -> None:
        self.use_addons.setVisible(self._addons is not None)
        if self._addons is None or not self.use_addons.isChecked():
            self.addons_label.hide()
            return
        controls, loras = self.addons()
        if controls or loras:
            parts = [f"{len(controls)} control{'s' * (len(controls) != 1)}",
                     f"{len(loras)} LoRA{'s' * (len(loras) != 1)}"]
            text = f"Uses {', '.join(parts)} from the AI dock"
        else:
            text = "The AI dock has no controls or LoRAs set"
        self.addons_label.setText(text)
        self.addons_label.show()

    def _settings_changed(self, typed: bool = False) -> None:
        if not self.toggle.isChecked():
            return
        if typed:
            self._edit_timer.start()
        else:
            self._push_settings()

    def _push_settings(self) -> None:
        self._edit_timer.stop()
        if self.toggle.isChecked():
            try:
                settings = self.settings()
            except AiError as exc:
                self._show_error(str(exc))
                return
            self.error.hide()
            self.session.update(settings)

    # ---- on / off --------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.toggle.isChecked()

    def set_live(self, on: bool) -> None:
        self.toggle.setChecked(on)

    def _set_checked(self, on: bool) -> None:
        self.toggle.blockSignals(True)
        self.toggle.setChecked(on)
        self.toggle.blockSignals(False)
        self.toggle.setText("Live \u2014 on" if on else "Live")
        self._sync_frame()

    def _toggled(self, on: bool) -> None:
        self.toggle.setText("Live \u2014 on" if on else "Live")
        self._sync_frame()
        if not on:
            self._edit_timer.stop()
            self.session.stop()
            return
        reason = self._blocked_reason()
        if reason:
            self._show_error(reason)
            self._set_checked(False)
            return
        try:
            settings = self.settings()
        except AiError as exc:
            self._show_error(str(exc))
            self._set_checked(False)
            return
        self.error.hide()
        self._times.clear()
        self.session.start(settings)

    def _blocked_reason(self) -> str:
        if self.doc is None:
            return "Open or create a picture first."
        if self.model.count() == 0:
            self.refresh_models()
        if not self.model.currentData():
            return "Live needs a diffusion model: add one with AI \u203a Model Manager."
        if self.region_key() == "selection" and self.doc.selection is None:
            return "Nothing is selected: select a region, or choose Live frame or Canvas."
        return ""

    def stop(self) -> None:
        """Turn live off (a normal job starts, the window closes)."""
        if self.toggle.isChecked():
            self.toggle.setChecked(False)
        else:
            self.session.stop()

    def shutdown(self) -> None:
        self.stop()
        self.session.recorder(None)
        self._show_overlay()

    # ---- frames ----------------------------------------------------------------------------
    def _on_frame(self, result: Any) -> None:
        from ...ai.composite import variant_layer, variant_over_original

        self.result = result
        now = time.monotonic()
        if self._t_start:
            self._times = [*self._times[-4:], now - self._t_start]
        self._t_start = now   # a frame started right after this one starts now
        rgb = variant_over_original(result, 0)
        opaque = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
        self.view.set_image(array_to_qimage(np.concatenate([rgb, opaque], axis=2)))
        self._layer_image = variant_layer(result, 0)
        if not self.seed_lock.isChecked() and result.seeds:
            self.seed.blockSignals(True)
            self.seed.setValue(int(result.seeds[0]) % (self.seed.maximum() + 1))
            self.seed.blockSignals(False)
        self.apply_button.setEnabled(True)
        self._show_status()
        self._show_overlay()

    def fps(self) -> float:
        """The frames per second live can follow at: over the last few frames, each from its
        start to its arrival (time spent waiting for a change does not count); 0 before one."""
        t = sum(self._times)
        return len(self._times) / t if t > 0 else 0.0

    def _on_state(self, state: str) -> None:
        if state == "running" and self._state != "running":
            self._t_start = time.monotonic()
        self._state = state
        if state == "off" and self.toggle.isChecked():
            self._set_checked(False)
        self._show_status()

    def _show_status(self) -> None:
        text = STATE_TEXT.get(self._state, self._state)
        if self._state != "off" and self.fps() > 0:
            text += f"  \u00b7  {self.fps():.1f} frames/s"
        self.status.setText(text)

    def _on_stopped(self, message: str) -> None:
        self._set_checked(False)
        self._state = "off"
        self._show_status()
        if message:
            self._show_error(message)
            self.message.emit(short_message(message, 1))

    def _show_error(self, text: str) -> None:
        self.error.setText(short_message(text))
        self.error.show()

    def _clear_frame(self) -> None:
        self.result = None
        self._layer_image = None
        self._times.clear()
        self.view.set_image(None)
        self.apply_button.setEnabled(False)
        self._state = "off"
        self._show_status()
        self._show_overlay()

    def overlay_image(self) -> QImage | None:
        """The frame as the canvas overlay shows it: the layer Apply adds, at the opacity."""
        if self._layer_image is None:
            return None
        px = self._layer_image.copy()
        px[..., 3] = (px[..., 3].astype(np.uint16) * self.opacity.value() // 100).astype(
            np.uint8)
        return array_to_qimage(px)

    def _show_overlay(self) -> None:
        if self.overlay is None:
            return
        on = self.show_overlay.isChecked() and self.toggle.isChecked() and \
            self.result is not None
        if on:
            self.overlay.set_preview(self.overlay_image(), self.result.rect)
        else:
            self.overlay.set_preview(None, None)

    # ---- apply and record ------------------------------------------------------------------
    def apply(self) -> Any:
        """Add the newest frame as a new layer (one undo step); the layer, or None."""
        if self.result is None:
            return None
        layer = self.session.apply()   # `applied` follows, at once or after the VAE re-run
        if layer is None and self.session.applying:
            self.message.emit("Applying the live frame (finishing it with the full VAE)\u2026")
        return layer

    def _on_applied(self, layer: Any) -> None:
        self.applied.emit(layer)
        self.message.emit("Live frame applied as a new layer")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                self.apply_button.isEnabled():
            self.apply()
            return
        super().keyPressEvent(event)

    def _record_toggled(self, on: bool) -> None:
        folder = None
        if on:
            folder = self._ask_folder() if self._ask_folder is not None else None
            if not folder:
                self.record.blockSignals(True)
                self.record.setChecked(False)
                self.record.blockSignals(False)
                return
        self.session.recorder(Path(folder) if folder else None)
        self.record_label.setText(f"Frames go to {folder}" if folder else "")
        self.record_label.setVisible(bool(folder))


def install_live_dock(win: Any) -> LivePanel | None:
    """Add the Live dock to `win` (tabbed with the AI dock), wired to the window; returns the
    panel (also `win.live_panel`), or None when live painting is not available."""
    if getattr(win, "live_panel", None) is not None:
        raise RuntimeError("this window already has its Live dock")
    worker = getattr(win, "ai_worker", None)
    if worker is None:
        return None
    from ..live import LiveSession

    session = LiveSession(worker, getattr(win, "doc", None))
    ai_panel = getattr(win, "ai_panel", None)

    def models() -> Any:
        return ai_panel.registry if ai_panel is not None else getattr(win, "ai_models", None)

    prompts = getattr(win, "prompts", None)
    ask = getattr(prompts, "ask_folder", None)
    form = getattr(ai_panel, "form", None)
    addons = None
    if form is not None:
        def addons() -> tuple[list[Any], list[Any]]:
            return (form.controls_section.control_layers(),
                    form.loras_section.lora_refs())

    panel = LivePanel(session, models,
                      (lambda: ask("Record live frames to folder")) if ask else None,
                      addons=addons)
    if form is not None:   # a change in the AI dock's controls or LoRAs reaches live
        for sig in (form.controls_section.changed, form.loras_section.changed,
                    form.model_changed):
            sig.connect(lambda *_: panel.addons_changed())
    panel.refresh_models()
    panel.set_document(getattr(win, "doc", None))
    win.document_changed.connect(panel.set_document)

    dock = add_tabbed_dock(win, DOCK_NAME, "Live", panel)
    win.live_panel = panel
    dock.visibilityChanged.connect(lambda shown: shown and panel.refresh_models())

    if hasattr(win, "canvas"):
        from ..ai_dock import CanvasPreview
        from ..live_frame import LiveFrameEditor

        canvas = win.canvas
        def caption() -> str:   # the frame's own grip says "Live" when it shows
            ed = panel.frame_editor
            return "" if ed is not None and ed.isVisible() else "Live"

        panel.overlay = CanvasPreview(canvas, caption)
        win.live_canvas_preview = panel.overlay
        panel.frame_editor = LiveFrameEditor(canvas)   # above the preview
        panel.frame_editor.changed.connect(panel.set_frame)
        win.live_frame_editor = panel.frame_editor

        def view_centre() -> QPointF:
            vp = canvas.viewport()
            return canvas.view_to_doc(QPointF(vp.width() / 2, vp.height() / 2))

        panel.view_centre = view_centre
        panel.view.set_zoom(canvas.scale)
        canvas.zoom_changed.connect(lambda *_: panel.view.set_zoom(canvas.scale))
        panel._sync_frame()
    if hasattr(win, "statusBar"):
        panel.message.connect(lambda text: win.statusBar().showMessage(text, 6000))

    # A normal job turns live off: the session stops when anyone else submits to the worker;
    # the AI panel's and the Style dock's running_changed say so too.
    for other in (ai_panel, getattr(win, "style_gallery", None)):
        sig = getattr(other, "running_changed", None)
        if sig is not None:
            sig.connect(lambda running: running and panel.stop())

    def toggle() -> None:
        dock.show()
        dock.raise_()
        panel.set_live(not panel.live)

    act_toggle = QAction("&Live Painting", win)
    act_toggle.setShortcut(QKeySequence(TOGGLE_KEYS))
    act_toggle.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act_toggle.setToolTip(f"Turn live painting on or off ({TOGGLE_KEYS})")
    act_toggle.triggered.connect(lambda _c=False: toggle())
    act_apply = QAction("Apply &Live Frame", win)
    act_apply.setShortcuts([QKeySequence(k) for k in APPLY_KEYS])
    act_apply.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act_apply.triggered.connect(lambda _c=False: panel.apply())
    for a in (act_toggle, act_apply):
        win.addAction(a)
    win.live_actions = {"toggle": act_toggle, "apply": act_apply}
    if hasattr(win, "menuBar"):
        from ..actions import window_menu

        menu = window_menu(win, "AI")
        if menu is not None:
            menu.addSeparator()
            menu.addAction(act_toggle)
            menu.addAction(act_apply)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()

    def stop(*_: object) -> None:
        try:
            panel.shutdown()
        except RuntimeError:  # the C++ side is already gone
            pass

    def gone(*_: object) -> None:
        stop()
        if app is not None:
            try:
                app.aboutToQuit.disconnect(stop)
            except (RuntimeError, TypeError):
                pass

    win.destroyed.connect(gone)
    if app is not None:
        app.aboutToQuit.connect(stop)
    return panel
