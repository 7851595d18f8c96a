"""The AI form's "LoRAs" section: the artist's LoRA files, a weight each.

    section = LorasSection()
    section.set_source(lambda: registry)     # the model source: loras(), add_lora(path)
    section.set_arch("sd")                   # the picked model's architecture
    section.add_lora("watercolor_v2")        # a row: name, weight (-4..4), remove, triggers
    section.lora_refs()                      # -> (LoraRef("watercolor_v2", 1.0),)

The picker lists the model source's LoRAs; those made for another base model are shown but
cannot be picked ("for SDXL"), and a row whose LoRA does not fit the picked model says so and
is left out of the request. A LoRA's trigger words (from its file's metadata) are small
buttons: one click puts the word in the prompt (`insert_word`). "Add LoRA…" asks for a file
through the window's `Prompts` (`ask_addon_path("lora")`) and adds it to the models folder
(`add_lora`); a refused file (a pickle, a damaged file, not a LoRA) gets two plain lines naming
it. Disabled, with a tooltip saying why, for the classical fill.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from ...ai.conditioning import MAX_LORA_WEIGHT, MAX_LORAS, LoraRef
from ...ai.errors import AiError, quoted
from .ai_control_row import MUTED_STYLE, NOTE_STYLE, FoldSection
from .messages import short_message
from .widgets import guard_wheel, run_off_ui

log = logging.getLogger(__name__)
ARCH_LABELS = {"sd": "SD 1.5", "sdxl": "SDXL"}
MAX_TRIGGERS = 6      # trigger-word buttons shown per LoRA (the rest in the tooltip)
TRIGGER_COLUMNS = 3
PICK_PROMPT = "Pick a LoRA to add…"


def arch_label(arch: str) -> str:
    return ARCH_LABELS.get(arch, arch or "any model")


class LoraRow(QFrame):
    """One LoRA of the request: its name, weight, remove button and trigger words."""

    changed = Signal()
    remove_requested = Signal(object)
    word_clicked = Signal(str)

    def __init__(self, info: Any, weight: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loraRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.info = info
        self.lora_id = str(info.id)
        self.fits = True
        self.name = QLabel(str(info.name))
        self.name.setStyleSheet("font-weight: 600;")
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.name.setToolTip(f"{info.name} ({arch_label(str(info.arch))})\n{info.path}")
        self.weight = QDoubleSpinBox()
        self.weight.setRange(-MAX_LORA_WEIGHT, MAX_LORA_WEIGHT)
        self.weight.setSingleStep(0.05)
        self.weight.setDecimals(2)
        self.weight.setValue(weight)
        self.weight.setKeyboardTracking(False)
        self.weight.setToolTip("How strongly the LoRA acts: 1 as trained, 0 off, negative "
                               "pushes away from it")
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setAutoRaise(True)
        self.remove.setToolTip("Leave this LoRA out (the file stays installed)")
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(NOTE_STYLE)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note.hide()
        self.trigger_buttons: list[QToolButton] = []
        g = QGridLayout(self)
        g.setContentsMargins(4, 2, 2, 4)
        g.setHorizontalSpacing(4)
        g.setVerticalSpacing(2)
        head = QHBoxLayout()
        head.addWidget(self.name, 1)
        head.addWidget(self.weight)
        head.addWidget(self.remove)
        g.addLayout(head, 0, 0, 1, TRIGGER_COLUMNS)
        triggers = [str(t) for t in (getattr(info, "triggers", ()) or ()) if str(t).strip()]
        for i, word in enumerate(triggers[:MAX_TRIGGERS]):
            b = QToolButton()
            b.setText(_short(word))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # the prompt keeps its cursor
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            b.setToolTip(f"Put “{word}” in the prompt (a trigger word of {info.name})")
            b.setStyleSheet("QToolButton { padding: 1px 6px; border: 1px solid #6a6a6a; "
                            "border-radius: 9px; } QToolButton:hover { border-color: #9fc5ff; }")
            b.clicked.connect(lambda _c=False, w=word: self.word_clicked.emit(w))
            self.trigger_buttons.append(b)
            g.addWidget(b, 1 + i // TRIGGER_COLUMNS, i % TRIGGER_COLUMNS)
        if len(triggers) > MAX_TRIGGERS:
            more = QLabel(f"+{len(triggers) - MAX_TRIGGERS} more")
            more.setStyleSheet(MUTED_STYLE)
            more.setToolTip(", ".join(triggers))
            g.addWidget(more, 1 + MAX_TRIGGERS // TRIGGER_COLUMNS, 0, 1, TRIGGER_COLUMNS)
        g.addWidget(self.note, g.rowCount(), 0, 1, TRIGGER_COLUMNS)
        for c in range(TRIGGER_COLUMNS):
            g.setColumnStretch(c, 1)
        self.weight.valueChanged.connect(lambda *_: self.changed.emit())

    def set_fits(self, fits: bool, arch: str) -> None:
        """Whether the LoRA fits the picked model (`arch`); one that does not is left out."""
        self.fits = fits
        self.weight.setEnabled(fits)
        text = "" if fits else (f"For {arch_label(str(self.info.arch))} models: left out with "
                                f"this {arch_label(arch)} model.")
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def ref(self) -> LoraRef:
        return LoraRef(self.lora_id, round(float(self.weight.value()), 4))


class LorasSection(FoldSection):
    """The form's LoRAs (see the module's notes)."""

    changed = Signal()
    insert_word = Signal(str)       # a trigger word to put in the prompt

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("LoRAs", "Your LoRA files: a style, a character or a concept the "
                                  "model learned, each at a weight", parent)
        self._source: Callable[[], Any] | None = None
        self._arch = ""
        self._disabled_reason = ""
        self.ask_path: Callable[[], str | None] | None = None   # None: the window's Prompts
        self.rows: list[LoraRow] = []
        self._infos: dict[str, Any] = {}
        self.picker = QComboBox()
        self.picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setMinimumContentsLength(8)
        self.picker.setToolTip("Add one of your LoRAs; those made for another base model are "
                               "listed but cannot be used with this one")
        self.picker.activated.connect(self._picked)
        self.add_file = QPushButton("Add LoRA…")
        self.add_file.setToolTip("Add a LoRA file you have (.safetensors, kohya / A1111 or "
                                 "diffusers layout); it is copied into the LoRA folder")
        self.add_file.clicked.connect(lambda: self.add_from_file())
        self.message = QLabel()
        self.message.setObjectName("loraMessage")
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.hide()
        self.rows_box = QGridLayout()
        self.rows_box.setContentsMargins(0, 0, 0, 0)
        self.rows_box.setVerticalSpacing(4)
        self.body_layout.addLayout(self.rows_box)
        row = QHBoxLayout()
        row.addWidget(self.picker, 1)
        row.addWidget(self.add_file)
        self.body_layout.addLayout(row)
        self.body_layout.addWidget(self.message)
        self.refresh()

    # ---- wiring ----------------------------------------------------------------------------
    def set_source(self, source: Callable[[], Any] | None) -> None:
        """`source()` -> the model source whose `loras()` are offered (asked at the next
        `refresh`)."""
        self._source = source

    def set_arch(self, arch: str) -> None:
        if arch != self._arch:
            self._arch = arch
            self.refresh()

    def set_disabled_reason(self, reason: str) -> None:
        self._disabled_reason = reason
        self.body.setEnabled(not reason)
        self.body.setToolTip(reason)
        self.toggle.setToolTip(reason or "Your LoRA files: a style, a character or a concept "
                                         "the model learned, each at a weight")

    def _available(self) -> list[Any]:
        source = self._source() if self._source is not None else None
        lister = getattr(source, "loras", None)
        if lister is None:
            return []
        try:
            return list(lister())
        except (AiError, OSError) as exc:
            log.warning("could not list the LoRAs: %s", exc)
            return []

    def fits(self, info: Any) -> bool:
        return not self._arch or str(info.arch) == self._arch

    def refresh(self) -> None:
        """Re-read the source's LoRAs into the picker; rows follow the picked model."""
        infos = self._available()
        self._infos = {str(i.id): i for i in infos}
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItem(PICK_PROMPT if infos else "No LoRAs yet: Add LoRA…", "")
        taken = {r.lora_id for r in self.rows}
        ordered = sorted(infos, key=lambda i: (not self.fits(i), str(i.name).lower()))
        model = self.picker.model()
        for info in ordered:
            fits = self.fits(info)
            text = str(info.name) if fits else f"{info.name} (for {arch_label(str(info.arch))})"
            self.picker.addItem(text, str(info.id))
            item = model.item(self.picker.count() - 1)  # type: ignore[attr-defined]
            if not fits or str(info.id) in taken:
                item.setEnabled(False)
            self.picker.setItemData(self.picker.count() - 1,
                                    f"{info.name}: {arch_label(str(info.arch))}"
                                    + ("" if fits else " — does not fit the picked model"),
                                    Qt.ItemDataRole.ToolTipRole)
        self.picker.setCurrentIndex(0)
        self.picker.blockSignals(False)
        for r in self.rows:
            info = self._infos.get(r.lora_id, r.info)
            r.set_fits(self.fits(info), self._arch)
        self._sync()

    # ---- rows ------------------------------------------------------------------------------
    def _picked(self, index: int) -> None:
        lora_id = str(self.picker.itemData(index) or "")
        self.picker.setCurrentIndex(0)
        if lora_id:
            self.add_lora(lora_id)

    def add_lora(self, lora_id: str, weight: float = 1.0) -> LoraRow | None:
        """Add the source's LoRA `lora_id` at `weight` (None: unknown, already there, or the
        section is full)."""
        info = self._infos.get(lora_id)
        if info is None or any(r.lora_id == lora_id for r in self.rows) \
                or len(self.rows) >= MAX_LORAS:
            return None
        row = LoraRow(info, weight)
        row.changed.connect(self.changed)
        row.remove_requested.connect(self.remove_row)
        row.word_clicked.connect(self.insert_word)
        row.set_fits(self.fits(info), self._arch)
        self.rows.append(row)
        self.rows_box.addWidget(row, self.rows_box.rowCount(), 0)
        guard_wheel(row)
        self.set_open(True)
        self.refresh()
        self.changed.emit()
        return row

    def remove_row(self, row: LoraRow) -> None:
        if row in self.rows:
            self.rows.remove(row)
        row.hide()
        row.setParent(None)
        row.deleteLater()
        self.refresh()
        self.changed.emit()

    def clear(self) -> None:
        for r in list(self.rows):
            self.remove_row(r)

    def set_refs(self, refs: list[tuple[str, float]]) -> None:
        """Rows for (id, weight) pairs (a record loaded back); unknown LoRAs are skipped."""
        self.clear()
        for name, weight in refs:
            self.add_lora(name, weight)

    def lora_refs(self) -> list[LoraRef]:
        """The request's LoRAs: every row that fits the picked model (none when disabled)."""
        if self._disabled_reason:
            return []
        return [r.ref() for r in self.rows if r.fits]

    def _sync(self) -> None:
        self.set_count(len([r for r in self.rows if r.fits]))
        self.picker.setEnabled(len(self.rows) < MAX_LORAS)

    # ---- adding a file ---------------------------------------------------------------------
    def _ask(self) -> str | None:
        if self.ask_path is not None:
            return self.ask_path()
        w: Any = self
        while w is not None and getattr(w, "prompts", None) is None:
            w = w.parent()
        if w is not None:
            return w.prompts.ask_addon_path("lora")
        from ..dialogs.prompts import Prompts

        return Prompts(self.window()).ask_addon_path("lora")

    def add_from_file(self) -> LoraRow | None:
        """Ask for a LoRA file, add it to the models folder and to the request; a refused
        file gets two plain lines naming it."""
        path = self._ask()
        if not path:
            return None
        source = self._source() if self._source is not None else None
        adder = getattr(source, "add_lora", None)
        if adder is None:
            self.say("LoRAs cannot be added to this model source.", error=True)
            return None
        self.say(f"Adding {Path(str(path)).name}…")
        try:
            info = run_off_ui(adder, path, busy=self.add_file)   # copied and hashed: a moment
        except AiError as exc:
            self.say(refusal(path, str(exc)), error=True)
            return None
        except OSError as exc:
            self.say(refusal(path, exc.strerror or str(exc)), error=True)
            return None
        self.refresh()
        row = self.add_lora(str(info.id))
        if row is None:
            self.say(f"Added {info.name} (for {arch_label(str(info.arch))} models).")
        else:
            words = len(row.trigger_buttons)
            self.say(f"Added {info.name}" + (": click a trigger word to put it in the prompt."
                                             if words else "."))
        return row

    def say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #ff8a80;" if error else MUTED_STYLE)
        self.message.setText(short_message(text))
        self.message.setVisible(bool(text))


def refusal(path: str, why: str) -> str:
    """Two plain lines: which file was refused, and why (the source's message)."""
    why = why.strip()
    name = Path(path).name
    first = f"Could not add the LoRA {quoted(name)}."
    if name in why:
        return short_message(why[:1].upper() + why[1:])
    return short_message(f"{first}\n{why[:1].upper() + why[1:]}")


def _short(word: str, n: int = 18) -> str:
    return word if len(word) <= n else word[:n - 1] + "…"
