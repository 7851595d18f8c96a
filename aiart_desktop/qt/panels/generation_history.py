"""The Generations dock: every finished AI job, for this document or for all of them.

    panel = install_generation_history(win)     # after install_ai_dock(win)

It hears of every job submitted to the window's one AI worker (`win.ai_worker.submitted`: the
AI panel's, the Style dock's, any other) and records each one that finishes, from its own
`JobHandle` (`ai.gen_history`), with the document the window showed when the job was submitted,
and in the per-user history folder (written on a background thread). The document then reads
as unsaved and autosave picks it up; no undo step. It follows the window's document through
`win.document_changed`.

The list shows thumbnails, prompt, seed, model, operation and time, newest first; the search
box keeps the entries whose prompt holds every word typed. "This document" / "All" switches
between the document's history and the per-user one. For the picked entry: Re-run (the AI
panel's form filled from the record with the prompts as edited here, then Generate; when
nothing is selected, the entry's selection comes back first, as one undoable step), Load
settings (fill only), Copy prompt.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...ai.records import gen_history as gh
from ...core.geometry import Rect
from ..actions import window_menu
from ..dialogs.c2pa_settings import open_c2pa_settings
from ..ui_thread import call_on_ui
from .generation_details import GenerationDetails, png_pixmap, summary_line
from .widgets import guard_wheel, scroll_body

if TYPE_CHECKING:
    from ...core.document import Document
    from ..worker import JobHandle

ICON_SIDE = 56
NOT_GENERATIONS = ("subject", "upscale")   # a mask, a scaled picture: not listed here
DOC, ALL = "doc", "all"


class GenerationHistoryPanel(QWidget):
    message = Signal(str)          # a line for the status bar
    recorded = Signal(object)      # the new GenerationEntry
    rerun_submitted = Signal(object)  # the JobHandle of the AI job a Re-run started

    def __init__(self, win: Any, user_store: gh.UserHistory | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GenerationHistoryPanel")
        self.win = win
        self.user_store = user_store if user_store is not None else gh.UserHistory()
        self.doc: Document | None = None
        self.scope = DOC
        self._job_docs: dict[JobHandle, Document | None] = {}  # submitted, not ended yet
        self._user_entries: list[gh.GenerationEntry] | None = None  # loaded on demand
        self._shown: list[gh.GenerationEntry] = []
        self._icons: dict[str, QIcon] = {}
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gen-history")
        self._pending: list[Future[None]] = []
        self._build()
        self._connect()
        self.set_document(getattr(win, "doc", None))

    # ---- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.doc_button = QToolButton()
        self.doc_button.setText("This document")
        self.all_button = QToolButton()
        self.all_button.setText("All")
        self.all_button.setToolTip("Every generation you made, in any document (kept in your "
                                   "data folder)")
        group = QButtonGroup(self)
        for b, scope in ((self.doc_button, DOC), (self.all_button, ALL)):
            b.setCheckable(True)
            b.setAutoRaise(False)
            group.addButton(b)
            b.clicked.connect(lambda _c=False, s=scope: self.set_scope(s))
        self.doc_button.setChecked(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(4)
        top.addWidget(self.search, 1)
        top.addWidget(self.doc_button)
        top.addWidget(self.all_button)
        self.list = QListWidget()
        self.list.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumHeight(3 * (ICON_SIDE + 8))
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda _i: self.load_settings())
        self.empty = QLabel("")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #a0a0a0;")
        self.details = GenerationDetails()
        self.details.rerun.connect(self.rerun)
        self.details.load_settings.connect(self.load_settings)
        self.details.copy_prompt.connect(self.copy_prompt)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addLayout(top)
        ul.addWidget(self.list, 1)
        ul.addWidget(self.empty)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.details)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        scroll_body(self)   # a short window scrolls the panel instead of growing taller
        guard_wheel(self)

    def _connect(self) -> None:
        self.win.ai_worker.submitted.connect(self._job_submitted)
        ai = getattr(self.win, "ai_panel", None)
        if ai is not None:
            ai.running_changed.connect(self._ai_running)
            ai.applied.connect(self._applied)

    # ---- following the window's document ---------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        """The window shows `doc` (connected to `win.document_changed`): list its history."""
        if doc is not self.doc:
            self.doc = doc
            if self.scope == DOC:
                self.refresh()
        self._sync()

    # ---- recording -------------------------------------------------------------------------
    def _ai_running(self, _running: bool) -> None:
        self._sync()

    def _job_submitted(self, job: JobHandle) -> None:
        """Every job on the worker: remember the document it was taken from, record it when it
        finishes."""
        self._job_docs[job] = self.doc
        job.ended.connect(self._job_ended)

    def _job_ended(self, job: JobHandle) -> None:
        doc = self._job_docs.pop(job, None) or self.win.doc
        if job.state == "finished" and job.result is not None and job.result.images \
                and job.result.request.op not in NOT_GENERATIONS:
            self._record(job.result, doc)

    def _rerun_ended(self, job: JobHandle) -> None:
        """The status line of a Re-run follows its job to the end."""
        ai = self.win.ai_panel
        if job.state == "finished":
            self._say("Re-run finished: its variations are in the AI panel.")
        elif job.state == "cancelled":
            self._say("Re-run cancelled; nothing was changed.")
        else:
            self._say("Re-run failed: " + (ai.error.text() or "see the AI panel."))

    def _record(self, result: Any, doc: Document | None) -> None:
        name = os.path.basename(doc.path) if doc is not None and doc.path else "Untitled"
        try:
            entry = gh.entry_from_result(result, document=name)
        except Exception as exc:  # the history must never break a job
            self._say(f"Generation not recorded: {type(exc).__name__}: {exc}")
            return
        if doc is not None:
            gh.add_to_document(doc, entry)
        self._pending.append(self._io.submit(self._save_user, entry))
        if self._user_entries is not None:
            self._user_entries.insert(0, entry)
        if self.scope == ALL or doc is self.doc:
            self.refresh(keep=True)
        self.recorded.emit(entry)

    def _save_user(self, entry: gh.GenerationEntry) -> None:
        try:
            self.user_store.append(entry)
        except OSError as exc:  # a full disk or a read-only folder: say so (queued to the UI)
            call_on_ui(self, self._say, f"Could not add to your generation history "
                                f"({exc.strerror or exc})")

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait for the per-user history writes started so far."""
        pending, self._pending = self._pending, []
        for f in pending:
            f.result(timeout)

    def shutdown(self) -> None:
        self.flush()
        self._io.shutdown(wait=True)

    def _applied(self, layer: Any) -> None:
        doc = self.win.doc
        rec = getattr(layer, "provenance", None)
        if doc is not None and isinstance(rec, dict) and gh.mark_applied(doc, rec, layer.name):
            if self.scope == DOC and doc is self.doc:
                self.refresh(keep=True)

    # ---- the list --------------------------------------------------------------------------
    def set_scope(self, scope: str) -> None:
        self.scope = ALL if scope == ALL else DOC
        (self.all_button if self.scope == ALL else self.doc_button).setChecked(True)
        if self.scope == ALL and self._user_entries is None:
            self.flush()
            self._user_entries = self.user_store.load()
        self.refresh()

    def source(self) -> list[gh.GenerationEntry]:
        if self.scope == ALL:
            return list(self._user_entries or [])
        return gh.entries(self.doc) if self.doc is not None else []

    @property
    def shown(self) -> list[gh.GenerationEntry]:
        return list(self._shown)

    def refresh(self, keep: bool = False) -> None:
        """Rebuild the list from the scope's entries and the search text."""
        current = self.current_entry()
        self._shown = gh.search(self.source(), self.search.text())
        self.list.blockSignals(True)
        self.list.clear()
        for e in self._shown:
            item = QListWidgetItem(self._icon(e), f"{e.label}\n{summary_line(e)}")
            item.setToolTip(f"{e.label}\n{summary_line(e)}")
            self.list.addItem(item)
        self.list.blockSignals(False)
        row = 0 if self._shown else -1
        if keep and current is not None:
            row = next((i for i, e in enumerate(self._shown) if e.id == current.id), row)
        self.list.setCurrentRow(row)
        self._row_changed(row)
        total = len(self.source())
        if not total:
            self.empty.setText("No generations yet: results of the AI panel appear here."
                               if self.scope == DOC else "No generations recorded yet.")
        elif not self._shown:
            self.empty.setText(f"No prompt matches “{self.search.text().strip()}”.")
        self.empty.setVisible(not self._shown)

    def _icon(self, e: gh.GenerationEntry) -> QIcon:
        icon = self._icons.get(e.id)
        if icon is None:
            pm = png_pixmap(e.thumbnails[0]) if e.thumbnails else None
            icon = self._icons[e.id] = QIcon(pm) if pm is not None and not pm.isNull() \
                else QIcon()
        return icon

    def current_entry(self) -> gh.GenerationEntry | None:
        row = self.list.currentRow()
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def _row_changed(self, _row: int) -> None:
        self.details.show_entry(self.current_entry())
        self._sync()

    def _sync(self) -> None:
        ai = getattr(self.win, "ai_panel", None)
        busy = ai is None or ai.running or self.doc is None
        e = self.current_entry()
        self.details.rerun_button.setEnabled(e is not None and e.op != "style" and not busy)

    # ---- actions ---------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.status.setText(text)
        if text:
            self.message.emit(text)

    def _model_for(self, rec: dict[str, Any]) -> tuple[str, str]:
        """(model id to run `rec` with, a note when it is not the record's own model)."""
        ai = self.win.ai_panel
        wanted = str(rec.get("model_id") or rec.get("model") or "")
        combo = ai.form.model
        i = combo.findData(wanted) if wanted else -1
        if i < 0 and rec.get("model_name"):
            i = combo.findText(str(rec["model_name"]), Qt.MatchFlag.MatchStartsWith)
        if i >= 0:
            return str(combo.itemData(i)), ""
        got = ai.form.current_model()
        return got, (f" The model “{rec.get('model_name') or wanted}” is not installed: "
                     f"“{ai.form.model.currentText()}” is used.")

    def load_settings(self) -> bool:
        """Copy the picked entry's settings (prompts as edited here) into the AI panel's form,
        seed locked: the explicit way to tweak them there."""
        e, ai = self.current_entry(), getattr(self.win, "ai_panel", None)
        if e is None or ai is None:
            return False
        if e.op == "style":
            self._say("Style transfers are set up in the Style panel.")
            return False
        rec = self.details.edited_record()
        ai.form.fill_from_record(rec)
        wanted = str(rec.get("model_id") or rec.get("model") or "")
        got = ai.form.current_model()
        note = "" if got in (wanted, rec.get("model")) or not wanted else \
            f" The model “{e.model}” is not installed: “{ai.form.model.currentText()}” is used."
        self._say(f"Settings of seed {rec.get('seed')} copied into the AI panel's form (seed "
                  f"locked).{note}")
        return True

    def rerun(self) -> JobHandle | None:
        """Run the picked entry's settings (prompts as edited here) again on the selection (the
        entry's selection when none), leaving the AI panel's form as it is; the AI job, None
        when it could not start (the reason is shown)."""
        e, ai, doc = self.current_entry(), getattr(self.win, "ai_panel", None), self.win.doc
        if e is None or ai is None or doc is None:
            return None
        if ai.running:
            self._say("The AI is busy: wait for the running job, or cancel it.")
            return None
        if e.op == "style":
            self._say("Style transfers are re-run from the Style panel.")
            return None
        rec = self.details.edited_record()
        model, note = self._model_for(rec)
        if doc.selection is None and e.selection and e.op != "outpaint":
            from ...core.selection import rect_mask

            r = Rect(*e.selection).intersect(doc.rect)
            if not r.empty:
                doc.set_selection(rect_mask(doc.width, doc.height, r), "Select generation region")
        job = ai.run_record(rec, model)
        if job is not None:
            job.ended.connect(self._rerun_ended)
            dock = getattr(self.win, "docks", {}).get("aiDock")
            if dock is not None:
                dock.show()
            self._say(f"Re-running “{e.label[:60]}” (seed {rec.get('seed')})…{note}")
            self.rerun_submitted.emit(job)
        else:
            self._say("Could not re-run: " + (ai.error.text() or "see the AI panel."))
        self._sync()
        return job

    def copy_prompt(self) -> None:
        e = self.current_entry()
        if e is None:
            return
        text = self.details.prompt.toPlainText()
        QGuiApplication.clipboard().setText(text)
        self._say("Prompt copied.")


def install_generation_history(win: Any, *, user_store: gh.UserHistory | None = None
                               ) -> GenerationHistoryPanel:
    """Add the Generations dock to `win` (after `install_ai_dock(win)`), tabified with the
    Undo History dock, with a toggle in View › Panels (and AI › C2PA
    Signing… for the export certificate); returns the panel."""
    if getattr(win, "ai_worker", None) is None:
        raise RuntimeError("install the AI dock first: the Generations panel records its jobs")
    if getattr(win, "generations_panel", None) is not None:
        raise RuntimeError("this window already has its Generations dock")
    panel = GenerationHistoryPanel(win, user_store)
    win.document_changed.connect(panel.set_document)   # follows the window, at once
    dock = QDockWidget("Generations", win)
    dock.setObjectName("generationsDock")
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    docks = getattr(win, "docks", None)
    undo = docks.get("historyDock") if isinstance(docks, dict) else None
    # Where the painter left it last time (the window's saved layout); restoreDockWidget must
    # come before addDockWidget, which would make it "restore" any dock, hidden.
    if not win.restoreDockWidget(dock):
        win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        if undo is not None:
            win.tabifyDockWidget(undo, dock)
            undo.raise_()
    if isinstance(docks, dict):
        docks["generationsDock"] = dock
    toggle = dock.toggleViewAction()
    toggle.setText("&Generations")
    panels_menu = getattr(win, "panels_menu", None)
    if isinstance(panels_menu, QMenu):
        panels_menu.addAction(toggle)
    if hasattr(win, "menuBar"):
        ai_menu = window_menu(win, "AI")   # not the skeleton's placeholder AI menu
        if ai_menu is not None and ai_menu is not panels_menu:
            signing = ai_menu.addAction("C2PA &Signing\u2026")
            signing.setToolTip("The certificate that signs the C2PA manifest of exported PNGs")
            signing.triggered.connect(lambda _c=False: open_c2pa_settings(win))
            win.c2pa_action = signing
    if hasattr(win, "statusBar"):
        panel.message.connect(lambda text: win.statusBar().showMessage(text, 6000))
    win.generations_panel = panel
    win.destroyed.connect(lambda *_: panel._io.shutdown(wait=False))
    return panel

