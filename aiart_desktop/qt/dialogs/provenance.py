"""Image > Provenance: which layers, and what fraction of the visible pixels, came from a model.

Read-only. A table of the AI layers (topmost first) with their share of the visible picture,
the total, and the full request record of the selected row. The numbers come from
`core.provenance.ai_fraction` (painting over an AI layer lowers its share); Refresh recomputes
them after the picture changed.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...ai.records.export_parameters import record_parameters
from ...core.provenance import LayerShare, ProvenanceReport, ai_fraction

if TYPE_CHECKING:
    from ...core.document import Document
    from ..main_window import MainWindow

COLUMNS = ("Layer", "Operation", "Model", "Prompt", "Seed", "Time", "Share")
SHARE_COLUMN = COLUMNS.index("Share")
NONE = "\u2014"
FIRST_KEYS = ("op", "prompt", "negative_prompt", "seed", "model", "model_name", "backend",
              "style", "steps", "guidance", "scheduler", "strength", "time")


def row_texts(share: LayerShare) -> list[str]:
    """The table cells of one AI layer."""
    rec: dict[str, Any] = share.layer.provenance or {}
    prompt = " ".join(str(rec.get("prompt") or "").split())
    if not prompt and rec.get("op") == "style":
        prompt = f"style: {rec.get('style', '?')}"
    name = share.layer.name + ("" if share.visible else " (hidden)")
    seed = rec.get("seed")
    return [
        name,
        str(rec.get("op") or NONE),
        str(rec.get("model_name") or rec.get("model") or NONE),
        prompt or NONE,
        NONE if seed is None else str(seed),
        str(rec.get("time") or NONE),
        f"{share.share * 100:.1f} %",
    ]


class ProvenanceDialog(QDialog):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Provenance")
        self.doc = doc
        self.report: ProvenanceReport | None = None
        self.total = QLabel()
        font = QFont(self.total.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.total.setFont(font)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Prompt"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_record)
        self.record = QPlainTextEdit()
        self.record.setReadOnly(True)
        self.record.setFont(QFont("monospace"))
        self.record.setPlaceholderText("Select a layer to see its full request record.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.record)
        split.setSizes([220, 260])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = buttons.addButton("Refresh",
                                                QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.clicked.connect(self.refresh)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(self.total)
        box.addWidget(self.note)
        box.addWidget(split, 1)
        box.addWidget(buttons)
        self.resize(900, 560)
        self.refresh()

    def refresh(self) -> None:
        report = self.report = ai_fraction(self.doc)
        self.total.setText(report.summary())
        n = len(report.layers)
        if n == 0:
            self.note.setText("No layer of this picture came from a model: it is all painted.")
        else:
            self.note.setText(
                f"{n} AI layer{'s' if n != 1 else ''}. A layer's share is the part of the "
                "visible picture its pixels make up: paint over it, hide it or lower its "
                "opacity and its share drops. Pixels count by their opacity.")
        self.table.setRowCount(n)
        for row, share in enumerate(report.layers):
            for col, text in enumerate(row_texts(share)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == SHARE_COLUMN:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        if n:
            self.table.selectRow(0)
        else:
            self.record.clear()

    def _show_record(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if self.report is None or not rows:
            self.record.clear()
            return
        share = self.report.layers[rows[0].row()]
        rec = share.layer.provenance or {}
        text = record_text(rec)
        trained = rec.get("loras_trained_here")
        if isinstance(trained, list) and trained:
            names = ", ".join(f"\u201c{n}\u201d" for n in trained)
            text = (f"Made with {names}: a LoRA trained in this app on the artist's own "
                    "pictures (AI \u203a Train a Style).\n\n" + text)
        try:
            params = record_parameters(rec, (self.doc.width, self.doc.height))
        except (KeyError, TypeError, ValueError, IndexError):
            params = ""
        if params:
            text += "\n\nAs PNG parameters:\n" + params
        self.record.setPlainText(text)


def record_text(rec: dict[str, Any]) -> str:
    """The whole record, one `key  value` line per field, the telling ones first."""
    keys = [k for k in FIRST_KEYS if k in rec] + sorted(k for k in rec if k not in FIRST_KEYS)
    width = max((len(k) for k in keys), default=0) + 2
    return "\n".join(f"{k:<{width}}{json.dumps(rec[k], ensure_ascii=False, default=str)}"
                     for k in keys)


def show_provenance(win: MainWindow) -> ProvenanceDialog | None:
    """Open (or refresh and raise) the window's Provenance dialog; not modal."""
    if win.doc is None:
        return None
    dlg = win.findChild(ProvenanceDialog)
    if dlg is None or dlg.doc is not win.doc:
        if dlg is not None:
            dlg.deleteLater()
        dlg = ProvenanceDialog(win.doc, win)
    else:
        dlg.refresh()
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
