"""The Live dock's view of the newest frame: scaled to fit (the default), or at the canvas'
zoom ("1:1 zoom": one document pixel as large as on the canvas, centred, clipped, following
the canvas' zoom).

    view = FrameView()
    view.set_image(qimage)              # None: the hint to turn Live on
    view.set_fit(False)                 # at the canvas' zoom ...
    view.set_zoom(canvas.scale)         # ... logical pixels per document pixel
    view.image_rect()                   # where the frame is drawn (widget coordinates)
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget


class FrameView(QWidget):
    """The newest frame on a dark backdrop, fitted keeping its aspect, or at `zoom`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.fit = True
        self.zoom = 1.0          # logical pixels per frame pixel, when not fitting
        self.setMinimumSize(120, 120)

    def sizeHint(self) -> QSize:
        return QSize(260, 200)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def set_fit(self, fit: bool) -> None:
        self.fit = bool(fit)
        self.update()

    def set_zoom(self, zoom: float) -> None:
        if zoom > 0 and zoom != self.zoom:
            self.zoom = float(zoom)
            if not self.fit:
                self.update()

    def image_rect(self) -> QRectF | None:
        """Where the frame is drawn (widget coordinates, may reach past the widget when at the
        canvas' zoom); None when there is none."""
        if self.image is None or self.image.isNull():
            return None
        w, h = self.image.width(), self.image.height()
        s = min(self.width() / w, self.height() / h) if self.fit else self.zoom
        return QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(38, 38, 40))
        r = self.image_rect()
        if r is None or self.image is None:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "Turn Live on and paint:\nthe newest frame shows here")
        else:
            p.setClipRect(self.rect())
            smooth = self.fit or self.zoom < 1.0
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            p.drawImage(r, self.image)
        p.end()
