"""The Generations panel's details of one entry: its variations (click one to pick it), the
prompts (editable, for a tweaked re-run), every setting, and the Re-run / Load settings / Copy
prompt buttons. No document and no worker here: the panel does the work."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...ai.records.gen_history import GenerationEntry
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


def short_when(t: float, now: float | None = None) -> str:
    """"14:03" today, "27 Nov" this year, else "2025-11-27"."""
    lt, ln = time.localtime(t), time.localtime(time.time() if now is None else now)
    if lt[:3] == ln[:3]:
        return time.strftime("%H:%M", lt)
    return time.strftime("%d %b" if lt.tm_year == ln.tm_year else "%Y-%m-%d", lt)


def summary_line(e: GenerationEntry) -> str:
    """"inpaint · 14:03 · seed 7 (+1) · tiny-sd" for the list."""
    seeds = e.seeds or [e.record.get("seed")]
    seed = f"seed {seeds[0]}" + (f" (+{len(seeds) - 1})" if len(seeds) > 1 else "")
    return " · ".join(str(p) for p in (e.op, short_when(e.time), seed, e.model) if p)


def settings_text(e: GenerationEntry) -> str:
    """Every setting of the entry in a few compact lines (rich text)."""
    rec = e.record
    how: list[Any] = [OP_NAMES.get(e.op, e.op)]
    if e.op == "style":
        how += [rec.get("style"), _kv("strength", rec.get("strength")),
                _kv("scale", rec.get("style_scale")),
                "colours kept" if rec.get("preserve_colors") else None]
    else:
        sampler = SCHEDULERS.get(str(rec.get("scheduler")), rec.get("scheduler"))
        how += [_kv("steps", rec.get("steps")), _kv("CFG", rec.get("guidance")), sampler]
        if e.op != "txt2img":
            how.append(_kv("strength", rec.get("strength")))
        if e.op == "outpaint":
            how.append(f"{rec.get('direction')} +{rec.get('pixels')} px")
    model = e.model + (f" (hash {e.model_hash[:10]})" if e.model_hash else "")
    size = rec.get("size")
    if isinstance(size, list) and len(size) == 2:
        model += f" at {size[0]}×{size[1]}"
    where = [when(e.time), e.document or None]
    if e.selection:
        x, y, w, h = e.selection
        where.insert(0, f"selection {w}×{h} at {x}, {y}")
    lines = [_join(how), f"{_esc(model)}",
             "seed" + ("s " if len(e.seeds) > 1 else " ") + ", ".join(map(str, e.seeds)),
             _join(where)]
    if e.applied:
        used = ", ".join(f"{int(a.get('variant', 0)) + 1} as “{a.get('layer', '?')}”"
                         for a in e.applied)
        lines.append(f"<span style='color:#8fd18f'>applied: {_esc(used)}</span>")
    return "<br>".join(lines)


def _kv(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{key} {value}"


def _join(parts: list[Any]) -> str:
    return _esc(" · ".join(str(p) for p in parts if p not in (None, "")))


def _esc(v: Any) -> str:
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class GenerationDetails(QWidget):
    rerun = Signal()
    load_settings = Signal()
    copy_prompt = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry: GenerationEntry | None = None
        self.variants = QListWidget()
        self.variants.setViewMode(QListView.ViewMode.IconMode)
        self.variants.setFlow(QListView.Flow.LeftToRight)
        self.variants.setWrapping(False)
        self.variants.setMovement(QListView.Movement.Static)
        self.variants.setIconSize(QSize(VARIANT_SIDE, VARIANT_SIDE))
        self.variants.setGridSize(QSize(VARIANT_SIDE + 30, VARIANT_SIDE + 24))
        self.variants.setFixedHeight(VARIANT_SIDE + 30)
        self.variants.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.variants.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.variants.setToolTip("The variations it made: pick the one whose seed Re-run uses")
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Prompt (edit it, then Re-run)")
        self.prompt.setFixedHeight(50)
        self.negative = QPlainTextEdit()
        self.negative.setPlaceholderText("Negative prompt")
        self.negative.setFixedHeight(30)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setStyleSheet("color: #c8c8c8;")
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
        info_scroll = QScrollArea()
        info_scroll.setWidget(self.info)
        info_scroll.setWidgetResizable(True)
        info_scroll.setFrameShape(QFrame.Shape.NoFrame)
        info_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        info_scroll.setMinimumHeight(48)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.variants)
        lay.addWidget(self.prompt)
        lay.addWidget(self.negative)
        lay.addWidget(info_scroll, 1)
        lay.addLayout(buttons)
        self.show_entry(None)

    def show_entry(self, entry: GenerationEntry | None) -> None:
        self.entry = entry
        self.variants.clear()
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
            seed = entry.seeds[i] if i < len(entry.seeds) else "?"
            item = QListWidgetItem(QIcon(png_pixmap(png)), f"{'✓ ' if i in applied else ''}{seed}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setToolTip(f"Variation {i + 1}, seed {seed}"
                            + (" (applied as a layer)" if i in applied else ""))
            self.variants.addItem(item)
        if self.variants.count():
            self.variants.setCurrentRow(0)
        self.prompt.setPlainText(entry.prompt)
        self.negative.setPlainText(str(entry.record.get("negative_prompt", "")))
        self.info.setText(settings_text(entry))
        style = entry.op == "style"
        self.rerun_button.setEnabled(not style)
        self.load_button.setEnabled(not style)
        if style:
            self.rerun_button.setToolTip("Style transfers re-run from the Style panel")

    def chosen_variant(self) -> int:
        return max(0, self.variants.currentRow())

    def edited_record(self) -> dict[str, Any]:
        """The picked variation's record with the prompts as edited here."""
        assert self.entry is not None
        rec = self.entry.variant_record(self.chosen_variant())
        rec["prompt"] = self.prompt.toPlainText().strip()
        rec["negative_prompt"] = self.negative.toPlainText().strip()
        return rec
