"""Following one prompt on a ComfyUI server's websocket (`/ws?clientId=`).

    sock = ComfySocket(client)         # connects now: before the prompt is queued
    sock.follow(prompt_id, on_progress, cancelled)   # returns when the prompt has ended
    sock.close()

Messages read (ComfyUI sends this client's messages only to its client id):
- `progress` {value, max}: one step, reported with the last preview frame;
- binary frames of type 1: a preview picture (4 bytes type, 4 bytes format, JPEG/PNG);
- `execution_success` {prompt_id} (current servers) or `executing` {node: null, prompt_id}
  (older ones and current ones alike): the prompt is done;
- `execution_error` {node_type, exception_message}: a ComfyError naming the node;
- `execution_interrupted`: interrupted (by our cancel, or by someone else: an error).
`cancelled()` is polled every `POLL_S`; when it turns true the prompt is taken off the queue or
interrupted (`ComfyClient.cancel`) and `Cancelled` is raised. A socket that drops, or stays
silent for `IDLE_TIMEOUT_S`, is checked against /history before it is called a failure.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import websocket

from ..errors import Cancelled
from ..requests import ProgressInfo
from . import comfy_client as cc

if TYPE_CHECKING:
    from .comfy_client import ComfyClient

log = logging.getLogger(__name__)


class ComfySocket:
    """The websocket of one client id (see the module)."""

    def __init__(self, client: ComfyClient) -> None:
        self.client = client
        scheme = "wss" if client.url.startswith("https") else "ws"
        url = f"{scheme}{client.url[client.url.index('://'):]}/ws?clientId={client.client_id}"
        header = [f"{k}: {v}" for k, v in client._headers().items()]
        try:
            self.ws = websocket.create_connection(url, timeout=client.timeout, header=header,
                                                  enable_multithread=True)
        except websocket.WebSocketBadStatusException as exc:
            log.warning("ComfyUI %s websocket: %s", client.label, exc.status_code)
            if exc.status_code in (401, 403):
                raise client._fail("refused the token.\nCheck the token set for it in "
                                   "Settings › Where AI runs.") from None
            raise client._fail("has no progress channel (websocket).\nIs this a ComfyUI "
                               "server?") from None
        except (OSError, websocket.WebSocketException) as exc:
            log.warning("ComfyUI %s websocket: %r", client.label, exc)
            raise client._dropped("cannot be reached.\nIs it running, and the address right?") \
                from None
        self.ws.settimeout(cc.POLL_S)
        self.previews = 0          # preview frames received
        self.steps = 0             # progress messages received

    def close(self) -> None:
        try:
            self.ws.close()
        except (OSError, websocket.WebSocketException):
            pass

    def follow(self, prompt_id: str, on_progress: Callable[[ProgressInfo], None] | None,
               cancelled: Callable[[], bool], phase: str = "generating") -> None:
        client = self.client
        preview: np.ndarray | None = None
        last = cc.now()
        while True:
            if cancelled():
                client.cancel(prompt_id)
                raise Cancelled()
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketTimeoutException:
                if cc.now() - last > cc.IDLE_TIMEOUT_S:
                    self._check_ended(prompt_id, "stopped reporting on the job")
                    return
                continue
            except (OSError, websocket.WebSocketException) as exc:
                log.warning("ComfyUI %s websocket dropped: %r", client.label, exc)
                self._check_ended(prompt_id, "stopped answering during the job")
                return
            last = cc.now()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._check_ended(prompt_id, "closed the connection during the job")
                return
            if opcode == websocket.ABNF.OPCODE_BINARY:
                frame = cc.preview_frame(bytes(data))
                if frame is not None:
                    preview = frame
                    self.previews += 1
                continue
            try:
                msg = json.loads(data)
            except ValueError:
                continue
            kind, body = msg.get("type"), msg.get("data") or {}
            if not isinstance(body, dict):
                continue
            pid = body.get("prompt_id")
            if pid is not None and pid != prompt_id:
                continue   # another prompt of this client id (an earlier, cancelled one)
            if kind == "progress":
                self.steps += 1
                if on_progress is not None:
                    on_progress(ProgressInfo(int(body.get("value", 0)),
                                             int(body.get("max", 1)), preview, phase))
            elif kind == "execution_success" or (kind == "executing"
                                                 and body.get("node") is None
                                                 and pid == prompt_id):
                return
            elif kind == "execution_error":
                raise self._node_error(body)
            elif kind == "execution_interrupted":
                if cancelled():
                    raise Cancelled()
                raise client._fail("stopped the job (someone interrupted it there).\n"
                                   "Run it again.")

    def _node_error(self, body: dict[str, Any]) -> Exception:
        node = body.get("node_type") or body.get("node_id") or "a node"
        message = str(body.get("exception_message") or "").strip().splitlines()
        log.warning("ComfyUI %s: %s failed: %s (%s)", self.client.label, node,
                    body.get("exception_message"), body.get("exception_type"))
        kind = str(body.get("exception_type") or "an error").rsplit(".", 1)[-1]
        text = (message[0] if message else kind)[:160]
        return self.client._fail(f"failed in {node}: {text}\nThe details are in the log.")

    def _check_ended(self, prompt_id: str, problem: str) -> None:
        """The prompt ended although the socket says nothing more: fine; else a ComfyError."""
        try:
            entry = self.client.history(prompt_id)
        except cc.ComfyError:
            entry = None
        if entry is not None and entry.get("outputs"):
            return
        raise self.client._dropped(f"{problem}.\nYour picture is unchanged; run it again.")
