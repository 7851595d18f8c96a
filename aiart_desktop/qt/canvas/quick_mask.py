"""Quick mask (Q): the selection shown as a red overlay where nothing is selected, painted with
the normal brush (adds to the selection) and eraser (takes away).

The mask lives in a scratch document of its own: one white layer whose alpha is the
selection. Strokes there never touch the real document's layers, and each is an undo step in
the scratch history while the mode is on. Leaving the mode makes the result the selection,
one undo step ("Quick mask") in the real document.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QImage, QPainter

from ...core.document import Document
from ...core.geometry import Rect
from ...core.layer import Layer
from ...core.selection import bounds

OVERLAY = QColor(255, 0, 0, 128)   # Photoshop's default: red at 50 %


class QuickMask(QObject):
    toggled = Signal(bool)
    history_changed = Signal()

    def __init__(self, canvas) -> None:  # CanvasView
        super().__init__(canvas)
        self.canvas = canvas
        self.doc: Document | None = None        # the scratch document while active
        self.layer: Layer | None = None         # its one layer: alpha = selection
        self.target: Document | None = None     # the real document
        self._start: np.ndarray | None = None   # the selection on entering
        self._alpha: np.ndarray | None = None   # 255 - selection: the overlay's coverage
        self._image: QImage | None = None

    @property
    def active(self) -> bool:
        return self.doc is not None

    # ---- entering and leaving ----------------------------------------------------------------
    def enter(self, target: Document) -> None:
        if self.active:
            return
        w, h = target.width, target.height
        sel = target.selection
        layer = Layer(name="Quick mask")
        if sel is not None:
            r = bounds(sel)
            if not r.empty:
                px = np.empty((r.h, r.w, 4), np.uint8)
                px[..., :3] = 255
                px[..., 3] = sel[r.slices()]
                layer.write(r.x, r.y, px)
        self.target, self._start = target, sel
        self.doc = Document(w, h)
        self.layer = layer
        self._alpha = np.full((h, w), 255, np.uint8) if sel is None else 255 - sel
        self._image = QImage(self._alpha.data, w, h, w, QImage.Format.Format_Alpha8)
        self.doc.pixels_changed.connect(self._mask_changed)
        self.doc.history.changed.connect(self.history_changed.emit)
        target.size_changed.connect(self._target_resized)
        self.canvas.ants.set_hidden(True, "quick mask")
        self.canvas.viewport().update()
        self.toggled.emit(True)
        self.history_changed.emit()
        self.canvas.notify("Quick mask: the brush selects, the eraser deselects; "
                           "Q again makes it the selection")

    def leave(self, apply: bool = True) -> None:
        """Quit the mode; with `apply`, the painted mask becomes the selection (one step)."""
        if not self.active:
            return
        target, layer = self.target, self.layer
        assert target is not None and layer is not None
        if self.canvas.painting:   # a stroke on the mask in progress: keep it
            self.canvas.finish_tool()
        mask = self.mask()
        try:
            target.size_changed.disconnect(self._target_resized)
        except ValueError:
            pass
        self.doc = self.layer = self.target = None
        self._alpha = self._image = None
        start, self._start = self._start, None
        if apply and target.width * target.height == mask.size and not _same(start, mask):
            target.set_selection(mask, "Quick mask")
        self.canvas.ants.set_hidden(False, "quick mask")
        self.canvas.viewport().update()
        self.toggled.emit(False)
        self.history_changed.emit()

    def toggle(self, target: Document | None) -> None:
        if self.active:
            self.leave()
        elif target is not None:
            self.enter(target)

    def mask(self) -> np.ndarray:
        """The selection as painted so far (canvas-sized uint8)."""
        assert self.layer is not None and self.target is not None
        return self.layer.read(Rect(0, 0, self.target.width, self.target.height))[..., 3].copy()

    def _target_resized(self, _w: int, _h: int) -> None:
        self.leave(apply=False)
        self.canvas.notify("Quick mask ended: the canvas size changed")

    # ---- undo inside the mode ------------------------------------------------------------------
    def undo(self) -> bool:
        return self.doc is not None and self.doc.history.undo()

    def redo(self) -> bool:
        return self.doc is not None and self.doc.history.redo()

    # ---- the overlay -----------------------------------------------------------------------------
    def _mask_changed(self, rect: Rect) -> None:
        if self.layer is None or self._alpha is None:
            return
        self._alpha[rect.slices()] = 255 - self.layer.read(rect)[..., 3]
        c = self.canvas
        c.viewport().update(c.doc_rect_to_view(rect).toAlignedRect().adjusted(-2, -2, 2, 2))

    def paint(self, p: QPainter, dr: Rect) -> None:
        """Draw the overlay over document rect `dr` (already clipped to the canvas)."""
        if self._image is None or dr.empty:
            return
        c = self.canvas
        dest = c.doc_rect_to_view(dr)
        out = dest.toAlignedRect()
        if out.isEmpty():
            return
        # Tint through a scratch image the size of the area: the mask is 1 byte a pixel.
        scratch = QImage(out.size(), QImage.Format.Format_ARGB32_Premultiplied)
        scratch.fill(0)
        q = QPainter(scratch)
        q.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, c.zoom < 1.0)
        q.drawImage(dest.translated(-out.x(), -out.y()), self._image,
                    QRectF(dr.x, dr.y, dr.w, dr.h))
        q.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        q.fillRect(scratch.rect(), OVERLAY)
        q.end()
        p.drawImage(QPointF(out.topLeft()), scratch)


def _same(a: np.ndarray | None, b: np.ndarray) -> bool:
    if a is None:
        return not b.any()
    return bool(np.array_equal(a, b))

