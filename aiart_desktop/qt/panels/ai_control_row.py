"""One row of the AI form's Control layers section, and the pieces it is made of.

    row = ControlRow(layer, "lineart")   # name, type, strength, steps range, thumbnail, note
    FoldSection("LoRAs")                 # a titled section of the form that folds away
    shrink(rgba, lines=True)             # a layer's pixels scaled down for the thumbnail

The section (`ai_controls.ControlsSection`) keeps the rows, follows the document and works out
each row's thumbnail; a row only shows what it is given.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...ai.conditioning import CONTROL_KINDS, CONTROL_LABELS
from ...core.geometry import Rect
from ..convert import array_to_qimage
from .widgets import SliderSpin

if TYPE_CHECKING:
    from ...core.layer import Node

THUMB_SIDE = 72          # the thumbnail as shown
SOURCE_SIDE = 256        # the copy the control picture is worked out on (longest side)
NOTE_STYLE = "color: #e0c080;"
MUTED_STYLE = "color: #a0a0a0;"
LINE_KINDS = ("scribble", "lineart")   # the artist's own lines: kept when scaled down


class FoldSection(QWidget):
    """A titled section of the form that folds away (folded by default): a flat arrow button
    with the title, and the body below it."""

    def __init__(self, title: str, tooltip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setStyleSheet("QToolButton { border: none; padding: 2px 0; }"
                                  "QToolButton:checked { background: transparent; }")
        self.toggle.setText(title)
        self.toggle.setToolTip(tooltip)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(12, 0, 0, 4)
        self.body_layout.setSpacing(4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.toggle)
        lay.addWidget(self.body)
        self.body.hide()
        self.toggle.toggled.connect(self.set_open)

    def set_open(self, on: bool) -> None:
        if self.toggle.isChecked() != on:
            self.toggle.setChecked(on)   # comes back here through toggled
            return
        self.body.setVisible(on)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def is_open(self) -> bool:
        return self.toggle.isChecked()

    def set_count(self, n: int) -> None:
        """The title says how many entries the section holds, so nothing hides folded."""
        self.toggle.setText(f"{self._title} ({n})" if n else self._title)

# ---- pixels --------------------------------------------------------------------------------
def node_pixels(node: Node, rect: Rect) -> np.ndarray:
    """`node`'s own pixels over `rect` (document space), straight RGBA8: a layer's paint, a
    group's layers composited (as if it were the whole picture)."""
    from ...core import blend
    from ...core.layer import Group, Layer

    if isinstance(node, Layer):
        return node.read(rect)
    if isinstance(node, Group):
        return blend.flatten(node, rect)
    return np.zeros((rect.h, rect.w, 4), np.uint8)


def shrink(rgba: np.ndarray, side: int = SOURCE_SIDE, lines: bool = False) -> np.ndarray:
    """`rgba` scaled down by a whole factor until its longest side is at most `side`, straight
    RGBA8 (OpenCV: tens of milliseconds for a 4096-pixel canvas). Each pixel is its block's
    area average (through premultiplied colour), or with `lines` its most opaque alpha and
    darkest colour (clear pixels count as white paper), so thin lines survive."""
    h, w = rgba.shape[:2]
    k = -(-max(h, w) // side)
    if k <= 1:
        return rgba
    import cv2

    hh, ww = max(1, h // k), max(1, w // k)
    crop = rgba[:hh * k, :ww * k]
    crop = np.ascontiguousarray(crop)
    if lines:
        # Each block's most opaque alpha and darkest colour over white paper: the darkness
        # over white is (255 - colour) premultiplied by alpha, and its block maximum a dilation
        # (anchored top-left: each block's own pixels) sampled once per block.
        dark = cv2.cvtColor(cv2.bitwise_xor(crop, (255, 255, 255, 0)), cv2.COLOR_RGBA2mRGBA)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
        most = cv2.dilate(dark, kernel, anchor=(0, 0))[::k, ::k]
        return np.ascontiguousarray(np.dstack([255 - most[..., :3], most[..., 3]]))
    pre = cv2.cvtColor(crop, cv2.COLOR_RGBA2mRGBA)   # area averaging of premultiplied colour
    small = cv2.resize(pre, (ww, hh), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_mRGBA2RGBA)


def control_picture(node: Node, rect: Rect, kind: str
                    ) -> tuple[np.ndarray | None, np.ndarray, str]:
    """(the control picture or None, the scaled-down source, an error for the user or "") of
    `node` over `rect` for `kind`: what a row's thumbnail shows. Reads only `node` (a copy of
    the document's: tiles are immutable), so it runs on a thread of its own."""
    from ...ai.controls import needs_detector, preprocess
    from ...ai.errors import AiError

    src = shrink(node_pixels(node, rect), lines=kind in LINE_KINDS)
    if needs_detector(kind):
        return None, src, ""
    try:
        return preprocess(kind, src), src, ""
    except AiError as exc:
        return None, src, str(exc)


# ---- one row -------------------------------------------------------------------------------
class ControlRow(QFrame):
    """One control layer: its layer, type, strength, range, thumbnail and a note."""

    changed = Signal()             # type, strength or range (the request changes)
    remove_requested = Signal(object)

    def __init__(self, node: Node, kind: str = "lineart", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controlRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.node = node
        self.removed = False          # its layer is not in the document now
        self.processed: np.ndarray | None = None   # the thumbnail's picture (h, w, 3) uint8
        self.token = 0                # the latest thumbnail asked for (older ones are dropped)
        self.source_rect: Rect | None = None
        self.name = QLabel()
        self.name.setStyleSheet("font-weight: 600;")
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setAutoRaise(True)
        self.remove.setToolTip("Remove this control (the layer stays)")
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        self.kind = QComboBox()
        for k in CONTROL_KINDS:
            self.kind.addItem(CONTROL_LABELS[k], k)
        self.kind.setToolTip(
            "What the model takes from the layer: Scribble and Line art follow your lines, "
            "Soft edge and Canny the edges of any picture, Depth the near and far, Pose the "
            "people's poses, Tile the picture itself (refine, upscale)")
        self.kind.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind.setMinimumContentsLength(7)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.strength = SliderSpin("Strength", 0, 200, suffix=" %",
                                   tooltip="How firmly the model follows the control "
                                           "(100 % as trained; up to 200 %)")
        self.strength.label.setMinimumWidth(0)
        self.strength.spin.setFixedWidth(64)
        self.strength.set_value(100)
        self.start = QSpinBox()
        self.end = QSpinBox()
        for sb, v in ((self.start, 0), (self.end, 100)):
            sb.setRange(0, 100)
            sb.setSingleStep(5)
            sb.setSuffix(" %")
            sb.setValue(v)
            sb.setKeyboardTracking(False)
            sb.setToolTip("The part of the steps the control acts on: start early for the "
                          "layout, stop early to leave the details free")
        self.thumb = QLabel()
        self.thumb.setObjectName("controlThumb")
        self.thumb.setFixedSize(THUMB_SIDE, THUMB_SIDE)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setFrameShape(QFrame.Shape.StyledPanel)
        self.thumb.setStyleSheet("background: #202020;")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(NOTE_STYLE)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note.hide()

        g = QGridLayout(self)
        g.setContentsMargins(4, 2, 2, 4)
        g.setHorizontalSpacing(6)
        g.setVerticalSpacing(2)
        head = QHBoxLayout()
        head.addWidget(self.name, 1)
        head.addWidget(self.remove)
        g.addLayout(head, 0, 0, 1, 2)
        g.addWidget(self.thumb, 1, 0, 3, 1, Qt.AlignmentFlag.AlignTop)
        g.addWidget(self.kind, 1, 1)
        g.addWidget(self.strength, 2, 1)
        rng = QHBoxLayout()
        steps = QLabel("Steps")
        steps.setToolTip(self.start.toolTip())
        rng.addWidget(steps)
        rng.addWidget(self.start, 1)
        rng.addWidget(QLabel("–"))
        rng.addWidget(self.end, 1)
        g.addLayout(rng, 3, 1)
        g.addWidget(self.note, 4, 0, 1, 2)
        g.setColumnStretch(1, 1)

        self.kind.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.strength.value_changed.connect(lambda *_: self.changed.emit())
        self.start.valueChanged.connect(self._start_changed)
        self.end.valueChanged.connect(self._end_changed)
        self.show_name()

    # ---- state -----------------------------------------------------------------------------
    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def set_kind(self, kind: str) -> None:
        i = self.kind.findData(kind)
        if i >= 0:
            self.kind.setCurrentIndex(i)

    def range(self) -> tuple[float, float]:
        return self.start.value() / 100.0, self.end.value() / 100.0

    def set_range(self, start: float, end: float) -> None:
        self.end.setValue(round(end * 100))
        self.start.setValue(round(start * 100))

    def _start_changed(self, v: int) -> None:
        if v >= self.end.value():
            self.end.setValue(min(100, v + 5))
            if self.end.value() <= v:
                self.start.setValue(self.end.value() - 5)
        self.changed.emit()

    def _end_changed(self, v: int) -> None:
        if v <= self.start.value():
            self.start.setValue(max(0, v - 5))
            if self.start.value() >= v:
                self.end.setValue(self.start.value() + 5)
        self.changed.emit()

    def show_name(self) -> None:
        label = self.node.name or "(unnamed)"
        from ...core.layer import Group

        what = "group" if isinstance(self.node, Group) else "layer"
        if self.removed:
            self.name.setText(f"{label} — removed")
            self.name.setToolTip(f"The {what} “{label}” is not in the document: this control "
                                 "is left out (Ctrl+Z brings the layer back)")
            self.name.setStyleSheet("font-weight: 600; color: #ff8a80;")
        else:
            self.name.setText(label)
            self.name.setToolTip(f"The {what} “{label}”: the model follows it as a control")
            self.name.setStyleSheet("font-weight: 600;")
        for w in (self.kind, self.strength, self.start, self.end):
            w.setEnabled(not self.removed)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def set_thumbnail(self, picture: np.ndarray | None, tip: str) -> None:
        """Show `picture` ((h, w, 3) or (h, w, 4) uint8; None: nothing) in the thumbnail."""
        if picture is None:
            self.thumb.clear()
            self.thumb.setText("—")
        else:
            if picture.shape[2] == 3:
                picture = np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])
            img: QImage = array_to_qimage(np.ascontiguousarray(picture))
            side = THUMB_SIDE - 4
            self.thumb.setPixmap(QPixmap.fromImage(img).scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
        self.thumb.setToolTip(tip)
