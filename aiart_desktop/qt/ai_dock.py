"""Puts the AI panel into the main window's "aiDock" and wires it up.

    panel = install_ai_dock(win)        # one line in MainWindow.__init__, after the docks

It replaces the placeholder widget of the dock with an `AiPanel`, starts the one `AiWorker`
thread (device from the settings), follows the window's document (`win.document_changed`),
adds an "AI" menu with Ctrl+Enter (run) and Esc (cancel, only while a job runs), shows the live
preview and the picked variation over the canvas (`CanvasPreview`, unless `overlay=False`: then
hook `panel.preview_changed` into the canvas yourself), and stops the worker thread when the window
closes or is destroyed, or the application quits.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication, QWidget

from ..core.geometry import Rect
from .panels.ai_panel import AiPanel
from .worker import AiWorker

if TYPE_CHECKING:
    from ..ai.engine import Engine
    from ..ai.models.registry import ModelRegistry


CAPTION_H = 20


class CanvasPreview(QWidget):
    """A see-through layer over the canvas viewport showing an image over a document rect.

    It asks the canvas for the mapping at paint time, and the canvas repaints it whenever it
    repaints itself (zoom, pan), so it never drifts; mouse and tablet events pass through."""

    def __init__(self, canvas: Any, caption: Any = None) -> None:
        super().__init__(canvas.viewport())
        self.canvas = canvas
        self.caption = caption  # () -> str: a label drawn above the preview
        self.image: QImage | None = None
        self.rect_doc: Rect | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setGeometry(canvas.viewport().rect())
        canvas.viewport().installEventFilter(self)
        self.hide()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.viewport().rect())
        return False

    def set_preview(self, image: QImage | None, rect: Rect | None) -> None:
        old = self._view_rect()
        self.image, self.rect_doc = (image, rect) if image is not None and rect else (None, None)
        self.setVisible(self.image is not None)
        for r in (old, self._view_rect()):
            if r is not None:
                self.update(r.toAlignedRect().adjusted(-3, -CAPTION_H - 3, 600, 3))

    def _view_rect(self) -> QRectF | None:
        if self.rect_doc is None:
            return None
        return self.canvas.doc_rect_to_view(self.rect_doc)

    def paintEvent(self, event: QPaintEvent) -> None:
        r = self._view_rect()
        if self.image is None or r is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                        self.image.width() < r.width() or self.canvas.zoom < 1.0)
        p.drawImage(r, self.image)
        text = self.caption() if self.caption is not None else ""
        if text:
            fm = p.fontMetrics()
            box = QRectF(r.left(), r.top() - CAPTION_H, fm.horizontalAdvance(text) + 12,
                         CAPTION_H)
            if box.top() < 0:
                box.moveTop(r.top())
            p.fillRect(box, QColor(30, 30, 30, 210))
            p.setPen(QColor(235, 235, 235))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class _CloseWatcher(QObject):
    """Stops the worker as soon as the window accepts a close (a close can be refused): the
    close event is handed to the window here, and its answer read back."""

    def __init__(self, win: QWidget, stop: Any) -> None:
        super().__init__(win)
        self._win, self._stop = win, stop
        win.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is not self._win or event.type() != QEvent.Type.Close:
            return False
        self._win.event(event)  # closeEvent: may ask to save, may refuse
        if event.isAccepted():
            self._stop()
        return True  # handled; the window's answer stays in event.isAccepted()


def _action(win: Any, text: str, keys: list[str], slot: Any, tip: str) -> QAction:
    a = QAction(text, win)
    a.setShortcuts([QKeySequence(k) for k in keys])
    a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    a.setToolTip(f"{tip} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                 if keys else tip)
    a.triggered.connect(lambda _checked=False: slot())
    win.addAction(a)
    return a


def install_ai_dock(win: Any, *, registry: ModelRegistry | None = None,
                    engine: Engine | None = None, overlay: bool = True) -> AiPanel:
    """Put the AI panel in `win.docks["aiDock"]`, wired to the window; returns the panel.
    `registry` defaults to the user's models folder (`win.ai_models`: the panel lists it, the
    model manager manages it); `engine` to the one `ai.setup.default_engine` builds on the
    worker thread at the first job (the user's models, the settings' device)."""
    if getattr(win, "ai_panel", None) is not None:
        raise RuntimeError("this window already has its AI dock")
    settings = getattr(win, "settings", None)
    device = getattr(settings, "device", None) or "auto"
    if registry is None:
        from ..ai.models.registry import ModelRegistry

        registry = ModelRegistry()  # follows the settings' models folder
    worker = AiWorker(engine=engine, device=device)
    try:
        panel = AiPanel(worker, registry=registry, settings=settings)
    except BaseException:
        worker.shutdown()
        raise
    dock = win.docks["aiDock"]
    old = dock.widget()
    dock.setWidget(panel)
    if old is not None:
        old.deleteLater()
    win.ai_panel, win.ai_worker, win.ai_models = panel, worker, registry

    # Follow the window's document, now and whenever it shows another one.
    panel.set_document(win.doc)
    win.document_changed.connect(panel.set_document)
    # The form offers the IP-Adapter when one fitting the picked model is installed.
    from .panels.ai_form import install_ip_adapter

    install_ip_adapter(win)

    # Live preview and picked variation over the canvas.
    if overlay and hasattr(win, "canvas"):
        preview = CanvasPreview(win.canvas, panel.preview_caption)
        panel.preview_changed.connect(preview.set_preview)
        win.ai_canvas_preview = preview
    if hasattr(win, "statusBar"):
        panel.message.connect(lambda text: win.statusBar().showMessage(text, 6000))

    # Actions and the AI menu.
    def run() -> None:
        if not dock.isVisible() or dock.visibleRegion().isEmpty():
            dock.show()
            dock.raise_()
        panel.generate()

    act_run = _action(win, "&Run AI", ["Ctrl+Return", "Ctrl+Enter"], run,
                      "Run the AI operation chosen in the AI panel on the selection")
    act_cancel = _action(win, "&Cancel AI Job", ["Esc"], panel.cancel,
                         "Stop the running AI job; nothing is changed")
    act_cancel.setEnabled(False)
    panel.running_changed.connect(act_cancel.setEnabled)
    def detail() -> None:
        if not dock.isVisible() or dock.visibleRegion().isEmpty():
            dock.show()
            dock.raise_()
        panel.detail_pass()

    act_detail = _action(win, "&Detail Pass (Hands, Faces)", ["Ctrl+Alt+D"], detail,
                         "Redo the selected hand, face or small part at the model's own size, "
                         "with settings made for it")
    act_apply = QAction("&Apply Picked Variation", win)
    act_apply.triggered.connect(lambda _c=False: panel.apply())
    act_models = QAction("&Model Manager\u2026", win)
    act_models.triggered.connect(lambda _c=False: open_model_manager(win, panel))
    from .dialogs.gpu_accel import ACTION_TEXT, open_gpu_dialog

    act_gpu = QAction(ACTION_TEXT, win)  # a CUDA / ROCm torch, with the user's consent
    act_gpu.setObjectName("gpuAccelAction")
    act_gpu.setStatusTip("Install a CUDA or ROCm build of PyTorch so AI runs on the graphics "
                         "card")
    act_gpu.triggered.connect(lambda _c=False: open_gpu_dialog(win))
    win.gpu_action = act_gpu
    from .remote_servers import install_remote

    install_remote(win, panel)   # AI › Where AI Runs…; the servers' models in the pickers
    act_where = win.where_action
    panel.form.manage_models.connect(lambda: open_model_manager(win, panel))
    win.ai_actions = {"run": act_run, "cancel": act_cancel, "apply": act_apply,
                      "detail": act_detail,
                      "models": act_models, "gpu": act_gpu, "where": act_where}
    if hasattr(win, "menuBar"):
        menu = win.menuBar().addMenu("&AI")
        for a in (act_run, act_cancel, act_apply, act_detail):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(act_models)
        menu.addAction(act_gpu)   # the panels' toggles live in View › Panels
        menu.addAction(act_where)
        help_menu = next((m.menuAction() for m in win.menuBar().findChildren(type(menu))
                          if m.title().replace("&", "") == "Help"), None)
        if help_menu is not None:
            win.menuBar().insertAction(help_menu, menu.menuAction())

    # Stop the thread with the window.
    stopped: list[bool] = []

    def stop() -> None:
        if stopped:
            return
        stopped.append(True)
        where = getattr(win, "_where_ai_runs", None)
        try:
            if where is not None:
                where.close()
        except RuntimeError:
            pass
        dlg = getattr(win, "_ai_model_manager", None)
        try:
            if dlg is not None:
                dlg.shutdown()
        except RuntimeError:  # the dialog's C++ side is already gone
            pass
        worker.shutdown()
        if app is not None:
            try:
                app.aboutToQuit.disconnect(stop)
            except (RuntimeError, TypeError):
                pass

    app = QApplication.instance()
    _CloseWatcher(win, stop)
    win.destroyed.connect(lambda *_: stop())
    if app is not None:
        app.aboutToQuit.connect(stop)
    return panel


def open_model_manager(win: Any, panel: AiPanel) -> Any:
    """Show the model manager (modeless); the panel's model list follows its changes."""
    from .dialogs.model_manager import ModelManagerDialog

    dlg = getattr(win, "_ai_model_manager", None)
    if dlg is None:
        dlg = ModelManagerDialog(win.ai_models, worker=panel.worker,
                                 settings=getattr(win, "settings", None), parent=win)
        dlg.models_changed.connect(panel.refresh_models)
        win._ai_model_manager = dlg
    dlg.refresh()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
