"""AI › Where AI Runs… without a server: saving servers and tokens (the private file here, a
keyring when one is set), a wrong address said plainly off the UI thread, the plain-http
question, the engine swapped between jobs. With a real server: tests/comfy/test_comfy_window.py.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.capture import make_request
from aiart_desktop.qt.dialogs.where_ai_runs import WhereAiRunsDialog
from aiart_desktop.settings import Settings, load_settings, tokens
from tests.support.dock import dock_window, make_doc

SECRET = "s3cret-T0KEN-never-shown"


class MemoryKeyring(KeyringBackend):
    """A keyring kept in memory (keyring's own interface), standing in for the OS one."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("never chosen by keyring itself: only set by the tests")

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dialog(qtbot, settings: Settings) -> WhereAiRunsDialog:
    dlg = WhereAiRunsDialog(settings)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def _notes(dlg: WhereAiRunsDialog) -> str:
    return " ".join(w.text() for w in dlg.findChildren(type(dlg.problem)))


def _type_server(qtbot, dlg: WhereAiRunsDialog, url: str, token: str) -> None:
    dlg.remote.click()
    assert dlg.add_button.isEnabled()
    QTest.mouseClick(dlg.add_button, Qt.MouseButton.LeftButton)
    QTest.keyClicks(dlg.url, url)
    QTest.keyClicks(dlg.token, token)


def test_save_writes_servers_and_the_token_to_a_private_file(qtbot) -> None:
    assert tokens.token_store() == "file"   # no keyring backend on this machine
    settings = Settings()
    dlg = _dialog(qtbot, settings)
    assert dlg.local.isChecked() and not dlg.servers_box.isEnabled()
    _type_server(qtbot, dlg, "192.168.1.20:8188/", SECRET)
    assert dlg.remote.isChecked()
    assert dlg.token.echoMode() == dlg.token.EchoMode.Password
    assert "file only you can read" in _notes(dlg)
    assert dlg.save()
    url = "http://192.168.1.20:8188"
    saved = load_settings()
    assert saved.comfy_servers == [url] and saved.comfy_token_servers == [url]
    assert SECRET not in Path(os.environ["AIART_CONFIG_DIR"], "settings.json").read_text()
    path = Path(os.environ["AIART_CONFIG_DIR"]) / tokens.FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.load_token(url) == SECRET
    # Reopened: the server and its token (as dots) are there; "This computer" keeps the list
    again = _dialog(qtbot, saved)
    assert again.remote.isChecked() and again.url.text() == url and again.token.text() == SECRET
    again.local.setChecked(True)
    assert again.save()
    saved = load_settings()
    assert saved.comfy_servers == [] and saved.comfy_servers_listed == [url]
    third = _dialog(qtbot, saved)
    assert third.local.isChecked() and third.list.count() == 1
    # Removing the server deletes its token
    third.remove_server(0)
    assert third.save()
    assert tokens.load_token(url) is None
    assert json.loads(path.read_text()) == {}


def test_save_puts_the_token_in_the_keyring_when_there_is_one(qtbot, memory_keyring) -> None:
    assert tokens.token_store() == "keyring"
    dlg = _dialog(qtbot, Settings())
    assert "system keyring" in _notes(dlg)
    _type_server(qtbot, dlg, "https://gpu.example:8188", SECRET)
    assert dlg.save()
    url = "https://gpu.example:8188"
    assert memory_keyring.store == {(tokens.SERVICE, url): SECRET}
    assert not (Path(os.environ["AIART_CONFIG_DIR"]) / tokens.FILE).exists()
    assert tokens.load_token(url) == SECRET
    tokens.save_token(url, "")
    assert memory_keyring.store == {}


def test_a_bad_address_is_refused_at_save(qtbot) -> None:
    dlg = _dialog(qtbot, Settings())
    _type_server(qtbot, dlg, "ftp://gpu-box", "")
    assert not dlg.save()
    assert dlg.problem.isVisible() and "http://host:port" in dlg.problem.text()
    assert load_settings().comfy_servers == []


def test_test_connection_to_a_wrong_address_is_plain_and_off_the_ui_thread(qtbot) -> None:
    dlg = _dialog(qtbot, Settings())
    port = free_port()
    _type_server(qtbot, dlg, f"http://127.0.0.1:{port}", "")
    threads = set(threading.enumerate())
    with qtbot.waitSignal(dlg.tested, timeout=20_000):
        QTest.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
        assert not dlg.test_button.isEnabled()     # asked in the background
        assert {t.name for t in set(threading.enumerate()) - threads} <= {
            "comfy-test-connection"}
    check = dlg.check(0)
    assert check is not None and not check.ok
    assert check.error == (f"The ComfyUI server 127.0.0.1:{port} cannot be reached.\n"
                           "Is it running, and the address right?")
    assert f"127.0.0.1:{port} cannot be reached" in dlg.result.text()
    assert dlg.list.item(0).text().endswith("\u2717") and dlg.test_button.isEnabled()


def test_plain_http_to_another_machine_is_asked_once(qtbot, win, prompts, stop_workers,
                                                     tmp_path) -> None:
    panel = dock_window(win, None, None, make_doc())
    stop_workers.append(panel.worker)
    remote = win.ai_remote
    far, near = "http://192.168.1.20:8188", "http://127.0.0.1:8188"
    win.settings.comfy_servers = [near]
    req = make_request(win.doc, "inpaint", model="comfy:model.safetensors", prompt="x")
    assert remote.confirm_send(req) and prompts.asked == []       # this machine: no question
    win.settings.comfy_servers = ["https://gpu.example:8188"]
    assert remote.confirm_send(req) and prompts.asked == []       # encrypted: none either
    win.settings.comfy_servers = [far]
    prompts.send_unencrypted = False
    assert panel._submit(req) is None and not panel.running      # Cancel: nothing sent
    assert prompts.asked == [f"unencrypted:{far}"]
    prompts.send_unencrypted = True
    assert remote.confirm_send(req)
    assert load_settings().comfy_plain_http_ok == [far]            # remembered
    assert remote.confirm_send(req) and len(prompts.asked) == 2    # not asked again
    local = make_request(win.doc, "inpaint", model="classical", prompt="x")
    assert remote.confirm_send(local) and len(prompts.asked) == 2


def test_the_where_action_is_in_the_ai_menu(qtbot, win, stop_workers) -> None:
    panel = dock_window(win, None, None, make_doc())
    stop_workers.append(panel.worker)
    menu = next(m for m in win.menuBar().actions() if m.text().replace("&", "") == "AI")
    assert win.ai_actions["where"] in menu.menu().actions()
    win.ai_actions["where"].trigger()
    dlg = win._where_ai_runs
    assert dlg.isVisible() and dlg.local.isChecked()
    dlg.close()


def test_set_engine_swaps_between_jobs(qtbot, stop_workers, tiny_engine) -> None:
    from aiart_desktop.qt.worker import AiWorker

    worker = AiWorker(engine=tiny_engine, device="cpu")
    stop_workers.append(worker)
    made: list[object] = []

    def make(old):
        made.append(old)
        return tiny_engine

    with qtbot.waitSignal(worker.idle, timeout=20_000):
        worker.set_engine(make)
    assert made == [tiny_engine]
    with qtbot.waitSignal(worker.idle, timeout=20_000):
        worker.set_engine(lambda old: (_ for _ in ()).throw(RuntimeError("no")))
    assert worker._engine is None     # the next job builds the default engine
