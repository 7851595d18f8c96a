"""The Style panel's controls (strength, style scale, preserve colours, target). The request they
describe is `ai.capture.make_request(doc, "style", target=controls.current_target(), style=...,
**controls.params())`: the one builder, which copies the pixels of the chosen area."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from ...ai.backends.style import DEFAULT_TILE

# Defaults that give a painterly result on a typical painting (judged on the contact sheets in
# docs/screenshots/style_sheet*.jpg): the painting keeps its own colours and light, the style
# brings its strokes and texture, and a little of the original shows through.
DEFAULT_STRENGTH = 85
DEFAULT_SCALE = 1.0
DEFAULT_KEEP_COLOURS = True

TARGETS = (
    ("selection", "Selection", "The selection (the whole picture when nothing is selected)"),
    ("layer", "Active layer's area", "Where the active layer (or the active group's layers) "
     "has paint: the picture there is restyled, masked by the layer's own alpha"),
    ("image", "Whole picture", "The whole visible picture, whatever is selected"),
)


class StyleControls(QWidget):
    """Strength, style scale, preserve colours and target; `changed` on any edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(DEFAULT_STRENGTH)
        self.strength.setToolTip("How much of the style to mix in: 100 % is fully styled, "
                                 "lower keeps more of the picture")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(40)
        self.strength_label.setAlignment(Qt.AlignmentFlag.AlignRight
                                         | Qt.AlignmentFlag.AlignVCenter)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.25, 4.0)
        self.scale.setSingleStep(0.25)
        self.scale.setDecimals(2)
        self.scale.setValue(DEFAULT_SCALE)
        self.scale.setSuffix(" ×")
        self.scale.setToolTip("Size of the style's strokes and patterns: 2 × makes them twice "
                              "as big (and is faster), 0.5 × finer")
        self.preserve = QCheckBox("Keep my colours")
        self.preserve.setChecked(DEFAULT_KEEP_COLOURS)
        self.preserve.setToolTip("Keep the painting's own colours and light (white paper stays "
                                 "white); take only the style's strokes and texture. Untick "
                                 "for the style's own palette.")
        self.target = QComboBox()
        self.target.setSizeAdjustPolicy(  # never wider than the dock: the popup shows it all
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target.setMinimumContentsLength(10)
        for key, text, tip in TARGETS:
            self.target.addItem(text, key)
            self.target.setItemData(self.target.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.target.setToolTip("Which part of the picture to restyle")

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_label)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Strength", row)
        form.addRow("Style scale", self.scale)
        form.addRow("", self.preserve)
        form.addRow("Restyle", self.target)
        self._label()
        self.strength.valueChanged.connect(self._label)
        self.strength.sliderReleased.connect(self.changed)
        self.strength.valueChanged.connect(
            lambda _v: None if self.strength.isSliderDown() else self.changed.emit())
        self.scale.valueChanged.connect(lambda _v: self.changed.emit())
        self.preserve.toggled.connect(lambda _v: self.changed.emit())
        self.target.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def _label(self) -> None:
        self.strength_label.setText(f"{self.strength.value()} %")

    def params(self) -> dict[str, Any]:
        return {"strength": self.strength.value() / 100.0,
                "style_scale": float(self.scale.value()),
                "preserve_colors": self.preserve.isChecked(),
                "tile": DEFAULT_TILE}   # a typical selection is one network run

    def current_target(self) -> str:
        return str(self.target.currentData())

    def set_target(self, key: str) -> None:
        i = self.target.findData(key)
        if i < 0:
            raise ValueError(f"unknown target {key!r}")
        self.target.setCurrentIndex(i)
