"""Conversions between numpy RGBA8 arrays and QImage.

Arrays are (h, w, 4) uint8 in R, G, B, A order. QImages made here own a copy of their pixels
unless the function says otherwise, so the array may be changed or freed afterwards.
"""
from __future__ import annotations

import sys

import numpy as np
from PySide6.QtGui import QImage


def array_to_qimage(pixels: np.ndarray, premultiplied: bool = False) -> QImage:
    """A QImage (RGBA8888, or RGBA8888_Premultiplied) holding a copy of `pixels`."""
    px = np.ascontiguousarray(pixels, dtype=np.uint8)
    if px.ndim != 3 or px.shape[2] != 4:
        raise ValueError(f"expected an (h, w, 4) array, got shape {px.shape}")
    h, w = px.shape[:2]
    fmt = QImage.Format.Format_RGBA8888_Premultiplied if premultiplied else (
        QImage.Format.Format_RGBA8888)
    return QImage(px.data, w, h, w * 4, fmt).copy()


def wrap_array(pixels: np.ndarray, fmt: QImage.Format) -> QImage:
    """A QImage that SHARES the memory of the contiguous (h, w, 4) uint8 `pixels`.

    The caller must keep the array alive (and unmoved) for as long as the image is used.
    """
    if not pixels.flags.c_contiguous or pixels.dtype != np.uint8 or pixels.ndim != 3:
        raise ValueError("wrap_array needs a C-contiguous (h, w, 4) uint8 array")
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, w * 4, fmt)


def qimage_to_array(image: QImage) -> np.ndarray:
    """Straight (non-premultiplied) RGBA8 copy of any QImage."""
    img = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = img.height(), img.width()
    if h == 0 or w == 0:
        return np.zeros((h, w, 4), np.uint8)
    stride = img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : w * 4].reshape(h, w, 4).copy()


def rgba_premultiplied_to_argb32(pixels: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA byte order -> the byte order of QImage.Format_ARGB32_Premultiplied."""
    if sys.byteorder == "little":
        return pixels[..., [2, 1, 0, 3]]
    return pixels[..., [3, 0, 1, 2]]
