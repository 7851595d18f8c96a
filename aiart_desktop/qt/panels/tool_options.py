"""Tool options: brush preset and dab settings for brush/eraser, fill and picker options."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..canvas.state import MAX_SIZE, MIN_SIZE, PAINT_TOOLS, ToolState
from .widgets import SliderSpin

TOOL_TITLES = {
    "brush": "Brush", "eraser": "Eraser", "fill": "Fill bucket", "picker": "Colour picker",
    "move": "Move layer", "hand": "Hand", "zoom": "Zoom",
}
TOOL_HINTS = {
    "move": "Drag to move the active layer. The whole drag is one undo step.",
    "hand": "Drag to pan. Space-drag or the middle button pan with any tool.",
    "zoom": "Click to zoom in, Alt-click or right-click to zoom out.\n"
            "Ctrl+wheel zooms about the cursor; Ctrl+0 fits, Ctrl+1 is 100 %.",
}


class ToolOptionsPanel(QWidget):
    def __init__(self, state: ToolState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._syncing = False
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600;")
        self.stack = QStackedWidget()

        # Brush / eraser page.
        brush = QWidget()
        self.preset = QComboBox()
        self.preset.setToolTip("Brush preset (from resources/brushes)")
        for p in state.presets:
            self.preset.addItem(p.name)
        self.preset.activated.connect(self._preset_chosen)
        self.size = SliderSpin("Size", MIN_SIZE, MAX_SIZE, decimals=1, suffix=" px", log=True,
                               tooltip="Brush diameter at full pressure  ([ and ])")
        self.hardness = SliderSpin("Hardness", 0, 100, suffix=" %",
                                   tooltip="How sharp the edge of each dab is")
        self.opacity = SliderSpin("Opacity", 0, 100, suffix=" %",
                                  tooltip="The most one stroke can cover")
        self.flow = SliderSpin("Flow", 1, 100, suffix=" %",
                               tooltip="How much each dab adds: low flow builds up")
        self.spacing = SliderSpin("Spacing", 1, 200, suffix=" %",
                                  tooltip="Distance between dabs, as a share of the size")
        self.smoothing = SliderSpin("Smoothing", 0, 100, suffix=" %",
                                    tooltip="Stabiliser: steadier lines, slight lag")
        bl = QVBoxLayout(brush)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.preset)
        for w in (self.size, self.hardness, self.opacity, self.flow, self.spacing,
                  self.smoothing):
            bl.addWidget(w)
        bl.addStretch(1)
        self.size.value_changed.connect(lambda v: self._set(size=v))
        self.hardness.value_changed.connect(lambda v: self._set(hardness=v / 100))
        self.opacity.value_changed.connect(lambda v: self._set(opacity=v / 100))
        self.flow.value_changed.connect(lambda v: self._set(flow=v / 100))
        self.spacing.value_changed.connect(lambda v: self._set(spacing=v / 100))
        self.smoothing.value_changed.connect(lambda v: self._set(smoothing=v / 100))

        # Fill page.
        fill = QWidget()
        self.tolerance = QSpinBox()
        self.tolerance.setRange(0, 255)
        self.tolerance.setToolTip("How different a pixel may be from the clicked one")
        self.contiguous = QCheckBox("Contiguous")
        self.contiguous.setToolTip("Only fill pixels connected to the clicked one")
        self.fill_merged = QCheckBox("Sample all layers")
        fl = QFormLayout(fill)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addRow("Tolerance", self.tolerance)
        fl.addRow(self.contiguous)
        fl.addRow(self.fill_merged)
        self.tolerance.valueChanged.connect(lambda v: state.set_fill_options(tolerance=v))
        self.contiguous.toggled.connect(lambda v: state.set_fill_options(contiguous=v))
        self.fill_merged.toggled.connect(lambda v: state.set_fill_options(sample_merged=v))

        # Picker page.
        picker = QWidget()
        self.pick_merged = QCheckBox("Sample all layers")
        self.pick_merged.setToolTip("Off: pick from the active layer only")
        pl = QVBoxLayout(picker)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.pick_merged)
        pl.addWidget(QLabel("Tip: Ctrl-click picks while the brush is active."))
        pl.addStretch(1)
        self.pick_merged.toggled.connect(self._pick_merged)

        # Hints for the tools without options.
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #a8a8a8;")

        self._pages = {"paint": self.stack.addWidget(brush), "fill": self.stack.addWidget(fill),
                       "picker": self.stack.addWidget(picker),
                       "hint": self.stack.addWidget(self.hint)}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        state.tool_changed.connect(lambda _t: self.sync())
        state.brush_changed.connect(self.sync)
        state.fill_changed.connect(self.sync)
        self.sync()

    def _set(self, **changes: float) -> None:
        if not self._syncing:
            self.state.update_brush(**changes)

    def _preset_chosen(self, row: int) -> None:
        if 0 <= row < len(self.state.presets):
            self.state.apply_preset(self.state.presets[row])

    def _pick_merged(self, on: bool) -> None:
        self.state.picker_sample_merged = on

    def sync(self) -> None:
        st = self.state
        self._syncing = True
        try:
            self.title.setText(TOOL_TITLES.get(st.tool, st.tool.title()))
            if st.tool in PAINT_TOOLS:
                self.stack.setCurrentIndex(self._pages["paint"])
                b = st.brush
                idx = self.preset.findText(b.name)
                if idx >= 0:
                    self.preset.setCurrentIndex(idx)
                self.size.set_value(b.size)
                self.hardness.set_value(b.hardness * 100)
                self.opacity.set_value(b.opacity * 100)
                self.flow.set_value(b.flow * 100)
                self.spacing.set_value(b.spacing * 100)
                self.smoothing.set_value(b.smoothing * 100)
            elif st.tool == "fill":
                self.stack.setCurrentIndex(self._pages["fill"])
                self.tolerance.setValue(st.fill_tolerance)
                self.contiguous.setChecked(st.fill_contiguous)
                self.fill_merged.setChecked(st.fill_sample_merged)
            elif st.tool == "picker":
                self.stack.setCurrentIndex(self._pages["picker"])
                self.pick_merged.setChecked(st.picker_sample_merged)
            else:
                self.stack.setCurrentIndex(self._pages["hint"])
                self.hint.setText(TOOL_HINTS.get(st.tool, ""))
        finally:
            self._syncing = False
