"""An icon grid of styles (built-in or the user's), that takes picture files dropped on it."""
from __future__ import annotations

import os

from PySide6.QtCore import QMimeData, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

ICON = 64
CELL = QSize(ICON + 28, ICON + 30)   # room for the longest word of a style name
KIND_ROLE = Qt.ItemDataRole.UserRole          # "builtin" | "user"
KEY_ROLE = Qt.ItemDataRole.UserRole + 1       # "Style 7" | a library id
PICTURE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def dropped_files(mime: QMimeData) -> list[str]:
    """Local files in a drag (any extension: the library names what it refuses)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()
            and not os.path.isdir(u.toLocalFile())]


def placeholder_icon() -> QIcon:
    """A quiet swatch shown while a thumbnail is being rendered."""
    pm = QPixmap(ICON, ICON)
    pm.fill(QColor(58, 60, 66))
    p = QPainter(pm)
    p.setPen(QColor(120, 124, 132))
    p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, "…")
    p.end()
    return QIcon(pm)


def plus_icon(side: int = 16) -> QIcon:
    """A "+" for the button that adds the painter's own pictures."""
    pm = QPixmap(side, side)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    pen = p.pen()
    pen.setColor(QColor(150, 200, 255))
    pen.setWidth(2)
    p.setPen(pen)
    m = side // 2
    p.drawLine(m, 3, m, side - 3)
    p.drawLine(3, m, side - 3, m)
    p.end()
    return QIcon(pm)


class StyleGrid(QListWidget):
    """Thumbnails in rows; one pick at a time. `files_dropped(paths)` when files are dropped;
    `hint` is drawn in the empty grid."""

    files_dropped = Signal(list)

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = hint
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(ICON, ICON))
        self.setGridSize(CELL)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setWordWrap(True)
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)  # drops land on the viewport
        self.setSpacing(0)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def add_style(self, kind: str, key: str, name: str, icon: QIcon, tip: str = ""
                  ) -> QListWidgetItem:
        item = QListWidgetItem(icon, name)
        item.setData(KIND_ROLE, kind)
        item.setData(KEY_ROLE, key)
        item.setToolTip(tip or name)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        item.setSizeHint(CELL)
        flags = item.flags() | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        if kind == "user":
            flags |= Qt.ItemFlag.ItemIsEditable
        item.setFlags(flags & ~Qt.ItemFlag.ItemIsDragEnabled)
        self.addItem(item)
        return item

    def find_key(self, key: str) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(KEY_ROLE) == key:
                return self.item(i)
        return None

    def show_item(self, item: QListWidgetItem) -> None:
        """Scroll so `item` shows, with a whole row at the top where that is possible."""
        self.scrollToItem(item)
        bar, h = self.verticalScrollBar(), CELL.height()
        v = bar.value()
        top = self.visualItemRect(item).top() + v
        for cand in (v - v % h, v - v % h + h):
            if cand <= bar.maximum() and cand <= top and \
                    top + h <= cand + self.viewport().height():
                bar.setValue(cand)
                return

    def rows_needed(self) -> int:
        per_row = max(1, self.viewport().width() // CELL.width())
        return max(1, -(-self.count() // per_row))

    def fit_rows(self, max_rows: int) -> None:
        """Height for the items' rows (at least one, at most `max_rows`; then it scrolls)."""
        rows = min(max_rows, self.rows_needed())
        self.setFixedHeight(rows * CELL.height() + 2 * self.frameWidth() + 4)

    # ---- dropping files -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.files_dropped.emit(files)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.count() or not self.hint:
            return
        p = QPainter(self.viewport())
        p.setPen(QColor(150, 154, 162))
        r: QRect = self.viewport().rect().adjusted(10, 4, -10, -4)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.hint)
        p.end()
