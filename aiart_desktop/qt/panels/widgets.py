"""Small shared widgets."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget

STEPS = 1000


class SliderSpin(QWidget):
    """A label, a slider and a spin box showing one value (optionally on a log scale)."""

    value_changed = Signal(float)

    def __init__(self, label: str, lo: float, hi: float, *, decimals: int = 0,
                 suffix: str = "", log: bool = False, tooltip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lo, self.hi, self.log = lo, hi, log
        self._syncing = False
        self.label = QLabel(label)
        self.label.setMinimumWidth(72)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setDecimals(decimals)
        self.spin.setSuffix(suffix)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(78)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        if tooltip:
            for w in (self.label, self.slider, self.spin):
                w.setToolTip(tooltip)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def _to_pos(self, v: float) -> int:
        v = min(self.hi, max(self.lo, v))
        if self.log:
            t = math.log(v / self.lo) / math.log(self.hi / self.lo)
        else:
            t = (v - self.lo) / (self.hi - self.lo)
        return round(t * STEPS)

    def _from_pos(self, pos: int) -> float:
        t = pos / STEPS
        if self.log:
            return self.lo * (self.hi / self.lo) ** t
        return self.lo + (self.hi - self.lo) * t

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, v: float) -> None:
        """Show `v` without emitting value_changed."""
        self._syncing = True
        try:
            self.spin.setValue(v)
            self.slider.setValue(self._to_pos(v))
        finally:
            self._syncing = False

    def _from_slider(self, pos: int) -> None:
        if self._syncing:
            return
        v = self._from_pos(pos)
        self._syncing = True
        try:
            self.spin.setValue(v)
        finally:
            self._syncing = False
        self.value_changed.emit(self.spin.value())

    def _from_spin(self, v: float) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.slider.setValue(self._to_pos(v))
        finally:
            self._syncing = False
        self.value_changed.emit(v)
