"""OpenRaster `stack.xml`: safe parsing of the layer stack and writing it back.

Attribute conventions follow what Krita, GIMP, MyPaint and Drawpile read and write:
`composite-op` (`svg:*`, Krita's `krita:*`, legacy bare names), `visibility` (and the legacy
`hidden` flag), `opacity` (default 1), `x`/`y`, `selected`, `edit-locked`, `alpha-preserve`
(alpha lock, as Krita 5.2+ and Drawpile write it) and `isolation` on stacks. Attributes we do
not understand are kept in `node.extra` (namespaced ones in `{uri}name` form) and written back.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..blend import BLEND_MODES
from ..layer import Group, Layer, Node
from .errors import PathLike, fail

MAX_DEPTH = 64
MAX_NODES = 20_000
MAX_OFFSET = 1 << 17

KNOWN_LAYER_ATTRS = frozenset({
    "src", "name", "x", "y", "opacity", "visibility", "hidden", "composite-op",
    "selected", "edit-locked", "alpha-preserve",
})
KNOWN_STACK_ATTRS = (KNOWN_LAYER_ATTRS - {"src", "alpha-preserve"}) | {"isolation"}

# Krita's own composite-op ids for the modes we have (it writes `krita:<id>` for modes the
# OpenRaster spec does not list, e.g. exclusion).
KRITA_IDS = {
    "normal": "normal", "multiply": "multiply", "screen": "screen", "overlay": "overlay",
    "darken": "darken", "lighten": "lighten", "dodge": "color-dodge", "burn": "color-burn",
    "hard_light": "hard-light", "soft_light_svg": "soft-light", "diff": "difference",
    "exclusion": "exclusion", "hue": "hue", "saturation": "saturation", "color": "color",
    "luminize": "luminosity",
}
KNOWN_NAMESPACES = {
    "http://mypaint.org/ns/openraster": "mypaint",
    "http://drawpile.net/": "drawpile",
    "http://krita.org/namespaces/svg/krita": "krita",
}
_XML_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ---- reading ----------------------------------------------------------------------------------
def parse_stack_xml(data: bytes, path: PathLike) -> Element:
    """The `<image>` root element, parsed with entity expansion and external refs forbidden."""
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        fail(path, "stack.xml declares XML entities or external references, which are "
             f"refused as unsafe ({type(exc).__name__})")
    except ParseError as exc:
        fail(path, f"stack.xml is not well-formed XML ({exc})")
    except (ValueError, UnicodeError) as exc:
        fail(path, f"stack.xml cannot be decoded ({exc})")
    if local_name(root.tag) != "image":
        fail(path, f"stack.xml has <{local_name(root.tag)}> at its root, not <image>")
    count = sum(1 for _ in root.iter())
    if count > MAX_NODES:
        fail(path, f"stack.xml holds {count} elements, too many")
    return root


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_int(value: str | None, default: int, path: PathLike, what: str,
              lo: int = -MAX_OFFSET, hi: int = MAX_OFFSET) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        f = float(value)
    except ValueError:
        fail(path, f"{what} is {value!r}, not a number")
    if not math.isfinite(f) or not lo <= f <= hi:
        fail(path, f"{what} is {value!r}, outside {lo}..{hi}")
    return int(round(f))


def parse_opacity(value: str | None, path: PathLike, what: str) -> float:
    if value is None or value.strip() == "":
        return 1.0
    try:
        f = float(value)
    except ValueError:
        fail(path, f"{what} opacity is {value!r}, not a number")
    if not math.isfinite(f):
        fail(path, f"{what} opacity is {value!r}")
    return min(1.0, max(0.0, f))


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes")


def blend_from_op(op: str | None) -> tuple[str, str | None]:
    """(our blend mode, the original op when we do not know it and render it as normal)."""
    if op is None or not op.strip():
        return "normal", None
    low = op.strip().lower()
    if low in ("svg:src-over", "src-over"):
        return "normal", None
    if low.startswith("svg:") and low[4:] in BLEND_MODES:
        return low[4:], None
    if low.startswith("krita:") and low[6:] in KRITA_IDS:
        return KRITA_IDS[low[6:]], None
    if low in BLEND_MODES:  # old Krita wrote some modes without the prefix
        return low, None
    return "normal", op


def op_from_blend(mode: str) -> str:
    return "svg:src-over" if mode == "normal" else f"svg:{mode}"


def apply_common(node: Node, elem: Element, known: frozenset[str], path: PathLike,
                 member_names: Iterable[str]) -> None:
    """Name, opacity, visibility, blend mode, edit lock and unknown attributes of an element."""
    a = elem.attrib
    node.name = _clean(a.get("name", "")) or node.name
    what = f"{local_name(elem.tag)} {node.name!r}"
    node.opacity = parse_opacity(a.get("opacity"), path, what)
    node.visible = (a.get("visibility", "visible").strip().lower() != "hidden"
                    and not is_true(a.get("hidden")))
    node.locked = is_true(a.get("edit-locked"))
    mode, unknown = blend_from_op(a.get("composite-op"))
    node.blend_mode = mode
    members = set(member_names)
    extra: dict[str, str] = {}
    for key, value in a.items():
        if key in known:
            continue
        if value in members:  # e.g. MyPaint strokemaps, background tiles: data we drop
            continue
        extra[key] = value
    if unknown is not None:
        extra["composite-op"] = unknown
    node.extra = extra


def _clean(text: str) -> str:
    return _XML_BAD_CHARS.sub("", text)


# ---- writing ----------------------------------------------------------------------------------
def _q(value: str) -> str:
    v = _clean(str(value))
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return '"' + v.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def _fmt_float(v: float) -> str:
    return repr(float(v))


class StackWriter:
    """Serialises a layer tree to stack.xml text. `srcs` maps layer uid -> (src, x, y)."""

    def __init__(self, srcs: dict[int, tuple[str, int, int]], active: Node | None) -> None:
        self.srcs = srcs
        self.active = active
        self.prefixes: dict[str, str] = {}

    def _attr_name(self, key: str) -> str:
        if not key.startswith("{"):
            return key
        uri, local = key[1:].split("}", 1)
        if uri not in self.prefixes:
            used = set(self.prefixes.values())
            prefix = KNOWN_NAMESPACES.get(uri)
            if prefix is None or prefix in used:
                prefix = next(f"ns{i}" for i in range(len(used) + 1) if f"ns{i}" not in used)
            self.prefixes[uri] = prefix
        return f"{self.prefixes[uri]}:{local}"

    def _common(self, node: Node) -> list[tuple[str, str]]:
        attrs = [("name", node.name), ("opacity", _fmt_float(node.opacity)),
                 ("visibility", "visible" if node.visible else "hidden")]
        if node.locked:
            attrs.append(("edit-locked", "true"))
        if node is self.active:
            attrs.append(("selected", "true"))
        return attrs

    def _extras(self, node: Node, known: frozenset[str], taken: set[str]) -> list[tuple[str, str]]:
        out = []
        for key, value in node.extra.items():
            if key in known or key == "composite-op" or key in taken:
                continue
            out.append((self._attr_name(key), str(value)))
        return out

    def _element(self, node: Node, depth: int) -> list[str]:
        pad = "  " * depth
        if isinstance(node, Layer):
            src, x, y = self.srcs[node.uid]
            attrs = self._common(node)
            attrs += [("composite-op", self._op(node)), ("x", str(x)), ("y", str(y)),
                      ("src", src)]
            if node.alpha_lock:
                attrs.append(("alpha-preserve", "true"))
            attrs += self._extras(node, KNOWN_LAYER_ATTRS, {k for k, _ in attrs})
            return [f"{pad}<layer {_join(attrs)}/>"]
        assert isinstance(node, Group)
        attrs = self._common(node)
        if node.pass_through:
            attrs += [("composite-op", "svg:src-over"), ("isolation", "auto")]
        else:
            attrs += [("composite-op", self._op(node)), ("isolation", "isolate")]
        attrs += [("x", "0"), ("y", "0")]
        attrs += self._extras(node, KNOWN_STACK_ATTRS, {k for k, _ in attrs})
        lines = [f"{pad}<stack {_join(attrs)}>"]
        for child in reversed(node.children):  # stack.xml lists the topmost first
            lines += self._element(child, depth + 1)
        lines.append(f"{pad}</stack>")
        return lines

    @staticmethod
    def _op(node: Node) -> str:
        if node.blend_mode == "normal" and node.extra.get("composite-op"):
            return node.extra["composite-op"]
        return op_from_blend(node.blend_mode)

    def write(self, root: Group, width: int, height: int,
              resolution: tuple[float, float] | None) -> bytes:
        body: list[str] = ["  <stack>"]
        for child in reversed(root.children):
            body += self._element(child, 2)
        body.append("  </stack>")
        xres, yres = resolution or (72.0, 72.0)
        attrs = [("version", "0.0.5"), ("w", str(width)), ("h", str(height)),
                 ("xres", f"{xres:g}"), ("yres", f"{yres:g}")]
        attrs += [(f"xmlns:{p}", uri) for uri, p in self.prefixes.items()]
        head = ["<?xml version='1.0' encoding='UTF-8'?>", f"<image {_join(attrs)}>"]
        return "\n".join(head + body + ["</image>", ""]).encode("utf-8")


def _join(attrs: list[tuple[str, str]]) -> str:
    return " ".join(f"{k}={_q(v)}" for k, v in attrs)
