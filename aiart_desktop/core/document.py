"""The document: canvas size, layer tree, active layer, selection, history and events."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import blend
from .commands import (
    InsertNode,
    MoveNode,
    PixelsEdit,
    RemoveNode,
    ResizeCanvas,
    SetNodeProps,
    SetSelection,
    SwapTiles,
)
from .events import Signal
from .geometry import EMPTY, Rect
from .history import DEFAULT_BUDGET, CommandStack
from .layer import Group, Layer, Node, clone_node
from .tiles import TileGrid, TileMap, tile_keys, tile_rect

MAX_SIDE = 32768  # widest / tallest canvas we accept
HISTORY_KEY = "generation_history"  # metadata key of the generation history


class Document:
    """A layered picture. Public methods are undoable edits; `_apply_*` change state."""

    pixels_changed = Signal(object)      # Rect in document coordinates
    structure_changed = Signal()         # layers added, removed or reordered
    node_changed = Signal(object)        # a node's properties changed
    active_changed = Signal(object)      # the active node (or None)
    selection_changed = Signal(object)   # Rect that changed
    size_changed = Signal(int, int)
    revision_changed = Signal(int)

    def __init__(self, width: int, height: int, *, undo_budget: int = DEFAULT_BUDGET) -> None:
        check_size(width, height)
        self.width, self.height = int(width), int(height)
        self.root = Group(name="root")
        self.active: Node | None = None
        self.selection: np.ndarray | None = None  # (h, w) uint8 soft mask, or None = all
        self.revision = 0
        self.history = CommandStack(undo_budget)
        self.path: str | None = None
        # Document-level metadata other parts keep here (AI history etc.), saved with .ora.
        self.metadata: dict[str, Any] = {}
        self._name_counter = 0

    # ---- generation history (not part of undo) ---------------------------------------------
    @property
    def generation_history(self) -> list[dict[str, Any]]:
        """Every finished AI job for this document, oldest first, as plain data (see
        `ai.gen_history`). Kept in `metadata` so saves and autosave snapshots carry it; the
        .ora writer stores it in its own part. Changing it is not an undo step: call
        `note_metadata_changed()` after."""
        hist = self.metadata.get(HISTORY_KEY)
        if not isinstance(hist, list):
            hist = self.metadata[HISTORY_KEY] = []
        return hist

    def note_metadata_changed(self) -> None:
        """Metadata (e.g. the generation history) changed: the document needs saving (and an
        autosave), but there is nothing to undo."""
        self.history.mark_dirty()
        self._bump()

    @classmethod
    def new(cls, width: int, height: int,
            background: tuple[int, int, int, int] | None = (255, 255, 255, 255)) -> Document:
        """A fresh document with a filled "Background" layer (or one empty layer)."""
        doc = cls(width, height)
        layer = Layer(name="Background" if background else "Layer 1")
        if background is not None and background[3] > 0:
            layer.tiles.fill(doc.rect, background)
        doc._apply_insert(layer, doc.root, 0, activate=True)
        doc.history.clear()
        return doc

    # ---- queries ---------------------------------------------------------------------------
    @property
    def rect(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    @property
    def layers(self) -> list[Layer]:
        return self.root.layers()

    @property
    def nodes(self) -> list[Node]:
        return self.root.walk()

    @property
    def modified(self) -> bool:
        return not self.history.is_clean

    @property
    def active_layer(self) -> Layer | None:
        return self.active if isinstance(self.active, Layer) else None

    def contains(self, node: Node) -> bool:
        """Whether `node` is in this document's layer tree."""
        while node.parent is not None:
            node = node.parent
        return node is self.root

    def paint_problem(self, verb: str = "paint on", *, needs_alpha: bool = True) -> str | None:
        """Why the active node cannot take `verb` ("paint on", "move", ...), in one plain line
        for the status bar; None when it can. `needs_alpha`: an alpha-locked empty layer cannot
        receive paint (nothing to keep the transparency of)."""
        node = self.active
        if node is None or not self.contains(node):
            return "No layer is active: click a layer in the Layers panel"
        if isinstance(node, Group):
            return f"\u201c{node.name}\u201d is a group: pick a layer inside it to {verb}"
        if not node.visible:
            return f"\u201c{node.name}\u201d is hidden: show it to {verb} it"
        if node.locked:
            return f"\u201c{node.name}\u201d is locked: unlock it to {verb} it"
        for group in node.ancestors():
            if group is self.root:
                break
            if not group.visible:
                return (f"\u201c{node.name}\u201d is in the hidden group \u201c{group.name}"
                        f"\u201d: show the group to {verb} it")
            if group.locked:
                return (f"\u201c{node.name}\u201d is in the locked group \u201c{group.name}"
                        f"\u201d: unlock the group to {verb} it")
        if needs_alpha and isinstance(node, Layer) and node.alpha_lock and node.tiles.is_empty():
            return (f"\u201c{node.name}\u201d is empty and its alpha is locked: unlock alpha "
                    f"to {verb} it")
        return None

    def find(self, uid: int) -> Node | None:
        return next((n for n in self.root.walk() if n.uid == uid), None)

    def flatten(self, rect: Rect | None = None, premultiplied: bool = False) -> np.ndarray:
        """Composite of the visible layers in `rect` (default: the canvas), RGBA8."""
        return blend.flatten(self.root, self.rect if rect is None else rect, premultiplied)

    def selection_mask(self, rect: Rect) -> np.ndarray | None:
        """The selection in `rect` as float32 [0, 1] (h, w), or None when nothing is selected."""
        if self.selection is None:
            return None
        out = np.zeros((rect.h, rect.w), np.float32)
        part = rect.intersect(self.rect)
        if not part.empty:
            out[part.slices(rect.x, rect.y)] = self.selection[part.slices()] * (1.0 / 255.0)
        return out

    def unique_name(self, base: str = "Layer") -> str:
        names = {n.name for n in self.root.walk()}
        i = len([n for n in names if n.startswith(base)]) + 1
        while f"{base} {i}" in names:
            i += 1
        return f"{base} {i}"

    # ---- intent: layer tree --------------------------------------------------------------
    def add_layer(self, name: str | None = None, *, parent: Group | None = None,
                  index: int | None = None, pixels: np.ndarray | None = None,
                  x: int = 0, y: int = 0, provenance: dict[str, Any] | None = None,
                  text: str = "Add layer", tiles: TileGrid | None = None) -> Layer:
        """New layer above the active node (or at parent/index). One undo step. Its pixels:
        `pixels` at (x, y), or `tiles`, a grid made elsewhere, taken as it is."""
        layer = Layer(name=name or self.unique_name("Layer"), provenance=provenance)
        if tiles is not None:
            layer.tiles = tiles
        elif pixels is not None:
            layer.tiles.write(x, y, pixels)
        self._insert_new(layer, parent, index, text)
        return layer

    def add_group(self, name: str | None = None, *, parent: Group | None = None,
                  index: int | None = None) -> Group:
        group = Group(name=name or self.unique_name("Group"))
        self._insert_new(group, parent, index, "Add group")
        return group

    def _insert_new(self, node: Node, parent: Group | None, index: int | None,
                    text: str) -> None:
        if parent is None:
            parent, index = self.insertion_point() if index is None else (self.root, index)
        elif index is None:
            index = len(parent.children)
        self.history.push(InsertNode(self, node, parent, index, text))  # makes it active

    def insertion_point(self) -> tuple[Group, int]:
        """Where Add layer puts a new layer: above the active node (inside it when it is an
        expanded group), or at the top of the stack when nothing is active."""
        a = self.active
        if isinstance(a, Group) and a.expanded:
            return a, len(a.children)
        if a is not None and a.parent is not None:
            return a.parent, a.parent.children.index(a) + 1
        return self.root, len(self.root.children)

    def remove_node(self, node: Node) -> None:
        """Delete `node`; when it was active, its neighbour becomes active (see
        `_apply_remove`). One undo step; undoing it makes `node` active again."""
        assert node.parent is not None, "cannot remove the root"
        self.history.push(RemoveNode(self, node))

    def duplicate_node(self, node: Node) -> Node:
        assert node.parent is not None
        copy = clone_node(node)
        copy.name = f"{node.name} copy"
        if isinstance(copy, Layer):
            copy.provenance = node.provenance  # type: ignore[attr-defined]
        idx = node.parent.children.index(node) + 1
        self.history.push(InsertNode(self, copy, node.parent, idx, "Duplicate layer"))
        return copy

    def move_node(self, node: Node, parent: Group, index: int) -> None:
        """Move `node` to `parent` at `index` (index counted after removing the node)."""
        if node is parent or parent in _descendants(node):
            raise ValueError("cannot move a group into itself")
        if node.parent is parent and parent.children.index(node) == index:
            return
        self.history.push(MoveNode(self, node, parent, index))

    def raise_node(self, node: Node, steps: int = 1) -> None:
        assert node.parent is not None
        sib = node.parent.children
        idx = max(0, min(len(sib) - 1, sib.index(node) + steps))
        self.move_node(node, node.parent, idx)

    def set_props(self, node: Node, *, mergeable: bool = False, **props: Any) -> None:
        """Change properties (name, opacity, blend_mode, alpha_lock, offset, ...): one undo
        step. `visible` is not an undo step (see `set_visible`)."""
        if "visible" in props:
            self.set_visible(node, props.pop("visible"))
        props = {k: v for k, v in props.items() if getattr(node, k) != node.validate(k, v)}
        if props:
            self.history.push(SetNodeProps(self, node, props), mergeable=mergeable)

    def set_visible(self, node: Node, visible: bool, *, undoable: bool = False) -> None:
        """Show or hide `node`. As in Krita and Photoshop this is not an undo step (toggling
        eyes while looking would flood the history), but the document is modified: it needs
        saving, autosave takes it, and files keep it. `undoable`: it is one, for an edit that
        hides a layer as part of its work (Remove Background), so undoing shows it again."""
        visible = bool(node.validate("visible", visible))
        if node.visible == visible:
            return
        if undoable:
            self.history.push(SetNodeProps(self, node, {"visible": visible},
                                           "Show layer" if visible else "Hide layer"))
            return
        self._apply_props(node, {"visible": visible})
        self.history.mark_dirty()

    def merge_down(self, layer: Layer) -> Layer:
        """Composite `layer` onto the layer below it; the result keeps the lower one's place."""
        parent = layer.parent
        assert parent is not None
        idx = parent.children.index(layer)
        below = parent.children[idx - 1] if idx > 0 else None
        if not isinstance(below, Layer):
            raise ValueError("there is no paint layer below to merge into")
        tmp = Group(name="merge")
        a, b = clone_node(below), clone_node(layer)
        assert isinstance(a, Layer) and isinstance(b, Layer)
        a.visible = b.visible = True
        a.opacity, a.blend_mode = 1.0, "normal"
        tmp.children = [a, b]
        rect = below.bounds().union(layer.bounds())
        with self.history.macro("Merge down"):
            merged = blend.flatten(tmp, rect) if not rect.empty else None
            before = below.tiles.snapshot()
            after_grid = Layer(offset=below.offset)
            if merged is not None:
                after_grid.write(rect.x, rect.y, merged)
            after: TileMap = {k: None for k in before}
            after.update(after_grid.tiles.snapshot())
            self.history.push(PixelsEdit(self, below, before, after, "Merge down"))
            # When `layer` was active, the layer below (its neighbour) becomes active.
            self.history.push(RemoveNode(self, layer))
        return below

    def flatten_image(self) -> Layer:
        """Replace every layer with one layer holding the visible composite."""
        pixels = self.flatten()
        with self.history.macro("Flatten image"):
            for node in list(self.root.children):
                self.history.push(RemoveNode(self, node))
            layer = Layer(name="Background")
            layer.tiles.write(0, 0, pixels)
            self.history.push(InsertNode(self, layer, self.root, 0, "Flatten image"))
        return layer

    # ---- intent: pixels --------------------------------------------------------------------
    def put_pixels(self, layer: Layer, x: int, y: int, pixels: np.ndarray,
                   text: str = "Edit pixels") -> Rect:
        """Overwrite a rectangle of `layer` with `pixels` as one undo step."""
        h, w = pixels.shape[:2]
        keys = layer.doc_keys(Rect(x, y, w, h))
        before = layer.tiles.snapshot(keys)
        layer.write(x, y, pixels)
        after = layer.tiles.snapshot(keys)
        self.history.push(PixelsEdit(self, layer, before, after, text), applied=True)
        rect = Rect(x, y, w, h)
        self._changed_pixels(rect)
        return rect

    def swap_layer_tiles(self, layer: Layer, grid: TileGrid, text: str = "Edit pixels") -> None:
        """Replace all of `layer`'s pixels with `grid`'s (in the layer's space) as one undo
        step that costs the same at any size: the grids are swapped, not compared tile by
        tile. `grid` is the command's from then on (the caller must not change it)."""
        self.history.push(SwapTiles(self, layer, grid, text))

    def clear_layer(self, layer: Layer, rect: Rect | None = None) -> None:
        """Erase `layer` (inside the selection, softly, when there is one)."""
        r = layer.bounds() if rect is None else rect
        if self.selection is not None:
            r = r.intersect(self.rect)
        if r.empty:
            return
        mask = self.selection_mask(r)
        px = layer.read(r)
        if mask is None:
            px[...] = 0
        else:
            px[..., 3] = np.round(px[..., 3] * (1.0 - mask)).astype(np.uint8)
        self.put_pixels(layer, r.x, r.y, px, "Clear")

    @contextmanager
    def edit_pixels(self, layer: Layer, text: str = "Paint") -> Iterator[PixelCapture]:
        """Collect many writes to `layer` (a stroke) into one undo step.

        Inside the block call `capture.touch_rect(rect)` before writing there; the first touch of
        a tile keeps its previous state. Writes are live (visible as they happen).
        """
        cap = PixelCapture(layer)
        yield cap
        cmd = PixelsEdit(self, layer, cap.before, layer.tiles.snapshot(list(cap.before)), text)
        if not cmd.empty:
            self.history.push(cmd, applied=True)

    # ---- intent: selection and canvas -----------------------------------------------------
    def set_selection(self, mask: np.ndarray | None, text: str = "Select") -> None:
        if mask is not None:
            if mask.shape != (self.height, self.width):
                raise ValueError(f"selection mask must be {self.height}x{self.width}")
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
            if not mask.any():
                mask = None
        self.history.push(SetSelection(self, mask, text))

    def selection_region(self, margin: int = 0) -> tuple[Rect, np.ndarray]:
        """Bounding box of the selection grown by `margin` (clipped to the canvas) and the
        selection mask cropped to it; the whole canvas when nothing is selected."""
        from .selection import region

        return region(self.selection, self.width, self.height, margin)

    def resize_canvas(self, width: int, height: int, dx: int = 0, dy: int = 0) -> None:
        """New canvas size; content shifts by (dx, dy) (e.g. to grow on the left)."""
        check_size(width, height)
        self.history.push(ResizeCanvas(self, width, height, dx, dy))

    def set_active(self, node: Node | None) -> None:
        if node is not self.active:
            self.active = node
            self.active_changed.emit(node)

    # ---- private state changes (called by commands) --------------------------------------
    def _bump(self) -> None:
        self.revision += 1
        self.revision_changed.emit(self.revision)

    def _changed_pixels(self, rect: Rect) -> None:
        r = rect.intersect(self.rect)
        if not r.empty:
            self.pixels_changed.emit(r)
        self._bump()

    def _swap_tiles(self, layer: Layer, grid: TileGrid) -> None:
        dirty = layer.tiles.exchange(grid)
        self._changed_pixels(dirty.translated(*layer.offset) if not dirty.empty else EMPTY)

    def _apply_tiles(self, layer: Layer, tiles: TileMap) -> None:
        dirty = layer.tiles.restore(tiles)
        self._changed_pixels(dirty.translated(*layer.offset) if not dirty.empty else EMPTY)

    # The active node is part of these state changes, so that after any undo or redo some node
    # is active (unless the document is empty): an insert can make the new node active, and a
    # removal that takes the active node (or its group) away activates `restore` when it is in
    # the tree, else the removed node's neighbour: the sibling below it, else the one above,
    # else its group. The new active node is set before `structure_changed` (listeners that
    # rebuild see a node in the tree) and announced after it.
    def _apply_insert(self, node: Node, parent: Group, index: int, activate: bool = False,
                      ) -> None:
        node.parent = parent
        parent.children.insert(index, node)
        old = self.active
        if activate:
            self.active = node
        elif self.active is None or not self.contains(self.active):
            self.active = node
        self.structure_changed.emit()
        if self.active is not old:
            self.active_changed.emit(self.active)
        self._changed_pixels(_node_bounds(node))

    def _apply_remove(self, node: Node, restore: Node | None = None) -> None:
        parent = node.parent
        assert parent is not None
        idx = parent.children.index(node)
        parent.children.remove(node)
        node.parent = None
        old = self.active
        if old is None or not self.contains(old):
            if restore is not None and self.contains(restore):
                self.active = restore
            else:
                self.active = _neighbour(self.root, parent, idx)
        self.structure_changed.emit()
        if self.active is not old:
            self.active_changed.emit(self.active)
        self._changed_pixels(_node_bounds(node))

    def _apply_move(self, node: Node, parent: Group, index: int) -> None:
        """Move `node` to `parent` at `index`; the active node stays what it is."""
        old_parent = node.parent
        assert old_parent is not None
        before = _node_bounds(node)
        old_parent.children.remove(node)
        node.parent = parent
        parent.children.insert(index, node)
        self.structure_changed.emit()
        self._changed_pixels(before.union(_node_bounds(node)))

    def _apply_active(self, node: Node | None) -> None:
        """Make `node` active when it is in the tree (undo restoring what was active)."""
        if node is not None and self.contains(node) and node is not self.active:
            self.active = node
            self.active_changed.emit(node)

    def _apply_props(self, node: Node, props: dict[str, Any]) -> None:
        before = _node_bounds(node)
        for k, v in props.items():
            setattr(node, k, v)
        self.node_changed.emit(node)
        self._changed_pixels(before.union(_node_bounds(node)))

    def _apply_selection(self, mask: np.ndarray | None) -> None:
        self.selection = mask
        self.selection_changed.emit(self.rect)
        self._bump()

    def _apply_resize(self, width: int, height: int, dx: int, dy: int,
                      selection: np.ndarray | None) -> None:
        self.width, self.height = width, height
        for layer in self.root.layers():
            layer.offset = (layer.offset[0] + dx, layer.offset[1] + dy)
        self.selection = selection
        self.size_changed.emit(width, height)
        self.structure_changed.emit()
        self._changed_pixels(self.rect)


class PixelCapture:
    """Remembers the first state of each tile a multi-write edit touches."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.before: TileMap = {}

    def touch_rect(self, rect: Rect) -> None:
        tiles = self.layer.tiles
        for k in self.layer.doc_keys(rect):
            if k not in self.before:
                self.before[k] = tiles.tile(k)

    def original(self, rect: Rect) -> np.ndarray:
        """The layer's pixels in `rect` as they were before this edit began."""
        out = self.layer.read(rect)
        ox, oy = self.layer.offset
        local = rect.translated(-ox, -oy)
        for k in tile_keys(local):
            if k not in self.before:
                continue
            t = self.before[k]
            tr = tile_rect(k)
            part = tr.intersect(local)
            dst = part.slices(local.x, local.y)
            out[dst] = 0 if t is None else t[part.slices(tr.x, tr.y)]
        return out


def _node_bounds(node: Node) -> Rect:
    """Cheap (tile-granular) bounds of what a node can paint, for dirty rectangles."""
    layers = [node] if isinstance(node, Layer) else (
        node.layers() if isinstance(node, Group) else [])
    return Rect.bounding(n.coarse_bounds() for n in layers)


def _neighbour(root: Group, parent: Group, index: int) -> Node | None:
    """What becomes active when the node that was at `parent.children[index]` has gone: the
    sibling below it, else the one above, else the group that held it (never the root)."""
    kids = parent.children
    if 0 < index <= len(kids):
        return kids[index - 1]
    if index < len(kids):
        return kids[index]
    if parent is not root and parent.parent is not None:
        return parent
    return None


def _descendants(node: Node) -> list[Node]:
    return node.walk() if isinstance(node, Group) else []


def check_size(width: int, height: int) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"canvas size {width}x{height} is outside 1..{MAX_SIDE}")
