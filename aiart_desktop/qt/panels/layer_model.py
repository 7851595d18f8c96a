"""The layer tree as a Qt item model. The document is the only source of truth: every edit
made through the model is a document intent call, and the model resets on structure changes.

Rows are shown top-most layer first (the reverse of the core's bottom-to-top order).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFont, QPixmap

from ...core.document import Document
from ...core.layer import Group, Layer, Node
from ..resources import icon
from .thumbnails import Thumbnails

MIME = "application/x-aiart-layer-uid"
COL_NAME, COL_VISIBLE, COL_ALPHA = 0, 1, 2
TOGGLE_SIZE = 18
Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
Role = Qt.ItemDataRole


class LayerTreeModel(QAbstractItemModel):
    def __init__(self, parent: Any = None, dpr: float = 1.0) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self.thumbs = Thumbnails(dpr=dpr)
        self._pixmaps: dict[str, QPixmap] = {}
        self._thumb_timer = QTimer(self, singleShot=True, interval=200)
        self._thumb_timer.timeout.connect(self.refresh_thumbnails)
        self._more_thumbs = QTimer(self, singleShot=True, interval=30)
        self._more_thumbs.timeout.connect(self.refresh_thumbnails)

    # ---- document --------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self.beginResetModel()
        if self.doc is not None:
            self.doc.structure_changed.disconnect(self._structure_changed)
            self.doc.node_changed.disconnect(self._node_changed)
            self.doc.pixels_changed.disconnect(self._pixels_changed)
        self.doc = doc
        self.thumbs.clear()
        if doc is not None:
            doc.structure_changed.connect(self._structure_changed)
            doc.node_changed.connect(self._node_changed)
            doc.pixels_changed.connect(self._pixels_changed)
        self.endResetModel()

    def _structure_changed(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _node_changed(self, node: Node) -> None:
        if self.doc is None or node.parent is None:
            return
        left, right = self.index_of(node, 0), self.index_of(node, COL_ALPHA)
        if left.isValid():
            self.dataChanged.emit(left, right)

    def _pixels_changed(self, _rect: object) -> None:
        self._thumb_timer.start()

    def refresh_thumbnails(self) -> None:
        if self.doc is None:
            return
        for layer in self.doc.layers:
            idx = self.index_of(layer, 0)
            if idx.isValid():
                self.dataChanged.emit(idx, idx, [Role.DecorationRole])

    # ---- tree navigation -------------------------------------------------------------------
    def node(self, index: Index) -> Node | None:
        if self.doc is None or not index.isValid():
            return None
        return self.doc.find(index.internalId())

    def _group(self, index: Index) -> Group | None:
        if self.doc is None:
            return None
        if not index.isValid():
            return self.doc.root
        n = self.node(index)
        return n if isinstance(n, Group) else None

    def index_of(self, node: Node | None, column: int = 0) -> QModelIndex:
        if self.doc is None or node is None or node.parent is None:
            return QModelIndex()
        kids = node.parent.children
        return self.createIndex(len(kids) - 1 - kids.index(node), column, node.uid)

    def index(self, row: int, column: int, parent: Index = _ROOT) -> QModelIndex:
        group = self._group(parent)
        if group is None or not (0 <= row < len(group.children)) or not 0 <= column < 3:
            return QModelIndex()
        node = group.children[len(group.children) - 1 - row]
        return self.createIndex(row, column, node.uid)

    def parent(self, index: Index = _ROOT) -> QModelIndex:  # type: ignore[override]
        node = self.node(index)
        if node is None or node.parent is None or self.doc is None:
            return QModelIndex()
        if node.parent is self.doc.root:
            return QModelIndex()
        return self.index_of(node.parent, 0)

    def rowCount(self, parent: Index = _ROOT) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        group = self._group(parent)
        return len(group.children) if group is not None else 0

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 3

    # ---- data ------------------------------------------------------------------------------
    def data(self, index: Index, role: int = Role.DisplayRole) -> Any:
        node = self.node(index)
        if node is None or self.doc is None:
            return None
        col = index.column()
        if col == COL_NAME:
            if role in (Role.DisplayRole, Role.EditRole):
                return node.name
            if role == Role.DecorationRole:
                if isinstance(node, Layer):
                    pix = self.thumbs.pixmap(node, self.doc.width, self.doc.height)
                    if self.thumbs.incomplete(node) and not self._more_thumbs.isActive():
                        self._more_thumbs.start()   # sampled over several paints
                    return pix
                return icon("folder")
            if role == Role.ForegroundRole and not node.is_visible_in_tree():
                return QColor(130, 130, 130)
            if role == Role.FontRole and node is self.doc.active:
                f = QFont()
                f.setBold(True)
                return f
            if role == Role.ToolTipRole:
                return _describe(node)
        elif col == COL_VISIBLE:
            if role == Role.DecorationRole:
                return self._toggle_pixmap("eye" if node.visible else "eye-off")
            if role == Role.ToolTipRole:
                return "Visible (click to hide)" if node.visible else "Hidden (click to show)"
        elif col == COL_ALPHA and isinstance(node, Layer):
            if role == Role.DecorationRole:
                return self._toggle_pixmap("alpha-lock" if node.alpha_lock else "alpha-unlock")
            if role == Role.ToolTipRole:
                return ("Alpha locked: paint keeps transparency (click to unlock)"
                        if node.alpha_lock else "Lock alpha (paint only where there is paint)")
        return None

    def _toggle_pixmap(self, name: str) -> QPixmap:
        """Small fixed-size pixmaps: the view's (thumbnail-sized) icon size must not apply."""
        pm = self._pixmaps.get(name)
        if pm is None:
            pm = self._pixmaps[name] = icon(name).pixmap(QSize(TOGGLE_SIZE, TOGGLE_SIZE),
                                                         self.thumbs.dpr)
        return pm

    def setData(self, index: Index, value: Any, role: int = Role.EditRole) -> bool:
        node = self.node(index)
        if node is None or self.doc is None:
            return False
        if index.column() == COL_NAME and role == Role.EditRole:
            name = str(value).strip()
            if name and name != node.name:
                self.doc.set_props(node, name=name)
            return bool(name)
        return False

    def toggle(self, index: Index) -> bool:
        """Clicks on the eye / lock columns: flip that property (one undo step)."""
        node = self.node(index)
        if node is None or self.doc is None:
            return False
        if index.column() == COL_VISIBLE:
            self.doc.set_props(node, visible=not node.visible)
            return True
        if index.column() == COL_ALPHA and isinstance(node, Layer):
            self.doc.set_props(node, alpha_lock=not node.alpha_lock)
            return True
        return False

    def flags(self, index: Index) -> Qt.ItemFlag:
        F = Qt.ItemFlag
        if not index.isValid():
            return F.ItemIsDropEnabled
        node = self.node(index)
        flags = F.ItemIsEnabled | F.ItemIsSelectable | F.ItemIsDragEnabled
        if index.column() == COL_NAME:
            flags |= F.ItemIsEditable
        if isinstance(node, Group):
            flags |= F.ItemIsDropEnabled
        return flags

    # ---- drag and drop ---------------------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        data = QMimeData()
        node = next((self.node(i) for i in indexes if i.isValid()), None)
        if node is not None:
            data.setData(MIME, QByteArray(str(node.uid).encode()))
        return data

    def _dragged(self, data: QMimeData) -> Node | None:
        if self.doc is None or not data.hasFormat(MIME):
            return None
        try:
            return self.doc.find(int(bytes(data.data(MIME).data()).decode()))
        except ValueError:
            return None

    def drop_target(self, node: Node, row: int, parent: Index) -> tuple[Group, int] | None:
        """Where a drop at (row, parent) puts `node`: (group, core index after removal)."""
        group = self._group(parent)
        if group is None or group is node or (isinstance(node, Group) and group in node.walk()):
            return None
        n = len(group.children)
        core = n if row < 0 else n - min(max(row, 0), n)   # row -1: onto the group -> top
        if node.parent is group and group.children.index(node) < core:
            core -= 1
        return group, core

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int,
                        column: int, parent: Index) -> bool:
        node = self._dragged(data)
        return node is not None and self.drop_target(node, row, parent) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int,
                     column: int, parent: Index) -> bool:
        node = self._dragged(data)
        target = self.drop_target(node, row, parent) if node is not None else None
        if node is None or target is None or self.doc is None:
            return False
        doc = self.doc
        # Move after the view has finished its drop handling (it must not see a reset).
        QTimer.singleShot(0, lambda: doc.move_node(node, *target) if node.parent else None)
        return False  # the document moves the node; the view must not remove any row


def _describe(node: Node) -> str:
    kind = "Group" if isinstance(node, Group) else "Layer"
    parts = [f"{kind} \u201c{node.name}\u201d", f"{node.blend_mode}", f"{node.opacity:.0%}"]
    if isinstance(node, Layer) and node.offset != (0, 0):
        parts.append(f"offset {node.offset[0]}, {node.offset[1]}")
    return " \u00b7 ".join(parts)
