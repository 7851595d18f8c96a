"""The window's side of the ComfyUI servers: the model list the pickers show, the engine the
worker runs, the plain-http question, and AI › Where AI Runs….

    remote = install_remote(win, panel)   # by ai_dock.install_ai_dock
    remote.apply_settings()               # after Settings › Where AI runs was saved
    remote.listing                        # the running listing's thread (tests wait on it)

Listing a server is HTTP, so it never runs on the UI thread: `apply_settings` (and start-up,
when servers are set) asks the servers on a background thread and hands a `PickerModels` —
the local models plus the servers' checkpoints and add-ons listed, answering from that list
only — to the AI panel (and its LoRA and control sections), and to Image › Upscale
(`AiPanel.set_registry`) with `ui_thread.call_on_ui`. No server set: the panel gets the local
registry back, and nothing connects. The worker gets a new engine between jobs
(`AiWorker.set_engine`): the old one's local models plus the servers (`ai/setup.py:
with_servers`).

Before a job of a remote model goes to a server over plain http on another machine, the
window asks once per server (`Prompts.ask_send_unencrypted`); the answer Continue is kept in
`Settings.comfy_plain_http_ok`.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from ..ai.backends.comfy import NAME, PREFIX, ComfyModels, facts_of, remote_id
from ..ai.backends.comfy_client import ComfyClient, ComfyError
from ..ai.errors import ModelNotFoundError
from ..ai.models.source import ModelInfo, ModelSource
from ..ai.server_check import unencrypted
from .ui_thread import call_on_ui

if TYPE_CHECKING:
    from ..ai.engine import Engine
    from ..ai.requests import AiRequest

log = logging.getLogger(__name__)
LIST_TIMEOUT_S = 5.0
ACTION_TEXT = "&Where AI Runs\u2026"


class PickerModels(ComfyModels):
    """What the pickers list: the local models plus the servers' checkpoints, LoRAs,
    ControlNets and upscale models as they were when `refresh` (off the UI thread) last
    asked; every other call answers from that list, so nothing here waits on a network on
    the UI thread."""

    def names(self, client: ComfyClient, folder: str = "checkpoints") -> list[str]:
        with self._lock:   # never asks: only what `refresh` found
            return list(self._listed.get(client.label, {}).get(folder, []))

    def _remote_name(self, item_id: str, folder: str, what: str) -> str:
        name = item_id[len(PREFIX):]
        if not self.servers_with(name, folder):   # not listed: say so, ask no server
            raise self._missing(name, what)
        return name

    def _lora_metadata(self, name: str) -> dict[str, str]:
        return {}   # a picker needs none (a job reads it)

    def remote_models(self) -> list[ModelInfo]:
        found: dict[str, None] = {}
        for client in self.servers:
            for ckpt in self.checkpoints(client):
                found.setdefault(ckpt)
        return [ModelInfo(id=remote_id(c), name=c.rsplit("/", 1)[-1].rsplit(".", 1)[0],
                          path=Path(str(PurePosixPath("comfy:", c))), source="remote",
                          facts=facts_of(c), checked=False, backend=NAME) for c in found]

    def resolve(self, model_id: str) -> ModelInfo:
        if not model_id.startswith(PREFIX):
            return self.local.resolve(model_id)
        for m in self.remote_models():
            if m.id == model_id:
                return m
        raise ModelNotFoundError(f"No server lists the model \u201c{model_id[len(PREFIX):]}\u201d."
                                 "\nTest the connection in AI › Where AI Runs.")

    def inspect(self, model_id: str) -> ModelInfo:   # the pickers never read metadata
        return self.resolve(model_id)

    def where(self, model_id: str) -> str:
        """The servers (host:port) that list the remote model `model_id`."""
        ckpt = model_id[len(PREFIX):]
        return ", ".join(c.label for c in self.servers if ckpt in self.checkpoints(c))

    def urls_of(self, model_id: str) -> list[str]:
        """The servers' addresses a job of `model_id` may go to (all when none lists it)."""
        ckpt = model_id[len(PREFIX):]
        having = [c.url for c in self.servers if ckpt in self.checkpoints(c)]
        return having or [c.url for c in self.servers]


def clients_of(settings: Any) -> list[ComfyClient]:
    """The settings' servers as clients, each with its stored token (reads the keyring)."""
    from ..settings.tokens import load_token

    tokens = set(getattr(settings, "comfy_token_servers", []) or [])
    out = []
    for url in getattr(settings, "comfy_servers", []) or []:
        try:
            out.append(ComfyClient(url, load_token(url) if url in tokens else None))
        except ComfyError as exc:
            log.warning("%s", str(exc).split("\n")[0])
    return out


def new_engine(device: str) -> Any:
    """A maker for `AiWorker.set_engine`: the old engine's local models (the user's when
    there was none) plus the settings' servers, on `device`."""
    def make(old: Engine | None) -> Engine:
        from ..ai.setup import default_engine, user_models, with_servers

        local: Any = old.models if old is not None else user_models()
        if isinstance(local, ComfyModels):
            local = local.local
        return default_engine(with_servers(local), device=device)
    return make


class RemoteServers(QObject):
    """See the module."""

    listed = Signal()   # the panel got the servers' list (after apply_settings / start-up)

    def __init__(self, win: Any, panel: Any) -> None:
        super().__init__(panel)
        self.win, self.panel = win, panel
        self.local: ModelSource = panel.registry
        self.models: PickerModels | None = None
        self.listing: threading.Thread | None = None
        self._generation = 0
        panel.confirm_send = self.confirm_send

    @property
    def settings(self) -> Any:
        return getattr(self.win, "settings", None)

    def list_servers(self) -> None:
        """Ask the settings' servers for their checkpoints off the UI thread, then give the
        panel the list (the local registry alone when no server is set)."""
        self._generation += 1
        gen, settings = self._generation, self.settings
        if not (getattr(settings, "comfy_servers", None) or []):
            self.models = None
            self.panel.set_registry(self.local)
            self.listed.emit()
            return

        def work() -> None:
            picker = PickerModels(clients_of(settings), self.local)
            picker.refresh(LIST_TIMEOUT_S)
            call_on_ui(self, self._got, gen, picker)

        self.listing = threading.Thread(target=work, name="comfy-listing", daemon=True)
        self.listing.start()

    def _got(self, gen: int, picker: PickerModels) -> None:
        if gen != self._generation:
            return   # a newer listing is on its way
        self.models = picker
        self.panel.set_registry(picker)
        for why in picker.errors.values():
            self.panel.message.emit(why.replace("\n", " "))
        self.listed.emit()

    def apply_settings(self) -> None:
        """Settings › Where AI runs was saved: a new engine between jobs, a new list."""
        device = getattr(self.settings, "device", None) or "auto"
        self.panel.worker.set_engine(new_engine(device))
        self.list_servers()

    # ---- the plain-http question -------------------------------------------------------------
    def confirm_send(self, request: AiRequest) -> bool:
        """False when the user does not want `request`'s pictures sent in clear."""
        model = str(getattr(request, "model", "") or "")
        settings = self.settings
        if not model.startswith(PREFIX) or settings is None:
            return True
        if self.models is not None:
            urls = self.models.urls_of(model)
        else:
            urls = list(getattr(settings, "comfy_servers", []) or [])
        agreed = list(getattr(settings, "comfy_plain_http_ok", []) or [])
        for url in urls:
            if not unencrypted(url) or url in agreed:
                continue
            prompts = getattr(self.win, "prompts", None)
            if prompts is None or not prompts.ask_send_unencrypted(url):
                self.panel.message.emit("Not sent: the server is reached over plain http.")
                return False
            agreed.append(url)
            settings.comfy_plain_http_ok = agreed
            from .bootstrap import save_settings

            save_settings(settings)
        return True


def install_remote(win: Any, panel: Any) -> RemoteServers:
    """The window's remote servers (see the module); the AI menu's Where AI Runs… action is
    `win.ai_actions["where"]`. Lists the servers at once when the settings have some."""
    remote = RemoteServers(win, panel)
    win.ai_remote = remote
    act = QAction(ACTION_TEXT, win)
    act.setObjectName("whereAiRunsAction")
    act.setStatusTip("Run AI on this computer or on ComfyUI servers")
    act.triggered.connect(lambda _c=False: open_where_ai_runs(win))
    win.where_action = act
    if getattr(getattr(win, "settings", None), "comfy_servers", None):
        remote.list_servers()
    return remote


def open_where_ai_runs(win: Any) -> Any:
    """Show AI › Where AI Runs… (modeless); saving applies at once, without a restart."""
    from .dialogs.where_ai_runs import WhereAiRunsDialog

    dlg = getattr(win, "_where_ai_runs", None)
    if dlg is not None:
        try:
            dlg.close()
            dlg.deleteLater()
        except RuntimeError:
            pass
    dlg = WhereAiRunsDialog(win.settings, parent=win)
    dlg.saved.connect(win.ai_remote.apply_settings)
    win._where_ai_runs = dlg
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
