"""The strip of variation thumbnails a job made: click or arrow keys pick, Enter applies.

Each thumbnail shows what applying it would give (`ai.composite.variant_over_original`: the
variation blended through its mask over the pixels the request copied) and its seed ("≈ seed"
for a "more like this" variation: its perturbation seed). Ctrl+click a second thumbnail to pick
the two ends of an in-between.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...ai.composite import variant_over_original

if TYPE_CHECKING:
    from ...ai.requests import AiResult

THUMB = 76
MIN_THUMB = 52
CELL_W, CELL_H = THUMB + 14, THUMB + 38


def seed_label(result: AiResult, i: int, seed: int) -> str:
    """The text under thumbnail `i`: its number and seed (a perturbation: "≈" its seed)."""
    mix = result.request.mix
    if mix is not None and mix.kind == "more_like_this" and i < len(mix):
        return f"#{i + 1} ≈{seed}\n~{mix.subseeds[i]}"
    if mix is not None and i < len(mix):
        return f"#{i + 1} t={mix.ts[i]:.2f}\n{seed}"
    return f"#{i + 1}\n{seed}"


def _pixmap(rgb: np.ndarray, side: int) -> QPixmap:
    px = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = px.shape[:2]
    img = QImage(px.data, w, h, w * 3, QImage.Format.Format_RGB888)
    img = img.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                     Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(img)  # copies the pixels


class VariationStrip(QListWidget):
    """Thumbnails of one result's variations."""

    apply_requested = Signal(int)   # Enter, Return or double-click on a variation
    picked = Signal(int)            # the current variation changed (-1: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: AiResult | None = None
        self._applied: set[int] = set()
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(CELL_W, CELL_H))
        self.setWordWrap(True)
        self.setSpacing(2)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # sized to fit
        self.setMinimumHeight(CELL_H + 8)
        self.setToolTip("Variations: click or use the arrow keys to preview one on the canvas; "
                        "Enter or double-click applies it as a new layer. Ctrl+click a second "
                        "one to make in-betweens of the two.")
        self.currentRowChanged.connect(self.picked)
        self.itemDoubleClicked.connect(lambda it: self.apply_requested.emit(self.row(it)))

    def set_result(self, result: AiResult | None) -> None:
        self.blockSignals(True)
        self.clear()
        self.result = result
        self._applied: set[int] = set()
        if result is not None:
            for i, seed in enumerate(result.seeds):
                pm = _pixmap(variant_over_original(result, i), THUMB)
                icon = QIcon(pm)
                icon.addPixmap(pm, QIcon.Mode.Selected)  # no highlight tint on the picture
                item = QListWidgetItem(icon, seed_label(result, i, seed))
                item.setToolTip(f"Variation {i + 1}, seed {seed}\n{result.parameters(i)}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
                self.addItem(item)
        self.blockSignals(False)
        self._fit_rows()
        if result is not None and result.images:
            self.setCurrentRow(0)
        else:
            self.picked.emit(-1)

    def set_applied(self, indices: set[int]) -> None:
        """Mark the variations that are on a layer now (a tick under the thumbnail)."""
        if self.result is None or indices == getattr(self, "_applied", set()):
            return
        self._applied = set(indices)
        for i, seed in enumerate(self.result.seeds[:self.count()]):
            item = self.item(i)
            label = seed_label(self.result, i, seed)
            if i in indices:   # a tick and green text: applied (the tooltip says so)
                first, _, rest = label.partition("\n")
                label = f"{first} \u2713\n{rest}"
            item.setText(label)
            item.setForeground(QColor(140, 220, 140) if i in indices else QColor())
            item.setToolTip(f"Variation {i + 1}, seed {seed}"
                            + (" — applied as a layer" if i in indices else "")
                            + f"\n{self.result.parameters(i)}")

    def _fit_rows(self) -> None:
        """Thumbnails as big as THUMB, smaller (down to MIN_THUMB) when that puts the whole
        batch on one row; as tall as its rows need, so none hides below the dock's fold."""
        n, width = max(1, self.count()), self.viewport().width() - 6
        side = max(MIN_THUMB, min(THUMB, width // n - (CELL_W - THUMB)))
        cell = QSize(side + (CELL_W - THUMB), side + (CELL_H - THUMB))
        if self.gridSize() != cell:
            self.setIconSize(QSize(side, side))
            self.setGridSize(cell)
        per_row = max(1, width // cell.width())
        rows = max(1, -(-self.count() // per_row))
        h = rows * cell.height() + 2 * self.frameWidth() + 6
        if self.minimumHeight() != h or self.maximumHeight() != h:
            self.setFixedHeight(h)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_rows()

    def chosen(self) -> int:
        return self.currentRow() if self.result is not None else -1

    def endpoints(self) -> tuple[int, int] | None:
        """The two selected variations (in strip order), or None unless exactly two are."""
        if self.result is None:
            return None
        rows = sorted(self.row(it) for it in self.selectedItems())
        return (rows[0], rows[1]) if len(rows) == 2 else None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.chosen() >= 0 \
                and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.apply_requested.emit(self.chosen())
            event.accept()
            return
        super().keyPressEvent(event)


class VariationsBox(QWidget):
    """The strip with its title and its Apply / Load settings / Discard buttons, and the
    exploration row (in-betweens, more like this) for diffusion results."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Variations</b>")
        self.strip = VariationStrip()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Put the picked variation on a new layer (Enter in the "
                                     "strip); one undo step. The strip stays for another.")
        self.regen_button = QPushButton("Load settings")
        self.regen_button.setToolTip("Put the picked variation's prompt, seed and settings (or "
                                     "those of the active AI layer) in the form to tweak")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Clear the variations and the canvas preview")
        # Latent exploration of the picked variations.
        self.between_button = QPushButton("In-between")
        self.between_button.setToolTip("Frames between the two selected variations (Ctrl+click "
                                       "picks the second): their noise is slerped, their "
                                       "prompts blended")
        self.frames = QSpinBox()
        self.frames.setRange(1, 12)
        self.frames.setValue(5)
        self.frames.setPrefix("\u00d7")
        self.frames.setToolTip("How many frames to render between the two variations")
        self.more_button = QPushButton("More like this")
        self.more_button.setToolTip("New variations close to the picked one: its starting noise "
                                    "nudged by other seeds' (as many as Variations says)")
        self.amount = QSpinBox()
        self.amount.setRange(2, 60)
        self.amount.setValue(20)
        self.amount.setSuffix(" %")
        self.amount.setToolTip("How far the new variations may wander from the picked one "
                               "(10–30 % keeps its composition)")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.title.hide()   # the strip speaks for itself; its height goes to the form
        lay.addWidget(self.strip)
        row = QHBoxLayout()
        for b in (self.apply_button, self.regen_button, self.discard_button):
            row.addWidget(b)
        lay.addLayout(row)
        row = QHBoxLayout()
        for w in (self.between_button, self.frames, self.more_button, self.amount):
            row.addWidget(w)
        row.addStretch(1)
        lay.addLayout(row)

    def show_results(self, on: bool, explore: bool = True) -> None:
        """Without results only Load settings shows (it can read the active AI layer); the
        exploration row only for results a diffusion model made."""
        for w in (self.strip, self.apply_button, self.discard_button):
            w.setVisible(on)
        for w in (self.between_button, self.frames, self.more_button, self.amount):
            w.setVisible(on and explore)
