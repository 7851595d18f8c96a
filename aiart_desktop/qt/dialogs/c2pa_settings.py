"""AI › C2PA Signing…: the certificate chain and private key that sign exported PNGs.

The two PEM files are checked as soon as both are set (`ai.c2pa_manifest.load_credentials`):
the dialog says who they sign as, or what is wrong with them, and OK keeps only usable
settings (or none: then exports carry no manifest and say so).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...ai.records.c2pa_manifest import C2paError, load_credentials

PEM_FILTER = "PEM files (*.pem *.crt *.cer *.key);;All files (*)"


class C2paSettingsDialog(QDialog):
    def __init__(self, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("C2PA Signing")
        self.settings = settings
        self.sign = QCheckBox("Embed a signed C2PA manifest in exported PNGs")
        self.sign.setChecked(bool(getattr(settings, "c2pa_sign", True)))
        self.cert = QLineEdit(str(getattr(settings, "c2pa_cert", "") or ""))
        self.cert.setPlaceholderText("certificate chain (PEM, your certificate first)")
        self.key = QLineEdit(str(getattr(settings, "c2pa_key", "") or ""))
        self.key.setPlaceholderText("private key (PEM, not password-protected)")
        form = QFormLayout()
        form.addRow("Certificate:", self._with_browse(self.cert, "Certificate chain"))
        form.addRow("Private key:", self._with_browse(self.key, "Private key"))
        note = QLabel("The manifest marks which parts a model made (the AI layers, their models "
                      "and the share of the picture). It is signed with your own certificate: "
                      "viewers show your name as the signer.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #a8a8a8;")
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.sign)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.state)
        lay.addWidget(self.buttons)
        for w in (self.cert, self.key):
            w.textChanged.connect(lambda _t: self.check())
        self.sign.toggled.connect(lambda _on: self.check())
        self.resize(560, self.sizeHint().height())
        self.check()

    def _with_browse(self, edit: QLineEdit, title: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        b = QPushButton("Browse…")
        b.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(b)
        return box

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, edit.text(), PEM_FILTER)
        if path:
            edit.setText(path)

    def check(self) -> bool:
        """Say whether the files can sign; True when OK may keep them."""
        cert, key = self.cert.text().strip(), self.key.text().strip()
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if not cert and not key:
            self._show("No certificate: exported PNGs carry no C2PA manifest (the export says "
                       "so).", None)
            ok_button.setEnabled(True)
            return True
        if not cert or not key:
            self._show("Set both the certificate and its private key.", False)
            ok_button.setEnabled(False)
            return False
        try:
            creds = load_credentials(cert, key)
        except C2paError as exc:
            self._show(str(exc)[:1].upper() + str(exc)[1:], False)
            ok_button.setEnabled(False)
            return False
        how = "are" if self.sign.isChecked() else "would be (signing is off)"
        self._show(f"Exported PNGs {how} signed as “{creds.subject}” ({creds.alg.upper()}).",
                   True)
        ok_button.setEnabled(True)
        return True

    def _show(self, text: str, good: bool | None) -> None:
        colour = {None: "#a8a8a8", True: "#8fd18f", False: "#ff8a80"}[good]
        self.state.setStyleSheet(f"color: {colour};")
        self.state.setText(text)

    def accept(self) -> None:
        if not self.check():
            return
        s = self.settings
        s.c2pa_cert, s.c2pa_key = self.cert.text().strip(), self.key.text().strip()
        s.c2pa_sign = self.sign.isChecked()
        super().accept()


def open_c2pa_settings(win: Any) -> bool:
    """AI › C2PA Signing…: edit the signing certificate in the window's settings; True when
    the user kept the changes."""
    settings = getattr(win, "settings", None)
    if settings is None:
        return False
    dlg = C2paSettingsDialog(settings, win)
    return dlg.exec() == C2paSettingsDialog.DialogCode.Accepted
