"""The progress window of a Train a Style run (AI › Train a Style…): the step, the time left, a
live loss plot, the sample pictures, Pause / Resume, Cancel and Hide; at the end "Use it".

    run = start_training(win, job_folder)     # the trainer process and its window, shown
    run.pause(); run.resume(); run.cancel()   # what the window's buttons do
    shutdown_trainings(win)                   # "stop" to every run (they resume next time)

The trainer is a process of its own (ai/training.py: TrainerProcess). Its events come on a
reader thread; `TrainingRun` hands each to the UI thread with a queued signal, so nothing here
runs on that thread but the hand-over. When the window closes (a close it accepts) or the
application quits, every run is told to stop: it writes a checkpoint and ends, and AI › Train
a Style… offers to resume it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...ai.training import (
    TrainerProcess,
    TrainError,
    TrainPlan,
    checkpoint_step,
    discard_job,
    load_plan,
)
from ..panels.messages import short_message

log = logging.getLogger(__name__)
SAMPLE_SIDE = 200
STRIP_SIDE = 56
ERROR_STYLE = "color: #ff8a80;"
MUTED_STYLE = "color: #a0a0a0;"
DONE_STYLE = "color: #9be39b; font-weight: 600;"
DEVICES = {"cpu": "the processor (CPU)", "cuda": "the graphics card", "mps": "the Apple GPU"}


def duration(seconds: float) -> str:
    """"about 3 min" in plain words."""
    s = max(0.0, float(seconds))
    if s < 60:
        return "less than a minute"
    if s < 5400:
        return f"about {round(s / 60)} min"
    return f"about {s / 3600:.1f} h"


class TrainingRun(QObject):
    """One trainer process of a job folder; `event(dict)` on the UI thread for each of its
    events (`happened`). `state`: "starting", "running", "paused", "done", "stopped", "cancelled" or
    "error"."""

    happened = Signal(dict)
    _incoming = Signal(dict)

    def __init__(self, folder: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.plan: TrainPlan = load_plan(self.folder)
        self.proc: TrainerProcess | None = None
        self.state = "idle"
        self.step = 0
        self.lora_path = ""
        self._incoming.connect(self._on_event, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        """Start (or, after a stop or an error, resume from the checkpoint) the trainer."""
        if self.running and self.state in ("stopped", "error") and self.proc is not None:
            self.proc.wait(5)   # its last event came: the process is ending
        if self.running:
            return
        self.state = "starting"
        self.proc = TrainerProcess(self.folder, self._relay)
        self.proc.start()

    def _relay(self, event: dict[str, Any]) -> None:   # the reader thread
        try:
            self._incoming.emit(dict(event))
        except RuntimeError:   # the run was deleted (the window closed): nothing listens
            pass

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if "step" in event:
            try:
                self.step = int(event["step"])
            except (TypeError, ValueError):
                pass
        if kind in ("started", "resumed", "step"):
            self.state = "running"
        elif kind in ("paused", "done", "stopped", "cancelled", "error"):
            self.state = str(kind)
        if kind == "done":
            self.lora_path = str(event.get("path") or self.plan.output)
        self.happened.emit(event)

    @property
    def running(self) -> bool:
        """The trainer process is alive (even while paused)."""
        return self.proc is not None and self.proc.running()

    @property
    def active(self) -> bool:
        """Started and not ended yet (its last events may still be on their way)."""
        return self.running or self.state in ("starting", "running", "paused")

    def pause(self) -> None:
        if self.proc is not None:
            self.proc.pause()

    def resume(self) -> None:
        if self.proc is not None:
            self.proc.resume()

    def cancel(self) -> None:
        """Cancel: the trainer discards the job folder (nothing is kept)."""
        if self.proc is not None and self.proc.running():
            self.proc.cancel()

    def stop(self) -> None:
        """Checkpoint and end: the job can be resumed later."""
        if self.proc is not None:
            self.proc.stop()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop and wait up to `timeout` s for the checkpoint; after that the process is left
        to finish on its own (its stdin closes with the app: it stops then too)."""
        if self.proc is None or not self.proc.running():
            return
        self.proc.stop()
        if self.proc.wait(timeout) is None:
            log.warning("the trainer of %s did not stop in %.0f s", self.folder, timeout)


class LossPlot(QWidget):
    """The loss of every step (faint) and its moving average (bold), step on x."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.losses: list[float] = []
        self.total = 1
        self.setMinimumSize(300, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("How far the model's guesses are from your pictures at each step: "
                        "noisy, but it should go down as it learns the style")

    def set_total(self, total: int) -> None:
        self.total = max(1, int(total))
        self.update()

    def set_losses(self, losses: list[float]) -> None:
        self.losses = [float(x) for x in losses]
        self.update()

    def add(self, loss: float) -> None:
        self.losses.append(float(loss))
        self.update()

    def points(self) -> int:
        return len(self.losses)

    def average(self) -> list[float]:
        """The moving average the bold line draws."""
        n = len(self.losses)
        k = max(3, min(50, n // 10 or 1))
        out, acc = [], 0.0
        for i, v in enumerate(self.losses):
            acc += v
            if i >= k:
                acc -= self.losses[i - k]
            out.append(acc / min(i + 1, k))
        return out

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        pal = self.palette()
        text = pal.windowText().color()
        p.fillRect(self.rect(), pal.base())
        left, bottom, top = fm.horizontalAdvance("0.000") + 10, fm.height() + 8, fm.height() + 10
        area = QRectF(left, top, max(10, self.width() - left - 10),
                      max(10, self.height() - bottom - top))
        p.setPen(QPen(QColor(text.red(), text.green(), text.blue(), 110), 1))
        p.drawLine(area.bottomLeft(), area.bottomRight())
        p.drawLine(area.bottomLeft(), area.topLeft())
        p.setPen(text)
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), fm.height() + 4),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                   "step")
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), fm.height() + 4),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "0")
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), fm.height() + 4),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, str(self.total))
        p.drawText(QRectF(area.left() - 4, 2, area.width(), fm.height() + 4),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                   "loss (lower: closer to your pictures)")
        if not self.losses:
            p.setPen(QColor(150, 150, 150))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "Getting ready…")
            p.end()
            return
        lo, hi = min(self.losses), max(self.losses)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        for value, align in ((hi, Qt.AlignmentFlag.AlignTop), (lo, Qt.AlignmentFlag.AlignBottom)):
            p.drawText(QRectF(0, area.top() - 2, left - 6, area.height() + 4),
                       align | Qt.AlignmentFlag.AlignRight, f"{value:.3f}")

        def at(i: int, v: float) -> QPointF:
            x = area.left() + area.width() * (i + 1) / self.total
            y = area.bottom() - area.height() * (v - lo) / (hi - lo)
            return QPointF(min(x, area.right()), y)

        for values, pen in ((self.losses, QPen(QColor(120, 170, 255, 90), 1)),
                            (self.average(), QPen(QColor(120, 180, 255), 2.5))):
            path = QPainterPath(at(0, values[0]))
            for i, v in enumerate(values[1:], 1):
                path.lineTo(at(i, v))
            p.setPen(pen)
            p.drawPath(path)
        p.end()


def _pixmap(path: str, side: int) -> QPixmap | None:
    img = QImage(path)
    if img.isNull():
        return None
    return QPixmap.fromImage(img).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)


class TrainProgressWindow(QDialog):
    """The window of one `TrainingRun` (modeless: painting goes on meanwhile)."""

    def __init__(self, win: Any, run: TrainingRun) -> None:
        super().__init__(win)
        self.win, self.run = win, run
        plan = run.plan
        self.name = Path(plan.output).stem if plan.output else plan.name
        self.confirm = self._confirm        # (title, text) -> bool; tests replace it
        self.samples: list[tuple[int, str]] = []
        self._first_eval: object = None   # the loss on the pictures before any step
        self.setWindowTitle(f"Training \u201c{self.name}\u201d")
        self.setModal(False)
        self.heading = QLabel(f"Teaching {plan.base_name or plan.base_model} the style "
                              f"\u201c{plan.trigger}\u201d from {len(plan.pictures)} pictures")
        self.heading.setWordWrap(True)
        self.status = QLabel("Starting (loading the model)…")
        self.progress = QProgressBar()
        self.progress.setRange(0, max(1, plan.steps))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m steps")
        self.plot = LossPlot()
        self.plot.set_total(plan.steps)
        self.sample = QLabel("The first sample picture\nshows here.")
        self.sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample.setFixedSize(SAMPLE_SIDE, SAMPLE_SIDE)
        self.sample.setStyleSheet("border: 1px solid #555; color: #909090;")
        self.sample_caption = QLabel(f"Samples: \u201c{plan.sample_caption()}\u201d")
        self.sample_caption.setWordWrap(True)
        self.sample_caption.setStyleSheet(MUTED_STYLE)
        self.sample_caption.setMaximumWidth(SAMPLE_SIDE)
        self.strip = QHBoxLayout()
        self.strip.setContentsMargins(0, 0, 0, 0)
        self.strip.setSpacing(4)
        self.strip.addStretch(1)
        strip_box = QWidget()
        strip_box.setLayout(self.strip)
        self.strip_area = QScrollArea()
        self.strip_area.setWidget(strip_box)
        self.strip_area.setWidgetResizable(True)
        self.strip_area.setFixedHeight(STRIP_SIDE + 22)
        self.strip_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip_area.setToolTip("Earlier samples, oldest first")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause the training (a checkpoint is written); Resume "
                                     "goes on from there")
        self.cancel_button = QPushButton("Cancel Training")
        self.cancel_button.setToolTip("Stop and throw this training away")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Go on from the last checkpoint")
        self.use_button = QPushButton("Use It")
        self.use_button.setToolTip("Add the style to the AI panel's LoRAs (weight 0.8) and "
                                   "its trigger word to the prompt")
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Hide this window; the training goes on (AI › Train a "
                                    "Style… shows it again)")
        for b in (self.resume_button, self.use_button):
            b.hide()

        left = QVBoxLayout()
        left.addWidget(self.heading)
        left.addWidget(self.status)
        left.addWidget(self.progress)
        left.addWidget(self.plot, 1)
        right = QVBoxLayout()
        right.addWidget(self.sample)
        right.addWidget(self.sample_caption)
        right.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(left, 1)
        top.addLayout(right)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.hide_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addWidget(self.strip_area)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.resize(720, 440)

        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.ask_cancel)
        self.resume_button.clicked.connect(self.restart)
        self.use_button.clicked.connect(self.use_it)
        self.hide_button.clicked.connect(self.close)
        run.happened.connect(self._event)

    # ---- buttons ---------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.run.state == "paused":
            self.run.resume()
            self.pause_button.setText("Pause")
            self.status.setText("Resuming…")
        elif self.run.running:
            self.run.pause()
            self.pause_button.setEnabled(False)
            self.status.setText("Pausing (writing a checkpoint)…")

    def ask_cancel(self) -> bool:
        """Cancel Training (while it runs) or Discard (once it ended): after a yes, the job
        is thrown away."""
        if self.run.state not in ("starting", "running", "paused"):
            return self.ask_discard()
        if not self.confirm("Cancel the training?",
                            f"The training of \u201c{self.name}\u201d is thrown away: its "
                            "checkpoints and samples are deleted."):
            return False
        self.run.cancel()
        self.cancel_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.status.setText("Cancelling…")
        return True

    def ask_discard(self) -> bool:
        run = self.run
        if run.proc is not None and run.running:   # its last event came: it is ending
            run.proc.wait(5)
        if run.running or not run.folder.exists():
            return False
        if not self.confirm("Discard the training?",
                            f"The unfinished training of \u201c{self.name}\u201d is thrown "
                            "away: it cannot be resumed."):
            return False
        discard_job(self.run.folder)
        self._ended("Discarded: the training was thrown away.", resumable=False)
        return True

    def _confirm(self, title: str, text: str) -> bool:
        sb = QMessageBox.StandardButton
        answer = QMessageBox.question(self, title, text, sb.Yes | sb.No, sb.No)
        return answer == sb.Yes

    def restart(self) -> None:
        """Resume after an error or a stop: a new trainer process from the checkpoint."""
        self.resume_button.hide()
        self.message.hide()
        self.pause_button.show()
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setText("Cancel Training")
        self.cancel_button.setToolTip("Stop and throw this training away")
        self.status.setText("Starting (loading the model)…")
        try:
            self.run.start()
        except OSError as exc:
            self._say(f"The trainer could not start: {exc}", ERROR_STYLE)

    def use_it(self) -> None:
        use_lora(self.win, self.run.plan, Path(self.run.lora_path or self.run.plan.output).stem)
        self.close()

    # ---- events ----------------------------------------------------------------------------
    def _say(self, text: str, style: str = "") -> None:
        self.message.setText(short_message(text))
        self.message.setStyleSheet(style)
        self.message.setVisible(bool(text))

    def _event(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        total = int(e.get("total") or self.run.plan.steps or 1)
        if kind == "started":
            if self._first_eval is None and not int(e.get("step") or 0):
                self._first_eval = e.get("eval_loss")
            self.progress.setRange(0, total)
            self.plot.set_total(total)
            where = DEVICES.get(str(e.get("device")), str(e.get("device")))
            self.status.setText(f"Training on {where}…")
            self.progress.setValue(int(e.get("step") or 0))
        elif kind == "history":
            self.plot.set_losses(list(e.get("losses") or []))
            for path in e.get("samples") or []:
                self._add_sample(_step_of(path), str(path))
        elif kind == "step":
            step = int(e.get("step") or 0)
            self.progress.setRange(0, total)
            self.progress.setValue(step)
            self.plot.add(float(e.get("loss") or 0.0))
            left = duration(float(e.get("eta") or 0.0))
            self.status.setText(f"Step {step} of {total} \u00b7 {left} left")
        elif kind == "sample":
            self._add_sample(int(e.get("step") or 0), str(e.get("path") or ""))
        elif kind == "paused":
            self.pause_button.setText("Resume")
            self.pause_button.setEnabled(True)
            self.status.setText(f"Paused at step {e.get('step', 0)} of "
                                f"{self.run.plan.steps}")
        elif kind == "resumed":
            self.pause_button.setText("Pause")
            self.pause_button.setEnabled(True)
        elif kind == "done":
            self._done(e.get("eval_loss"))
        elif kind == "stopped":
            self._ended(f"Stopped at step {e.get('step', 0)}: resume it here, or later from "
                        "AI \u203a Train a Style\u2026")
        elif kind == "cancelled":
            self._ended("Cancelled: the training was thrown away.", resumable=False)
        elif kind == "error":
            self._error(str(e.get("message") or "the training failed"))

    def _add_sample(self, step: int, path: str) -> None:
        if not path or any(p == path for _s, p in self.samples):
            return
        pix = _pixmap(path, SAMPLE_SIDE)
        if pix is None:
            return
        if self.samples:   # the one shown so far goes to the strip
            old_step, old_path = self.samples[-1]
            small = _pixmap(old_path, STRIP_SIDE)
            if small is not None:
                thumb = QLabel()
                thumb.setPixmap(small)
                thumb.setToolTip(f"Sample at step {old_step}")
                box = QVBoxLayout()
                box.setSpacing(0)
                box.addWidget(thumb)
                cap = QLabel(f"step {old_step}")
                cap.setStyleSheet(MUTED_STYLE + " font-size: 9pt;")
                box.addWidget(cap)
                self.strip.insertLayout(self.strip.count() - 1, box)
        self.samples.append((step, path))
        self.sample.setPixmap(pix)
        self.sample.setToolTip(f"Sample at step {step}")
        self.sample_caption.setText(f"Sample at step {step}: "
                                    f"\u201c{self.run.plan.sample_caption()}\u201d")

    def _ended(self, text: str, resumable: bool = True, style: str = "") -> None:
        """The run ended without a LoRA: Resume (from its checkpoint) and Discard while its
        folder is there, Close."""
        self.pause_button.hide()
        kept = self.run.folder.exists()
        self.cancel_button.setText("Discard")
        self.cancel_button.setToolTip("Throw this unfinished training away")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setVisible(kept)
        self.resume_button.setVisible(resumable and kept)
        self.hide_button.setText("Close")
        self.status.setText(text.split("\n")[0])
        self._say(text, style)

    def _error(self, message: str) -> None:
        self._ended(message, resumable=checkpoint_step(self.run.folder) > 0, style=ERROR_STYLE)
        self.status.setText("The training stopped.")
        self.show()

    def _done(self, eval_loss: object = None) -> None:
        self.pause_button.hide()
        self.cancel_button.hide()
        self.resume_button.hide()
        self.progress.setValue(self.progress.maximum())
        before = self._first_eval
        if isinstance(eval_loss, (int, float)) and isinstance(before, (int, float)):
            self.status.setText(f"Done. Loss on your pictures: {before:.3f} before, "
                                f"{eval_loss:.3f} now.")
        else:
            self.status.setText("Done.")
        self._say(f"Your style \u201c{self.name}\u201d is ready. Use it with its trigger word "
                  f"\u201c{self.run.plan.trigger}\u201d.", DONE_STYLE)
        self.use_button.show()
        self.use_button.setDefault(True)
        self.hide_button.setText("Close")
        refresh_loras(self.win)
        self.show()
        self.raise_()


def _step_of(path: str) -> int:
    stem = Path(path).stem
    try:
        return int(stem.rsplit("-", 1)[-1])
    except ValueError:
        return 0


# ---- the window's runs -----------------------------------------------------------------------
def runs(win: Any) -> list[TrainingRun]:
    return list(getattr(win, "_train_runs", []))


def progress_windows(win: Any) -> dict[Path, TrainProgressWindow]:
    found = getattr(win, "_train_windows", None)
    if found is None:
        found = win._train_windows = {}
    return found


def active_run(win: Any) -> TrainingRun | None:
    """The run of `win` that is training now (one at a time), if any."""
    return next((r for r in runs(win) if r.active), None)


def start_training(win: Any, folder: str | Path) -> TrainingRun:
    """Start (or resume) the job `folder` and show its window."""
    folder = Path(folder)
    windows = progress_windows(win)
    old = windows.get(folder)
    if old is not None and old.run.active:
        show_window(old)
        return old.run
    run = TrainingRun(folder, win)
    if not hasattr(win, "_train_runs"):
        win._train_runs = []
    win._train_runs.append(run)
    _watch(win)
    if old is not None:
        old.close()
        old.deleteLater()
    dlg = TrainProgressWindow(win, run)
    windows[folder] = dlg
    try:
        run.start()
    except OSError as exc:
        raise TrainError(f"the trainer could not start: {exc}") from exc
    show_window(dlg)
    return run


def show_window(dlg: QWidget) -> None:
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()


def shutdown_trainings(win: Any, timeout: float = 10.0) -> None:
    """Tell every run of `win` to stop (a checkpoint; resumable) and wait for them."""
    for run in runs(win):
        if run.running:
            run.stop()
    for run in runs(win):
        run.shutdown(timeout)


def refresh_loras(win: Any) -> None:
    """The AI panel's LoRA list re-read (a new LoRA shows at once)."""
    panel = getattr(win, "ai_panel", None)
    if panel is None:
        return
    try:
        panel.form.loras_section.refresh()
    except RuntimeError:   # the panel is gone
        pass


def use_lora(win: Any, plan: TrainPlan, lora_id: str, weight: float = 0.8) -> Any:
    """Put the trained LoRA in the AI panel at `weight` and its trigger word in the prompt;
    when the panel's model is for another base model, the trained one is picked. The row."""
    panel = getattr(win, "ai_panel", None)
    if panel is None:
        return None
    form = panel.form
    section = form.loras_section
    try:
        arch = panel.registry.resolve(str(form.model.currentData())).arch
    except Exception:  # no model picked, or not a diffusion model
        arch = ""
    if arch != plan.arch:
        i = form.model.findData(plan.base_model)
        if i >= 0:
            form.model.setCurrentIndex(i)
    section.refresh()
    row = section.add_lora(lora_id, weight)
    if row is None:   # there already: just the weight
        row = next((r for r in section.rows if r.lora_id == lora_id), None)
    form.insert_prompt_word(plan.trigger)
    dock = getattr(win, "docks", {}).get("aiDock")
    if dock is not None:
        dock.show()
        dock.raise_()
    scroll = getattr(panel, "scroll", None)
    if scroll is not None and row is not None:   # show where the style went
        QTimer.singleShot(0, lambda: _reveal(scroll, row))
    return row


def _reveal(scroll: Any, row: QWidget) -> None:
    try:
        scroll.ensureWidgetVisible(row)
    except RuntimeError:   # the row or the panel is gone
        pass


class _CloseWatcher(QObject):
    """Stops the window's trainings once a close of the window went through (a close can be
    refused: it is looked at after the event, on the next turn of the event loop)."""

    def __init__(self, win: QWidget) -> None:
        super().__init__(win)
        self._win = win
        win.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self._win and event.type() == QEvent.Type.Close:
            QTimer.singleShot(0, self._check)
        return False

    def _check(self) -> None:
        try:
            if not self._win.isVisible():
                _stop_all(self._win)
        except RuntimeError:
            pass


def _stop_all(win: Any) -> None:
    _stop_runs(runs(win))


def _stop_runs(found: list[TrainingRun]) -> None:
    for run in found:
        try:
            if run.running:
                run.stop()   # the trainer checkpoints and ends by itself; no wait here
        except RuntimeError:
            pass


def _watch(win: Any) -> None:
    """Stop the window's runs when it closes, is destroyed, or the application quits."""
    if getattr(win, "_train_watched", False):
        return
    win._train_watched = True
    held: list[TrainingRun] = win._train_runs   # a Python list: outlives the window's C++ side
    _CloseWatcher(win)
    app = QApplication.instance()

    def quit_() -> None:
        _stop_runs(held)
        for run in held:
            try:
                run.shutdown(5.0)
            except RuntimeError:
                pass

    def destroyed(*_: object) -> None:
        _stop_runs(held)
        if app is not None:
            try:
                app.aboutToQuit.disconnect(quit_)
            except (RuntimeError, TypeError):
                pass

    win.destroyed.connect(destroyed)
    if app is not None:
        app.aboutToQuit.connect(quit_)
