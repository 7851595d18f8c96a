"""Train a Style's picture rows: a picked picture (`Picked`: its source, size and thumbnail),
read off the UI thread (`read_files`) or taken from pixels (`picked_pixels`), and how its row
shows the training crop (`crop_icon`: the thumbnail with the part left out dimmed; `size_text`:
"640×480 px, trained at 320×192 (cropped as shown)"), from ai/training.py: bucket_for.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from ...ai import training as tr

THUMB = 64


@dataclass
class Picked:
    """A picture in the list: where it comes from, its size and its small look."""

    source: tr.PictureSource
    width: int
    height: int
    thumb: np.ndarray      # RGB uint8, at most THUMB on its longer side


def thumb(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(rgb)
    img.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    return np.asarray(img.convert("RGB"))


def read_files(paths: list[str]) -> list[Picked | str]:
    """(Off the UI thread) each file read: a `Picked`, or the message naming why not."""
    out: list[Picked | str] = []
    for path in paths:
        try:
            rgb = tr.read_picture(path)
        except tr.TrainError as exc:
            out.append(str(exc))
            continue
        src = tr.PictureSource(Path(path).name, path=str(path))
        out.append(Picked(src, rgb.shape[1], rgb.shape[0], thumb(rgb)))
    return out


def picked_pixels(label: str, rgba: np.ndarray) -> Picked:
    rgb = tr.flatten_rgba(rgba)
    return Picked(tr.PictureSource(label, rgba=rgba), rgb.shape[1], rgb.shape[0], thumb(rgb))


def crop_icon(p: Picked, resolution: int) -> QPixmap:
    """The thumbnail with the training crop framed (outside it dimmed)."""
    th = np.ascontiguousarray(p.thumb)
    h, w = th.shape[:2]
    img = QImage(th.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    pix = QPixmap(THUMB, THUMB)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    ox, oy = (THUMB - w) / 2, (THUMB - h) / 2
    painter.drawImage(QRectF(ox, oy, w, h), img)
    crop = tr.bucket_for(p.width, p.height, resolution)
    k = w / p.width
    x0, y0, x1, y1 = (v * k for v in crop.box)
    frame = QRectF(ox + x0, oy + y0, x1 - x0, y1 - y0)
    dim = QColor(0, 0, 0, 140)
    full = QRectF(ox, oy, w, h)
    painter.fillRect(QRectF(full.left(), full.top(), full.width(), frame.top() - full.top()), dim)
    painter.fillRect(QRectF(full.left(), frame.bottom(), full.width(),
                            full.bottom() - frame.bottom()), dim)
    painter.fillRect(QRectF(full.left(), frame.top(), frame.left() - full.left(),
                            frame.height()), dim)
    painter.fillRect(QRectF(frame.right(), frame.top(), full.right() - frame.right(),
                            frame.height()), dim)
    painter.setPen(QPen(QColor(255, 210, 60), 1.5))
    painter.drawRect(frame.adjusted(0.75, 0.75, -0.75, -0.75))
    painter.end()
    return pix


def size_text(p: Picked, resolution: int) -> str:
    """"trained at 512×384 (cropped as shown)" or "(whole picture)"."""
    crop = tr.bucket_for(p.width, p.height, resolution)
    bw, bh = crop.bucket
    x0, y0, x1, y1 = crop.box
    whole = (x1 - x0) >= p.width - 1 and (y1 - y0) >= p.height - 1
    how = "whole picture" if whole else "cropped as shown"
    return f"{p.width}\u00d7{p.height} px, trained at {bw}\u00d7{bh} ({how})"
