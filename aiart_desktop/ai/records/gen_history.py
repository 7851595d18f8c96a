"""Generation history: one entry per finished AI job, with the document and per user.

An entry holds the job's request record (prompt, negative prompt, seeds, model and its hash
when known, every parameter, operation, time, region), one small PNG thumbnail per variation,
the selection's bounds, and which variations were applied as layers. It is plain data:

- with the document: `Document.generation_history` (a list of `entry.to_data()` dicts, not
  part of undo), which the .ora writer stores in its own part (`core/io/ora_history.py`);
- per user: `UserHistory`, one JSON Lines file per month under the data folder plus the
  thumbnails as PNG files, bounded in size (the oldest entries go first).

    entry = entry_from_result(result)          # on the UI thread, when the job finishes
    add_to_document(doc, entry)                # the document remembers it (no undo step)
    UserHistory().append(entry)                # any thread; atomic enough, pruned
    hits = search(entries(doc), "red boat")    # newest first, every word must match
"""
from __future__ import annotations

import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .user_history import UserHistory, user_history_dir

if TYPE_CHECKING:
    from ...core.document import Document
    from ..requests import AiResult

__all__ = ["GenerationEntry", "UserHistory", "add_to_document", "entries", "entry_from_result",
           "find_entry", "mark_applied", "new_id", "search", "thumbnail_png",
           "user_history_dir"]


THUMB_SIDE = 128
ENTRY_VERSION = 1
ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


# ---- the entry ----------------------------------------------------------------------------------
@dataclass
class GenerationEntry:
    """One finished job. `record` is variation 0's provenance record; `seeds[i]` is variation
    i's seed; `thumbnails[i]` its PNG bytes; `applied` lists {"variant", "seed", "layer",
    "time"} for each variation put on a layer."""

    id: str
    time: float                          # seconds since the epoch, when the job finished
    record: dict[str, Any]
    seeds: list[int] = field(default_factory=list)
    thumbnails: list[bytes] = field(default_factory=list)
    selection: list[int] | None = None   # [x, y, w, h] of the selection the job worked on
    applied: list[dict[str, Any]] = field(default_factory=list)
    document: str = ""                   # the document's file name (per-user history)

    # ---- derived ---------------------------------------------------------------------------
    @property
    def op(self) -> str:
        return str(self.record.get("op", ""))

    @property
    def prompt(self) -> str:
        return str(self.record.get("prompt", ""))

    @property
    def model(self) -> str:
        rec = self.record
        return str(rec.get("model_name") or rec.get("model") or "")

    @property
    def model_hash(self) -> str | None:
        h = self.record.get("model_hash") or self.record.get("style_sha256")
        return str(h) if h else None

    @property
    def label(self) -> str:
        """What the entry is about in a few words: the prompt, or the style."""
        if self.prompt.strip():
            return " ".join(self.prompt.split())
        if self.op == "style":
            return f"style: {self.record.get('style', '?')}"
        return f"({self.op or 'AI'} without a prompt)"

    def variant_record(self, index: int = 0) -> dict[str, Any]:
        """The provenance record of variation `index` (its own seed)."""
        rec = dict(self.record)
        if 0 <= index < len(self.seeds):
            rec["seed"] = self.seeds[index]
        rec["variant"] = index
        return rec

    def text(self) -> str:
        """What search looks in: prompt, negative prompt and style, lower case."""
        rec = self.record
        parts = [rec.get("prompt"), rec.get("negative_prompt")]
        if self.op == "style":
            parts.append(rec.get("style"))
        return " ".join(str(p) for p in parts if p).lower()

    # ---- plain data ------------------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        return {"version": ENTRY_VERSION, "id": self.id, "time": self.time,
                "record": self.record, "seeds": list(self.seeds),
                "thumbnails": list(self.thumbnails), "selection": self.selection,
                "applied": self.applied, "document": self.document}

    @classmethod
    def from_data(cls, data: Any) -> GenerationEntry | None:
        """An entry from plain data, or None when it is not one (never raises)."""
        if not isinstance(data, dict):
            return None
        eid, t, rec = data.get("id"), data.get("time"), data.get("record")
        if not isinstance(eid, str) or not ID_RE.match(eid) or not isinstance(rec, dict):
            return None
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1e11:
            return None
        seeds = [int(s) for s in data.get("seeds") or [] if isinstance(s, int)
                 and not isinstance(s, bool)]
        thumbs = [b for b in data.get("thumbnails") or [] if isinstance(b, bytes)]
        sel = data.get("selection")
        if not (isinstance(sel, list) and len(sel) == 4
                and all(isinstance(v, int) and not isinstance(v, bool) for v in sel)):
            sel = None
        applied = [a for a in data.get("applied") or [] if isinstance(a, dict)]
        doc = data.get("document")
        if not isinstance(doc, str):
            doc = ""
        return cls(eid, float(t), rec, seeds, thumbs, sel, applied, doc)


def new_id(when: float | None = None) -> str:
    t = time.gmtime(time.time() if when is None else when)
    return time.strftime("%Y%m%dT%H%M%SZ", t) + "-" + uuid.uuid4().hex[:8]


def thumbnail_png(rgb: np.ndarray, side: int = THUMB_SIDE) -> bytes:
    """A small PNG of an (h, w, 3|4) uint8 picture, its longer side at most `side`."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    im = Image.fromarray(arr, "RGBA" if arr.shape[2] == 4 else "RGB")
    w, h = im.size
    scale = min(1.0, side / max(w, h))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3)
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _mask_bounds(result: AiResult) -> list[int] | None:
    """Bounds of the selection the job worked on, in document coordinates (None: the whole
    canvas, or an outpaint, which needs no selection)."""
    req = result.request
    if req.op == "outpaint" or req.mask is None:
        return None
    ys, xs = np.nonzero(req.mask)
    if ys.size == 0:
        return None
    x0, y0 = int(xs.min()), int(ys.min())
    return [req.rect.x + x0, req.rect.y + y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0]


def entry_from_result(result: AiResult, when: float | None = None,
                      document: str = "") -> GenerationEntry:
    """The history entry of a finished job: its record, seeds and one thumbnail per variation
    (each as applying it would look: `composite.variant_over_original`)."""
    from ..composite import variant_over_original

    t = time.time() if when is None else float(when)
    rec = result.record(0)
    rec.pop("variant", None)
    model_id = result.info.get("model_id")
    if model_id:
        rec["model_id"] = model_id
    if result.info.get("model_hash"):
        rec["model_hash"] = result.info["model_hash"]
    thumbs = [thumbnail_png(variant_over_original(result, i)) for i in range(len(result.images))]
    return GenerationEntry(new_id(t), t, _plain(rec), [int(s) for s in result.seeds], thumbs,
                           _mask_bounds(result), [], document)


def _plain(value: Any) -> Any:
    """JSON-able copy (numpy scalars and tuples made plain)."""
    return json.loads(json.dumps(value, default=json_default))


def json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, set, frozenset)):
        return list(v)
    return str(v)


# ---- the document's history -------------------------------------------------------------------
def entries(doc: Document) -> list[GenerationEntry]:
    """The document's entries, oldest first (damaged ones left out)."""
    out = (GenerationEntry.from_data(d) for d in doc.generation_history)
    return [e for e in out if e is not None]


def add_to_document(doc: Document, entry: GenerationEntry) -> None:
    """Remember `entry` with the document: it needs saving, nothing to undo."""
    doc.generation_history.append(entry.to_data())
    doc.note_metadata_changed()


def find_entry(doc: Document, record: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
    """The document's entry a layer's provenance record came from, and the variation, matched
    on the time the result was made and the seed (the newest entry wins)."""
    t, seed = record.get("time"), record.get("seed")
    for data in reversed(doc.generation_history):
        rec = data.get("record") if isinstance(data, dict) else None
        if not isinstance(rec, dict) or rec.get("time") != t or t is None:
            continue
        if rec.get("op") != record.get("op") or rec.get("prompt") != record.get("prompt"):
            continue
        seeds = data.get("seeds") or []
        if seed in seeds:
            return data, seeds.index(seed)
    return None


def mark_applied(doc: Document, record: dict[str, Any], layer_name: str) -> bool:
    """Note that the variation a layer's `record` describes was applied; True when found."""
    hit = find_entry(doc, record)
    if hit is None:
        return False
    data, index = hit
    applied = data.setdefault("applied", [])
    applied.append({"variant": index, "seed": data["seeds"][index], "layer": layer_name,
                    "time": time.time()})
    doc.note_metadata_changed()
    return True


def search(items: list[GenerationEntry], query: str) -> list[GenerationEntry]:
    """Entries whose prompt (or negative prompt, or style) holds every word of `query`
    (case-insensitive), newest first."""
    words = query.lower().split()
    hits = [e for e in items if all(w in e.text() for w in words)]
    return sorted(hits, key=lambda e: e.time, reverse=True)
