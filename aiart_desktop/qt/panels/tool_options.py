"""Tool options: brush preset and dab settings for brush/eraser, fill and picker options,
selection options (feather; wand tolerance / contiguous / sample / anti-aliased) and the
open transform's numbers."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..canvas.state import MAX_SIZE, MIN_SIZE, PAINT_TOOLS, SELECT_TOOLS, ToolState
from .widgets import SliderSpin, guard_wheel, scroll_body

TOOL_TITLES = {
    "brush": "Brush", "eraser": "Eraser", "fill": "Fill bucket", "picker": "Colour picker",
    "move": "Move layer", "hand": "Hand", "zoom": "Zoom", "transform": "Transform",
    "rect_select": "Rectangle select", "ellipse_select": "Ellipse select", "lasso": "Lasso",
    "polygon_lasso": "Polygonal lasso", "wand": "Magic wand", "select_object": "Select object",
}
MODIFIERS = ("Shift: add to the selection \u00b7 Alt: subtract \u00b7 Shift+Alt: intersect "
             "(held when you press).")
SELECT_HINTS = {
    "rect_select": "Drag a rectangle. While dragging, Shift makes a square and Alt draws "
                   "from the centre. A click deselects.",
    "ellipse_select": "Drag an ellipse. While dragging, Shift makes a circle and Alt draws "
                      "from the centre. A click deselects.",
    "lasso": "Draw around what you want; the outline closes itself. A click deselects.",
    "polygon_lasso": "Click the corners. Double-click, Enter or a click on the first corner "
                     "closes; Backspace takes back a corner; Esc gives up. Shift: 45\u00b0.",
    "wand": "Click a colour to select the pixels like it.",
    "select_object": "Click an object to select it, or drag a box around it. A Segment "
                     "Anything model reads the visible picture first (seconds).",
}
TOOL_HINTS = {
    "transform": "Drag inside the box to move, a handle to scale (Shift keeps proportions), "
                 "outside to rotate (Shift: 15\u00b0 steps).\nEnter or a double-click "
                 "applies, Esc cancels. With a selection, only the selected pixels move.",
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

        # Selection tools page.
        select = QWidget()
        self.select_hint = QLabel()
        self.select_hint.setWordWrap(True)
        self.select_hint.setStyleSheet("color: #a8a8a8;")
        self.feather = QDoubleSpinBox()
        self.feather.setRange(0.0, 250.0)
        self.feather.setDecimals(1)
        self.feather.setSuffix(" px")
        self.feather.setToolTip("Soften the edge of each new marquee or lasso shape")
        self.wand_tolerance = QSpinBox()
        self.wand_tolerance.setRange(0, 255)
        self.wand_tolerance.setToolTip("How different a pixel may be from the clicked one")
        self.wand_contiguous = QCheckBox("Contiguous")
        self.wand_contiguous.setToolTip("Only pixels connected to the clicked one")
        self.wand_merged = QCheckBox("Sample all layers")
        self.wand_merged.setToolTip("Off: look at the active layer only")
        self.wand_antialias = QCheckBox("Anti-aliased")
        self.wand_antialias.setToolTip("A soft one-pixel edge instead of a stair-stepped one")
        sl = QFormLayout(select)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addRow("Feather", self.feather)
        sl.addRow("Tolerance", self.wand_tolerance)
        sl.addRow(self.wand_contiguous)
        sl.addRow(self.wand_merged)
        sl.addRow(self.wand_antialias)
        sl.addRow(self.select_hint)
        self._select_form = sl
        self.feather.valueChanged.connect(lambda v: self._select(feather=v))
        self.wand_tolerance.valueChanged.connect(lambda v: self._select(tolerance=v))
        self.wand_contiguous.toggled.connect(lambda v: self._select(contiguous=v))
        self.wand_merged.toggled.connect(lambda v: self._select(sample_merged=v))
        self.wand_antialias.toggled.connect(lambda v: self._select(antialias=v))

        # Transform page: the open transform's numbers.
        transform = QWidget()
        self.transform_info = QLabel()
        self.transform_hint = QLabel(TOOL_HINTS["transform"])
        for lab in (self.transform_info, self.transform_hint):
            lab.setWordWrap(True)
        self.transform_hint.setStyleSheet("color: #a8a8a8;")
        tl = QVBoxLayout(transform)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.transform_info)
        tl.addWidget(self.transform_hint)
        tl.addStretch(1)
        state.transform_changed.connect(self._transform_changed)
        self._transform_changed(None)

        # Hints for the tools without options.
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #a8a8a8;")

        self._pages = {"paint": self.stack.addWidget(brush), "fill": self.stack.addWidget(fill),
                       "picker": self.stack.addWidget(picker),
                       "select": self.stack.addWidget(select),
                       "transform": self.stack.addWidget(transform),
                       "hint": self.stack.addWidget(self.hint)}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        state.tool_changed.connect(lambda _t: self.sync())
        state.brush_changed.connect(self.sync)
        state.fill_changed.connect(self.sync)
        state.select_changed.connect(self.sync)
        scroll_body(self)   # a short window scrolls the options instead of growing taller
        guard_wheel(self)
        self.sync()

    def _set(self, **changes: float) -> None:
        if not self._syncing:
            self.state.update_brush(**changes)

    def _preset_chosen(self, row: int) -> None:
        if 0 <= row < len(self.state.presets):
            self.state.apply_preset(self.state.presets[row])

    def _select(self, **changes: object) -> None:
        if not self._syncing:
            self.state.set_select_options(**changes)  # type: ignore[arg-type]

    def _transform_changed(self, info: tuple[float, float, float] | None) -> None:
        if info is None:
            self.transform_info.setText("Press on the canvas to start.")
        else:
            sx, sy, angle = info
            self.transform_info.setText(f"W: {sx * 100:.1f} %   H: {sy * 100:.1f} %   "
                                        f"Angle: {angle:.1f}\u00b0")

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
            elif st.tool in SELECT_TOOLS:
                self.stack.setCurrentIndex(self._pages["select"])
                wand = st.tool == "wand"
                form = self._select_form
                form.setRowVisible(self.feather, not wand)
                for w in (self.wand_tolerance, self.wand_contiguous, self.wand_merged,
                          self.wand_antialias):
                    form.setRowVisible(w, wand)
                self.feather.setValue(st.select_feather)
                self.wand_tolerance.setValue(st.wand_tolerance)
                self.wand_contiguous.setChecked(st.wand_contiguous)
                self.wand_merged.setChecked(st.wand_sample_merged)
                self.wand_antialias.setChecked(st.wand_antialias)
                self.select_hint.setText(f"{SELECT_HINTS[st.tool]}\n\n{MODIFIERS}")
            elif st.tool == "transform":
                self.stack.setCurrentIndex(self._pages["transform"])
            elif st.tool == "picker":
                self.stack.setCurrentIndex(self._pages["picker"])
                self.pick_merged.setChecked(st.picker_sample_merged)
            else:
                self.stack.setCurrentIndex(self._pages["hint"])
                self.hint.setText(TOOL_HINTS.get(st.tool, ""))
        finally:
            self._syncing = False
