"""From a document to a request: copy the region (with context) and the selection, and the
outpaint canvas arithmetic. Runs on the UI thread; costs the region, not the canvas.

    req = make_request(doc, "inpaint", prompt="a red boat", model="sd-turbo", steps=4)
    result = engine.run(req, on_progress, cancelled)        # on the worker thread
    layer = apply_result(doc, result, 0)                    # back on the UI thread
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.document import Document
from ..core.geometry import Rect
from .errors import RequestError
from .region import context_margin, snap_rect
from .requests import DIRECTIONS, OPS, REQUEST_TYPES, STYLE, AiRequest


def selection_bounds(doc: Document) -> Rect:
    """Bounds of the selection (the whole canvas when nothing is selected)."""
    rect, _ = doc.selection_region(0)
    if rect.empty:
        raise RequestError("the selection is empty: select the area to work on first")
    return rect


def _mask_u8(doc: Document, rect: Rect) -> np.ndarray | None:
    m = doc.selection_mask(rect)
    if m is None:
        return None
    return np.rint(m * 255.0).astype(np.uint8)


def capture_selection(doc: Document, margin: int | None = None
                      ) -> tuple[Rect, np.ndarray, np.ndarray]:
    """(region, RGBA copy of the visible picture there, selection mask there): the selection's
    bounds plus a context margin, snapped to multiples of 8 inside the canvas."""
    sel = selection_bounds(doc)
    margin = context_margin(sel) if margin is None else max(0, int(margin))
    rect = snap_rect(sel.expanded(margin).intersect(doc.rect), doc.rect)
    mask = _mask_u8(doc, rect)
    if mask is None:
        mask = np.full((rect.h, rect.w), 255, np.uint8)
    return rect, doc.flatten(rect), mask


# ---- outpaint -------------------------------------------------------------------------------
def outpaint_plan(width: int, height: int, direction: str, pixels: int
                  ) -> tuple[int, int, int, int, Rect]:
    """(new width, new height, dx, dy, new area) for growing a width×height canvas by `pixels`
    on `direction`; (dx, dy) is how far existing content moves, the new area is in the grown
    canvas's coordinates."""
    p = int(pixels)
    if direction == "right":
        return width + p, height, 0, 0, Rect(width, 0, p, height)
    if direction == "left":
        return width + p, height, p, 0, Rect(0, 0, p, height)
    if direction == "bottom":
        return width, height + p, 0, 0, Rect(0, height, width, p)
    if direction == "top":
        return width, height + p, 0, p, Rect(0, 0, width, p)
    raise RequestError(f"unknown direction {direction!r} (use one of {', '.join(DIRECTIONS)})")


def grow_canvas(doc: Document, direction: str, pixels: int) -> Rect:
    """Grow the canvas (one undoable step) and return the new, empty area."""
    w, h, dx, dy, area = outpaint_plan(doc.width, doc.height, direction, pixels)
    doc.resize_canvas(w, h, dx, dy)
    return area


def outpaint_context(width: int, height: int, direction: str, pixels: int) -> Rect:
    """The strip of the existing canvas along the edge that the model sees as context."""
    horizontal = direction in ("left", "right")
    extent = width if horizontal else height
    ctx = min(extent, max(64, int(pixels)))
    if direction == "right":
        return Rect(width - ctx, 0, ctx, height)
    if direction == "left":
        return Rect(0, 0, ctx, height)
    if direction == "bottom":
        return Rect(0, height - ctx, width, ctx)
    return Rect(0, 0, width, ctx)


def outpaint_layout(canvas_size: tuple[int, int], context: Rect, direction: str, pixels: int
                    ) -> tuple[Rect, Rect, np.ndarray]:
    """For an outpaint of a canvas of `canvas_size` whose context strip is `context`:
    (region in the grown canvas = strip + new area, where the strip sits inside that region,
    mask of the new area inside the region (uint8, 255 = new))."""
    w, h = canvas_size
    _, _, dx, dy, area = outpaint_plan(w, h, direction, pixels)
    strip = context.translated(dx, dy)
    region = strip.union(area)
    mask = np.zeros((region.h, region.w), np.uint8)
    mask[area.slices(region.x, region.y)] = 255
    return region, strip.translated(-region.x, -region.y), mask


# ---- requests -------------------------------------------------------------------------------
def make_request(doc: Document, op: str, *, margin: int | None = None,
                 **params: Any) -> AiRequest:
    """A frozen request for `op` on the document's selection (or canvas), holding copies of the
    pixels and mask it needs. `params` are the request's fields (prompt, seed, steps, model,
    strength, ...; `direction` and `pixels` for outpaint)."""
    if op not in OPS and op != STYLE:
        raise RequestError(f"unknown operation {op!r} (use one of {', '.join(OPS)}, {STYLE})")
    cls = REQUEST_TYPES[op]
    image: np.ndarray | None
    mask: np.ndarray | None
    if op == "outpaint":
        direction = params.get("direction", "right")
        pixels = int(params.get("pixels", 256))
        if direction not in DIRECTIONS:
            raise RequestError(f"unknown direction {direction!r} "
                               f"(use one of {', '.join(DIRECTIONS)})")
        rect = outpaint_context(doc.width, doc.height, direction, pixels)
        image, mask = doc.flatten(rect), None
    elif op == "txt2img":
        rect = selection_bounds(doc)
        image, mask = None, _mask_u8(doc, rect)
    else:
        rect, image, mask = capture_selection(doc, margin)
    return cls(rect=rect, image=image, mask=mask, revision=doc.revision,
               canvas_size=(doc.width, doc.height), **params)


# ---- re-running a record ------------------------------------------------------------------------
def params_from_record(rec: dict[str, Any], model: str) -> tuple[str, dict[str, Any]]:
    """(op, request fields) that re-make the job a provenance record describes, on the
    document's current selection, with `model` (the record's own model when it is installed;
    the caller decides): `requests.request_params`, plus the pixels of a reference picture read
    again from its file. Raises RequestError for a record that cannot be re-run here (a style
    transfer: the Style panel re-runs those; a reference whose pixels were never a file)."""
    from .requests import request_params

    op = str(rec.get("op", ""))
    if op == STYLE:
        raise RequestError("style transfers are re-run from the Style panel")
    if op not in OPS:
        raise RequestError(f"this generation's operation ({op or 'none'}) cannot be re-run")
    params = request_params(rec, model=model)
    if float(params.get("ip_adapter_scale") or 0.0) > 0.0:
        params["ip_adapter_image"] = _reference_pixels(str(params.get("ip_adapter_reference")))
    ref = str(params.get("style_reference") or "")
    if op == "img2img" and ref and not ref.startswith("Style "):
        params["style_image"] = _reference_pixels(ref)
    return op, params


def _reference_pixels(ref: str) -> np.ndarray:
    if not ref or ref == "image":
        raise RequestError("the reference picture of this generation was not kept as a file: "
                           "use Load settings and choose the picture again")
    from .backends.style import style_image_rgb

    return style_image_rgb(ref)
