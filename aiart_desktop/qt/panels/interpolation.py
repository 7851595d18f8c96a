"""The in-between strip: two picked variations and the K frames rendered between them.

The strip shows endpoint A, the frames in order of t, and endpoint B; the slider scrubs t over
them and the frame under it is previewed on the canvas (the panel listens to `frame_picked`).
Apply (or Enter / double-click) puts the chosen frame on a new layer with its record: the
interpolation's t and both endpoints (seed, prompt, negative prompt), so it re-makes exactly.

Each frame is a pair (AiResult, index): the endpoints come from the variations' own result,
the in-betweens from the interpolation's result, so applying any of them is `apply_result`,
its thumbnail `ai.composite.variant_over_original` and its canvas preview `variant_layer`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...ai.composite import variant_layer, variant_over_original
from ...ai.errors import AiError
from ..convert import array_to_qimage
from .ai_preview import canvas_rect
from .variations import _pixmap

if TYPE_CHECKING:
    from ...ai.requests import AiResult
    from ...core.layer import Layer
    from ..worker import JobHandle

THUMB = 60
CELL_W, CELL_H = THUMB + 8, THUMB + 22


@dataclass(frozen=True)
class Frame:
    result: AiResult
    index: int
    t: float


def frames_of(base: AiResult, a: int, b: int, between: AiResult | None) -> list[Frame]:
    """Endpoint A (variation `a` of `base`), the in-betweens in order of t, endpoint B."""
    frames = [Frame(base, a, 0.0)]
    if between is not None and between.request.mix is not None:
        ts = between.request.mix.ts
        frames += sorted((Frame(between, i, ts[i]) for i in range(len(ts))),
                         key=lambda f: f.t)
    frames.append(Frame(base, b, 1.0))
    return frames


class _FrameList(QListWidget):
    """Wrapping rows of frames, as tall as they need (every frame visible at once)."""

    apply_requested = Signal(int)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        fit = getattr(self, "fit", None)
        if fit is not None:
            fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self.apply_requested.emit(self.currentRow())
            event.accept()
            return
        super().keyPressEvent(event)


class InterpolationStrip(QWidget):
    """Frames between two variations, a t slider scrubbing them, Apply and Close."""

    frame_picked = Signal(int)       # index into `frames` (-1: none)
    apply_requested = Signal(int)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("InterpolationStrip")
        self.frames: list[Frame] = []
        self.title = QLabel("<b>In-between</b>")
        self.caption = QLabel("")
        self.caption.setStyleSheet("color: #a0a0a0;")
        self.caption.setWordWrap(True)
        self.list = _FrameList()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(CELL_W, CELL_H))
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.fit = self._fit_rows  # type: ignore[attr-defined]
        self._fit_rows()
        self.list.setToolTip("Frames from variation A to variation B: click, arrow keys or the "
                             "slider preview one on the canvas; Enter applies it")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(1)
        self.slider.setToolTip("Scrub between the two variations (t from 0 to 1)")
        self.t_label = QLabel("t = 0.00")
        self.t_label.setMinimumWidth(self.t_label.fontMetrics().horizontalAdvance("t = 0.000"))
        self.apply_button = QPushButton("Apply frame")
        self.apply_button.setToolTip("Put the chosen frame on a new layer (one undo step), "
                                     "with its t and both endpoints in its record")
        self.regen_button = QPushButton("Re-generate")
        self.regen_button.setToolTip("Put the chosen frame's settings and seed mix in the form "
                                     "to tweak and run again")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide the in-betweens and go back to the variations")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.caption)
        lay.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(QLabel("A"))
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel("B"))
        row.addWidget(self.t_label)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.apply_button)
        row.addWidget(self.regen_button)
        row.addStretch(1)
        row.addWidget(self.close_button)
        lay.addLayout(row)
        self.slider.valueChanged.connect(self._slid)
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda it: self.apply_requested.emit(
            self.list.row(it)))
        self.list.apply_requested.connect(self.apply_requested)
        self.apply_button.clicked.connect(lambda: self.apply_requested.emit(self.chosen()))
        self.close_button.clicked.connect(self.closed)
        self._sync()

    # ---- content ---------------------------------------------------------------------------
    def set_frames(self, frames: list[Frame], pick: int | None = None) -> None:
        """Show `frames` (from `frames_of`); pick the middle one (or `pick`)."""
        self.frames = list(frames)
        self.list.blockSignals(True)
        self.slider.blockSignals(True)
        self.list.clear()
        n = len(self.frames)
        for i, f in enumerate(self.frames):
            pm = _pixmap(variant_over_original(f.result, f.index), THUMB)
            icon = QIcon(pm)
            icon.addPixmap(pm, QIcon.Mode.Selected)
            label = "A" if i == 0 else "B" if i == n - 1 else f"{f.t:.2f}"
            item = QListWidgetItem(icon, label)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setToolTip(self._tooltip(i))
            self.list.addItem(item)
        self.slider.setRange(0, max(0, n - 1))
        self._fit_rows()
        self.list.blockSignals(False)
        self.slider.blockSignals(False)
        if n:
            a, b = self.frames[0], self.frames[-1]
            self.caption.setText(f"Seed {a.result.seeds[a.index]} → seed "
                                 f"{b.result.seeds[b.index]}: {n - 2} frames between. Scrub "
                                 "to preview on the canvas.")
            self.set_current(n // 2 if pick is None else pick)
        else:
            self.caption.setText("")
            self.frame_picked.emit(-1)
        self._sync()

    def _fit_rows(self) -> None:
        lst = self.list
        per_row = max(1, (lst.viewport().width() - 4) // CELL_W)
        rows = max(1, -(-lst.count() // per_row))
        h = rows * CELL_H + 2 * lst.frameWidth() + 6
        if lst.height() != h or lst.minimumHeight() != h:
            lst.setFixedHeight(h)

    def _tooltip(self, i: int) -> str:
        f = self.frames[i]
        what = ("Endpoint A" if i == 0 else "Endpoint B" if i == len(self.frames) - 1
                else f"In-between at t = {f.t:.3f}")
        return f"{what}\n{f.result.parameters(f.index)}"

    def clear(self) -> None:
        self.set_frames([])

    # ---- picking ---------------------------------------------------------------------------
    def chosen(self) -> int:
        return self.list.currentRow() if self.frames else -1

    def chosen_frame(self) -> Frame | None:
        i = self.chosen()
        return self.frames[i] if 0 <= i < len(self.frames) else None

    def set_current(self, i: int) -> None:
        i = max(0, min(len(self.frames) - 1, int(i)))
        if self.list.currentRow() == i:
            self._row_changed(i)
        else:
            self.list.setCurrentRow(i)

    def _slid(self, v: int) -> None:
        if self.list.currentRow() != v:
            self.list.setCurrentRow(v)

    def _row_changed(self, i: int) -> None:
        if 0 <= i < len(self.frames):
            self.slider.blockSignals(True)
            self.slider.setValue(i)
            self.slider.blockSignals(False)
            self.t_label.setText(f"t = {self.frames[i].t:.2f}")
            self.list.scrollToItem(self.list.item(i))
        self._sync()
        self.frame_picked.emit(i if 0 <= i < len(self.frames) else -1)

    def _sync(self) -> None:
        self.apply_button.setEnabled(self.chosen() >= 0)
        self.regen_button.setEnabled(self.chosen() >= 0)
        self.slider.setEnabled(len(self.frames) > 1)


class ExploreMixin:
    """The AI panel's in-betweens and "more like this" (mixed into `AiPanel`, which owns the
    widgets, the worker, the document and the result these methods use)."""

    def in_between(self, frames: int | None = None) -> JobHandle | None:
        """Render in-between frames of the two selected variations; the job (None: refused)."""
        r, ends = self.result, self.strip.endpoints()
        if self._job or r is None or self.result_doc is not self.doc:
            return None
        if ends is None:
            self._show_error("Select two variations for in-betweens (Ctrl+click the second).")
            return None
        from ...ai.latents import between_request

        k = self.results.frames.value() if frames is None else int(frames)
        try:
            request = between_request(r, ends[0], ends[1], k)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        return self._submit(request, (r, ends[0], ends[1]))

    def more_like_this(self, amount: float | None = None) -> JobHandle | None:
        """Variations close to the picked one (as many as the form's Variations); the job
        (None: refused)."""
        r, i = self.result, self.strip.chosen()
        if self._job or r is None or i < 0 or self.result_doc is not self.doc:
            return None
        from ...ai.latents import more_like_request
        from ...ai.requests import random_seed

        a = self.results.amount.value() / 100.0 if amount is None else float(amount)
        try:
            request = more_like_request(r, i, self.form.batch.value(), a, random_seed())
        except AiError as exc:
            self._show_error(str(exc))
            return None
        return self._submit(request)

    def _show_between(self, result: AiResult, dt: float) -> None:
        base, a, b = self._ended_between  # type: ignore[misc]
        self.results.hide()
        self.interp.set_frames(frames_of(base, a, b, result))
        self.interp.show()
        self._sync()
        self.interp.list.setFocus()
        n = len(result.images)
        self.status.setText(f"{n} in-between frame{'s' * (n != 1)} in {dt:.1f} s. Scrub the "
                            "slider to preview each on the canvas; Apply frame adds it.")
        self.message.emit(f"AI: {n} in-between frames ready")

    def close_between(self) -> None:
        """Back from the in-betweens to the variations."""
        if self.interp.isHidden() and not self.interp.frames:
            return
        self.interp.clear()
        self.interp.hide()
        self.results.show()
        if not self._job:
            self._show_picked()
        self._sync()

    def _frame_picked(self, i: int) -> None:
        f = self.interp.chosen_frame()
        if f is None or i < 0:
            self._set_preview(None, None)
        else:
            img = array_to_qimage(variant_layer(f.result, f.index))
            self._set_preview(img, canvas_rect(f.result.request, f.result.rect))

    def apply_frame(self, index: int | None = None) -> Layer | None:
        """Put in-between frame `index` (default: the chosen one) on a new layer."""
        doc = self.doc
        i = self.interp.chosen() if index is None else int(index)
        if doc is None or not 0 <= i < len(self.interp.frames):
            return None
        if self.result_doc is not doc:
            self._show_error("These frames belong to another document.")
            return None
        from ...ai.apply import apply_result

        f = self.interp.frames[i]
        done = self.applied_layer(f.result, f.index)
        if done is not None:   # applied already (and not undone): never twice
            self.status.setText(f"This frame is already on the layer “{done.name}”.")
            return done
        try:
            layer = apply_result(doc, f.result, f.index)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        self._applied.append((f.result, f.index, layer))
        self._show_error("")
        self._set_preview(None, None)
        self.status.setText(f"Applied the frame at t = {f.t:.2f} as layer “{layer.name}”. "
                            "Ctrl+Z removes it.")
        self.message.emit(f"AI: added layer “{layer.name}”")
        self.applied.emit(layer)
        return layer
