"""The PNG `parameters` text (AUTOMATIC1111 format) for exporting a document that holds AI
layers: the topmost visible AI layer's record, plus a listing when there are several."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..core.provenance import LayerShare, ai_fraction
from .requests import parameters_text

if TYPE_CHECKING:
    from ..core.document import Document


def record_parameters(record: dict[str, Any], size: tuple[int, int]) -> str:
    """AUTOMATIC1111-style text of one provenance record (style records included)."""
    rec = dict(record)
    if rec.get("op") == "style" and not rec.get("prompt"):
        rec["prompt"] = f"style transfer: {rec.get('style', '?')}"
    box = rec.get("size") or (rec.get("rect") or rec.get("bounds") or [0, 0, *size])[2:4]
    return parameters_text(rec, (int(box[0]), int(box[1])))


def layer_summary(share: LayerShare) -> str:
    rec = share.layer.provenance or {}
    bits = [str(rec.get("op", "?"))]
    if rec.get("seed") is not None:
        bits.append(f"seed {rec['seed']}")
    bits.append(f"{share.share * 100:.1f} %")
    return f"{share.layer.name} ({' '.join(bits)})"


def document_parameters(doc: Document) -> str | None:
    """The `parameters` text for exporting `doc`: the topmost visible AI layer's record and,
    when several AI layers are visible, an `AI layers: "..."` field listing them all (quoted,
    on the settings line, where A1111-style readers look for key: value pairs). None when no
    visible layer came from a model."""
    report = ai_fraction(doc)
    visible = [s for s in report.layers if s.visible]
    if not visible:
        return None
    text = record_parameters(visible[0].layer.provenance or {}, (doc.width, doc.height))
    if len(visible) > 1:
        listing = "; ".join(layer_summary(s) for s in visible)
        text += f", AI layers: {json.dumps(listing, ensure_ascii=False)}"
    return text
