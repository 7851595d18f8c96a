"""Select Object's headless half: where the segmented picture sits in the document, what a
prompt is, and the mask placed back in the document. No torch: the model runs in
backends/local_segment.py (`Segmenter`).

A huge canvas is never embedded whole: the caller passes the picture that matters (the visible
part, or a region, possibly scaled down) with its `View` — the document rectangle it shows and
its scale (picture pixels per document pixel). Points and boxes are given in document
coordinates; `View` maps them into the picture, and `document_mask` maps the picture-sized mask
back into a document-sized one, as `Document.set_selection` and `core.selection.combine` take.

    picture, view = picture_for(doc, Rect(2000, 1000, 3200, 2400))   # 1024 x 768, scale 0.32
    emb = segmenter.embed(picture, folder, view)     # cached while those pixels stay the same
    mask = segmenter.select(emb, [(2400.0, 1300.0, +1)], None, doc.width, doc.height)
    doc.set_selection(selection.combine(doc.selection, mask, Op.ADD))   # Shift+click

Do not key the embedding by `Document.revision`: setting the selection bumps it, so each click
would re-run the encoder. The default key, a hash of the picture's pixels (a few milliseconds
for 1024²), changes only when what the picture shows does.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.geometry import Rect
from .errors import RequestError

if TYPE_CHECKING:
    from ..core.document import Document

# What the tool says when no Segment Anything model is installed.
SEGMENT_HINT = ("Select Object needs a Segment Anything model: download one in the model "
                "manager (Models…), e.g. “SAM ViT-B”.")

MAX_SIDE = 1024        # SAM reads a picture at 1024 px on its longest side: no more is needed
BAND_ROWS = 128        # document rows flattened per step of `picture_steps`
Point = tuple[float, float, int]                   # x, y (document), +1 add / -1 (or 0) remove
Box = tuple[float, float, float, float]            # x0, y0, x1, y1 (document)


@dataclass(frozen=True)
class View:
    """The picture given to the segmenter is the document rectangle at (`x`, `y`) scaled by
    `scale` (picture pixels per document pixel)."""

    x: int = 0
    y: int = 0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise RequestError(f"the picture's scale must be positive, not {self.scale}")

    @classmethod
    def of(cls, rect: Rect, picture_width: int) -> View:
        """The view of a picture `picture_width` pixels wide showing the document's `rect`."""
        return cls(rect.x, rect.y, picture_width / max(1, rect.w))

    def to_picture(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x) * self.scale, (y - self.y) * self.scale

    def rect(self, width: int, height: int) -> Rect:
        """The document rectangle a `width` x `height` picture covers."""
        return Rect(self.x, self.y, max(1, round(width / self.scale)),
                    max(1, round(height / self.scale)))


def picture_prompt(view: View, points: Sequence[Point], box: Box | None
                   ) -> tuple[list[tuple[float, float]], list[int], Box | None]:
    """Document points and box in the picture's coordinates, with SAM's labels (1 add,
    0 remove). A RequestError when there is nothing to segment."""
    if not points and box is None:
        raise RequestError("click on an object or drag a box around it to select it")
    coords, labels = [], []
    for x, y, sign in points:
        coords.append(view.to_picture(float(x), float(y)))
        labels.append(1 if sign > 0 else 0)
    pbox: Box | None = None
    if box is not None:
        (ax, ay), (bx, by) = view.to_picture(box[0], box[1]), view.to_picture(box[2], box[3])
        pbox = (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
    return coords, labels, pbox


def document_mask(mask: np.ndarray, view: View, width: int, height: int) -> np.ndarray:
    """A picture-sized 0/255 mask placed in a `width` x `height` document (zero elsewhere),
    resized by 1 / `view.scale` when the picture was scaled."""
    out = np.zeros((height, width), np.uint8)
    ph, pw = mask.shape[:2]
    r = view.rect(pw, ph)
    if (r.w, r.h) != (pw, ph):
        from PIL import Image

        soft = Image.fromarray(np.ascontiguousarray(mask)).resize((r.w, r.h),
                                                                  Image.Resampling.BILINEAR)
        mask = np.where(np.asarray(soft) >= 128, 255, 0).astype(np.uint8)
    part = r.intersect(Rect(0, 0, width, height))
    if not part.empty:
        out[part.slices()] = mask[part.slices(r.x, r.y)]
    return out


def fingerprint(rgb: np.ndarray) -> Hashable:
    """A key for a picture when the caller has none (e.g. a document revision): its shape
    and a hash of its pixels."""
    data = np.ascontiguousarray(rgb)
    return (data.shape, str(data.dtype), hashlib.blake2b(data.data, digest_size=16).hexdigest())


def picture_for(doc: Document, rect: Rect, max_side: int = MAX_SIDE
                ) -> tuple[np.ndarray, View]:
    """The document's visible composite in `rect` (clipped to the canvas) as the RGB picture
    to segment — flattened over white, scaled down to at most `max_side` pixels on its longest
    side — and its `View`."""
    steps = picture_steps(doc, rect, max_side)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def picture_steps(doc: Document, rect: Rect, max_side: int = MAX_SIDE,
                  band: int = BAND_ROWS) -> Generator[None, None, tuple[np.ndarray, View]]:
    """`picture_for` in steps: each `next` flattens and scales about `band` of the document's
    rows (milliseconds), so a UI can let its event loop run between them (the Qt tool does);
    the picture and its `View` are the generator's return value. Whoever steps it starts
    over when the document changed meanwhile. A RequestError (at once) off the canvas."""
    r = rect.intersect(doc.rect)
    if r.empty:
        raise RequestError("Select Object needs a part of the canvas to look at")
    return read_steps(lambda part: over_white(doc.flatten(part, True), True), r, max_side,
                      band)


def read_steps(read: Callable[[Rect], np.ndarray], r: Rect, max_side: int = MAX_SIDE,
               band: int = BAND_ROWS) -> Generator[None, None, tuple[np.ndarray, View]]:
    """The RGB8 picture of `r` that `read(rect)` gives band by band (a composite, a layer's
    pixels over white), scaled down to at most `max_side`: `picture_steps`' engine."""
    from PIL import Image

    scale = min(1.0, max_side / max(r.w, r.h))
    if scale >= 1.0:
        out = np.empty((r.h, r.w, 3), np.uint8)
        for y in range(0, r.h, band):
            h = min(band, r.h - y)
            out[y:y + h] = read(Rect(r.x, r.y + y, r.w, h))
            yield None
        return out, View(r.x, r.y, 1.0)
    ow, oh = max(1, round(r.w * scale)), max(1, round(r.h * scale))
    fy = r.h / oh                                   # document rows per picture row
    out = np.empty((oh, ow, 3), np.uint8)
    step = max(1, int(band / fy))
    for oy in range(0, oh, step):
        oy1 = min(oh, oy + step)
        sy0, sy1 = oy * fy, oy1 * fy
        y0, y1 = int(sy0), min(r.h, int(np.ceil(sy1)))
        part = Image.fromarray(read(Rect(r.x, r.y + y0, r.w, y1 - y0)))
        out[oy:oy1] = np.asarray(part.resize((ow, oy1 - oy), Image.Resampling.BOX,
                                             box=(0.0, sy0 - y0, float(r.w), sy1 - y0)))
        yield None
    return out, View(r.x, r.y, scale)


def over_white(rgba: np.ndarray, premultiplied: bool = False) -> np.ndarray:
    """RGBA8 (straight, or premultiplied) composited over white: RGB8. Integer arithmetic with
    rounding (OpenCV, no float copies of a big picture)."""
    import cv2

    a = np.ascontiguousarray(rgba[..., 3])
    rgb = np.ascontiguousarray(rgba[..., :3])
    a3 = cv2.merge([a, a, a])
    if premultiplied:
        rgb = cv2.min(rgb, a3)                    # a rounding can never push colour over alpha
    else:
        rgb = cv2.multiply(rgb, a3, scale=1.0 / 255.0)   # rounded, saturated
    return cv2.add(rgb, cv2.subtract(np.full_like(a3, 255), a3))
