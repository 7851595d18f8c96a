"""The Layers panel: the layer tree with thumbnails, visibility and alpha-lock toggles,
blend mode, opacity (one undo step per drag), and the layer operations."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ...core.blend import BLEND_MODES
from ...core.document import Document
from ...core.layer import Group, Layer, Node
from ..resources import icon
from .layer_model import COL_ALPHA, COL_NAME, COL_VISIBLE, LayerTreeModel

BLEND_NAMES = {m: m.replace("-", " ").title() for m in BLEND_MODES}
TOGGLE_COLUMNS = (COL_VISIBLE, COL_ALPHA)


class LayerTreeView(QTreeView):
    """A press on the eye or lock column flips it without selecting the row (as in Krita)."""

    def _toggle_at(self, event: QMouseEvent) -> bool:
        idx = self.indexAt(event.position().toPoint())
        if (event.button() == Qt.MouseButton.LeftButton and idx.isValid()
                and idx.column() in TOGGLE_COLUMNS):
            model = self.model()
            if isinstance(model, LayerTreeModel):
                model.toggle(idx)
            event.accept()
            return True
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self._toggle_at(event):
            super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if not self._toggle_at(event):
            super().mouseDoubleClickEvent(event)


class LayersPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self._syncing = False
        self.model = LayerTreeModel(self, dpr=self.devicePixelRatioF())

        self.blend = QComboBox()
        self.blend.setToolTip("Blend mode of the active layer or group")
        for mode in BLEND_MODES:
            self.blend.addItem(BLEND_NAMES[mode], mode)
            if mode in ("normal", "lighten", "difference"):
                self.blend.insertSeparator(self.blend.count())
        self.blend.activated.connect(self._blend_chosen)

        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the active layer or group")
        self.opacity_label = QLabel("100 %")
        self.opacity_label.setMinimumWidth(44)
        self.opacity_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.opacity.sliderPressed.connect(self._opacity_pressed)
        self.opacity.sliderReleased.connect(self._opacity_released)
        self.opacity.valueChanged.connect(self._opacity_changed)

        self.tree = LayerTreeView()
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(40, 40))
        self.tree.setIndentation(14)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.tree.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.tree.setDropIndicatorShown(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col in (COL_VISIBLE, COL_ALPHA):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, 28)
        self.tree.expanded.connect(lambda i: self._set_expanded(i, True))
        self.tree.collapsed.connect(lambda i: self._set_expanded(i, False))
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.model.modelReset.connect(self._after_reset)

        self.act_add = self._action("New Layer", "add-layer", self.add_layer, "Ctrl+Shift+N")
        self.act_group = self._action("New Group", "add-group", self.add_group, "Ctrl+G")
        self.act_duplicate = self._action("Duplicate", "duplicate", self.duplicate, "Ctrl+J")
        self.act_delete = self._action("Delete", "delete", self.delete, "")
        self.act_merge = self._action("Merge Down", "merge-down", self.merge_down, "")
        self.act_clear = self._action("Clear Layer", "", self.clear, "Delete")
        self.act_flatten = self._action("Flatten Image", "", self.flatten, "")
        self.act_rename = self._action("Rename\u2026", "", self.rename, "F2")
        self.act_alpha = self._action("Lock Alpha", "alpha-lock", self.toggle_alpha_lock, "")
        self.act_alpha.setCheckable(True)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.blend, 1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        for act in (self.act_add, self.act_group, self.act_duplicate, self.act_merge,
                    self.act_alpha):
            b = QToolButton()
            b.setDefaultAction(act)
            b.setAutoRaise(True)
            b.setIconSize(QSize(20, 20))
            buttons.addWidget(b)
        buttons.addStretch(1)
        b = QToolButton()
        b.setDefaultAction(self.act_delete)
        b.setAutoRaise(True)
        b.setIconSize(QSize(20, 20))
        buttons.addWidget(b)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        lay.addLayout(top)
        lay.addLayout(row)
        self.tree.setMinimumHeight(48)   # two rows: a short window keeps its docks
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        self._sync_widgets()

    def _action(self, text: str, icon_name: str, slot, shortcut: str) -> QAction:
        act = QAction(icon(icon_name) if icon_name else icon(""), text, self)
        act.setToolTip(text + (f" ({QKeySequence(shortcut).toString()})" if shortcut else ""))
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _checked=False: slot())
        return act

    @property
    def actions_list(self) -> list[QAction]:
        return [self.act_add, self.act_group, self.act_duplicate, self.act_delete,
                self.act_merge, self.act_clear, self.act_rename, self.act_alpha,
                self.act_flatten]

    # ---- document --------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        if self.doc is not None:
            self.doc.active_changed.disconnect(self._active_changed)
            self.doc.node_changed.disconnect(self._node_changed)
            self.doc.structure_changed.disconnect(self._sync_widgets)
        self.doc = doc
        self.model.set_document(doc)
        if doc is not None:
            doc.active_changed.connect(self._active_changed)
            doc.node_changed.connect(self._node_changed)
            doc.structure_changed.connect(self._sync_widgets)
        self._after_reset()

    @property
    def active(self) -> Node | None:
        return self.doc.active if self.doc is not None else None

    def _after_reset(self) -> None:
        if self.doc is None:
            return
        self._syncing = True
        try:
            for node in self.doc.nodes:
                if isinstance(node, Group):
                    self.tree.setExpanded(self.model.index_of(node), node.expanded)
            self._select(self.doc.active)
        finally:
            self._syncing = False
        self._sync_widgets()

    def _select(self, node: Node | None) -> None:
        idx = self.model.index_of(node)
        sm = self.tree.selectionModel()
        if idx.isValid():
            sm.setCurrentIndex(idx, sm.SelectionFlag.ClearAndSelect | sm.SelectionFlag.Rows)
            self.tree.scrollTo(idx)
        else:
            sm.clearSelection()

    def _active_changed(self, node: Node | None) -> None:
        self._syncing = True
        try:
            self._select(node)
        finally:
            self._syncing = False
        self._sync_widgets()
        self.tree.viewport().update()

    def _node_changed(self, node: Node) -> None:
        if node is self.active:
            self._sync_widgets()

    def _current_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if self._syncing or self.doc is None:
            return
        node = self.model.node(current)
        if node is not None:
            self.doc.set_active(node)

    def _sync_widgets(self) -> None:
        node = self.active
        doc = self.doc
        self._syncing = True
        try:
            has = node is not None
            self.blend.setEnabled(has)
            self.opacity.setEnabled(has)
            if node is not None:
                self.blend.setCurrentIndex(self.blend.findData(node.blend_mode))
                self.opacity.setValue(round(node.opacity * 100))
                self.opacity_label.setText(f"{round(node.opacity * 100)} %")
            is_layer = isinstance(node, Layer)
            self.act_duplicate.setEnabled(has)
            self.act_rename.setEnabled(has)
            self.act_delete.setEnabled(has and doc is not None and len(doc.root.walk()) > 1)
            self.act_merge.setEnabled(is_layer and _below(node) is not None)
            self.act_clear.setEnabled(is_layer)
            self.act_alpha.setEnabled(is_layer)
            self.act_alpha.setChecked(bool(is_layer and node.alpha_lock))  # type: ignore[union-attr]
            self.act_add.setEnabled(doc is not None)
            self.act_group.setEnabled(doc is not None)
            self.act_flatten.setEnabled(doc is not None)
        finally:
            self._syncing = False

    # ---- widget handlers -------------------------------------------------------------------
    def _set_expanded(self, index: QModelIndex, expanded: bool) -> None:
        node = self.model.node(index)
        if isinstance(node, Group) and not self._syncing:
            node.expanded = expanded  # view state only: not an undoable edit

    def _blend_chosen(self, row: int) -> None:
        node = self.active
        mode = self.blend.itemData(row)
        if node is not None and self.doc is not None and mode:
            self.doc.set_props(node, blend_mode=mode)

    def _opacity_pressed(self) -> None:
        if self.doc is not None:
            self.doc.history.break_merge()

    def _opacity_released(self) -> None:
        if self.doc is not None:
            self.doc.history.break_merge()

    def _opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        node = self.active
        if self._syncing or node is None or self.doc is None:
            return
        dragging = self.opacity.isSliderDown()
        if not dragging:
            self.doc.history.break_merge()
        self.doc.set_props(node, opacity=value / 100.0, mergeable=dragging)

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        for act in (self.act_add, self.act_group, self.act_duplicate, None, self.act_rename,
                    self.act_alpha, self.act_merge, self.act_clear, None, self.act_delete):
            if act is None:
                menu.addSeparator()
            else:
                menu.addAction(act)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    # ---- operations (one undo step each) ---------------------------------------------------
    def add_layer(self) -> Layer | None:
        return self.doc.add_layer() if self.doc is not None else None

    def add_group(self) -> Group | None:
        return self.doc.add_group() if self.doc is not None else None

    def duplicate(self) -> Node | None:
        node = self.active
        return self.doc.duplicate_node(node) if node is not None and self.doc else None

    def delete(self) -> None:
        node = self.active
        if node is not None and self.doc is not None and self.act_delete.isEnabled():
            self.doc.remove_node(node)

    def merge_down(self) -> None:
        node = self.active
        if isinstance(node, Layer) and self.doc is not None and _below(node) is not None:
            self.doc.merge_down(node)

    def flatten(self) -> None:
        if self.doc is not None:
            self.doc.flatten_image()

    def clear(self) -> None:
        node = self.active
        if isinstance(node, Layer) and self.doc is not None:
            self.doc.clear_layer(node)

    def rename(self) -> None:
        idx = self.model.index_of(self.active)
        if idx.isValid():
            self.tree.edit(idx)

    def toggle_alpha_lock(self) -> None:
        node = self.active
        if isinstance(node, Layer) and self.doc is not None:
            self.doc.set_props(node, alpha_lock=not node.alpha_lock)


def _below(node: Node | None) -> Node | None:
    if node is None or node.parent is None:
        return None
    kids = node.parent.children
    i = kids.index(node)
    below = kids[i - 1] if i > 0 else None
    return below if isinstance(below, Layer) else None
