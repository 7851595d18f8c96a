"""The Generations panel's details of one entry: its variations (click one to pick it), the
prompts (editable, for a tweaked re-run), every setting, and the Re-run / Load settings / Copy
prompt buttons. No document and no worker here: the panel does the work."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...ai.gen_history import GenerationEntry
from ...ai.requests import SCHEDULERS

VARIANT_SIDE = 72
OP_NAMES = {"inpaint": "Fill selection", "img2img": "Refine", "txt2img": "Generate",
            "outpaint": "Expand canvas", "style": "Style transfer"}


def png_pixmap(data: bytes) -> QPixmap:
    pm = QPixmap()
    if data:
        pm.loadFromData(data, "PNG")
    return pm


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def summary_line(e: GenerationEntry) -> str:
    """"inpaint · seed 7 · tiny-sd · 2026-01-02 14:03" for the list."""
    seeds = e.seeds or [e.record.get("seed")]
    seed = f"seed {seeds[0]}" + (f" (+{len(seeds) - 1})" if len(seeds) > 1 else "")
    return " · ".join(str(p) for p in (e.op, seed, e.model, when(e.time)) if p)


def settings_text(e: GenerationEntry) -> str:
    """Every setting of the entry, one short line each (rich text)."""
    rec = e.record
    rows: list[tuple[str, Any]] = [("Operation", OP_NAMES.get(e.op, e.op)),
                                   ("Seeds", ", ".join(str(s) for s in e.seeds))]
    model = e.model + (f"  (hash {e.model_hash[:12]})" if e.model_hash else "")
    rows.append(("Model", model))
    if e.op == "style":
        rows += [("Style", rec.get("style")), ("Strength", rec.get("strength")),
                 ("Style scale", rec.get("style_scale")),
                 ("Preserve colours", rec.get("preserve_colors"))]
    else:
        rows += [("Steps", rec.get("steps")), ("CFG", rec.get("guidance")),
                 ("Sampler", SCHEDULERS.get(str(rec.get("scheduler")), rec.get("scheduler")))]
        if e.op != "txt2img":
            rows.append(("Strength", rec.get("strength")))
        if e.op == "outpaint":
            rows.append(("Expand", f"{rec.get('direction')} by {rec.get('pixels')} px"))
    size = rec.get("size")
    if isinstance(size, list) and len(size) == 2:
        rows.append(("Model size", f"{size[0]}×{size[1]}"))
    if e.selection:
        x, y, w, h = e.selection
        rows.append(("Selection", f"{w}×{h} at {x}, {y}"))
    rows.append(("Made", when(e.time)))
    if e.document:
        rows.append(("Document", e.document))
    if e.applied:
        used = ", ".join(f"{int(a.get('variant', 0)) + 1} → “{a.get('layer', '?')}”"
                         for a in e.applied)
        rows.append(("Applied", used))
    return "<br>".join(f"<span style='color:#9a9a9a'>{k}:</span> {_esc(v)}"
                       for k, v in rows if v not in (None, ""))


def _esc(v: Any) -> str:
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class GenerationDetails(QWidget):
    rerun = Signal()
    load_settings = Signal()
    copy_prompt = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry: GenerationEntry | None = None
        self.variants = QButtonGroup(self)
        self.variants.setExclusive(True)
        self._strip = QHBoxLayout()
        self._strip.setContentsMargins(0, 0, 0, 0)
        self._strip.setSpacing(4)
        strip_box = QWidget()
        strip_box.setLayout(self._strip)
        self.strip_scroll = QScrollArea()
        self.strip_scroll.setWidget(strip_box)
        self.strip_scroll.setWidgetResizable(True)
        self.strip_scroll.setFixedHeight(VARIANT_SIDE + 28)
        self.strip_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Prompt (edit it, then Re-run)")
        self.prompt.setFixedHeight(58)
        self.negative = QPlainTextEdit()
        self.negative.setPlaceholderText("Negative prompt")
        self.negative.setFixedHeight(38)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.setToolTip("Run it again with the prompts above and the picked "
                                     "variation's seed, on the selection (or its old region)")
        self.rerun_button.setStyleSheet("QPushButton { font-weight: 600; }")
        self.load_button = QPushButton("Load settings")
        self.load_button.setToolTip("Put these settings in the AI panel without running")
        self.copy_button = QPushButton("Copy prompt")
        self.rerun_button.clicked.connect(self.rerun)
        self.load_button.clicked.connect(self.load_settings)
        self.copy_button.clicked.connect(self.copy_prompt)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.rerun_button, self.load_button, self.copy_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.strip_scroll)
        lay.addWidget(self.prompt)
        lay.addWidget(self.negative)
        lay.addWidget(self.info)
        lay.addLayout(buttons)
        self.show_entry(None)

    def show_entry(self, entry: GenerationEntry | None) -> None:
        self.entry = entry
        for b in self.variants.buttons():
            self.variants.removeButton(b)
        while self._strip.count():
            item = self._strip.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        has = entry is not None
        for w in (self.prompt, self.negative, self.rerun_button, self.load_button,
                  self.copy_button):
            w.setEnabled(has)
        if entry is None:
            self.prompt.setPlainText("")
            self.negative.setPlainText("")
            self.info.setText("<i>Pick a generation to see its settings.</i>")
            return
        applied = {int(a.get("variant", -1)) for a in entry.applied}
        for i, png in enumerate(entry.thumbnails):
            b = QToolButton()
            b.setCheckable(True)
            b.setIcon(QIcon(png_pixmap(png)))
            b.setIconSize(QSize(VARIANT_SIDE, VARIANT_SIDE))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            seed = entry.seeds[i] if i < len(entry.seeds) else "?"
            b.setText(f"{'✓ ' if i in applied else ''}{seed}")
            b.setToolTip(f"Variation {i + 1}, seed {seed}"
                         + (" (applied as a layer)" if i in applied else ""))
            self.variants.addButton(b, i)
            self._strip.insertWidget(i, b)
        if self.variants.buttons():
            self.variants.buttons()[0].setChecked(True)
        self._strip.addStretch(1)
        self.prompt.setPlainText(entry.prompt)
        self.negative.setPlainText(str(entry.record.get("negative_prompt", "")))
        self.info.setText(settings_text(entry))
        style = entry.op == "style"
        self.rerun_button.setEnabled(not style)
        self.load_button.setEnabled(not style)
        if style:
            self.rerun_button.setToolTip("Style transfers re-run from the Style panel")

    def chosen_variant(self) -> int:
        return max(0, self.variants.checkedId())

    def edited_record(self) -> dict[str, Any]:
        """The picked variation's record with the prompts as edited here."""
        assert self.entry is not None
        rec = self.entry.variant_record(self.chosen_variant())
        rec["prompt"] = self.prompt.toPlainText().strip()
        rec["negative_prompt"] = self.negative.toPlainText().strip()
        return rec
