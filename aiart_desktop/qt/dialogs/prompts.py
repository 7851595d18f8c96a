"""Every blocking question the window asks, in one replaceable object.

The window only talks to `Prompts`; tests swap in an object with the same methods (or
monkeypatch single ones) so no modal dialog ever waits for a click.
"""
from __future__ import annotations

from enum import Enum

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from .canvas_size import CanvasSizeDialog, CanvasSizeSpec
from .new_document import NewDocumentDialog, NewDocumentSpec

OPEN_FILTER = ("Images (*.ora *.png *.jpg *.jpeg *.webp *.tif *.tiff);;"
               "OpenRaster (*.ora);;PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;"
               "TIFF (*.tif *.tiff);;All files (*)")
SAVE_FILTER = "OpenRaster (*.ora)"
EXPORT_FILTER = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff)"
IMPORT_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.ora);;All files (*)"
# Add-on model files the AI dock and the model manager add: (title, filter) by kind.
ADDON_FILES = {
    "lora": ("Add a LoRA", "LoRA files (*.safetensors);;All files (*)"),
    "embedding": ("Add a textual-inversion embedding",
                  "Embeddings (*.safetensors);;All files (*)"),
    "control": ("Add a control model (ControlNet)",
                "ControlNet files (*.safetensors);;All files (*)"),
    "control-folder": ("Add a control model folder (diffusers: config.json and weights)", ""),
}


class SaveChoice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


class Prompts:
    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def ask_save_changes(self, name: str) -> SaveChoice:
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to \u201c{name}\u201d?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        sb = QMessageBox.StandardButton
        box.setStandardButtons(sb.Save | sb.Discard | sb.Cancel)
        box.setDefaultButton(sb.Save)
        answer = box.exec()
        if answer == sb.Save:
            return SaveChoice.SAVE
        if answer == sb.Discard:
            return SaveChoice.DISCARD
        return SaveChoice.CANCEL

    def ask_open_path(self, start: str = "") -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open Image", start, OPEN_FILTER)
        return path or None

    def ask_import_path(self, start: str = "") -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Import as Layer", start,
                                              IMPORT_FILTER)
        return path or None

    def ask_save_path(self, start: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save As", start, SAVE_FILTER)
        return path or None

    def ask_export_path(self, start: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export", start, EXPORT_FILTER)
        return path or None

    def ask_addon_path(self, kind: str, start: str = "") -> str | None:
        """A LoRA, embedding or control model file (or a control model's folder) to add
        (`kind`: a key of ADDON_FILES)."""
        title, filt = ADDON_FILES[kind]
        if kind.endswith("-folder"):
            return QFileDialog.getExistingDirectory(self.parent, title, start) or None
        path, _ = QFileDialog.getOpenFileName(self.parent, title, start, filt)
        return path or None

    def ask_folder(self, title: str, start: str = "") -> str | None:
        """A folder to write into (the Live dock's recorded frames)."""
        return QFileDialog.getExistingDirectory(self.parent, title, start) or None

    def ask_new_document(self, width: int = 2048, height: int = 2048) -> NewDocumentSpec | None:
        dlg = NewDocumentDialog(self.parent, width, height)
        return dlg.spec() if dlg.exec() else None

    def ask_canvas_size(self, width: int, height: int) -> CanvasSizeSpec | None:
        dlg = CanvasSizeDialog(width, height, self.parent)
        return dlg.spec() if dlg.exec() else None

    def ask_int(self, title: str, label: str, value: int, minimum: int = 0,
                maximum: int = 1000) -> int | None:
        """A whole number (Grow by N px, Feather radius, fuzziness...); None if cancelled."""
        number, ok = QInputDialog.getInt(self.parent, title, label, value, minimum, maximum)
        return int(number) if ok else None

    def ask_send_unencrypted(self, url: str) -> bool:
        """Continue sending pictures to the ComfyUI server `url` over plain http (another
        machine)? Asked once per server, before its first job."""
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname or url
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unencrypted connection")
        box.setText(f"Pictures will be sent unencrypted to {host}.")
        box.setInformativeText(f"The server {url} is reached over plain http: anyone on the "
                               "network between can see the pictures and prompts. Use https "
                               "when you can.")
        go = box.addButton("Continue", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is go

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.critical(self.parent, title, message)

    def show_info(self, title: str, html: str) -> None:
        QMessageBox.about(self.parent, title, html)
