"""The document's undoable commands. Each stores only what it changed.

Commands call the document's private `_apply_*` methods, which change state and emit events;
the document's public methods build commands and push them (see DESIGN.md, rule 3).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .history import Command
from .layer import Group, Layer, Node
from .tiles import TILE, TileGrid, TileMap

if TYPE_CHECKING:
    from .document import Document
    from .geometry import Rect

TILE_BYTES = TILE * TILE * 4


def tilemap_bytes(*maps: TileMap, seen: set[int] | None = None) -> int:
    """The memory the distinct tiles of `maps` hold (a shared tile counts once; every tile is
    TILE x TILE RGBA8). Tiles already in `seen` are not counted again."""
    seen = set() if seen is None else seen
    before = len(seen)
    for m in maps:
        seen.update(id(t) for t in m.values() if t is not None)
    return (len(seen) - before) * TILE_BYTES


class PixelsEdit(Command):
    """Tile-level pixel change of one layer (a stroke, a fill, a paste, an AI apply)."""

    def __init__(self, doc: Document, layer: Layer, before: TileMap, after: TileMap,
                 text: str = "Paint") -> None:
        self.doc, self.layer, self.text = doc, layer, text
        # Drop tiles that did not actually change: undo stores only what changed.
        keys = [k for k in after if before.get(k) is not after[k]]
        self.before = {k: before.get(k) for k in keys}
        self.after = {k: after[k] for k in keys}
        self._nbytes = tilemap_bytes(self.before, self.after)

    @property
    def empty(self) -> bool:
        return not self.after

    def redo(self) -> None:
        self.doc._apply_tiles(self.layer, self.after)

    def undo(self) -> None:
        self.doc._apply_tiles(self.layer, self.before)

    @property
    def nbytes(self) -> int:
        return self._nbytes


class SwapTiles(Command):
    """A layer's every tile replaced at once (an upscale's result): redo and undo swap the
    layer's grid with the one this command holds, a cost that does not grow with the picture
    (a `PixelsEdit` keeps a map entry per tile: 16 384 of them for an 8192² layer)."""

    def __init__(self, doc: Document, layer: Layer, grid: TileGrid,
                 text: str = "Edit pixels") -> None:
        self.doc, self.layer, self.other, self.text = doc, layer, grid, text
        # both states' tiles (one shared by both counts twice: rare, and never too little)
        self._nbytes = layer.tiles.nbytes + grid.nbytes

    def redo(self) -> None:
        self.doc._swap_tiles(self.layer, self.other)

    undo = redo

    @property
    def nbytes(self) -> int:
        return self._nbytes


class InsertNode(Command):
    """Add a node, which becomes active. Undo, when it takes the active node away, makes active
    again what was active before the add (or, when that is gone too, the neighbour)."""

    def __init__(self, doc: Document, node: Node, parent: Group, index: int,
                 text: str = "Add layer") -> None:
        self.doc, self.node, self.parent, self.index, self.text = doc, node, parent, index, text
        self.active_before = doc.active

    def redo(self) -> None:
        self.doc._apply_insert(self.node, self.parent, self.index, activate=True)

    def undo(self) -> None:
        self.doc._apply_remove(self.node, restore=self.active_before)

    @property
    def nbytes(self) -> int:
        layers = [self.node] if isinstance(self.node, Layer) else (
            self.node.layers() if isinstance(self.node, Group) else [])
        return sum(n.tiles.nbytes for n in layers) + 256


class RemoveNode(Command):
    """Remove a node; when the active node goes with it, its neighbour becomes active. Undo
    restores the node and makes active again what was active before (usually that node)."""

    def __init__(self, doc: Document, node: Node, text: str = "Delete layer") -> None:
        assert node.parent is not None
        self.doc, self.node, self.text = doc, node, text
        self.parent = node.parent
        self.index = node.parent.children.index(node)
        self.active_before = doc.active

    def redo(self) -> None:
        self.doc._apply_remove(self.node)

    def undo(self) -> None:
        self.doc._apply_insert(self.node, self.parent, self.index)
        self.doc._apply_active(self.active_before)

    @property
    def nbytes(self) -> int:
        return 256


class MoveNode(Command):
    """Move a node in the tree; the active node stays what it is."""

    def __init__(self, doc: Document, node: Node, parent: Group, index: int,
                 text: str = "Move layer") -> None:
        assert node.parent is not None
        self.doc, self.node, self.text = doc, node, text
        self.old = (node.parent, node.parent.children.index(node))
        self.new = (parent, index)

    def redo(self) -> None:
        self.doc._apply_move(self.node, *self.new)

    def undo(self) -> None:
        self.doc._apply_move(self.node, *self.old)


class SetNodeProps(Command):
    """Change layer/group properties. Consecutive edits of the same properties merge."""

    def __init__(self, doc: Document, node: Node, new: dict[str, Any],
                 text: str | None = None) -> None:
        self.doc, self.node = doc, node
        self.new = {k: node.validate(k, v) for k, v in new.items()}
        self.old = {k: getattr(node, k) for k in new}
        self.text = text or _props_text(self.new)

    def redo(self) -> None:
        self.doc._apply_props(self.node, self.new)

    def undo(self) -> None:
        self.doc._apply_props(self.node, self.old)

    def merge(self, other: Command) -> bool:
        if (isinstance(other, SetNodeProps) and other.node is self.node
                and other.new.keys() == self.new.keys()):
            self.new = dict(other.new)
            return True
        return False


class PackedMask:
    """A canvas-sized mask stored as its bounding-box crop (selections are mostly empty)."""

    def __init__(self, mask: np.ndarray | None) -> None:
        self.shape = None if mask is None else mask.shape
        self.rect: Rect | None = None
        self.crop: np.ndarray | None = None
        if mask is not None:
            from .selection import bounds

            r = bounds(mask)
            self.rect = r
            self.crop = mask[r.slices()].copy()

    def unpack(self) -> np.ndarray | None:
        if self.shape is None:
            return None
        out = np.zeros(self.shape, np.uint8)
        if self.rect is not None and self.crop is not None and not self.rect.empty:
            out[self.rect.slices()] = self.crop
        return out

    @property
    def nbytes(self) -> int:
        return 0 if self.crop is None else self.crop.nbytes


class SetSelection(Command):
    """Replace the document's selection mask (None = nothing selected)."""

    def __init__(self, doc: Document, mask: np.ndarray | None, text: str = "Select") -> None:
        self.doc, self.text = doc, text
        self.before = PackedMask(doc.selection)
        self.after = PackedMask(mask)

    def redo(self) -> None:
        self.doc._apply_selection(self.after.unpack())

    def undo(self) -> None:
        self.doc._apply_selection(self.before.unpack())

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


class ResizeCanvas(Command):
    """Change the canvas size, shifting every top-level layer's offset by (dx, dy)."""

    def __init__(self, doc: Document, width: int, height: int, dx: int = 0, dy: int = 0,
                 text: str = "Resize canvas") -> None:
        self.doc, self.text = doc, text
        self.old = (doc.width, doc.height)
        self.new = (width, height)
        self.dx, self.dy = dx, dy
        self.sel_before = PackedMask(doc.selection)

    def redo(self) -> None:
        self.doc._apply_resize(*self.new, self.dx, self.dy, None)

    def undo(self) -> None:
        self.doc._apply_resize(*self.old, -self.dx, -self.dy, self.sel_before.unpack())


def _props_text(new: dict[str, Any]) -> str:
    names = {
        "name": "Rename layer", "opacity": "Layer opacity", "blend_mode": "Blend mode",
        "visible": "Layer visibility", "alpha_lock": "Alpha lock", "offset": "Move layer",
        "locked": "Lock layer", "pass_through": "Pass-through", "provenance": "Provenance",
        "expanded": "Expand group",
    }
    return names.get(next(iter(new)), "Layer properties") if len(new) == 1 else "Layer properties"
