"""Where AI previews go on the canvas, and the live preview masked by the selection.

The picture a result previews is `ai.composite.variant_layer` (what Apply adds); `canvas_rect`
says where it goes on the canvas as it is before an outpaint grows it (the request's
`layout.to_canvas`), `live_rect` where a running job's previews go."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from ...ai.requests import OutpaintRequest

if TYPE_CHECKING:
    from ...ai.requests import AiRequest
    from ...core.geometry import Rect


def canvas_rect(request: AiRequest, rect: Rect) -> Rect:
    """Where a result over `rect` sits on the canvas as it was when `request` was made (an
    outpaint result is in the grown canvas's coordinates: its layout shifts it back)."""
    if isinstance(request, OutpaintRequest):
        return request.layout.to_canvas(rect)
    return rect


def live_rect(request: AiRequest) -> Rect:
    """The canvas area a running job's previews cover (for outpaint: strip + new area)."""
    if isinstance(request, OutpaintRequest):
        return request.layout.to_canvas(request.layout.region)
    return request.rect


class LiveMask:
    """Gives each small live preview of one job the request's selection as alpha, so the
    canvas shows the selected area changing, not the context around it. The scaled-down mask
    is made once per preview size."""

    def __init__(self, request: AiRequest) -> None:
        self.request = request
        self._cache: tuple[tuple[int, int], QImage] | None = None

    def apply(self, image: QImage) -> QImage:
        req = self.request
        if req.mask is None or req.op == "outpaint":
            return image
        size = (image.width(), image.height())
        if self._cache is None or self._cache[0] != size:
            m = req.mask
            mask = QImage(m.tobytes(), m.shape[1], m.shape[0], m.shape[1],
                          QImage.Format.Format_Grayscale8).scaled(
                size[0], size[1], Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
            self._cache = (size, mask)
        out = image.convertToFormat(QImage.Format.Format_ARGB32)
        out.setAlphaChannel(self._cache[1])
        return out
