"""The dark theme: Fusion style with a neutral grey palette, as painters expect; in both
themes a click on a slider's track jumps the slider there (as Krita's sliders do)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleHintReturn, QStyleOption

# Neutral greys: a painter judges colour against them, so no tint.
WINDOW = QColor(50, 50, 50)
BASE = QColor(38, 38, 38)
ALT_BASE = QColor(44, 44, 44)
TEXT = QColor(222, 222, 222)
DISABLED_TEXT = QColor(120, 120, 120)
HIGHLIGHT = QColor(62, 112, 176)
CANVAS_BACKDROP = QColor(64, 64, 64)

STYLE_SHEET = """
QDockWidget { titlebar-close-icon: none; font-weight: 600; }
QDockWidget::title { background: #2c2c2c; padding: 4px 6px; border-bottom: 1px solid #1e1e1e; }
QToolBar { background: #323232; border: none; spacing: 2px; padding: 2px; }
QToolButton { border: 1px solid transparent; border-radius: 3px; padding: 3px; }
QToolButton:hover { background: #454545; border-color: #555555; }
QToolButton:checked { background: #3e70b0; border-color: #5a8ed0; }
QStatusBar { background: #2c2c2c; color: #bdbdbd; }
QStatusBar QLabel { padding: 0 8px; }
QTreeView, QListView { background: #262626; alternate-background-color: #2c2c2c; }
QTreeView::item { padding: 2px 0; }
QTreeView::item:selected, QListView::item:selected { background: #3e70b0; color: white; }
QMenu::separator { height: 1px; background: #444; margin: 4px 8px; }
QSlider::groove:horizontal { height: 4px; background: #1f1f1f; border-radius: 2px; }
QSlider::sub-page:horizontal { background: #5a8ed0; border-radius: 2px; }
QSlider::handle:horizontal { background: #d0d0d0; width: 12px; margin: -5px 0;
                             border-radius: 6px; }
QSlider::handle:horizontal:disabled { background: #666; }
"""


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    p.setColor(roles.Window, WINDOW)
    p.setColor(roles.WindowText, TEXT)
    p.setColor(roles.Base, BASE)
    p.setColor(roles.AlternateBase, ALT_BASE)
    p.setColor(roles.ToolTipBase, QColor(30, 30, 30))
    p.setColor(roles.ToolTipText, TEXT)
    p.setColor(roles.PlaceholderText, DISABLED_TEXT)
    p.setColor(roles.Text, TEXT)
    p.setColor(roles.Button, QColor(58, 58, 58))
    p.setColor(roles.ButtonText, TEXT)
    p.setColor(roles.BrightText, QColor(255, 90, 90))
    p.setColor(roles.Light, QColor(80, 80, 80))
    p.setColor(roles.Midlight, QColor(66, 66, 66))
    p.setColor(roles.Mid, QColor(44, 44, 44))
    p.setColor(roles.Dark, QColor(30, 30, 30))
    p.setColor(roles.Shadow, QColor(16, 16, 16))
    p.setColor(roles.Highlight, HIGHLIGHT)
    p.setColor(roles.HighlightedText, QColor(255, 255, 255))
    p.setColor(roles.Link, QColor(110, 160, 230))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(disabled, role, DISABLED_TEXT)
    p.setColor(disabled, roles.Highlight, QColor(70, 70, 70))
    return p


class PainterStyle(QProxyStyle):
    """Fusion, except that the left button on a slider's track sets the value where it is
    clicked instead of stepping a page (10 %) towards it."""

    def styleHint(self, hint: QStyle.StyleHint, option: QStyleOption | None = None,
                  widget: Any = None, returnData: QStyleHintReturn | None = None) -> int:
        if hint == QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return Qt.MouseButton.LeftButton.value
        if hint == QStyle.StyleHint.SH_Slider_PageSetButtons:
            return Qt.MouseButton.MiddleButton.value
        return super().styleHint(hint, option, widget, returnData)


def apply_theme(app: QApplication, theme: str = "dark") -> None:
    """Fusion everywhere (identical on every OS); dark unless `theme` is "light"; sliders jump
    to a click on their track in both."""
    app.setStyle(PainterStyle("Fusion"))
    if theme == "light":
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet("")
        return
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
