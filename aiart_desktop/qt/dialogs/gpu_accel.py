"""GPU Acceleration…: install a CUDA / ROCm build of torch for this user, with consent.

The dialog looks for a GPU, says what it would install, from where, into which folder and how
big it is, and installs only when the user presses Install. The install runs on a background
thread (`gpu_accel.run_install`) with the installer's output shown live, a byte count of what
is being downloaded, and Cancel; the result says whether the GPU works and whether the app must
restart to use it. A failure or a cancel changes nothing (see `aiart_desktop.gpu_accel`).

    install_gpu_action(win)     # adds "GPU Acceleration…" to the window's menus
"""
from __future__ import annotations

import html
import queue
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, Qt, QTimer
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ... import gpu_accel as ga

ACTION_TEXT = "GPU Acceleration\u2026"
MENU_ORDER = ("Settings", "Edit", "Help")  # the first of these the window has gets the action
_SIZE = re.compile(r"\(([\d.]+)\s*([kMG])B\)")


def downloaded_mb(line: str) -> float:
    """MB announced by a pip / uv "Downloading ... (850.2 MB)" line (0 for other lines)."""
    if "ownload" not in line:
        return 0.0
    m = _SIZE.search(line)
    if not m:
        return 0.0
    return float(m.group(1)) * {"k": 1 / 1024, "M": 1.0, "G": 1024.0}[m.group(2)]


class GpuAccelDialog(QDialog):
    """States: looking -> none (no GPU) | offer -> installing -> done | failed (-> offer)."""

    def __init__(self, parent: QWidget | None = None, *,
                 detect: Callable[[], ga.GpuInfo | None] = ga.detect,
                 plan: Callable[[ga.Backend], ga.InstallPlan] | None = None,
                 root: Path | None = None,
                 restart: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("GPU Acceleration")
        self.setMinimumWidth(560)
        self._detect, self._root = detect, root
        self._plan_fn = plan or (lambda b: ga.plan_install(b, root=self._root))
        self._restart = restart
        self.state = "looking"
        self.plan: ga.InstallPlan | None = None
        self.result: ga.InstallResult | None = None
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._mb = 0.0
        self._close_when_done = False

        self.heading = QLabel()
        f = self.heading.font()
        f.setPointSizeF(f.pointSizeF() * 1.25)
        f.setBold(True)
        self.heading.setFont(f)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.activity = QLabel()
        self.activity.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setFont(QFont("monospace", 8))
        self.log.setMinimumHeight(120)
        self.install_button = QPushButton("Install")
        self.install_button.setDefault(True)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(lambda _on: self._show(self.state, self.heading
                                                                   .text(), self.body.text()))
        self.remove_button = QPushButton("Remove GPU Build")
        self.restart_button = QPushButton("Restart Now")
        self.close_button = QPushButton("Close")
        self.install_button.clicked.connect(self.install)
        self.remove_button.clicked.connect(self.remove)
        self.restart_button.clicked.connect(self._do_restart)
        self.close_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addWidget(self.details_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        for b in (self.restart_button, self.install_button, self.close_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        for w in (self.heading, self.body, self.progress, self.activity, self.log):
            lay.addWidget(w)
        lay.addLayout(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._drain)
        self._show("looking")
        QTimer.singleShot(0, self.look)

    # ---- states ----------------------------------------------------------------------------
    def _show(self, state: str, heading: str = "", body: str = "") -> None:
        self.state = state
        busy = state in ("looking", "installing")
        self.heading.setText(heading or "Looking for a graphics card\u2026")
        self.body.setText(body)
        self.progress.setVisible(busy)
        self.activity.setVisible(state == "installing")
        self.details_button.setVisible(bool(self.plan) and state != "looking")
        self.log.setVisible(self.details_button.isVisible() and self.details_button.isChecked())
        self.install_button.setVisible(state in ("offer", "failed"))
        self.install_button.setText("Try Again" if state == "failed" else "Install")
        installed = bool(ga.read_state(self._root))
        self.remove_button.setVisible(installed and state in ("offer", "none", "done",
                                                              "failed"))
        self.restart_button.setVisible(state == "done" and self._needs_restart())
        self.close_button.setText("Cancel" if state in ("offer", "installing") else "Close")
        self.adjustSize()

    def _needs_restart(self) -> bool:
        return bool(self.result and self.result.ok
                    and ga.activate(self.result.state) == "restart")

    def look(self) -> None:
        """Detect the GPU on a thread (nvidia-smi may take a second), then `_offer`."""
        self._show("looking")
        events, detect = self._events, self._detect

        def work() -> None:
            try:
                info = detect()
                events.put(("looked", (info, ga.choose_backend(info))))
            except ga.GpuAccelError as exc:
                events.put(("looked", exc))
            except Exception as exc:  # a broken nvidia-smi must not crash
                events.put(("looked", ga.GpuAccelError(f"looking for the GPU failed: {exc}")))

        threading.Thread(target=work, name="gpu-detect", daemon=True).start()
        self._timer.start()

    def _offer(self, found: tuple[ga.GpuInfo, ga.Backend] | ga.GpuAccelError) -> None:
        if isinstance(found, ga.GpuAccelError):
            self._show("none", "No GPU build to install", _p(_sentence(str(found)))
                       + _current(self._root))
            return
        info, backend = found
        self.plan = self._plan_fn(backend)
        self.log.setPlainText("Command:\n" + self.plan.describe())
        found = html.escape(info.name or info.vendor)
        extra = ", ".join(x for x in (info.driver and f"driver {info.driver}",
                                      info.cuda and f"CUDA {info.cuda}",
                                      info.rocm and f"ROCm {info.rocm}") if x)
        what = (f"PyTorch {html.escape(self.plan.torch_version)} built for "
                f"<b>{html.escape(backend.label)}</b>")
        source = "download.pytorch.org" if self.plan.tool == "pip" else \
            "the PyTorch index uv picks for this GPU"
        body = (_p(f"Found <b>{found}</b>{f' ({html.escape(extra)})' if extra else ''}.")
                + _p("AI now runs on the processor. To run it on this graphics card, "
                     f"AIArt Desktop can download {what} from {source} "
                     f"(about <b>{backend.download_gb:g} GB</b> to download, "
                     f"<b>{backend.disk_gb:g} GB</b> on disk) into")
                + _p(f"<code>{html.escape(str(self.plan.target))}</code>")
                + _p("Only this folder is written; nothing else on the computer changes, and "
                     "<i>Remove GPU Build</i> deletes it again. If the GPU build does not work "
                     "here, nothing changes and AI keeps using the processor.")
                + _current(self._root))
        self._show("offer", "Use the graphics card for AI?", body)

    def install(self) -> None:
        if self.plan is None or self._thread is not None:
            return
        self._cancel.clear()
        self._mb = 0.0
        self.result = None
        self.log.appendPlainText("")
        self.activity.setText(f"Starting {self.plan.tool}\u2026")
        self._show("installing", "Installing the GPU build\u2026",
                   _p(f"Downloading {html.escape(self.plan.backend.label)} PyTorch into")
                   + _p(f"<code>{html.escape(str(self.plan.target))}</code>")
                   + _p("You can keep painting while it downloads, or cancel at any time: "
                        "nothing changes until it is installed and checked."))
        plan, events, cancel = self.plan, self._events, self._cancel

        def work() -> None:
            try:
                res = ga.run_install(plan, lambda line: events.put(("line", line)),
                                     cancel.is_set)
            except Exception as exc:  # report, never crash the UI
                res = ga.InstallResult(False, f"{type(exc).__name__}: {exc}")
            events.put(("done", res))

        self._thread = threading.Thread(target=work, name="gpu-install", daemon=True)
        self._thread.start()
        self._timer.start()

    def cancel(self) -> None:
        """Stop a running install (the thread removes what it wrote)."""
        if self._thread is not None:
            self._cancel.set()
            self.activity.setText("Cancelling\u2026")
            self.close_button.setEnabled(False)

    def remove(self) -> None:
        ga.remove(self._root)
        self.result = None
        self.log.appendPlainText("Removed the GPU build; AI uses the processor after a "
                                 "restart.")
        self.look()

    def _drain(self) -> None:
        while True:
            try:
                kind, value = self._events.get_nowait()
            except queue.Empty:
                return
            if kind == "looked":
                if self._thread is None:
                    self._timer.stop()
                self._offer(value)
            elif kind == "line":
                self.log.appendPlainText(value)
                self._mb += downloaded_mb(value)
                so_far = f" \u2014 {self._mb / 1024:.2f} GB of downloads started" \
                    if self._mb else ""
                self.activity.setText(html.escape(value[:120]) + so_far)
            else:
                self._finished(value)

    def _finished(self, result: ga.InstallResult) -> None:
        self._timer.stop()
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self.result = result
        self.close_button.setEnabled(True)
        if result.ok:
            status = ga.activate(result.state)
            then = ("Restart AIArt Desktop to use it." if status == "restart" else
                    "The next AI job runs on the GPU.")
            self._show("done", "GPU acceleration is ready",
                       _p(html.escape(_sentence(result.message))) + _p(then))
        elif result.cancelled:
            self._show("failed", "Installation cancelled",
                       _p("Nothing was changed; AI keeps running on the processor."))
        else:
            self.details_button.setChecked(True)
            self._show("failed", "The GPU build could not be installed",
                       _p(html.escape(result.message)) + _p(
                           "Nothing was changed; AI keeps running on the processor. The "
                           "installer's output is below."))
        if self._close_when_done:
            super().reject()

    def _do_restart(self) -> None:
        (self._restart or (lambda: restart_app(self.parent())))()

    def reject(self) -> None:  # Close / Esc / the window's close button
        if self._thread is not None:
            self._close_when_done = True
            self.cancel()
            return
        super().reject()

    def closeEvent(self, event: Any) -> None:
        if self._thread is not None:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _current(root: Path | None) -> str:
    return _p(f"<i>GPU build: {html.escape(ga.status_text(root))}.</i>")


def restart_app(win: Any) -> bool:
    """Close the window (it asks to save changes) and start the app again."""
    if win is not None and hasattr(win, "close") and not win.close():
        return False
    args = [] if ga.frozen() else [str(Path(sys.argv[0]).resolve())]
    QProcess.startDetached(sys.executable, args)
    app = QApplication.instance()
    if app is not None:
        app.quit()
    return True


def _find_menu(win: Any) -> QMenu:
    menus = {m.title().replace("&", ""): m for m in win.menuBar().findChildren(QMenu)
             if m.parent() is win.menuBar()}
    for title in MENU_ORDER:
        if title in menus:
            return menus[title]
    return win.menuBar().addMenu("&Settings")


def open_gpu_dialog(win: Any, **kw: Any) -> GpuAccelDialog:
    dlg = getattr(win, "_gpu_dialog", None)
    if dlg is None or dlg.state in ("none", "done", "failed", "offer"):
        if dlg is not None:
            dlg.deleteLater()
        dlg = GpuAccelDialog(win, **kw)
        win._gpu_dialog = dlg
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg


def install_gpu_action(win: Any, **dialog_kw: Any) -> QAction:
    """Add "GPU Acceleration…" to the window's Settings, else Edit, else Help menu."""
    act = QAction(ACTION_TEXT, win)
    act.setObjectName("gpuAccelAction")
    act.setStatusTip("Install a CUDA or ROCm build of PyTorch so AI runs on the graphics card")
    act.triggered.connect(lambda _c=False: open_gpu_dialog(win, **dialog_kw))
    menu = _find_menu(win)
    menu.addSeparator()
    menu.addAction(act)
    win.gpu_action = act
    return act
