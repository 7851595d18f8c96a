"""Which part of the visible picture came from a model: per-pixel AI share, per AI layer.

An *AI layer* is a paint layer whose `provenance` holds a request record (see
`ai.requests.AiRequest.to_record`); painted layers have none. Groups carry no provenance.

Definition. Compositing builds a pixel's final alpha `A` layer by layer, bottom to top, with
source-over (every W3C blend mode composites alpha the same way, `ao = as + ab (1 - as)`).
Split `A` into the contributions of the layers that made it: when a layer of effective alpha
`a` (its pixel alpha × its opacity) is composited, it contributes `a`, and everything already
below is scaled by `1 - a`. So a layer's contribution at a pixel is its effective alpha there ×
the transparency of everything composited above it, and the contributions add up to `A`.
Painting over an AI layer therefore lowers its share: under a 50 % painted stroke it keeps
half. A group (not pass-through) is composited as one source: its children's contributions
inside it are multiplied by the group's opacity; a pass-through group with opacity `o` mixes
the state before and after its children (`before + o (after - before)`), as `blend.py` does.
Hidden layers and groups, and layers under a hidden group, contribute nothing.

A pixel's AI share is the summed contribution of the AI layers divided by `A`. Pixels are
weighted by `A` (a half-transparent pixel counts half, an empty one not at all), so the AI
fraction of the picture is `sum(AI contributions) / sum(A)` over the canvas, and a layer's
share is `sum(its contribution) / sum(A)`. Blend modes other than normal change colours but
not coverage: the definition follows alpha, not colour. Only alpha channels are read, block
by block, with numpy.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .blend import FLATTEN_BLOCK, _coverage
from .geometry import Rect
from .layer import Group, Layer

if TYPE_CHECKING:
    from .document import Document

Shares = dict[int, np.ndarray]


def is_ai_layer(layer: Layer) -> bool:
    return isinstance(layer, Layer) and isinstance(layer.provenance, dict)


def ai_layers(doc: Document) -> list[Layer]:
    """Every AI layer of the document, topmost first (hidden ones too)."""
    return [n for n in reversed(doc.root.walk()) if isinstance(n, Layer) and is_ai_layer(n)]


def shown(layer: Layer) -> bool:
    """Visible in the tree and not fully transparent by opacity (its or a group's)."""
    return layer.is_visible_in_tree() and all(
        n.opacity > 0.0 for n in [layer, *layer.ancestors()])


@dataclass(frozen=True)
class LayerShare:
    """One AI layer: its contribution to the visible picture in alpha-weighted pixels, and that
    as a fraction of the visible picture."""

    layer: Layer
    pixels: float
    share: float

    @property
    def visible(self) -> bool:
        return shown(self.layer)


@dataclass(frozen=True)
class ProvenanceReport:
    visible_pixels: float          # sum of the final alpha over the canvas
    ai_pixels: float               # sum of the AI layers' contributions
    layers: tuple[LayerShare, ...]  # every AI layer, topmost first

    @property
    def fraction(self) -> float:
        """Fraction (0..1) of the visible pixels that came from a model."""
        return self.ai_pixels / self.visible_pixels if self.visible_pixels > 0 else 0.0

    def summary(self) -> str:
        return f"{self.fraction * 100:.1f} % of the visible pixels came from a model"


def ai_fraction(doc: Document, rect: Rect | None = None) -> ProvenanceReport:
    """The AI share of the visible composite in `rect` (the canvas by default)."""
    rect = doc.rect if rect is None else rect.intersect(doc.rect)
    total = 0.0
    sums: dict[int, float] = {}
    for by in range(rect.y, rect.bottom, FLATTEN_BLOCK):
        for bx in range(rect.x, rect.right, FLATTEN_BLOCK):
            block = Rect.from_edges(bx, by, min(bx + FLATTEN_BLOCK, rect.right),
                                    min(by + FLATTEN_BLOCK, rect.bottom))
            alpha = np.zeros((block.h, block.w), np.float32)
            shares: Shares = {}
            _walk(doc.root, block, alpha, shares)
            total += float(alpha.sum(dtype=np.float64))
            for uid, arr in shares.items():
                sums[uid] = sums.get(uid, 0.0) + float(arr.sum(dtype=np.float64))
    layers = tuple(
        LayerShare(lay, sums.get(lay.uid, 0.0),
                   sums.get(lay.uid, 0.0) / total if total > 0 else 0.0)
        for lay in ai_layers(doc))
    return ProvenanceReport(total, sum(sums.values()), layers)


def main_layer(report: ProvenanceReport) -> LayerShare | None:
    """The AI layer that stands for the picture: the visible one with the largest share of it
    (the topmost of equal ones); None when no AI layer is visible."""
    return max((s for s in report.layers if s.visible), key=lambda s: s.share, default=None)


LAYERS_CHUNK = "aiart:layers"  # the PNG text chunk listing every AI layer (`layers_json`)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)  # a listing never fails an export


def layers_json(doc: Document, report: ProvenanceReport | None = None) -> str | None:
    """Every AI layer of `doc` as JSON, for the `aiart:layers` text chunk of an exported PNG:
    ``{"version": 1, "ai_fraction": f, "layers": [{"name", "visible", "share", "main",
    "record"}, ...]}``, topmost first; `share` as in `ai_fraction`, `main` marks
    `main_layer` (the one the `parameters` text describes), `record` is the layer's
    provenance. None when the document holds no AI layer."""
    report = ai_fraction(doc) if report is None else report
    if not report.layers:
        return None
    main = main_layer(report)
    layers = [{"name": s.layer.name, "visible": s.visible, "share": round(s.share, 6),
               "main": s is main, "record": s.layer.provenance} for s in report.layers]
    return json.dumps({"version": 1, "ai_fraction": round(report.fraction, 6),
                       "layers": layers}, ensure_ascii=False, default=_jsonable)


def _over(alpha: np.ndarray, shares: Shares, a: np.ndarray) -> None:
    """Composite a source of alpha `a` over the state (`alpha`, `shares`), in place."""
    keep = 1.0 - a
    for arr in shares.values():
        arr *= keep
    alpha *= keep
    alpha += a


def _walk(group: Group, rect: Rect, alpha: np.ndarray, shares: Shares) -> None:
    """Composite the alpha of `group`'s visible children onto `alpha` (covering `rect`),
    tracking each AI layer's contribution in `shares` (uid -> array like `alpha`)."""
    for node in group.children:
        if not node.visible or node.opacity <= 0.0:
            continue
        if isinstance(node, Layer):
            part = _coverage(node, rect)
            if part.empty:
                continue
            sl = part.slices(rect.x, rect.y)
            a = node.read(part)[..., 3].astype(np.float32)
            a *= np.float32(node.opacity / 255.0)
            sub = {k: v[sl] for k, v in shares.items()}
            _over(alpha[sl], sub, a)
            if is_ai_layer(node):
                shares.setdefault(node.uid, np.zeros_like(alpha))[sl] += a
        elif isinstance(node, Group):
            if node.pass_through:
                o = np.float32(node.opacity)
                before = (alpha.copy(), {k: v.copy() for k, v in shares.items()})
                _walk(node, rect, alpha, shares)
                if o < 1.0:
                    alpha[...] = before[0] + (alpha - before[0]) * o
                    for k, v in shares.items():
                        old = before[1].get(k)
                        v[...] = v * o if old is None else old + (v - old) * o
            else:
                sub_alpha = np.zeros_like(alpha)
                inner: Shares = {}
                _walk(node, rect, sub_alpha, inner)
                o = np.float32(node.opacity)
                _over(alpha, shares, sub_alpha * o)
                for k, v in inner.items():
                    shares.setdefault(k, np.zeros_like(alpha))
                    shares[k] += v * o
