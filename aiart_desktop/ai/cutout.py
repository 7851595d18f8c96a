"""Select Subject, Remove Background and Replace Background: the headless half.

    req = subject_request(doc)                    # the visible picture (Select Subject)
    req = subject_request(doc, layer)             # one layer's pixels (Remove Background)
    result = engine.run(req, on_progress, cancelled)      # on the worker: backends/matte.py
    doc.set_selection(subject_selection(doc, result))     # Select Subject, one undo step
    doc.set_selection(background_selection(doc, result))  # Replace Background: then a Fill
    remove_background(doc, layer, result)                  # one undo step, nothing destroyed

A huge canvas is never sent whole: the picture goes at most `MAX_SIDE` pixels on its longer
side (the network reads 1024²), and the soft mask comes back over the region at full size
(`SubjectRequest.scale`). The mask keeps its in-between values (hair, fur): the selection is
soft, and the cut-out layer's edge is feathered as the network saw it.

Remove Background keeps the subject of the active layer on a new layer just above it (its
pixels, their alpha multiplied by the mask) and hides the original — one undo step that
destroys nothing: undo, or show the original again, and the picture is as it was.
"""
from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AiError, RequestError
from .requests import AUTO, AiResult, SubjectRequest
from .segment import over_white, read_steps

if TYPE_CHECKING:
    from ..core.document import Document
    from ..core.geometry import Rect
    from ..core.layer import Layer

SUBJECT_HINT = ("Select Subject needs a background-removal model: download “BiRefNet lite” "
                "(224 MB) in the model manager (Models…).")
MAX_SIDE = 1024     # the longest side of the picture sent to the network


def subject_request(doc: Document, layer: Layer | None = None, model: str = AUTO,
                    max_side: int = MAX_SIDE) -> SubjectRequest:
    """The request that finds the subject of the visible picture (the whole canvas), or of
    `layer`'s own pixels (its bounds inside the canvas), scaled to at most `max_side`."""
    steps = subject_steps(doc, layer, model, max_side)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def subject_steps(doc: Document, layer: Layer | None = None, model: str = AUTO,
                  max_side: int = MAX_SIDE) -> Generator[None, None, SubjectRequest]:
    """`subject_request` in steps of about `segment.BAND_ROWS` document rows each
    (milliseconds), so the UI's event loop runs between them; the request is the generator's
    return value. Whoever steps it starts over when the document changed meanwhile. A
    RequestError at once for an empty layer."""
    if layer is None:
        rect = doc.rect
        reads = read_steps(lambda part: over_white(doc.flatten(part, True), True), rect,
                           max_side)
    else:
        rect = layer.bounds().intersect(doc.rect)
        if rect.empty:
            raise RequestError(f"the layer “{layer.name}” is empty: there is no subject to "
                               "find on it")
        reads = read_steps(lambda part: over_white(layer.read(part)), rect, max_side)
    return _request_steps(doc, rect, reads, model)


def _request_steps(doc: Document, rect: Rect, reads: Generator[None, None, Any], model: str
                   ) -> Generator[None, None, SubjectRequest]:
    revision, size = doc.revision, (doc.width, doc.height)
    rgb, view = yield from reads
    image = np.empty(rgb.shape[:2] + (4,), np.uint8)
    image[..., :3] = rgb
    image[..., 3] = 255
    return SubjectRequest(rect=rect, image=image, scale=view.scale, model=model,
                          revision=revision, canvas_size=size)


def subject_mask(doc: Document, result: AiResult) -> np.ndarray:
    """The result's soft subject mask placed in a canvas-sized (h, w) uint8 mask."""
    _check_canvas(doc, result)
    out = np.zeros((doc.height, doc.width), np.uint8)
    part = result.rect.intersect(doc.rect)
    if not part.empty:
        out[part.slices()] = result.alpha[part.slices(result.rect.x, result.rect.y)]
    return out


def subject_selection(doc: Document, result: AiResult) -> np.ndarray | None:
    """The selection Select Subject makes: the soft mask, or None when no subject was found
    (nothing at least half sure)."""
    mask = subject_mask(doc, result)
    return mask if bool((mask >= 128).any()) else None


def background_selection(doc: Document, result: AiResult) -> np.ndarray:
    """The inverted subject mask over the whole canvas: what Replace Background fills."""
    return 255 - subject_mask(doc, result)


def remove_background(doc: Document, layer: Layer, result: AiResult) -> Layer:
    """Keep `layer`'s subject on a new layer above it and hide `layer`; one undo step. The new
    layer holds the layer's pixels now, their alpha multiplied by the soft mask."""
    _check_canvas(doc, result)
    if not doc.contains(layer) or layer.parent is None:
        raise AiError(f"the layer “{layer.name}” was deleted before its background was found; "
                      "nothing was changed")
    rect = result.rect
    pixels = np.array(layer.read(rect), copy=True)
    alpha = pixels[..., 3].astype(np.uint16) * result.alpha.astype(np.uint16)
    pixels[..., 3] = ((alpha + 127) // 255).astype(np.uint8)
    pixels[pixels[..., 3] == 0] = 0
    rows, cols = np.flatnonzero(pixels[..., 3].any(axis=1)), np.flatnonzero(
        pixels[..., 3].any(axis=0))
    if rows.size == 0:
        raise AiError(f"no subject was found on the layer “{layer.name}”; nothing was changed")
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    parent = layer.parent
    with doc.history.macro("Remove background"):
        cut = doc.add_layer(f"{layer.name} (subject)", parent=parent,
                            index=parent.children.index(layer) + 1,
                            pixels=np.ascontiguousarray(pixels[y0:y1, x0:x1]),
                            x=rect.x + x0, y=rect.y + y0, provenance=layer.provenance,
                            text="Remove background")
        doc.set_props(cut, opacity=layer.opacity, blend_mode=layer.blend_mode)
        doc.set_visible(layer, False, undoable=True)
        doc.set_active(cut)
    return cut


def _check_canvas(doc: Document, result: AiResult) -> None:
    want = tuple(result.request.canvas_size)
    if (doc.width, doc.height) != want:
        raise AiError(f"the canvas changed size since the subject was looked for "
                      f"({doc.width}x{doc.height}, was {want[0]}x{want[1]}); try again")
