"""Select › Select Subject, Layer › Remove Background and Layer › Replace Background…

Each reads the picture in steps between the event loop's turns (`cutout.subject_steps`: a
huge canvas never stalls the window; a change meanwhile starts the reading over), then finds
the main subject with the background remover (backends/matte.py) as one job on the window's
AI worker — never on the UI thread — with a Cancel button in the status bar (Esc cancels too,
through the AI menu's Cancel), then:

- Select Subject: the soft subject mask becomes the selection (one undo step);
- Remove Background: the active layer's subject goes on a new layer above it and the layer is
  hidden (one undo step, nothing destroyed);
- Replace Background: the background (the inverted mask) becomes the selection and the AI
  panel is set to Fill with the prompt focused: the artist describes the new background and
  presses Fill selection.

Without a background-removal model each says what to install (`cutout.SUBJECT_HINT`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..ai import cutout
from ..ai.errors import AiError
from ..core.layer import Layer
from .actions import window_menu

if TYPE_CHECKING:
    from ..ai.requests import AiResult
    from ..core.document import Document
    from .main_window import MainWindow
    from .worker import JobHandle

SELECT, REMOVE, REPLACE = "select", "remove", "replace"
TITLES = {SELECT: "Select Subject", REMOVE: "Remove Background",
          REPLACE: "Replace Background"}
MESSAGE_MS = 8000


class SubjectOps(QObject):
    """The three commands for one window, and the status-bar strip of the running one."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.job: JobHandle | None = None
        self._steps: Any = None             # the picture being read (cutout.subject_steps)
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._step)
        self._what = ""
        self._doc: Document | None = None
        self._layer: Layer | None = None
        self.strip = QWidget()
        row = QHBoxLayout(self.strip)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)               # busy: one network run has no steps
        self.bar.setMaximumWidth(120)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop finding the subject; nothing is changed (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        for w in (self.label, self.bar, self.cancel_button):
            row.addWidget(w)
        win.statusBar().addWidget(self.strip)
        self.strip.hide()
        self.actions = {
            SELECT: self._action("select_subject", "Select &Subject", SELECT,
                                 "Select the main subject of the picture in one step, with "
                                 "soft edges (a background-removal model)"),
            REMOVE: self._action("remove_background", "Remove &Background", REMOVE,
                                 "Keep the active layer's subject on a new layer and hide "
                                 "the layer: nothing is destroyed"),
            REPLACE: self._action("replace_background", "Replace Back&ground\u2026", REPLACE,
                                  "Select the background, then describe the new one in the "
                                  "AI panel and press Fill selection"),
        }
        cancel = getattr(win, "ai_actions", {}).get("cancel")
        if cancel is not None:     # Esc: the AI menu's Cancel stops this job too
            cancel.triggered.connect(lambda _c=False: self.cancel())

    def _action(self, name: str, text: str, what: str, tip: str) -> QAction:
        a = QAction(text, self.win)
        a.setObjectName(name)
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(lambda _c=False: self.start(what))
        return a

    # ---- running --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Reading the picture or finding the subject."""
        return self.job is not None or self._steps is not None

    def _say(self, text: str) -> None:
        self.win.statusBar().showMessage(text, MESSAGE_MS)

    def start(self, what: str) -> bool:
        """Find the subject for `what` (SELECT, REMOVE or REPLACE): the picture is read in
        steps between the event loop's turns, then one job goes to the worker. False when it
        cannot start (the status bar says why)."""
        win = self.win
        doc = win.doc
        if doc is None:
            return False
        if self.running:
            self._say("Still finding the subject: wait for it or press Cancel.")
            return False
        models = getattr(win, "ai_models", None)
        if models is not None and models.matting() is None:
            self._say(cutout.SUBJECT_HINT)
            return False
        win.canvas.finish_tool()
        win.canvas.quick_mask.leave()
        layer = None
        if what == REMOVE:
            layer = doc.active_layer
            if not isinstance(layer, Layer):
                self._say("Remove Background works on a layer: pick one in the Layers panel.")
                return False
        self._what, self._doc, self._layer = what, doc, layer
        if not self._read():
            self._doc = self._layer = None
            return False
        doc.pixels_changed.connect(self._changed)
        self.label.setText(f"{TITLES[what]}: reading the picture…")
        self.cancel_button.setEnabled(True)
        self.strip.show()
        self._cancel_action(True)
        self._timer.start()
        return True

    def _read(self) -> bool:
        """(Re)start reading the picture; False (said) when there is nothing to read."""
        assert self._doc is not None
        try:
            self._steps = cutout.subject_steps(self._doc, self._layer)
        except AiError as exc:
            self._steps = None
            self._say(str(exc))
            return False
        return True

    def _changed(self, *_: object) -> None:
        """The picture changed while it was being read: read it again."""
        if self._steps is not None and not self._read():
            self._end()

    def _step(self) -> None:
        steps = self._steps
        if steps is None:
            self._timer.stop()
            return
        if self._doc is not self.win.doc:     # another picture is shown now
            self._say(f"{TITLES[self._what]}: the picture was closed; nothing was changed.")
            self._end()
            return
        try:
            next(steps)
            return
        except StopIteration as done:
            request = done.value
        except AiError as exc:
            self._say(str(exc))
            self._end()
            return
        self._steps = None
        self._timer.stop()
        self._disconnect()
        self._submit(request)

    def _submit(self, request: Any) -> None:
        win = self.win
        job = win.ai_worker.submit(request, previews=False)
        self.job = job
        job.started.connect(self._started)
        job.finished.connect(self._finished)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        job.ended.connect(self._ended)
        title = TITLES[self._what]
        self.label.setText(f"{title}: waiting for the AI job before it…"
                           if win.ai_worker.busy and win.ai_worker.current is not job
                           else f"{title}: finding the subject…")

    def cancel(self) -> None:
        if self._steps is not None:     # still reading the picture: nothing went to the worker
            self._say(f"{TITLES[self._what]} cancelled; nothing was changed.")
            self._end()
        elif self.job is not None:
            self.job.cancel()
            self.label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _disconnect(self) -> None:
        if self._doc is not None:
            try:
                self._doc.pixels_changed.disconnect(self._changed)
            except (RuntimeError, TypeError, ValueError):
                pass

    def _cancel_action(self, running: bool) -> None:
        cancel = getattr(self.win, "ai_actions", {}).get("cancel")
        panel = getattr(self.win, "ai_panel", None)
        if cancel is not None:
            cancel.setEnabled(running or bool(panel is not None and panel.running))

    # ---- the job's signals -----------------------------------------------------------------
    def _started(self) -> None:
        self.label.setText(f"{TITLES[self._what]}: finding the subject\u2026")

    def _finished(self, result: AiResult) -> None:
        doc, what = self._doc, self._what
        if doc is None or doc is not self.win.doc:
            self._say(f"{TITLES[what]}: the picture was closed; nothing was changed.")
            return
        try:
            if what == SELECT:
                mask = cutout.subject_selection(doc, result)
                if mask is None:
                    self._say("Select Subject found no clear subject; the selection is "
                              "unchanged.")
                    return
                doc.set_selection(mask, "Select subject")
                self._say("The subject is selected (soft edges). Shift+Ctrl+I inverts it.")
            elif what == REMOVE:
                assert self._layer is not None
                cut = cutout.remove_background(doc, self._layer, result)
                self._say(f"“{cut.name}” holds the subject; “{self._layer.name}” is hidden, "
                          "not deleted (Ctrl+Z undoes both).")
            else:
                self._replace(doc, result)
        except AiError as exc:
            self._say(str(exc))

    def _replace(self, doc: Document, result: AiResult) -> None:
        doc.set_selection(cutout.background_selection(doc, result), "Select background")
        panel = getattr(self.win, "ai_panel", None)
        if panel is None:
            self._say("The background is selected: fill it with the AI panel.")
            return
        form = panel.form
        form.set_op("inpaint")
        dock = self.win.docks.get("aiDock")
        if dock is not None:
            dock.show()
            dock.raise_()
        if not form.has_models:   # the object removers and the classical fill take no prompt
            panel.status.setText("The background is selected. Painting a new one needs a "
                                 "diffusion model: open Models… to add one.")
            self._say("The background is selected; a new one needs a diffusion model.")
            return
        if not form.paints():     # LaMa, MI-GAN or the classical fill: the first model paints
            form.model.setCurrentIndex(0)
        panel.status.setText("The background is selected: describe the new background, then "
                             "press Fill selection (Ctrl+Enter).")
        form.prompt.setFocus()
        self._say("The background is selected: describe the new one in the AI panel.")

    def _failed(self, text: str) -> None:
        self._say(text)

    def _cancelled(self) -> None:
        self._say(f"{TITLES[self._what]} cancelled; nothing was changed.")

    def _ended(self, _job: Any) -> None:
        self._end()

    def _end(self) -> None:
        """Back to idle: nothing read, no job, the strip hidden."""
        self._timer.stop()
        self._disconnect()
        self._steps = None
        self.job, self._doc, self._layer = None, None, None
        self.strip.hide()
        self._cancel_action(False)


def install_subject_ops(win: MainWindow) -> SubjectOps:
    """Make the window's SubjectOps (`win.subject_ops`, on its AI worker) and put its actions
    in the Select menu (after Select Object) and the Layer menu."""
    ops = SubjectOps(win)
    win.subject_ops = ops
    select = window_menu(win, "Select")
    if select is not None:
        after = win.acts.tools.get("select_object")
        acts = select.actions()
        i = acts.index(after) + 1 if after in acts else len(acts)
        if i < len(acts):
            select.insertAction(acts[i], ops.actions[SELECT])
        else:
            select.addAction(ops.actions[SELECT])
    layer = window_menu(win, "Layer")
    if layer is not None:
        layer.addSeparator()
        layer.addAction(ops.actions[REMOVE])
        layer.addAction(ops.actions[REPLACE])
    return ops
