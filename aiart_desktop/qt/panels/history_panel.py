"""Undo History: every step of the document's command stack; click one to go back to it."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ...core.document import Document

ORIGINAL = "Original"


class HistoryPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self._syncing = False
        self.list = QListWidget()
        self.list.setToolTip("Click a step to undo or redo to it")
        self.list.currentRowChanged.connect(self._row_chosen)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.list)

    def set_document(self, doc: Document | None) -> None:
        if self.doc is not None:
            self.doc.history.changed.disconnect(self.refresh)
        self.doc = doc
        if doc is not None:
            doc.history.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self._syncing = True
        try:
            self.list.clear()
            if self.doc is None:
                return
            h = self.doc.history
            first = "Original" if not h.dropped else f"(oldest {h.dropped} steps dropped)"
            for row, text in enumerate([first, *h.steps]):
                item = QListWidgetItem(text)
                if row > h.index:  # undone steps: greyed, italic, still redoable
                    item.setForeground(QBrush(QColor(125, 125, 125)))
                    f = QFont()
                    f.setItalic(True)
                    item.setFont(f)
                self.list.addItem(item)
            self.list.setCurrentRow(h.index)
            cur = self.list.currentItem()
            if cur is not None:
                self.list.scrollToItem(cur)
        finally:
            self._syncing = False

    def _row_chosen(self, row: int) -> None:
        if self._syncing or self.doc is None or row < 0:
            return
        # Not from inside the list's own signal: jumping rebuilds the list.
        QTimer.singleShot(0, lambda: self.jump_to(row))

    def jump_to(self, index: int) -> None:
        """Undo or redo until `index` steps are applied (0 = the original picture)."""
        if self.doc is None:
            return
        h = self.doc.history
        while h.index > index and h.undo():
            pass
        while h.index < index and h.redo():
            pass

