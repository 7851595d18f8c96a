"""Image › Upscale…: the picture (every layer) or the active layer, ×2, ×4 or to a width, with
Lanczos or an upscaler model; progress with a preview, Cancel; the result is one undo step.

The dialog makes the request (`ai/upscale.py: upscale_request`, the layers' pixels copied) and
submits it to the window's AI worker (`previews=True`: the worker sends a small look at the
result so far with each tile); the engine scales on the worker thread, and `apply_upscale`
puts the result in the document on the UI thread when it comes back. Nothing here scales with
the result's size except that last step.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...ai import upscale as up
from ...ai.errors import AiError
from ...core import selection as sel
from ...core.document import MAX_SIDE

if TYPE_CHECKING:
    from ..worker import JobHandle

log = logging.getLogger(__name__)
SCALES = (("×2", 2.0), ("×4", 4.0), ("To a width…", 0.0))
PREVIEW_SIDE = 240


class UpscaleDialog(QDialog):
    """One upscale for `win` (its document, worker and models)."""

    def __init__(self, win: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or win)
        self.win = win
        self.job: JobHandle | None = None
        self._applying = False
        self.setWindowTitle("Upscale")
        self.target = QComboBox()
        self.target.addItem("The picture (every layer)", up.PICTURE)
        self.target.addItem("The active layer", up.LAYER)
        self.target.addItem("The selection (into a new layer)", up.SELECTION)
        self.scale = QComboBox()
        for label, value in SCALES:
            self.scale.addItem(label, value)
        self.width = QSpinBox()
        self.width.setRange(16, MAX_SIDE)
        self.width.setSuffix(" px")
        self.method = QComboBox()
        self.method.setToolTip("Lanczos needs no model. An upscaler model (ESRGAN, OmniSR…) "
                               "invents fine detail; get one in the model manager.")
        self.size_line = QLabel()
        self.size_line.setStyleSheet("color: #a0a0a0;")
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(PREVIEW_SIDE // 2)
        self.preview.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.run_button = QPushButton("Upscale")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Close")
        form = QFormLayout()
        form.addRow("Upscale", self.target)
        form.addRow("By", self.scale)
        form.addRow("Width", self.width)
        form.addRow("Method", self.method)
        form.addRow("", self.size_line)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.preview)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        for combo in (self.target, self.scale, self.method):
            combo.currentIndexChanged.connect(self._sync)
        self.width.valueChanged.connect(self._sync)
        self.refresh()

    # ---- the form ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List Lanczos, the installed upscalers and the servers' (when AI runs on ComfyUI
        servers); size the width box to the picture."""
        keep = self.method.currentData()
        self.method.blockSignals(True)
        self.method.clear()
        self.method.addItem("Lanczos (no model)", up.LANCZOS)
        panel = getattr(self.win, "ai_panel", None)   # its source lists the servers' too
        models = getattr(panel, "registry", None) or getattr(self.win, "ai_models", None)
        try:
            found = models.upscalers() if models is not None else []
        except (AiError, OSError) as exc:
            log.warning("listing the upscalers failed: %s", exc)
            found = []
        for info in found:
            self.method.addItem(info.name, info.id)
        i = self.method.findData(keep)
        self.method.setCurrentIndex(i if i >= 0 else (1 if found else 0))
        self.method.blockSignals(False)
        doc = self.win.doc
        if doc is not None:
            self.width.setValue(doc.width * 2)
        self._sync()

    def factor(self) -> float:
        """The scale asked for (from ×2 / ×4, or the width over the picture's or layer's)."""
        value = float(self.scale.currentData())
        if value > 0:
            return value
        doc = self.win.doc
        base = doc.width if doc is not None else 1
        if self.target.currentData() == up.LAYER and doc is not None and doc.active_layer:
            base = max(1, doc.active_layer.bounds().w)
        if self.target.currentData() == up.SELECTION and doc is not None:
            base = max(1, sel.bounds(doc.selection).w)
        return self.width.value() / max(1, base)

    def _sync(self, *_: object) -> None:
        self.width.setVisible(float(self.scale.currentData()) <= 0)
        form = self.layout().itemAt(0).layout()
        if isinstance(form, QFormLayout):
            form.setRowVisible(self.width, float(self.scale.currentData()) <= 0)
        doc = self.win.doc
        if doc is None:
            return
        s = self.factor()
        if self.target.currentData() == up.PICTURE:
            w, h = up.scaled_size(doc.width, doc.height, s)
            self.size_line.setText(f"{doc.width} × {doc.height} → {w} × {h} px")
        elif self.target.currentData() == up.SELECTION:
            r = sel.bounds(doc.selection)
            if r.empty:
                self.size_line.setText("Nothing is selected: select the part to enlarge.")
            else:
                w, h = up.scaled_size(r.w, r.h, s)
                self.size_line.setText(f"The selection: {r.w} × {r.h} → {w} × {h} px, in a "
                                       "new layer")
        else:
            layer = doc.active_layer
            b = layer.bounds() if layer is not None else None
            if b is None or b.empty:
                self.size_line.setText("The active layer is empty.")
            else:
                w, h = up.scaled_size(b.w, b.h, s)
                self.size_line.setText(f"The layer: {b.w} × {b.h} → {w} × {h} px "
                                       "(the canvas keeps its size)")

    # ---- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """An upscale is running, or its result not applied yet."""
        return self.job is not None or self._applying

    def start(self) -> JobHandle | None:
        doc = self.win.doc
        if doc is None or self.job is not None:
            return None
        self.win.canvas.finish_tool()
        try:
            request = up.upscale_request(doc, self.factor(), str(self.method.currentData()),
                                         str(self.target.currentData()))
        except AiError as exc:
            self._say(str(exc), error=True)
            return None
        self.job = job = self.win.ai_worker.submit(request, previews=True)
        self._doc = doc
        job.progress.connect(self._progress)
        job.status.connect(lambda phase: self.message.setText(phase[:1].upper() + phase[1:]
                                                              + "…"))
        job.finished.connect(self._finished)
        job.failed.connect(lambda text: self._say(text, error=True))
        job.cancelled.connect(lambda: self._say("Cancelled; nothing was changed."))
        job.ended.connect(self._ended)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.run_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self._say("Waiting for the AI worker…" if self.win.ai_worker.busy
                  and self.win.ai_worker.current is not job else "Upscaling…")
        return job

    def cancel_or_close(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self._say("Cancelling…")
        else:
            self.reject()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self._sync()   # the selection or the active layer may have changed meanwhile

    def reject(self) -> None:
        if self.job is not None:      # closing the dialog cancels its upscale
            self.job.cancel()
        super().reject()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #e08080;" if error else "")

    def _progress(self, step: int, total: int, image: QImage | None) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(step)
        if image is not None:
            pix = QPixmap.fromImage(image)
            self.preview.setPixmap(pix.scaled(PREVIEW_SIDE, PREVIEW_SIDE,
                                              Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
            self.preview.show()

    def _finished(self, result: Any) -> None:
        # Applied on the next turn of the event loop, not inside the job's delivery: the
        # window's next paint and this step then never fall in one stall.
        self._applying = True
        QTimer.singleShot(0, lambda: self._apply(result))

    def _apply(self, result: Any) -> None:
        self._applying = False
        doc = self._doc
        if doc is not self.win.doc:
            self._say("The picture was closed; nothing was changed.")
            return
        cache = getattr(self.win.canvas, "cache", None)
        before = cache.levels() if cache is not None else []
        try:
            changed = up.apply_upscale(doc, result)
        except AiError as exc:
            self._say(str(exc), error=True)
            return
        s = float(result.request.scale)
        if cache is not None and result.request.target == up.PICTURE and s.is_integer():
            cache.seed_scaled(before, int(s))   # no blank canvas while it is composited
            self.win.canvas.viewport().update()
        target = result.request.target
        if target == up.PICTURE:
            what = f"{doc.width} × {doc.height} px"
        else:
            r = result.info["rects"][0]       # where the scaled piece went (no pixel scan)
            size = f"{r.w} × {r.h} px"
            what = (f"the new layer “{changed[0].name}”, {size}" if target == up.SELECTION
                    else f"the layer, {size}")
        text = f"Upscaled with {result.model_name}: {what}. Ctrl+Z undoes it."
        self._say(text)
        self.win.statusBar().showMessage(text, 8000)
        self.win.canvas.fit()

    def _ended(self, _job: Any) -> None:
        self.job = None
        self.progress.hide()
        self.run_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self._sync()


def open_upscale(win: Any) -> UpscaleDialog:
    """Show the window's Upscale dialog (one per window, modeless)."""
    dlg = getattr(win, "_upscale_dialog", None)
    if dlg is None:
        dlg = UpscaleDialog(win)
        win._upscale_dialog = dlg
    dlg.refresh()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg


def install_upscale(win: Any) -> Any:
    """Image › Upscale… (Ctrl+Alt+I) in the window's Image menu; the action."""
    from PySide6.QtGui import QAction, QKeySequence

    from ..actions import window_menu

    act = QAction("&Upscale\u2026", win)
    act.setObjectName("upscale")
    act.setShortcut(QKeySequence("Ctrl+Alt+I"))
    act.setToolTip("Make the picture or a layer bigger, with Lanczos or an upscaler model "
                   "(Ctrl+Alt+I)")
    act.triggered.connect(lambda _c=False: win.doc is not None and open_upscale(win))
    win.addAction(act)
    menu = window_menu(win, "Image")
    if menu is not None:
        acts = menu.actions()
        menu.insertAction(acts[1] if len(acts) > 1 else None, act)
    return act
