"""OpenRaster (.ora), the native layered format: load into a new Document, save atomically.

Layout written: `mimetype` (first, stored), `stack.xml`, `data/layerNNNN.png` (each layer
cropped to its painted bounds, placed with x/y), `mergedimage.png`, `Thumbnails/thumbnail.png`
and, in the `aiart/` part other programs ignore, `document.json` (document metadata and
per-layer provenance, keyed by layer `src`), `selection.png` (the selection mask) and the
generation history (`history.json` and `history/*.png`, see `ora_history.py`).

Loading never touches an existing document: it builds a new one, so a failed load loses
nothing. Every problem with the file raises FileFormatError.
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
from PIL import Image

from ..blend import BLEND_MODES
from ..document import HISTORY_KEY, MAX_SIDE, Document
from ..geometry import Rect
from ..layer import Group, Layer, Node
from . import ora_stack as xs
from .atomic import atomic_write
from .errors import PathLike, check_file, fail, reading
from .images import decode, png_bytes
from .ora_history import read_history, write_history
from .safezip import SafeZip, safe_member_name

MIMETYPE = b"image/openraster"
STACK = "stack.xml"
MERGED = "mergedimage.png"
THUMBNAIL = "Thumbnails/thumbnail.png"
AIART_JSON = "aiart/document.json"
AIART_SELECTION = "aiart/selection.png"
THUMB_SIZE = 256
MAX_XML_BYTES = 16 << 20
MAX_JSON_BYTES = 64 << 20
PNG_LEVEL = 3  # fast, still small; PNG members are stored, not deflated again


# ---- loading ----------------------------------------------------------------------------------
def load_ora(path: PathLike) -> Document:
    """Read an OpenRaster file into a brand-new Document (history clean, path set)."""
    check_file(path)
    with SafeZip(path) as z:
        _check_mimetype(z, path)
        if not z.has(STACK):
            fail(path, "stack.xml is missing: not an OpenRaster file")
        root = xs.parse_stack_xml(z.read(STACK, MAX_XML_BYTES), path)
        width = xs.parse_int(root.get("w"), 0, path, "image width", 0, MAX_SIDE)
        height = xs.parse_int(root.get("h"), 0, path, "image height", 0, MAX_SIDE)
        if width <= 0 or height <= 0:
            fail(path, f"the image size {root.get('w')!r}x{root.get('h')!r} is missing or empty")
        extras = _read_json(z, path)
        doc = Document(width, height)
        loader = _Loader(z, path, doc, extras)
        stack = next((c for c in root if xs.local_name(c.tag) == "stack"), None)
        if stack is not None:
            loader.load_children(stack, doc.root, 0, 0, 1, "")
        if not doc.layers and z.has(MERGED):
            loader.merged_as_layer()
        meta = extras.get("metadata")
        if isinstance(meta, dict):  # our own file: its metadata is the whole truth
            doc.metadata = meta
        elif (res := _resolution(root)) is not None:
            doc.metadata["resolution"] = list(res)
        doc.metadata.pop(HISTORY_KEY, None)  # only ever from its own part
        if history := read_history(z, path):
            doc.metadata[HISTORY_KEY] = history
        if z.has(AIART_SELECTION):
            doc.selection = loader.selection()
    doc.active = loader.selected or (doc.layers[-1] if doc.layers else None)
    doc.path = os.fspath(path)
    doc.history.clear()
    return doc


def _check_mimetype(z: SafeZip, path: PathLike) -> None:
    if z.has("mimetype"):
        kind = z.read("mimetype", 256).strip()
        if kind != MIMETYPE:
            fail(path, f"its mimetype is {kind[:64]!r}, not image/openraster")


def _read_json(z: SafeZip, path: PathLike) -> dict[str, Any]:
    if not z.has(AIART_JSON):
        return {}
    try:
        data = json.loads(z.read(AIART_JSON, MAX_JSON_BYTES).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        fail(path, f"{AIART_JSON} is corrupt ({exc})")
    return data if isinstance(data, dict) else {}


def _resolution(root: Element) -> tuple[float, float] | None:
    try:
        xres, yres = float(root.get("xres", "")), float(root.get("yres", ""))
    except ValueError:
        return None
    if 0 < xres < 1e6 and 0 < yres < 1e6:
        return (xres, yres)
    return None


class _Loader:
    def __init__(self, z: SafeZip, path: PathLike, doc: Document,
                 extras: dict[str, Any]) -> None:
        self.z, self.path, self.doc = z, path, doc
        self.members = z.names()
        layers = extras.get("layers")
        groups = extras.get("groups")
        self.layer_extras: dict[str, Any] = layers if isinstance(layers, dict) else {}
        self.group_extras: dict[str, Any] = groups if isinstance(groups, dict) else {}
        self.selected: Node | None = None
        margin = max(doc.width, doc.height, 4096)
        self.max_w, self.max_h = doc.width + 2 * margin, doc.height + 2 * margin

    def load_children(self, stack: Element, group: Group, ox: int, oy: int, depth: int,
                      key: str) -> None:
        if depth > xs.MAX_DEPTH:
            fail(self.path, f"stack.xml nests groups more than {xs.MAX_DEPTH} deep")
        elems = [e for e in stack if xs.local_name(e.tag) in ("layer", "stack")]
        for elem in reversed(elems):  # stack.xml lists the topmost first
            node_key = f"{key}/{len(group.children)}" if key else str(len(group.children))
            if xs.local_name(elem.tag) == "layer":
                node: Node = self._layer(elem, ox, oy)
            else:
                node = self._group(elem, ox, oy, depth, node_key)
            node.parent = group
            group.children.append(node)
            if self.selected is None and xs.is_true(elem.get("selected")):
                self.selected = node

    def _xy(self, elem: Element, what: str) -> tuple[int, int]:
        x = xs.parse_int(elem.get("x"), 0, self.path, f"{what} x")
        y = xs.parse_int(elem.get("y"), 0, self.path, f"{what} y")
        return x, y

    def _group(self, elem: Element, ox: int, oy: int, depth: int, key: str) -> Group:
        g = Group(name="Group")
        xs.apply_common(g, elem, xs.KNOWN_STACK_ATTRS, self.path, self.members)
        isolate = (elem.get("isolation") or "auto").strip().lower() == "isolate"
        g.pass_through = not isolate and g.blend_mode == "normal" and "composite-op" not in g.extra
        info = self.group_extras.get(key)
        if isinstance(info, dict):
            if isinstance(info.get("expanded"), bool):
                g.expanded = info["expanded"]
            mode = info.get("blend_mode")  # kept (unused) on pass-through groups
            if g.pass_through and mode in BLEND_MODES:
                g.blend_mode = mode
        x, y = self._xy(elem, f"group {g.name!r}")
        self.load_children(elem, g, ox + x, oy + y, depth + 1, key)
        return g

    def _layer(self, elem: Element, ox: int, oy: int) -> Layer:
        layer = Layer(name="Layer")
        xs.apply_common(layer, elem, xs.KNOWN_LAYER_ATTRS, self.path, self.members)
        layer.alpha_lock = xs.is_true(elem.get("alpha-preserve"))
        what = f"layer {layer.name!r}"
        x, y = self._xy(elem, what)
        src = elem.get("src")
        if src:
            pixels = self._pixels(src, what)
            layer.tiles.write(ox + x, oy + y, pixels)
            info = self.layer_extras.get(src)
            if isinstance(info, dict) and isinstance(info.get("provenance"), dict):
                layer.provenance = info["provenance"]
        return layer

    def _pixels(self, src: str, what: str) -> np.ndarray:
        if safe_member_name(src) is None:
            fail(self.path, f"{what} source {src!r} points outside the archive")
        if not self.z.has(src):
            fail(self.path, f"{what} source {src!r} is missing from the archive")
        canvas = f"{self.doc.width}x{self.doc.height}"

        def check(w: int, h: int) -> None:
            if w > self.max_w or h > self.max_h:
                fail(self.path, f"{what} ({src}) is {w}x{h} pixels, absurdly larger than "
                     f"the {canvas} canvas")

        data = self.z.read(src)
        return decode(io.BytesIO(data), self.path, f"{what} ({src})", check_size=check,
                      orient=False)[0]

    def merged_as_layer(self) -> None:
        layer = Layer(name="Merged image")
        layer.tiles.write(0, 0, self._pixels(MERGED, "merged image"))
        layer.parent = self.doc.root
        self.doc.root.children.append(layer)

    def selection(self) -> np.ndarray | None:
        data = self.z.read(AIART_SELECTION)
        with reading(self.path, "selection mask"), Image.open(io.BytesIO(data),
                                                               formats=["PNG"]) as im:
            if im.size != (self.doc.width, self.doc.height):
                fail(self.path, f"the selection mask is {im.size[0]}x{im.size[1]}, "
                     f"not the canvas size")
            mask = np.array(im.convert("L"), dtype=np.uint8)
        return mask if mask.any() else None


# ---- saving -----------------------------------------------------------------------------------
def save_ora(doc: Document, path: PathLike) -> None:
    """Write `doc` as OpenRaster, atomically (the old file survives any failure)."""
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        _write_ora(doc, z)


def _info(name: str, stored: bool = False) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    zi.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    return zi


def _write_ora(doc: Document, z: zipfile.ZipFile) -> None:
    z.writestr(_info("mimetype", stored=True), MIMETYPE)
    srcs: dict[int, tuple[str, int, int]] = {}
    layer_json: dict[str, Any] = {}
    for i, layer in enumerate(doc.layers):
        src = f"data/layer{i:04d}.png"
        bounds = layer.bounds()
        if bounds.empty:
            pixels, bounds = np.zeros((1, 1, 4), np.uint8), Rect(0, 0, 1, 1)
        else:
            pixels = layer.read(bounds)
        z.writestr(_info(src, stored=True), png_bytes(pixels, PNG_LEVEL))
        srcs[layer.uid] = (src, bounds.x, bounds.y)
        if layer.provenance is not None:
            layer_json[src] = {"provenance": layer.provenance}
    res = doc.metadata.get("resolution")
    resolution = None
    if isinstance(res, (list, tuple)) and len(res) == 2:
        resolution = (float(res[0]), float(res[1]))
    stack = xs.StackWriter(srcs, doc.active).write(doc.root, doc.width, doc.height, resolution)
    z.writestr(_info(STACK), stack)
    merged = doc.flatten()
    z.writestr(_info(MERGED, stored=True), png_bytes(merged, PNG_LEVEL))
    z.writestr(_info(THUMBNAIL, stored=True), png_bytes(_thumbnail(merged)))
    groups = {key: {"expanded": g.expanded, "blend_mode": g.blend_mode}
              for key, g in _group_keys(doc.root, "")}
    metadata = {k: v for k, v in doc.metadata.items() if k != HISTORY_KEY}
    part = {"format": "aiart-desktop", "version": 1, "metadata": metadata,
            "layers": layer_json, "groups": groups}
    z.writestr(_info(AIART_JSON), _to_json(part))
    history = doc.metadata.get(HISTORY_KEY)
    if isinstance(history, list):
        write_history(history, lambda name, data, stored: z.writestr(_info(name, stored), data),
                      _to_json)
    if doc.selection is not None:
        z.writestr(_info(AIART_SELECTION, stored=True), png_bytes(doc.selection))


def _group_keys(group: Group, key: str) -> list[tuple[str, Group]]:
    """Groups with their tree-path key ("0/2": child 2 of the root's child 0, bottom up)."""
    out: list[tuple[str, Group]] = []
    for i, child in enumerate(group.children):
        if isinstance(child, Group):
            k = f"{key}/{i}" if key else str(i)
            out.append((k, child))
            out += _group_keys(child, k)
    return out


def _thumbnail(merged: np.ndarray) -> np.ndarray:
    h, w = merged.shape[:2]
    scale = min(1.0, THUMB_SIZE / max(w, h))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return merged
    im = Image.fromarray(merged, "RGBA").resize(size, Image.Resampling.LANCZOS, reducing_gap=3)
    return np.asarray(im)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _to_json(part: dict[str, Any]) -> bytes:
    try:
        return json.dumps(part, ensure_ascii=False, default=_jsonable).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"document metadata or layer provenance cannot be saved: {exc}") from exc
