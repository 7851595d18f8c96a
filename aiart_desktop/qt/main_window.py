"""Main window (placeholder until the window issue lands)."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def run_gui(args: list[str]) -> int:
    app = QApplication.instance() or QApplication(["aiart-desktop", *args])
    win = QMainWindow()
    win.setWindowTitle("AIArt Desktop")
    win.setCentralWidget(QLabel("AIArt Desktop"))
    win.resize(1200, 800)
    win.show()
    return app.exec()
