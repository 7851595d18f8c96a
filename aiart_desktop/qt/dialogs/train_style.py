"""AI › Train a Style…: the artist picks pictures of their own, names the style and its trigger
word, picks a base model and a preset, and presses Train; a LoRA is trained in a process of its
own (train_progress.py shows it) and lands in the LoRA list.

    act = install_train_style(win)     # the AI menu's "Train a Style…"
    dlg = open_train_style(win)        # the dialog (one per window, modeless)
    dlg.add_files(paths); dlg.add_open_picture(); dlg.add_layers(layers)
    dlg.train()                        # the job folder prepared off the UI thread, then started

Each picture row shows where the picture is cut for training: it is scaled to cover one of the
model's training sizes nearest its shape (ai/training.py: bucket_for) and the part outside the
frame drawn on its thumbnail is left out. Nothing here imports torch: the model list, the
estimate and the job folder are plain files and headers.
"""
from __future__ import annotations

import logging
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...ai import training as tr
from ...ai.errors import AiError
from ...core.io import READ_EXTENSIONS
from ..panels.messages import short_message
from ..panels.widgets import run_off_ui
from . import train_progress as tp
from .train_pictures import THUMB, Picked, crop_icon, picked_pixels, read_files, size_text

log = logging.getLogger(__name__)
CUSTOM = "custom"
ERROR_STYLE = "color: #ff8a80;"
MUTED_STYLE = "color: #a0a0a0;"
ACTION_TEXT = "Train a &Style\u2026"


def style_name(trigger: str) -> str:
    """A file name made of the trigger word (what the name field offers)."""
    name = re.sub(r"[^A-Za-z0-9 _.-]+", "", trigger).strip(" .-_")
    return name[:64]


def guess_device(setting: str) -> str:
    """The device a training runs on ("cpu", "cuda", "mps"), without importing torch."""
    if setting in ("cpu", "cuda", "mps"):
        return setting
    torch = sys.modules.get("torch")   # loaded already (the AI worker): ask it, for free
    if torch is not None:
        try:
            if torch.cuda.is_available():
                return "cuda"
            mps = getattr(torch.backends, "mps", None)
            if mps is not None and mps.is_available():
                return "mps"
            return "cpu"
        except Exception:  # a half-imported torch
            pass
    if sys.platform == "darwin":
        return "mps"
    return "cuda" if shutil.which("nvidia-smi") else "cpu"


class TrainStyleDialog(QDialog):
    """The Train a Style dialog of `win` (see the module's notes)."""

    def __init__(self, win: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or win)
        self.win = win
        self.setWindowTitle("Train a Style")
        self.pictures: list[Picked] = []
        self.ask_files: Callable[[], list[str]] = self._ask_files
        self.pick_layers: Callable[[list[Any]], list[Any]] = self._pick_layers
        self.confirm: Callable[[str, str], bool] = self._confirm
        self._models: list[Any] = []
        self._unet: dict[str, int] = {}
        self._preset = "quick"
        self._filling = False

        # ---- the pictures, with their captions
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Picture", "What it shows (optional caption)"])
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 270)
        self.table.setWordWrap(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip("Each picture is scaled and cut to the yellow frame for "
                              "training. A caption says what the picture shows besides the "
                              "style (\u201ca cat on a roof\u201d); leave it empty if unsure.")
        self.count_label = QLabel()
        self.count_label.setStyleSheet(MUTED_STYLE)
        self.add_files_button = QPushButton("Add Files\u2026")
        self.add_files_button.setToolTip("Pictures in your style: PNG, JPEG, WebP, TIFF or "
                                         "OpenRaster")
        self.add_open_button = QPushButton("Add Open Picture")
        self.add_open_button.setToolTip("The picture open in the window, all layers as seen")
        self.add_layers_button = QPushButton("Add Layers\u2026")
        self.add_layers_button.setToolTip("Layers of the open picture, each as a picture")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Take the selected pictures off the list (the files "
                                      "stay)")
        pic_buttons = QHBoxLayout()
        for b in (self.add_files_button, self.add_open_button, self.add_layers_button,
                  self.remove_button):
            pic_buttons.addWidget(b)
        pic_buttons.addStretch(1)
        left = QVBoxLayout()
        hint = QLabel("Pick 10 to 30 varied pictures in your style (at least 4).")
        hint.setWordWrap(True)
        left.addWidget(hint)
        left.addWidget(self.table, 1)
        left.addWidget(self.count_label)
        left.addLayout(pic_buttons)

        # ---- the form
        self.model = QComboBox()
        self.model.setToolTip("The model that learns your style; the style then works with "
                              "this model and others of its kind")
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.setStyleSheet(MUTED_STYLE)
        self.model_note.hide()
        self.trigger = QLineEdit()
        self.trigger.setPlaceholderText("e.g. inkwash style")
        self.trigger.setToolTip("A word or two that calls the style in a prompt; an unusual "
                                "one works best")
        self.name = QLineEdit()
        self.name.setToolTip("The style's name in the LoRA list (and its file name)")
        self.preset = QComboBox()
        for p in tr.PRESETS.values():
            self.preset.addItem(p.label, p.id)
        self.preset.setToolTip("Quick: a first try. Balanced: most styles. Thorough: more "
                               "detail, takes longer")
        self.rank = QSpinBox()
        self.rank.setRange(1, tr.MAX_RANK)
        self.rank.setToolTip("How much the style can hold (the LoRA's rank): higher learns "
                             "more detail, makes a bigger file")
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setSingleStep(50)
        self.steps.setToolTip("How long it learns: each step looks at one picture")
        self.rate = QDoubleSpinBox()
        self.rate.setDecimals(5)
        self.rate.setRange(0.00001, 0.5)
        self.rate.setSingleStep(0.00005)
        self.rate.setToolTip("How fast it learns (the learning rate): too high and the "
                             "samples fall apart")
        self.sample_every = QSpinBox()
        self.sample_every.setRange(0, 100_000)
        self.sample_every.setSpecialValueText("never")
        self.sample_every.setSuffix(" steps")
        self.sample_every.setToolTip("How often a sample picture is painted with the style so "
                                     "far (each takes a moment)")
        self.save_memory = QCheckBox("Save memory (slower)")
        self.save_memory.setToolTip("Recompute instead of keeping (gradient checkpointing): "
                                    "about a third of the memory, a quarter slower")
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setStyleSheet(MUTED_STYLE)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Base model", self.model)
        form.addRow("", self.model_note)
        form.addRow("Trigger word", self.trigger)
        form.addRow("Name", self.name)
        form.addRow("Preset", self.preset)
        form.addRow("Detail (rank)", self.rank)
        form.addRow("Steps", self.steps)
        form.addRow("Learning rate", self.rate)
        form.addRow("Sample every", self.sample_every)
        form.addRow("", self.save_memory)
        form.addRow("Takes", self.estimate_label)

        # ---- unfinished trainings
        self.jobs_box = QGroupBox("Unfinished trainings")
        self.jobs = QListWidget()
        self.jobs.setMaximumHeight(70)
        self.resume_button = QPushButton("Resume")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Throw the unfinished training away")
        jl = QVBoxLayout(self.jobs_box)
        jl.setContentsMargins(6, 4, 6, 4)
        jl.addWidget(self.jobs)
        jb = QHBoxLayout()
        jb.addStretch(1)
        jb.addWidget(self.resume_button)
        jb.addWidget(self.discard_button)
        jl.addLayout(jb)

        form_box = QWidget()
        right = QVBoxLayout(form_box)
        right.setContentsMargins(0, 0, 4, 0)
        right.addLayout(form)
        right.addWidget(self.jobs_box)
        right.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(form_box)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        self.form_scroll = scroll

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.close_button)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addWidget(scroll, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.resize(900, 480)

        self.add_files_button.clicked.connect(lambda: self.add_files())
        self.add_open_button.clicked.connect(lambda: self.add_open_picture())
        self.add_layers_button.clicked.connect(lambda: self.add_layers())
        self.remove_button.clicked.connect(self.remove_selected)
        self.train_button.clicked.connect(lambda: self.train())
        self.close_button.clicked.connect(self.reject)
        self.resume_button.clicked.connect(self.resume_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        self.jobs.currentRowChanged.connect(lambda *_: self._sync_jobs())
        self.preset.currentIndexChanged.connect(self._preset_picked)
        for spin in (self.rank, self.steps, self.rate, self.sample_every):
            spin.valueChanged.connect(self._edited)
        self.model.currentIndexChanged.connect(self._model_picked)
        self.save_memory.toggled.connect(lambda *_: self._update_estimate())
        self.trigger.textChanged.connect(self._trigger_changed)
        self._apply_preset("quick")
        self.refresh()

    # ---- models ------------------------------------------------------------------------------
    @property
    def registry(self) -> Any:
        reg = getattr(self.win, "ai_models", None)
        if reg is None:
            panel = getattr(self.win, "ai_panel", None)
            reg = getattr(panel, "registry", None)
        if reg is None:
            from ...ai.models.registry import ModelRegistry

            reg = ModelRegistry()
        return reg

    def refresh(self) -> None:
        """Re-read the trainable models and the unfinished trainings."""
        keep = self.model.currentData()
        try:
            models = [m for m in self.registry.models()
                      if m.arch in tr.ARCHES and not m.facts.inpaint]
        except (AiError, OSError) as exc:
            log.warning("could not list the models: %s", exc)
            models = []
        self._models = models
        self.model.blockSignals(True)
        self.model.clear()
        kinds = {"sd": "SD 1.5", "sdxl": "SDXL"}
        for m in models:
            self.model.addItem(f"{m.name}  ({kinds.get(m.arch, m.arch)})", m.id)
        last = getattr(getattr(self.win, "settings", None), "last_model", "")
        i = max(self.model.findData(keep), self.model.findData(last), 0 if models else -1)
        self.model.setCurrentIndex(i)
        self.model.blockSignals(False)
        self.model.setEnabled(bool(models))
        if models:
            self.model_note.hide()
        else:
            self.model.addItem("No model to train on")
            self.model_note.setText("A style is learned by an SD 1.5 or SDXL model (not an "
                                    "inpainting one). Get one in AI \u203a Model Manager.")
            self.model_note.show()
        self.refresh_jobs()
        self._update_estimate()

    def model_info(self) -> Any | None:
        mid = self.model.currentData()
        return next((m for m in self._models if m.id == mid), None)

    def resolution(self) -> int:
        info = self.model_info()
        return int(info.native) if info is not None and info.native else 512

    def _model_picked(self, *_: object) -> None:
        self._refresh_sizes()
        self._update_estimate()

    # ---- presets -----------------------------------------------------------------------------
    def _apply_preset(self, preset_id: str) -> None:
        p = tr.PRESETS[preset_id]
        self._filling = True
        try:
            self.rank.setValue(p.rank)
            self.steps.setValue(p.steps)
            self.rate.setValue(p.learning_rate)
            self.sample_every.setValue(p.sample_every)
            self._preset = preset_id
            self._show_preset()
        finally:
            self._filling = False
        self._update_estimate()

    def _show_preset(self) -> None:
        self.preset.blockSignals(True)
        i = self.preset.findData(CUSTOM)
        if self._preset == CUSTOM:
            if i < 0:
                self.preset.addItem("Custom", CUSTOM)
                i = self.preset.count() - 1
            self.preset.setCurrentIndex(i)
        else:
            if i >= 0:
                self.preset.removeItem(i)
            self.preset.setCurrentIndex(self.preset.findData(self._preset))
        self.preset.blockSignals(False)

    def _preset_picked(self, *_: object) -> None:
        pid = self.preset.currentData()
        if pid in tr.PRESETS:
            self._apply_preset(str(pid))

    def _edited(self, *_: object) -> None:
        if self._filling:
            return
        p = tr.PRESETS.get(self._preset)
        same = p is not None and (self.rank.value(), self.steps.value(),
                                  self.sample_every.value()) == (p.rank, p.steps,
                                                                 p.sample_every) \
            and abs(self.rate.value() - p.learning_rate) < 1e-9
        if not same:
            self._preset = CUSTOM
            self._show_preset()
        self._update_estimate()

    def preset_label(self) -> str:
        return self.preset.currentText()

    # ---- the plan ----------------------------------------------------------------------------
    def _trigger_changed(self, text: str) -> None:
        self.name.setPlaceholderText(style_name(text) or "the style's name")
        self._update_estimate()

    def style_name(self) -> str:
        return self.name.text().strip() or style_name(self.trigger.text())

    def device(self) -> str:
        settings = getattr(self.win, "settings", None)
        if settings is None:
            from ...settings import load_settings

            settings = load_settings()
        return str(getattr(settings, "device", "auto") or "auto")

    def plan(self) -> tr.TrainPlan:
        """The plan the form describes (not checked: `check_plan` says what is wrong)."""
        info = self.model_info()
        reg = self.registry
        name = self.style_name()
        steps = self.steps.value()
        preset = tr.PRESETS.get(self._preset, tr.PRESETS["quick"])
        every = max(1, round(steps * preset.checkpoint_every / preset.steps))
        return tr.TrainPlan(
            name=name, trigger=self.trigger.text().strip(),
            base_model=info.id if info is not None else "",
            base_name=info.name if info is not None else "",
            arch=info.arch if info is not None else "",
            resolution=self.resolution(), rank=self.rank.value(), steps=steps,
            learning_rate=float(self.rate.value()), checkpoint_every=every,
            sample_every=self.sample_every.value(), device=self.device(),
            gradient_checkpointing=self.save_memory.isChecked(), preset=self._preset,
            output=str(reg.lora_folder() / f"{name}.safetensors") if name else "",
            models_dir=str(reg.root))

    def sources(self) -> list[tr.PictureSource]:
        out = []
        for i, p in enumerate(self.pictures):
            s = p.source
            out.append(tr.PictureSource(s.label, s.path, s.rgba, self._caption(i)))
        return out

    def _caption(self, row: int) -> str:
        item = self.table.item(row, 1)
        return item.text().strip() if item is not None else ""

    def _update_estimate(self) -> None:
        info = self.model_info()
        if info is None:
            self.estimate_label.setText("\u2014")
            return
        size = self._unet.get(info.id)
        if size is None:
            try:
                size = tr.unet_bytes(info.path)
            except (AiError, OSError):
                size = 0
            self._unet[info.id] = size
        device = guess_device(self.device())
        plan = self.plan()
        try:
            est = tr.estimate(plan, size, device, tr.jobs_root())
        except (ValueError, OSError) as exc:
            self.estimate_label.setText(f"unknown ({exc})")
            return
        where = tp.DEVICES.get(device, device)
        self.estimate_label.setText(f"{est.text()} on {where}")

    # ---- pictures ----------------------------------------------------------------------------
    def _ask_files(self) -> list[str]:
        pattern = " ".join(f"*{e}" for e in READ_EXTENSIONS)
        paths, _ = QFileDialog.getOpenFileNames(self, "Pictures in your style", "",
                                                f"Pictures ({pattern});;All files (*)")
        return list(paths)

    def add_files(self, paths: list[str] | None = None) -> int:
        """Add picture files (asked for when `paths` is None); how many were added. An
        unreadable file gets its two lines; the others are added."""
        if paths is None:
            paths = self.ask_files()
        if not paths:
            return 0
        have = {p.source.path for p in self.pictures if p.source.path}
        paths = [str(p) for p in paths if str(p) not in have]
        self._say(f"Reading {len(paths)} pictures\u2026" if len(paths) > 1 else "")
        found = run_off_ui(read_files, paths, busy=self.add_files_button)
        problems = [f for f in found if isinstance(f, str)]
        added = [f for f in found if isinstance(f, Picked)]
        for p in added:
            self._add(p)
        self._say(problems[0] if len(problems) == 1 else
                  f"{len(problems)} files cannot be read, e.g.\n{problems[0]}" if problems
                  else "", error=bool(problems))
        self._changed()
        return len(added)

    def add_open_picture(self) -> bool:
        """The open document, flattened."""
        doc = getattr(self.win, "doc", None)
        if doc is None:
            self._say("No picture is open.", error=True)
            return False
        namer = getattr(self.win, "document_name", None)
        label = namer() if callable(namer) else "the open picture"
        self._add(picked_pixels(label, doc.flatten()))
        self._changed()
        return True

    def _pick_layers(self, layers: list[Any]) -> list[Any]:
        dlg = QDialog(self)
        dlg.setWindowTitle("Add Layers")
        lst = QListWidget()
        for layer in layers:
            item = QListWidgetItem(str(layer.name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            lst.addItem(item)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(dlg.accept)
        box.rejected.connect(dlg.reject)
        lay = QVBoxLayout(dlg)
        lay.addWidget(QLabel("Each checked layer becomes a picture:"))
        lay.addWidget(lst)
        lay.addWidget(box)
        if not dlg.exec():
            return []
        return [layer for i, layer in enumerate(layers)
                if lst.item(i).checkState() == Qt.CheckState.Checked]

    def add_layers(self, layers: list[Any] | None = None) -> int:
        """Layers of the open document as pictures (asked which when `layers` is None)."""
        doc = getattr(self.win, "doc", None)
        if doc is None:
            self._say("No picture is open.", error=True)
            return 0
        if layers is None:
            candidates = [layer for layer in doc.layers if not layer.bounds().empty]
            if not candidates:
                self._say("The open picture's layers are empty.", error=True)
                return 0
            layers = self.pick_layers(candidates)
        n = 0
        for layer in layers:
            b = layer.bounds()
            if b.empty:
                continue
            self._add(picked_pixels(str(layer.name), layer.read(b)))
            n += 1
        self._changed()
        return n

    def _add(self, p: Picked) -> None:
        self.pictures.append(p)
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, self._picture_item(p))
        self.table.setItem(row, 1, QTableWidgetItem(p.source.caption))

    def _picture_item(self, p: Picked) -> QTableWidgetItem:
        res = self.resolution()
        item = QTableWidgetItem(QIcon(crop_icon(p, res)),
                                f"{p.source.label}\n{size_text(p, res)}")
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        item.setToolTip(p.source.path or p.source.label)
        return item

    def _refresh_sizes(self) -> None:
        for row, p in enumerate(self.pictures):
            self.table.setItem(row, 0, self._picture_item(p))

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
            del self.pictures[row]
        self._changed()

    def size_texts(self) -> list[str]:
        items = [self.table.item(r, 0) for r in range(self.table.rowCount())]
        return [i.text().split("\n", 1)[-1] if i is not None else "" for i in items]

    def _changed(self) -> None:
        n = len(self.pictures)
        self.count_label.setText(f"{n} picture{'s' if n != 1 else ''}"
                                 + ("" if n >= tr.MIN_PICTURES or not n
                                    else f" (at least {tr.MIN_PICTURES} needed)"))
        self._update_estimate()

    # ---- unfinished trainings ----------------------------------------------------------------
    def refresh_jobs(self) -> None:
        running = {r.folder for r in tp.runs(self.win) if r.active}
        self.jobs.clear()
        for job in tr.unfinished_jobs(tr.jobs_root()):
            if job.folder in running:
                continue
            when = time.strftime("%d %b %H:%M", time.localtime(job.folder.stat().st_mtime))
            at = (f"stopped at step {job.step} of {job.plan.steps}" if job.step
                  else "not started")
            item = QListWidgetItem(f"{job.plan.name}: {at} ({when})")
            item.setData(Qt.ItemDataRole.UserRole, str(job.folder))
            item.setToolTip(str(job.folder))
            self.jobs.addItem(item)
        if self.jobs.count():
            self.jobs.setCurrentRow(0)
        self.jobs_box.setVisible(self.jobs.count() > 0)
        self._sync_jobs()

    def _sync_jobs(self) -> None:
        has = self.jobs.currentItem() is not None
        self.resume_button.setEnabled(has)
        self.discard_button.setEnabled(has)

    def _job_folder(self) -> Path | None:
        item = self.jobs.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def resume_selected(self) -> Any:
        folder = self._job_folder()
        if folder is None or self._busy():
            return None
        try:
            run = tp.start_training(self.win, folder)
        except (tr.TrainError, OSError) as exc:
            self._say(str(exc), error=True)
            return None
        self.refresh_jobs()
        self.hide()
        return run

    def discard_selected(self) -> bool:
        folder = self._job_folder()
        if folder is None:
            return False
        if not self.confirm("Discard the training?",
                            f"\u201c{self.jobs.currentItem().text()}\u201d is thrown away."):
            return False
        tr.discard_job(folder)
        self.refresh_jobs()
        return True

    def _confirm(self, title: str, text: str) -> bool:
        sb = QMessageBox.StandardButton
        return QMessageBox.question(self, title, text, sb.Yes | sb.No, sb.No) == sb.Yes

    # ---- training ----------------------------------------------------------------------------
    def _busy(self) -> bool:
        run = tp.active_run(self.win)
        if run is None:
            return False
        self._say(f"\u201c{run.plan.name}\u201d is training now: one style at a time.\n"
                  "Wait for it, or cancel it in its window.", error=True)
        win = tp.progress_windows(self.win).get(run.folder)
        if win is not None:
            tp.show_window(win)
        return True

    def train(self) -> Any:
        """Check the plan, prepare the job folder (off the UI thread), start the trainer
        and show its window; the run, or None with a message saying why not."""
        if self._busy():
            return None
        info = self.model_info()
        if info is None:
            self._say("There is no model to train on: get an SD 1.5 or SDXL model in "
                      "AI \u203a Model Manager.", error=True)
            return None
        plan = self.plan()
        sources = self.sources()
        try:
            if not plan.name:   # named after the trigger word: a missing trigger is the problem
                tr.check_plan(replace(plan, name="style"), len(sources))
            tr.check_plan(plan, len(sources))
            self._say("Preparing the pictures\u2026")
            folder = run_off_ui(_prepare, plan, sources, str(info.path),
                                busy=self.train_button)
            run = tp.start_training(self.win, folder)
        except tr.TrainError as exc:
            self._say(_sentence(str(exc)), error=True)
            return None
        except OSError as exc:
            self._say(f"The training folder cannot be written: {exc.strerror or exc}",
                      error=True)
            return None
        self._say("")
        self.hide()
        return run

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(short_message(text))
        self.message.setStyleSheet(ERROR_STYLE if error else MUTED_STYLE)
        self.message.setVisible(bool(text))


def _prepare(plan: tr.TrainPlan, sources: list[tr.PictureSource], model_path: str) -> Path:
    """(Off the UI thread) the base model's hash in the plan (the LoRA's metadata names it;
    cached after the first time), then the job folder."""
    from ...ai.models.model_hash import model_sha256

    try:
        plan = replace(plan, base_sha256=model_sha256(model_path))
    except OSError as exc:   # the LoRA is made all the same, without it
        log.warning("the base model %s could not be hashed: %s", model_path, exc)
    return tr.prepare_job(tr.jobs_root(), plan, sources)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def open_train_style(win: Any) -> TrainStyleDialog:
    """Show the window's Train a Style dialog (one per window, modeless); while a style is
    training, its progress window comes up with it."""
    dlg = getattr(win, "_train_style_dialog", None)
    if dlg is None:
        dlg = TrainStyleDialog(win)
        win._train_style_dialog = dlg
    else:
        dlg.refresh()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    run = tp.active_run(win)
    if run is not None:
        pw = tp.progress_windows(win).get(run.folder)
        if pw is not None:
            tp.show_window(pw)
    return dlg


def install_train_style(win: Any) -> Any:
    """AI › Train a Style… in the window's AI menu (after Model Manager…); the action."""
    from PySide6.QtGui import QAction

    from ..actions import window_menu

    act = QAction(ACTION_TEXT, win)
    act.setObjectName("trainStyle")
    act.setToolTip("Teach a model your style from your own pictures (a LoRA)")
    act.setStatusTip("Teach a model your style from your own pictures (a LoRA)")
    act.triggered.connect(lambda _c=False: open_train_style(win))
    win.addAction(act)
    menu = window_menu(win, "AI")
    if menu is not None:
        acts = menu.actions()
        models = next((a for a in acts if a.text().replace("&", "").startswith("Model Man")),
                      None)
        after = acts.index(models) + 1 if models is not None else len(acts)
        if after < len(acts):
            menu.insertAction(acts[after], act)
        else:
            menu.addAction(act)
    ai = getattr(win, "ai_actions", None)
    if isinstance(ai, dict):
        ai["train"] = act
    return act
