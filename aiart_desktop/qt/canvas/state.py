"""Shared tool state: the current tool, brush settings per painting tool, colours, and the
options of the fill, selection and transform tools."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ...core.brush import BrushSettings
from .presets import load_presets

TOOLS = ("brush", "eraser", "fill", "picker", "move", "transform", "rect_select",
         "ellipse_select", "lasso", "polygon_lasso", "wand", "select_object", "hand",
         "zoom")
PAINT_TOOLS = ("brush", "eraser")
SELECT_TOOLS = ("rect_select", "ellipse_select", "lasso", "polygon_lasso", "wand",
                "select_object")
MIN_SIZE, MAX_SIZE = 1.0, 1000.0

RGB = tuple[int, int, int]


class ToolState(QObject):
    """What the canvas tools paint with. Panels edit it; the canvas reads it."""

    tool_changed = Signal(str)
    brush_changed = Signal()            # settings of the current painting tool changed
    foreground_changed = Signal(object)  # (r, g, b)
    background_changed = Signal(object)
    fill_changed = Signal()
    select_changed = Signal()           # wand / marquee options
    transform_changed = Signal(object)  # (scale_x, scale_y, angle) of the open transform, or None

    def __init__(self, presets: list[BrushSettings] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.presets = presets if presets is not None else load_presets()
        paint = next((p for p in self.presets if not p.eraser), BrushSettings(name="Brush"))
        hard = next((p for p in self.presets if p.name == "Hard Round" and not p.eraser), paint)
        eraser = next((p for p in self.presets if p.eraser),
                      BrushSettings(name="Eraser", eraser=True))
        self.brushes: dict[str, BrushSettings] = {"brush": hard, "eraser": eraser}
        self.tool = "brush"
        self.foreground: RGB = (0, 0, 0)
        self.background: RGB = (255, 255, 255)
        self.fill_tolerance = 16
        self.fill_contiguous = True
        self.fill_sample_merged = False
        self.picker_sample_merged = True
        self.wand_tolerance = 32
        self.wand_contiguous = True
        self.wand_sample_merged = False
        self.wand_antialias = True
        self.select_feather = 0.0       # marquee / lasso feather radius, pixels

    # ---- tools -----------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit(tool)
            self.brush_changed.emit()

    @property
    def paint_tool(self) -> str:
        """The painting tool the options panel edits: the eraser when it is current."""
        return "eraser" if self.tool == "eraser" else "brush"

    @property
    def brush(self) -> BrushSettings:
        return self.brushes[self.paint_tool]

    def stroke_brush(self, tool: str | None = None) -> BrushSettings:
        """The settings a stroke of `tool` uses: the foreground colour, eraser flag set."""
        tool = tool or self.paint_tool
        b = self.brushes["eraser" if tool == "eraser" else "brush"]
        return b.with_(color=self.foreground, eraser=b.eraser or tool == "eraser")

    def update_brush(self, **changes: object) -> None:
        key = self.paint_tool
        new = self.brushes[key].with_(**changes)
        if new != self.brushes[key]:
            self.brushes[key] = new
            self.brush_changed.emit()

    def apply_preset(self, preset: BrushSettings) -> None:
        """Load a preset into the current painting tool (an eraser preset erases)."""
        key = self.paint_tool
        self.brushes[key] = preset.with_(eraser=preset.eraser or key == "eraser")
        self.brush_changed.emit()

    def scale_size(self, up: bool) -> None:
        """`]` / `[`: about 15 % per press, at least one pixel."""
        size = self.brush.size
        new = max(size * 1.15, size + 1) if up else min(size / 1.15, size - 1)
        self.update_brush(size=round(min(MAX_SIZE, max(MIN_SIZE, new)), 1))

    # ---- colours ---------------------------------------------------------------------------
    def set_foreground(self, rgb: RGB) -> None:
        rgb = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
        if rgb != self.foreground:
            self.foreground = rgb
            self.foreground_changed.emit(rgb)

    def set_background(self, rgb: RGB) -> None:
        rgb = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
        if rgb != self.background:
            self.background = rgb
            self.background_changed.emit(rgb)

    def swap_colors(self) -> None:
        fg, bg = self.foreground, self.background
        self.set_foreground(bg)
        self.set_background(fg)

    def reset_colors(self) -> None:
        self.set_foreground((0, 0, 0))
        self.set_background((255, 255, 255))

    # ---- fill ------------------------------------------------------------------------------
    def set_fill_options(self, *, tolerance: int | None = None, contiguous: bool | None = None,
                         sample_merged: bool | None = None) -> None:
        if tolerance is not None:
            self.fill_tolerance = int(tolerance)
        if contiguous is not None:
            self.fill_contiguous = bool(contiguous)
        if sample_merged is not None:
            self.fill_sample_merged = bool(sample_merged)
        self.fill_changed.emit()

    # ---- selection -------------------------------------------------------------------------
    def set_select_options(self, *, tolerance: int | None = None,
                           contiguous: bool | None = None, sample_merged: bool | None = None,
                           antialias: bool | None = None, feather: float | None = None) -> None:
        if tolerance is not None:
            self.wand_tolerance = int(tolerance)
        if contiguous is not None:
            self.wand_contiguous = bool(contiguous)
        if sample_merged is not None:
            self.wand_sample_merged = bool(sample_merged)
        if antialias is not None:
            self.wand_antialias = bool(antialias)
        if feather is not None:
            self.select_feather = max(0.0, float(feather))
        self.select_changed.emit()
