"""Brush presets: JSON files in resources/brushes/ turned into core BrushSettings.

A preset file holds BrushSettings fields by name; the pressure curves are lists of
[pressure, factor] points. Unknown keys are ignored so newer files load in older builds.
"""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from ...core.brush import BrushSettings, PressureCurve
from ..resources import resources_dir

_FLOAT_FIELDS = ("size", "hardness", "opacity", "flow", "spacing", "smoothing", "min_size")


def preset_from_dict(data: dict[str, Any]) -> BrushSettings:
    known = {f.name for f in fields(BrushSettings)}
    kw: dict[str, Any] = {}
    for key in _FLOAT_FIELDS:
        if key in data:
            kw[key] = float(data[key])
    if "name" in data:
        kw["name"] = str(data["name"])
    if "eraser" in data:
        kw["eraser"] = bool(data["eraser"])
    if "color" in data:
        kw["color"] = tuple(int(c) for c in data["color"][:3])
    for key in ("size_curve", "opacity_curve"):
        if key in data:
            pts = tuple((float(p), float(v)) for p, v in data[key])
            kw[key] = PressureCurve(tuple(sorted(pts)))
    return BrushSettings(**{k: v for k, v in kw.items() if k in known})


def preset_to_dict(brush: BrushSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"name": brush.name}
    for key in _FLOAT_FIELDS:
        out[key] = getattr(brush, key)
    out["eraser"] = brush.eraser
    out["size_curve"] = [list(p) for p in brush.size_curve.points]
    out["opacity_curve"] = [list(p) for p in brush.opacity_curve.points]
    return out


def load_presets(folder: Path | None = None) -> list[BrushSettings]:
    """Every readable preset in `folder` (default resources/brushes), in their `order`."""
    folder = resources_dir() / "brushes" if folder is None else folder
    found: list[tuple[float, str, BrushSettings]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            brush = preset_from_dict(data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            print(f"skipping brush preset {path}: {exc}")
            continue
        found.append((float(data.get("order", 100)), brush.name, brush))
    found.sort(key=lambda t: (t[0], t[1]))
    presets = [b for _, _, b in found]
    if not presets:
        presets = [BrushSettings(name="Hard Round"), BrushSettings(name="Eraser", eraser=True)]
    return presets
