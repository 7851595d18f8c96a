"""Edit and Select menu operations: clipboard (system clipboard; paste = a new layer) and the
whole-canvas selection commands.

Copy and cut take the selection softly (alpha times the mask, cropped to its bounds); paste
lands at the selection's top-left when there is one, else where the pixels were copied from,
else centred on the view."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData
from PySide6.QtGui import QClipboard, QImage
from PySide6.QtWidgets import QApplication

from ..core.document import Document
from ..core.geometry import Rect
from ..core.selection import bounds
from .convert import array_to_qimage, qimage_to_array

ORIGIN_MIME = "application/x-aiart-origin"


def _clipboard() -> QClipboard:
    return QApplication.clipboard()


def selection_bounds(doc: Document) -> Rect | None:
    if doc.selection is None:
        return None
    r = bounds(doc.selection)
    return None if r.empty else r


def copy_region(doc: Document) -> tuple[Rect, np.ndarray] | None:
    """The active layer's pixels inside the selection (or its painted area), straight RGBA."""
    layer = doc.active_layer
    if layer is None:
        return None
    rect = selection_bounds(doc) or layer.bounds()
    rect = rect.intersect(doc.rect)
    if rect.empty:
        return None
    px = layer.read(rect)
    mask = doc.selection_mask(rect)
    if mask is not None:
        px[..., 3] = np.round(px[..., 3] * mask).astype(np.uint8)
    if not px[..., 3].any():
        return None
    return rect, px


def copy(doc: Document) -> bool:
    got = copy_region(doc)
    if got is None:
        return False
    rect, px = got
    data = QMimeData()
    data.setImageData(array_to_qimage(px))
    data.setData(ORIGIN_MIME, QByteArray(f"{rect.x},{rect.y},{rect.w},{rect.h}".encode()))
    _clipboard().setMimeData(data)
    return True


def cut(doc: Document) -> bool:
    got = copy_region(doc)
    layer = doc.active_layer
    if got is None or layer is None or layer.locked or not copy(doc):
        return False
    doc.clear_layer(layer, got[0])
    return True


def paste(doc: Document, centre: tuple[float, float] | None = None) -> bool:
    """Paste the clipboard image as a new layer: at the selection's top-left when something
    is selected, else where it was copied from (if it came from here and fits), else centred
    on `centre` (default: the canvas centre). One undo step."""
    data = _clipboard().mimeData()
    if data is None or not data.hasImage():
        return False
    image = data.imageData()
    if not isinstance(image, QImage) or image.isNull():
        return False
    px = qimage_to_array(image)
    h, w = px.shape[:2]
    x = y = None
    at = selection_bounds(doc)
    if at is not None:
        x, y = at.x, at.y
    elif data.hasFormat(ORIGIN_MIME):
        try:
            ox, oy, ow, oh = (int(v) for v in bytes(data.data(ORIGIN_MIME).data()).split(b","))
            if (ow, oh) == (w, h):
                x, y = ox, oy
        except ValueError:
            pass
    if x is None or y is None:
        cx, cy = centre if centre is not None else (doc.width / 2, doc.height / 2)
        x, y = round(cx - w / 2), round(cy - h / 2)
    doc.add_layer(doc.unique_name("Pasted"), pixels=px, x=x, y=y, text="Paste")
    return True


def select_all(doc: Document) -> None:
    doc.set_selection(np.full((doc.height, doc.width), 255, np.uint8), "Select all")


def deselect(doc: Document) -> None:
    if doc.selection is not None:
        doc.set_selection(None, "Deselect")


def invert_selection(doc: Document) -> None:
    """Invert the selection; with nothing selected this selects nothing (everything stays
    paintable), as in Photoshop."""
    if doc.selection is None:
        return
    doc.set_selection(255 - doc.selection, "Invert selection")
