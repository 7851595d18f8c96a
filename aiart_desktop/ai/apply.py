"""Applying an AI result to the document: one new layer, one undo step.

The layer holds the chosen variation already multiplied by the feathered blend mask (as its
alpha): `composite.variant_layer`, the very pixels the canvas previewed, trimmed to where they
are not transparent. So the picture outside the selection is unchanged to the bit, and the layer
stays fully editable (mask it, move it, lower its opacity, delete it). Its provenance is the
request record with the variation's seed, so it can be re-generated with tweaks. An outpaint
result first grows the canvas (to the request's `layout.size`, content moved by its
`layout.shift`); both happen in the same undo step.

Where the layer goes: the job's input was the visible picture, so its layer must land where the
document then shows what the preview showed. Just above the active layer (as Add layer does) when
that reproduces the preview exactly, else at the top of the stack, which always does
(`placement` says which, before or after applying, so the panel can tell the user).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.document import Document
from ..core.geometry import Rect
from ..core.layer import Group, Layer, Node
from .composite import variant_layer
from .errors import AiError
from .requests import AiResult, OutpaintRequest

NAME_LENGTH = 40
OP_NAMES = {"inpaint": "Fill", "img2img": "Refine", "txt2img": "Generate", "outpaint": "Expand",
            "style": "Style"}


def layer_name(result: AiResult) -> str:
    """A short layer name from the prompt ("Fill" / "Generate"... when there is none)."""
    words = " ".join(result.request.prompt.split())
    if not words and result.request.op == "style":
        from .styles.builtins import builtin_name

        style = str(result.info.get("style_name") or getattr(result.request, "style", ""))
        return f"Style: {builtin_name(style)}"
    if not words and result.backend == "lama":  # the object removers: LaMa or MI-GAN
        return f"AI {OP_NAMES.get(result.request.op, result.request.op)} ({result.model_name})"
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


@dataclass(frozen=True)
class Placement:
    """Where `apply_result` puts a result's layer: `parent` at `index`. `moved` says the layer
    goes to the top of the stack because just above the active layer it would not look as the
    preview did (something above paints over the region, or a group changes how it shows)."""

    parent: Group
    index: int
    moved: bool

    @property
    def note(self) -> str:
        """A line for the user when the layer is not where Add layer would have put it."""
        return "Added at the top of the layers so the picture matches the preview." \
            if self.moved else ""


def placement(doc: Document, result: AiResult) -> Placement:
    """Where applying `result` to `doc` now would put its layer (see `Placement`). For an
    outpaint, before or after the canvas has grown."""
    rect = result.rect
    req = result.request
    if isinstance(req, OutpaintRequest) and (doc.width, doc.height) == tuple(req.canvas_size):
        rect = req.layout.to_canvas(rect)  # the grow shifts every layer by layout.shift
    return placement_for(doc, rect, result.alpha > 0)


def placement_for(doc: Document, rect: Rect, where: np.ndarray | None = None) -> Placement:
    """Where a new layer covering `rect` (where `where` is true, a (h, w) bool array over
    `rect`; all of it by default) goes so that it shows as if it were on top of everything:
    above the active layer when that looks the same there, else at the top of the stack."""
    parent, index = doc.insertion_point()
    if _shows_as_top(doc, parent, index, rect, where):
        return Placement(parent, index, False)
    return Placement(doc.root, len(doc.root.children), True)


def _shows_as_top(doc: Document, parent: Group, index: int, rect: Rect,
                  where: np.ndarray | None) -> bool:
    """Whether a normal, fully opaque layer at `parent`/`index` composites inside `rect` exactly
    as it would at the top of the root: nothing visible above it paints there, and every group
    around it is visible, at full opacity and pass-through or normal (so "over" associates)."""
    group, above = parent, parent.children[index:]
    while True:
        if any(_paints(n, rect, where) for n in above):
            return False
        if group is doc.root:
            return True
        if not group.visible or group.opacity < 1.0 or not (
                group.pass_through or group.blend_mode == "normal"):
            return False
        outer = group.parent
        if outer is None:  # a group no longer in the document
            return False
        above = outer.children[outer.children.index(group) + 1:]
        group = outer


def _paints(node: Node, rect: Rect, where: np.ndarray | None) -> bool:
    """Whether `node` puts any colour into `rect` (where `where` is true) of the composite: a
    visible layer with a non-transparent pixel there, or a visible group holding one."""
    if not node.visible or node.opacity <= 0.0:
        return False
    if isinstance(node, Group):
        return any(_paints(c, rect, where) for c in node.children)
    if not isinstance(node, Layer) or not node.has_pixels_in(rect):
        return False
    alpha = node.read(rect)[..., 3]
    return bool(alpha.any() if where is None else alpha[where].any())


def apply_result(doc: Document, result: AiResult, variant_index: int = 0,
                 name: str | None = None) -> Layer:
    """Add variation `variant_index` of `result` as a new layer where the document then shows
    what the preview showed: above the active layer when that looks the same, else at the top
    (`placement(doc, result)` tells which). One undo step."""
    if not 0 <= variant_index < len(result.images):
        raise AiError(f"there is no variation {variant_index + 1} (the result has "
                      f"{len(result.images)})")
    req = result.request
    pixels, dx, dy = _trim(variant_layer(result, variant_index))
    x, y = result.rect.x + dx, result.rect.y + dy
    record = result.record(variant_index)
    title = name or layer_name(result)
    text = f"AI {OP_NAMES.get(req.op, req.op).lower()}"
    if not isinstance(req, OutpaintRequest):
        at = placement_for(doc, result.rect, result.alpha > 0)
        return doc.add_layer(title, parent=at.parent, index=at.index, pixels=pixels, x=x, y=y,
                             provenance=record, text=text)
    w0, h0 = req.canvas_size
    new_w, new_h = req.layout.size
    with doc.history.macro(text):
        if (doc.width, doc.height) == (w0, h0):
            doc.resize_canvas(new_w, new_h, *req.layout.shift)
        elif (doc.width, doc.height) != (new_w, new_h):
            raise AiError(f"the canvas changed size since the request ({doc.width}x"
                          f"{doc.height}, expected {w0}x{h0}); generate again")
        # the canvas has grown: result.rect is in its terms now
        at = placement_for(doc, result.rect, result.alpha > 0)
        return doc.add_layer(title, parent=at.parent, index=at.index, pixels=pixels, x=x, y=y,
                             provenance=record, text=text)

