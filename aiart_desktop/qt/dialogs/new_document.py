"""File > New: size presets or a custom size, white or transparent background."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from ...core.document import MAX_SIDE

PRESETS: tuple[tuple[str, int, int], ...] = (
    ("Square 2048 \u00d7 2048", 2048, 2048),
    ("Square 1024 \u00d7 1024", 1024, 1024),
    ("Full HD 1920 \u00d7 1080", 1920, 1080),
    ("4K UHD 3840 \u00d7 2160", 3840, 2160),
    ("A4 portrait, 300 dpi (2480 \u00d7 3508)", 2480, 3508),
    ("A4 landscape, 300 dpi (3508 \u00d7 2480)", 3508, 2480),
    ("Comic page (1988 \u00d7 3056)", 1988, 3056),
    ("SD model 512 \u00d7 512", 512, 512),
    ("SDXL model 1024 \u00d7 1024", 1024, 1024),
)


@dataclass(frozen=True)
class NewDocumentSpec:
    width: int
    height: int
    background: tuple[int, int, int, int] | None   # None = transparent

    @property
    def transparent(self) -> bool:
        return self.background is None


class NewDocumentDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, width: int = 2048,
                 height: int = 2048) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Image")
        self.preset = QComboBox()
        self.preset.addItem("Custom", None)
        for name, w, h in PRESETS:
            self.preset.addItem(name, (w, h))
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for spin, value in ((self.width_spin, width), (self.height_spin, height)):
            spin.setRange(1, MAX_SIDE)
            spin.setSuffix(" px")
            spin.setValue(value)
            spin.valueChanged.connect(self._size_edited)
        self.white = QRadioButton("White")
        self.transparent = QRadioButton("Transparent")
        self.white.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.white)
        group.addButton(self.transparent)
        bg = QHBoxLayout()
        bg.addWidget(self.white)
        bg.addWidget(self.transparent)
        bg.addStretch(1)
        self.info = QLabel()
        self.info.setStyleSheet("color: #a8a8a8;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow("Background", bg)
        form.addRow(self.info)
        form.addRow(buttons)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self._syncing = False
        self._size_edited()

    def _preset_chosen(self, row: int) -> None:
        size = self.preset.itemData(row)
        if size is None:
            return
        self._syncing = True
        try:
            self.width_spin.setValue(size[0])
            self.height_spin.setValue(size[1])
        finally:
            self._syncing = False
        self._update_info()

    def _size_edited(self) -> None:
        if not self._syncing:
            size = (self.width_spin.value(), self.height_spin.value())
            row = next((i for i in range(1, self.preset.count())
                        if self.preset.itemData(i) == size), 0)
            self.preset.blockSignals(True)
            self.preset.setCurrentIndex(row)
            self.preset.blockSignals(False)
        self._update_info()

    def _update_info(self) -> None:
        w, h = self.width_spin.value(), self.height_spin.value()
        mb = w * h * 4 / 2 ** 20
        self.info.setText(f"{w * h / 1e6:.1f} megapixels, about {mb:.0f} MB per full layer")

    def spec(self) -> NewDocumentSpec:
        bg = None if self.transparent.isChecked() else (255, 255, 255, 255)
        return NewDocumentSpec(self.width_spin.value(), self.height_spin.value(), bg)
