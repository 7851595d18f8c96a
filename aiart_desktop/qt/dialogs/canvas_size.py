"""Image > Canvas Size: a new width and height, and where the old picture sits in it."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from ...core.document import MAX_SIDE

ANCHORS = (
    ("Centre", 0.5, 0.5), ("Top left", 0.0, 0.0), ("Top", 0.5, 0.0), ("Top right", 1.0, 0.0),
    ("Left", 0.0, 0.5), ("Right", 1.0, 0.5), ("Bottom left", 0.0, 1.0), ("Bottom", 0.5, 1.0),
    ("Bottom right", 1.0, 1.0),
)


@dataclass(frozen=True)
class CanvasSizeSpec:
    width: int
    height: int
    dx: int   # how far the old picture moves (right / down)
    dy: int


def anchored(old_w: int, old_h: int, new_w: int, new_h: int, ax: float, ay: float
             ) -> CanvasSizeSpec:
    return CanvasSizeSpec(new_w, new_h, round((new_w - old_w) * ax), round((new_h - old_h) * ay))


class CanvasSizeDialog(QDialog):
    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Canvas Size")
        self.old = (width, height)
        self.w = QSpinBox()
        self.h = QSpinBox()
        for spin, v in ((self.w, width), (self.h, height)):
            spin.setRange(1, MAX_SIDE)
            spin.setSuffix(" px")
            spin.setValue(v)
        self.anchor = QComboBox()
        for name, _ax, _ay in ANCHORS:
            self.anchor.addItem(name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Width", self.w)
        form.addRow("Height", self.h)
        form.addRow("Anchor", self.anchor)
        form.addRow(buttons)

    def spec(self) -> CanvasSizeSpec:
        _name, ax, ay = ANCHORS[self.anchor.currentIndex()]
        return anchored(*self.old, self.w.value(), self.h.value(), ax, ay)
