"""Layer tree nodes: paint layers and (nestable) groups."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .geometry import EMPTY, Rect
from .tiles import TileGrid, tile_keys

_ids = itertools.count(1)

# Properties that SetNodeProps may change, with their validators.
NODE_PROPS = ("name", "opacity", "blend_mode", "visible", "locked")
LAYER_PROPS = NODE_PROPS + ("alpha_lock", "offset", "provenance")
GROUP_PROPS = NODE_PROPS + ("pass_through", "expanded")


@dataclass(eq=False)
class Node:
    name: str = "Layer"
    opacity: float = 1.0
    blend_mode: str = "normal"
    visible: bool = True
    locked: bool = False
    uid: int = field(default_factory=lambda: next(_ids))
    parent: Group | None = field(default=None, repr=False)
    # Attributes read from a file that we do not understand, written back unchanged.
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    def __hash__(self) -> int:
        return self.uid

    @property
    def editable_props(self) -> tuple[str, ...]:
        return NODE_PROPS

    def props(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.editable_props}

    def validate(self, key: str, value: Any) -> Any:
        if key not in self.editable_props:
            raise AttributeError(f"{type(self).__name__} has no editable property {key!r}")
        if key == "opacity":
            return float(min(1.0, max(0.0, value)))
        from .blend import BLEND_MODES

        if key == "blend_mode" and value not in BLEND_MODES:
            raise ValueError(f"unknown blend mode {value!r}")
        if key == "offset":
            return (int(value[0]), int(value[1]))
        return value

    def is_visible_in_tree(self) -> bool:
        node: Node | None = self
        while node is not None:
            if not node.visible:
                return False
            node = node.parent
        return True

    def ancestors(self) -> list[Group]:
        out = []
        node = self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


@dataclass(eq=False)
class Layer(Node):
    tiles: TileGrid = field(default_factory=TileGrid, repr=False)
    alpha_lock: bool = False
    offset: tuple[int, int] = (0, 0)
    # The AI request record that made this layer (None for painted layers).
    provenance: dict[str, Any] | None = None

    @property
    def editable_props(self) -> tuple[str, ...]:
        return LAYER_PROPS

    # Pixel access in document coordinates (the layer's offset applied).
    def read(self, rect: Rect) -> np.ndarray:
        ox, oy = self.offset
        return self.tiles.read(rect.translated(-ox, -oy))

    def write(self, x: int, y: int, pixels: np.ndarray) -> Rect:
        ox, oy = self.offset
        return self.tiles.write(x - ox, y - oy, pixels).translated(ox, oy)

    def has_pixels_in(self, rect: Rect) -> bool:
        ox, oy = self.offset
        t = self.tiles
        return any(t.tile(k) is not None for k in tile_keys(rect.translated(-ox, -oy)))

    def bounds(self) -> Rect:
        b = self.tiles.bounds()
        return b.translated(*self.offset) if not b.empty else EMPTY

    def coarse_bounds(self) -> Rect:
        """Bounds of the stored tiles (tile-granular, no pixel scan): cheap."""
        b = self.tiles.key_bounds()
        return b.translated(*self.offset) if not b.empty else EMPTY

    def doc_keys(self, rect: Rect) -> list[tuple[int, int]]:
        """Tile keys (in tile space) covering a document rect."""
        ox, oy = self.offset
        return list(tile_keys(rect.translated(-ox, -oy)))


@dataclass(eq=False)
class Group(Node):
    name: str = "Group"
    children: list[Node] = field(default_factory=list, repr=False)
    pass_through: bool = False
    expanded: bool = True

    @property
    def editable_props(self) -> tuple[str, ...]:
        return GROUP_PROPS

    def walk(self) -> list[Node]:
        """Every descendant, depth first, bottom to top."""
        out: list[Node] = []
        for c in self.children:
            out.append(c)
            if isinstance(c, Group):
                out.extend(c.walk())
        return out

    def layers(self) -> list[Layer]:
        return [n for n in self.walk() if isinstance(n, Layer)]

    def bounds(self) -> Rect:
        out = EMPTY
        for n in self.layers():
            out = out.union(n.bounds())
        return out


def clone_node(node: Node) -> Node:
    """Deep copy of a node tree; pixels share immutable tiles, so this is cheap."""
    kwargs = {f.name: getattr(node, f.name) for f in fields(node)
              if f.name not in ("uid", "parent", "children", "tiles", "extra")}
    kwargs["extra"] = dict(node.extra)
    if isinstance(node, Layer):
        return Layer(tiles=node.tiles.copy(), **kwargs)
    assert isinstance(node, Group)
    g = Group(**kwargs)
    for c in node.children:
        cc = clone_node(c)
        cc.parent = g
        g.children.append(cc)
    return g
