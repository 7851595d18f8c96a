"""AI › Where AI Runs…: this computer, or ComfyUI servers (address and an optional token).

    dlg = WhereAiRunsDialog(win.settings, parent=win)
    dlg.saved.connect(...)        # after Save wrote the settings and the tokens
    dlg.test(0)                   # Test connection of the first server (off the UI thread)

Test connection asks the server on a background thread (`ai/server_check.py: check_server`)
and hands the answer back with `ui_thread.call_on_ui`: its devices and memory, its ComfyUI
version and how many checkpoints, LoRAs, ControlNets and upscale models it has, or the
client's two-line message naming it. Save writes `Settings.comfy_servers` (empty when "This
computer" is chosen; the list is kept in `comfy_servers_listed`), `comfy_token_servers`, and
each token through `settings/tokens.py` (the OS keyring when there is one, else a file only
the user can read). The token field shows dots; the token is never logged, nor shown anywhere
else.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ...ai.backends.comfy_client import ComfyClient, ComfyError
from ...ai.server_check import ServerCheck, check_server, unencrypted
from ..ui_thread import call_on_ui

DEFAULT_URL = "http://127.0.0.1:8188"
HINT = "color: #a8a8a8;"


@dataclass
class _Server:
    url: str
    token: str = ""
    check: ServerCheck | None = None
    testing: bool = False


def normal_url(url: str) -> str:
    """`url` as the client writes it (scheme added, no trailing slash); ComfyError if bad."""
    return ComfyClient(url).url


class WhereAiRunsDialog(QDialog):
    """See the module."""

    saved = Signal()
    tested = Signal(int)    # a server's Test connection answered (its row)

    def __init__(self, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ...settings.tokens import load_token, token_store

        self.setWindowTitle("Where AI Runs")
        self.setObjectName("whereAiRunsDialog")
        self.settings = settings
        servers = list(getattr(settings, "comfy_servers", []) or [])
        listed = servers or list(getattr(settings, "comfy_servers_listed", []) or [])
        tokens = set(getattr(settings, "comfy_token_servers", []) or [])
        self._servers = [_Server(u, (load_token(u) or "") if u in tokens else "")
                         for u in listed]
        self._before = set(listed)

        self.local = QRadioButton("This computer")
        self.remote = QRadioButton("ComfyUI servers")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.remote)
        (self.remote if servers else self.local).setChecked(True)
        local_note = QLabel("Models in your models folder run here, on the device chosen in "
                            "AI › GPU acceleration.")
        remote_note = QLabel("Models on the servers run there; the model lists show them as "
                             "\u201con host:port\u201d. Models in your folder still run here.")
        for note in (local_note, remote_note):
            note.setWordWrap(True)
            note.setStyleSheet(HINT)
            note.setIndent(22)

        self.list = QListWidget()
        self.list.setObjectName("comfyServerList")
        self.list.setMinimumWidth(220)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(lambda: self.add_server())
        self.remove_button.clicked.connect(lambda: self.remove_server())
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        left.addLayout(row)

        self.url = QLineEdit()
        self.url.setPlaceholderText(DEFAULT_URL)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("none")
        where = ("the system keyring" if token_store() == "keyring"
                 else "a file only you can read")
        token_note = QLabel(f"Optional bearer token, kept in {where}.")
        token_note.setWordWrap(True)
        token_note.setStyleSheet(HINT)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(lambda: self.test())
        self.result = QLabel("")
        self.result.setObjectName("comfyServerResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.setMinimumHeight(96)
        form = QFormLayout()
        form.addRow("Address:", self.url)
        form.addRow("Token:", self.token)
        form.addRow("", token_note)
        right = QVBoxLayout()
        right.addLayout(form)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        right.addLayout(test_row)
        right.addWidget(self.result, 1)
        self.details = QWidget()
        self.details.setLayout(right)

        box = QGroupBox("Servers")
        inner = QHBoxLayout(box)
        inner.addLayout(left, 2)
        inner.addWidget(self.details, 3)
        self.servers_box = box

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #ff8a80;")
        self.problem.hide()

        lay = QVBoxLayout(self)
        left_edge = Qt.AlignmentFlag.AlignLeft   # a click right of the label is no click
        lay.addWidget(self.local, 0, left_edge)
        lay.addWidget(local_note)
        lay.addWidget(self.remote, 0, left_edge)
        lay.addWidget(remote_note)
        lay.addWidget(box, 1)
        lay.addWidget(self.problem)
        lay.addWidget(self.buttons)
        self.resize(680, 440)

        for s in self._servers:
            self.list.addItem(self._item_text(s))
        self.list.currentRowChanged.connect(self._show)
        self.url.textEdited.connect(self._url_edited)
        self.token.textEdited.connect(self._token_edited)
        self.local.toggled.connect(lambda _on: self._sync())
        if self._servers:
            self.list.setCurrentRow(0)
        self._show(self.list.currentRow())

    # ---- the list ----------------------------------------------------------------------------
    def _current(self) -> _Server | None:
        i = self.list.currentRow()
        return self._servers[i] if 0 <= i < len(self._servers) else None

    @staticmethod
    def _item_text(s: _Server) -> str:
        mark = ""
        if s.testing:
            mark = "  \u2026"
        elif s.check is not None:
            mark = "  \u2713" if s.check.ok else "  \u2717"
        return (s.url or "(no address)") + mark

    def add_server(self, url: str = "", token: str = "") -> int:
        """A new row (the address field focused when `url` is empty); its row."""
        self.remote.setChecked(True)
        self._servers.append(_Server(url or "", token))
        self.list.addItem(self._item_text(self._servers[-1]))
        row = len(self._servers) - 1
        self.list.setCurrentRow(row)
        if not url:
            self.url.setText("")
            self.url.setFocus()
        return row

    def remove_server(self, row: int | None = None) -> None:
        i = self.list.currentRow() if row is None else row
        if 0 <= i < len(self._servers):
            del self._servers[i]
            self.list.takeItem(i)
        self._show(self.list.currentRow())

    def _url_edited(self, text: str) -> None:
        s = self._current()
        if s is None:
            self.add_server(text.strip())
            return
        s.url, s.check = text.strip(), None
        self._refresh_row(self.list.currentRow())
        self._show_result(s)
        self._sync()

    def _token_edited(self, text: str) -> None:
        s = self._current()
        if s is not None:
            s.token, s.check = text.strip(), None
            self._refresh_row(self.list.currentRow())
            self._show_result(s)

    def _refresh_row(self, i: int) -> None:
        if 0 <= i < self.list.count():
            self.list.item(i).setText(self._item_text(self._servers[i]))

    def _show(self, i: int) -> None:
        s = self._servers[i] if 0 <= i < len(self._servers) else None
        self.url.setText(s.url if s else "")
        self.token.setText(s.token if s else "")
        self._show_result(s)
        self._sync()

    def _show_result(self, s: _Server | None) -> None:
        if s is None:
            text = "Add a server: its address, as http://host:port or https://host:port."
        elif s.testing:
            text = f"Asking {s.url}\u2026"
        elif s.check is None:
            text = "Test connection shows the server's devices, memory, ComfyUI version " \
                   "and models."
            if s.url and unencrypted(s.url):
                text += ("<br><br>Plain http to another machine: pictures travel "
                         "unencrypted. You will be asked before the first job.")
        elif s.check.ok:
            text = f"<b>Connected to {s.check.label}</b><br>" + "<br>".join(s.check.lines)
        else:
            text = "<span style='color:#ff8a80'>" + \
                s.check.error.replace("\n", "<br>") + "</span>"
        self.result.setText(text)

    def _sync(self) -> None:
        s = self._current()
        on = self.remote.isChecked()
        self.servers_box.setEnabled(on)
        self.details.setEnabled(s is not None)
        self.remove_button.setEnabled(s is not None)
        self.test_button.setEnabled(s is not None and bool(s.url) and not s.testing)

    # ---- Test connection ---------------------------------------------------------------------
    def test(self, row: int | None = None) -> None:
        """Ask the server of `row` (default: the selected one) what it is and has, on a
        background thread; `tested(row)` when it answered."""
        i = self.list.currentRow() if row is None else row
        if not 0 <= i < len(self._servers) or not self._servers[i].url:
            return
        s = self._servers[i]
        s.testing, s.check = True, None
        self._refresh_row(i)
        if s is self._current():
            self._show_result(s)
            self._sync()
        url, token = s.url, s.token or None

        def work() -> None:
            check = check_server(url, token)
            call_on_ui(self, self._tested, s, url, check)

        threading.Thread(target=work, name="comfy-test-connection", daemon=True).start()

    def _tested(self, s: _Server, url: str, check: ServerCheck) -> None:
        s.testing = False
        if s.url == url:
            s.check = check
        if s not in self._servers:
            return
        i = self._servers.index(s)
        self._refresh_row(i)
        if s is self._current():
            self._show_result(s)
            self._sync()
        self.tested.emit(i)

    def check(self, row: int) -> ServerCheck | None:
        return self._servers[row].check

    # ---- Save --------------------------------------------------------------------------------
    def save(self) -> bool:
        """Write the settings and the tokens; False (with the problem shown) when an address
        is not one."""
        from ...settings import save_settings
        from ...settings.tokens import save_token

        urls: list[str] = []
        tokens: dict[str, str] = {}
        for s in self._servers:
            if not s.url:
                continue
            try:
                url = normal_url(s.url)
            except ComfyError as exc:
                return self._refuse(str(exc))
            if url not in urls:
                urls.append(url)
                tokens[url] = s.token
        remote = self.remote.isChecked() and bool(urls)
        st = self.settings
        st.comfy_servers = list(urls) if remote else []
        st.comfy_servers_listed = list(urls)
        st.comfy_token_servers = [u for u in urls if tokens[u]]
        try:
            for url in urls:
                save_token(url, tokens[url])
            for url in self._before - set(urls):
                save_token(url, "")
            save_settings(st)
        except OSError as exc:
            return self._refuse(f"The settings cannot be written: {exc.strerror or exc}.\n"
                                "Nothing was changed on disk.")
        self._before = set(urls)
        self.saved.emit()
        self.accept()
        return True

    def _refuse(self, message: str) -> bool:
        self.problem.setText(message)
        self.problem.show()
        return False
