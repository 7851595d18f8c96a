"""Applying an AI result to the document: one new layer, one undo step.

The layer holds the chosen variation already multiplied by the feathered blend mask (as its
alpha), so the picture outside the selection is unchanged to the bit, and the layer stays fully
editable (mask it, move it, lower its opacity, delete it). Its provenance is the request record
with the variation's seed, so it can be re-generated with tweaks. An outpaint result first grows
the canvas; both happen in the same undo step.
"""
from __future__ import annotations

import numpy as np

from ..core.document import Document
from ..core.layer import Layer
from .capture import outpaint_layout, outpaint_plan
from .errors import AiError
from .region import composite_over, layer_pixels, rgba_to_rgb
from .requests import AiResult, OutpaintRequest

NAME_LENGTH = 40
OP_NAMES = {"inpaint": "Fill", "img2img": "Refine", "txt2img": "Generate", "outpaint": "Expand",
            "style": "Style"}


def layer_name(result: AiResult) -> str:
    """A short layer name from the prompt ("Fill" / "Generate"... when there is none)."""
    words = " ".join(result.request.prompt.split())
    if not words and result.request.op == "style":
        return f"Style: {result.info.get('style_name') or getattr(result.request, 'style', '')}"
    if not words:
        return f"AI {OP_NAMES.get(result.request.op, result.request.op)}"
    if len(words) <= NAME_LENGTH:
        return words
    cut = words[:NAME_LENGTH].rsplit(" ", 1)[0] or words[:NAME_LENGTH]
    return cut + "…"


def _trim(pixels: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Crop RGBA pixels to where alpha is non-zero; (pixels, dx, dy)."""
    a = pixels[..., 3]
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    if rows.size == 0:
        return pixels[:0, :0], 0, 0
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return pixels[y0:y1, x0:x1], x0, y0


def apply_result(doc: Document, result: AiResult, variant_index: int = 0,
                 name: str | None = None) -> Layer:
    """Add variation `variant_index` of `result` as a new layer above the active one."""
    if not 0 <= variant_index < len(result.images):
        raise AiError(f"there is no variation {variant_index + 1} (the result has "
                      f"{len(result.images)})")
    req = result.request
    pixels, dx, dy = _trim(layer_pixels(result.images[variant_index], result.alpha))
    x, y = result.rect.x + dx, result.rect.y + dy
    record = result.record(variant_index)
    title = name or layer_name(result)
    text = f"AI {OP_NAMES.get(req.op, req.op).lower()}"
    if not isinstance(req, OutpaintRequest):
        return doc.add_layer(title, pixels=pixels, x=x, y=y, provenance=record, text=text)
    w0, h0 = req.canvas_size
    new_w, new_h, cdx, cdy, _ = outpaint_plan(w0, h0, req.direction, req.pixels)
    with doc.history.macro(text):
        if (doc.width, doc.height) == (w0, h0):
            doc.resize_canvas(new_w, new_h, cdx, cdy)
        elif (doc.width, doc.height) != (new_w, new_h):
            raise AiError(f"the canvas changed size since the request ({doc.width}x"
                          f"{doc.height}, expected {w0}x{h0}); generate again")
        return doc.add_layer(title, pixels=pixels, x=x, y=y, provenance=record, text=text)


def variant_preview(result: AiResult, index: int) -> np.ndarray:
    """RGB8 over `result.rect`: variation `index` blended over the picture it was made from,
    as applying it would show it (for the strip of variations to pick from)."""
    req = result.request
    img = result.images[index]
    base = np.full(img.shape, 255, np.uint8)
    if req.image is not None:
        rgb = rgba_to_rgb(req.image)
        if isinstance(req, OutpaintRequest):
            _, strip, _ = outpaint_layout(req.canvas_size, req.rect, req.direction, req.pixels)
            base[strip.slices()] = rgb
        else:
            base = rgb
    return composite_over(base, img, result.alpha)
