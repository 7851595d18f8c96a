"""Pictures with structure for the style tests: a colour gradient and a painting on it."""
from __future__ import annotations

import numpy as np

from aiart_desktop.core.document import Document


def gradient(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([40 + xx * 160 / w, 60 + yy * 160 / h,
                      200 - (xx / w + yy / h) * 80]).astype(np.uint8)


def painting(size: int = 160) -> Document:
    doc = Document.new(size, size, (235, 230, 220, 255))
    doc.put_pixels(doc.layers[0], 0, 0, np.dstack([gradient(size, size),
                                                  np.full((size, size), 255, np.uint8)]))
    square = np.zeros((40, 40, 4), np.uint8)
    square[...] = (200, 40, 30, 255)
    doc.put_pixels(doc.layers[0], 60, 60, square)
    return doc
