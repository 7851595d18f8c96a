"""From a document to a request: the one request builder for the AI panel, the Style dock, the
Generations dock's re-run and the command line. Runs on the UI thread; costs the region, not the
canvas.

    req = make_request(doc, "inpaint", prompt="a red boat", model="sd-turbo", steps=4)
    req = make_request(doc, "img2img", target="layer", margin=0, prompt="oil paint")
    req = make_request(doc, "style", target="image", style="Style 3", strength=0.8)
    result = engine.run(req, on_progress, cancelled)        # on the worker thread
    layer = apply_result(doc, result, 0)                    # back on the UI thread

What a target covers (`target_rect`, `target_mask`):
- "selection": the selection's bounds (the whole canvas when nothing is selected), masked by
  the selection;
- "layer": the active layer's bounds (a group: the bounds of its layers) inside the canvas,
  masked by where it has paint (its alpha; a group: the most opaque of its layers'); an empty
  layer is a RequestError;
- "image": the whole canvas, unmasked;
- "rect": the rectangle given as `rect=` (live painting's frame) inside the canvas, unmasked; it
  takes no context margin unless one is given.
The request's region is that area grown by a context `margin` (None: `region.context_margin`
of the area; txt2img and the whole image take none), snapped to multiples of 8 inside the
canvas; its pixels are the visible picture there. Outpaint works on the canvas edge instead:
its context strip (`outpaint.outpaint_context`); the request computes its `OutpaintLayout`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.blend import flatten
from ..core.document import Document
from ..core.geometry import Rect
from ..core.layer import Group, Layer
from .conditioning import Control
from .errors import RequestError
from .outpaint import DIRECTIONS, outpaint_context, outpaint_plan
from .region import context_margin, snap_rect
from .requests import OPS, REQUEST_TYPES, STYLE, AiRequest

TARGETS = ("selection", "layer", "image", "rect")


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


def _active(doc: Document) -> Layer | Group:
    """The active layer or group (RequestError: nothing is active)."""
    node = doc.active
    if not isinstance(node, Layer | Group):
        raise RequestError("no layer is active: pick one in the Layers panel")
    return node


def target_rect(doc: Document, target: str, rect: Rect | None = None) -> Rect:
    """The area `target` covers on the canvas (see the module's notes), before any margin or
    snapping; `rect` is the area of the "rect" target. Raises RequestError for an unknown
    target, an empty selection, layer or rectangle."""
    if target == "rect":
        area = Rect(0, 0, 0, 0) if rect is None else rect.intersect(doc.rect)
        if area.empty:
            raise RequestError("the frame is outside the picture: move it over the canvas")
        return area
    if target == "selection":
        return selection_bounds(doc)
    if target == "image":
        return doc.rect
    if target != "layer":
        raise RequestError(f"unknown target {target!r} (use one of {', '.join(TARGETS)})")
    node = _active(doc)
    area = node.bounds().intersect(doc.rect)
    if area.empty:
        raise RequestError(f"the layer “{node.name}” is empty: paint on it first, or work on "
                           "the selection")
    return area


def target_mask(doc: Document, target: str, rect: Rect) -> np.ndarray | None:
    """What of `rect` `target` covers, uint8 (255 = all of it), or None for all of it: the
    selection there, the active layer's alpha there, nothing for the whole image."""
    if target == "selection":
        return _mask_u8(doc, rect)
    if target in ("image", "rect"):
        return None
    mask = np.zeros((rect.h, rect.w), np.uint8)
    node = _active(doc)
    for layer in [node] if isinstance(node, Layer) else node.layers():
        if layer.has_pixels_in(rect):
            np.maximum(mask, layer.read(rect)[..., 3], out=mask)
    return mask


def target_region(doc: Document, target: str = "selection", margin: int | None = None,
                  area: Rect | None = None) -> tuple[Rect, np.ndarray, np.ndarray | None]:
    """(region, RGBA copy of the visible picture there, mask there or None) for `target`: its
    area grown by `margin` (None: the context margin; the whole image and a rectangle take
    none), snapped to multiples of 8 inside the canvas; `area`: the "rect" target's rectangle."""
    rect = request_rect(doc, "inpaint", target=target, margin=margin, rect=area)
    if target in ("image", "rect"):
        return rect, doc.flatten(rect), None
    mask = target_mask(doc, target, rect)
    if mask is None and target == "selection":
        mask = np.full((rect.h, rect.w), 255, np.uint8)
    return rect, doc.flatten(rect), mask


def grow_canvas(doc: Document, direction: str, pixels: int) -> Rect:
    """Grow the canvas (one undoable step) and return the new, empty area."""
    w, h, dx, dy, area = outpaint_plan(doc.width, doc.height, direction, pixels)
    doc.resize_canvas(w, h, dx, dy)
    return area


# ---- requests -------------------------------------------------------------------------------
def request_rect(doc: Document, op: str, *, target: str = "selection", margin: int | None = None,
                 direction: str = "right", pixels: int = 256, rect: Rect | None = None) -> Rect:
    """The canvas area a request for `op` on `target` covers as the document is now (what
    `make_request` copies; the AI dock crops its control thumbnails to it): the context strip
    at the edge for outpaint, the target's area for txt2img (a layer's snapped), else the
    target grown by its margin and snapped (`target_region`). RequestError as `make_request`."""
    if op == "outpaint":
        if target != "selection":
            raise RequestError("outpaint grows the canvas from its edge: it takes no target")
        if direction not in DIRECTIONS:
            raise RequestError(f"unknown direction {direction!r} "
                               f"(use one of {', '.join(DIRECTIONS)})")
        return outpaint_context(doc.width, doc.height, direction, int(pixels))
    if op == "txt2img":
        area = target_rect(doc, target, rect)
        return snap_rect(area, doc.rect) if target in ("layer", "rect") else area
    area = target_rect(doc, target, rect)
    if target == "image":
        return area
    if target == "rect" and margin is None:
        margin = 0
    m = context_margin(area) if margin is None else max(0, int(margin))
    return snap_rect(area.expanded(m).intersect(doc.rect), doc.rect)


def make_request(doc: Document, op: str, *, target: str = "selection",
                 margin: int | None = None, rect: Rect | None = None,
                 **params: Any) -> AiRequest:
    """A frozen request for `op` on `target` of the document ("selection", "layer", "image" or
    "rect" with `rect=`; see the module's notes), holding copies of the pixels and mask it needs.
    `margin`: the context around the target (None: `region.context_margin`). `params` are the
    request's fields (prompt, seed, steps, model, strength, ...; `direction` and `pixels` for
    outpaint, which works on the canvas edge and takes no target); `controls` may list
    `controls.ControlLayer`s, whose layers' pixels over the region are copied (for outpaint,
    over the context strip: the engine extends them over the new area)."""
    if op not in OPS and op != STYLE:
        raise RequestError(f"unknown operation {op!r} (use one of {', '.join(OPS)}, {STYLE})")
    if target not in TARGETS:
        raise RequestError(f"unknown target {target!r} (use one of {', '.join(TARGETS)})")
    cls = REQUEST_TYPES[op]
    image: np.ndarray | None
    mask: np.ndarray | None
    area = rect
    rect = request_rect(doc, op, target=target, margin=margin,
                        direction=params.get("direction", "right"),
                        pixels=int(params.get("pixels", 256)), rect=area)
    if op == "outpaint":
        image, mask = doc.flatten(rect), None
    elif op == "txt2img":  # a new picture: no context, no pixels
        image, mask = None, target_mask(doc, target, rect)
    else:
        rect, image, mask = target_region(doc, target, margin, area)
    if params.get("controls"):
        params["controls"] = control_pixels(doc, params["controls"], rect)
    elif "controls" in params:
        params["controls"] = ()
    return cls(rect=rect, image=image, mask=mask, revision=doc.revision,
               canvas_size=(doc.width, doc.height), **params)


def control_pixels(doc: Document, specs: Any, rect: Rect) -> tuple[Control, ...]:
    """Each control layer's (`controls.ControlLayer`) pixels over `rect` as a request's
    `Control`: a layer's own paint, a group's composite (its visible layers), hidden or not (a
    control is the artist's guide, often hidden); `Control` values pass through. A uid that is
    not in the document is a RequestError."""
    from .controls import ControlLayer

    out: list[Control] = []
    for spec in specs:
        if isinstance(spec, Control):
            out.append(spec)
            continue
        if not isinstance(spec, ControlLayer):
            raise RequestError("a control must be a ControlLayer (layer, type, strength)")
        node = doc.find(spec.layer_uid)
        if not isinstance(node, Layer | Group):
            raise RequestError(f"the {spec.label} control's layer is gone: pick another layer")
        pixels = node.read(rect) if isinstance(node, Layer) else flatten(node, rect)
        out.append(Control(kind=spec.kind, image=pixels, strength=spec.strength,
                           start=spec.start, end=spec.end, model=spec.model, layer=node.name))
    return tuple(out)


# ---- re-running a record ------------------------------------------------------------------------
def params_from_record(rec: dict[str, Any], model: str, doc: Document | None = None
                       ) -> tuple[str, dict[str, Any]]:
    """(op, request fields) that re-make the job a provenance record describes, on the
    document's current selection, with `model` (the record's own model when it is installed;
    the caller decides): `requests.request_params`, plus the pixels of a reference picture read
    again from its file, and (given `doc`) the record's control layers found again in `doc`
    by name (`record_controls`). Raises RequestError for a record that cannot be re-run here
    (a style transfer: the Style panel re-runs those; a reference whose pixels were never a
    file; a control layer no longer in the picture)."""
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
    controls = rec.get("controls")
    if doc is not None and isinstance(controls, list) and controls:
        params["controls"] = record_controls(doc, controls)
    return op, params


def record_controls(doc: Document, controls: list[Any]) -> list[Any]:
    """A record's controls as `controls.ControlLayer`s on the layers of `doc` with the recorded
    names (the topmost of several); their pixels are captured with the request, as they are
    now. A control whose layer is gone, or a damaged entry, is a RequestError naming it."""
    from .controls import ControlLayer

    nodes = list(doc.root.walk())
    out = []
    for c in controls:
        if not isinstance(c, dict):
            raise RequestError("this generation's control layers are damaged in its record")
        name = str(c.get("layer") or "")
        node = next((n for n in reversed(nodes) if n.name == name and n is not doc.root), None)
        if node is None:
            raise RequestError(f"the control layer “{name}” of this generation is not in the "
                               "picture any more: rename a layer so, or use Load settings")
        try:
            out.append(ControlLayer(layer_uid=node.uid, kind=str(c.get("type")),
                                    strength=float(c.get("strength", 1.0)),
                                    start=float(c.get("start", 0.0)),
                                    end=float(c.get("end", 1.0)), model=str(c.get("model") or "")))
        except (TypeError, ValueError) as exc:
            raise RequestError(f"the control on “{name}” is damaged in this generation's "
                               "record") from exc
    return out


def _reference_pixels(ref: str) -> np.ndarray:
    if not ref or ref == "image":
        raise RequestError("the reference picture of this generation was not kept as a file: "
                           "use Load settings and choose the picture again")
    from .backends.style import style_image_rgb

    return style_image_rgb(ref)
