"""The PNG `parameters` text (AUTOMATIC1111 format) for exporting a document that holds AI
layers: the record of ONE job, the AI layer with the largest visible share of the picture
(`core.provenance.main_layer`), so that readers of `parameters` see a coherent request. The
full list of AI layers goes in the PNG's own `aiart:layers` chunk (`core.provenance.layers_json`,
written with `parameters` by `core.io.images.encode_png`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.provenance import ai_fraction, main_layer
from ..requests import parameters_text

if TYPE_CHECKING:
    from ...core.document import Document


def record_parameters(record: dict[str, Any], size: tuple[int, int]) -> str:
    """AUTOMATIC1111-style text of one provenance record (style records included)."""
    rec = dict(record)
    if rec.get("op") == "style" and not rec.get("prompt"):
        rec["prompt"] = f"style transfer: {rec.get('style', '?')}"
    box = rec.get("size") or (rec.get("rect") or rec.get("bounds") or [0, 0, *size])[2:4]
    return parameters_text(rec, (int(box[0]), int(box[1])))


def document_parameters(doc: Document) -> str | None:
    """The `parameters` text for exporting `doc`: the record of its visible AI layer with the
    largest share of the visible picture (the topmost of equal ones). None when no visible
    layer came from a model."""
    main = main_layer(ai_fraction(doc))
    if main is None:
        return None
    return record_parameters(main.layer.provenance or {}, (doc.width, doc.height))
