"""A client of one ComfyUI server: HTTP with the standard library, progress on the websocket.

    client = ComfyClient("http://gpu-box:8188", token="...")   # token: a bearer token or None
    client.system_stats()             # device, memory, version (GET /system_stats)
    client.checkpoints()              # names from GET /object_info/CheckpointLoaderSimple
    name = client.upload(png_bytes)   # POST /upload/image, cached by content hash
    images = client.run(workflow, on_progress, cancelled)   # queue, follow, fetch

`run` opens the websocket (`/ws?clientId=`) before it queues the prompt (`POST /prompt`, with
a prompt id of its own: newer servers take it, older ones give theirs), reports each
`progress` message (with the last binary preview frame) and ends on `execution_success` or on
the older `executing` message whose node is null; `execution_error` raises with the node's
message. The outputs come from `GET /history/{id}` and `GET /view`. Cancel deletes the prompt
from the queue (`POST /queue`) and, when it is the one running, interrupts it
(`POST /interrupt`). Every failure is a `ComfyError`: two plain lines naming the server; the
details go to the log, never the token.
"""
from __future__ import annotations

import hashlib
import json
import logging
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from ..errors import AiError, Cancelled
from ..requests import ProgressInfo

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 30.0      # one HTTP request
IDLE_TIMEOUT_S = 300.0     # a job with no message for this long is checked, then failed
POLL_S = 0.2               # how often a running job looks at `cancelled()`
PREVIEW_IMAGE = 1          # the server's binary event type of a preview frame


class ComfyError(AiError):
    """A ComfyUI server's failure, in words for the user (the server named)."""


class ComfyDropped(ComfyError):
    """The server is gone (unreachable, silent, closed the connection): another server that has
    the model may take the work over (comfy_pool.py)."""


# What a server lists (`ComfyClient.listing`): its models folder -> (node, input).
LISTS = {"checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
         "loras": ("LoraLoader", "lora_name"),
         "controlnet": ("ControlNetLoader", "control_net_name"),
         "upscale_models": ("UpscaleModelLoader", "model_name")}


def server_label(url: str) -> str:
    """host:port of `url`, for messages and records (no path, no credentials)."""
    p = urllib.parse.urlsplit(url)
    host = p.hostname or url
    port = p.port or (443 if p.scheme == "https" else 80)
    return f"{host}:{port}"


class ComfyClient:
    """One ComfyUI server (see the module)."""

    def __init__(self, url: str, token: str | None = None,
                 timeout: float = HTTP_TIMEOUT_S) -> None:
        url = url.strip().rstrip("/")
        if "://" not in url:
            url = "http://" + url
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ComfyError(f"“{url}” is not a server address.\n"
                             "Write it as http://host:port or https://host:port.")
        self.url = url
        self.label = server_label(url)
        self._token = token or None
        self.timeout = timeout
        self.client_id = uuid.uuid4().hex
        self._uploads: dict[str, str] = {}   # content hash -> the server's file name
        self.uploads_sent = 0                # pictures actually sent (the rest were cached)
        self.last_prompt_id = ""

    def __repr__(self) -> str:   # never the token
        return f"ComfyClient({self.url!r}, token={'set' if self._token else 'none'})"

    # ---- HTTP -------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _fail(self, problem: str) -> ComfyError:
        return ComfyError(f"The ComfyUI server {self.label} {problem}")

    def _dropped(self, problem: str) -> ComfyDropped:
        return ComfyDropped(f"The ComfyUI server {self.label} {problem}")

    def request(self, path: str, body: bytes | None = None, content_type: str = "",
                timeout: float | None = None) -> bytes:
        headers = self._headers()
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.url + path, body, headers,
                                     method="POST" if body is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                return bytes(r.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:2000].decode("utf-8", "replace")
            log.warning("ComfyUI %s %s: HTTP %s %s", self.label, path, exc.code, detail)
            if exc.code in (401, 403):
                raise self._fail("refused the token.\nCheck the token set for it in "
                                 "Settings › Where AI runs.") from None
            if exc.code == 404:
                raise self._fail(f"has no {path.split('?')[0]}.\nIs this a ComfyUI "
                                 "server, and the address right?") from None
            raise self._fail(f"answered with an error (HTTP {exc.code}).\n"
                             "The details are in the log.") from None
        except TimeoutError:
            log.warning("ComfyUI %s %s: timed out", self.label, path)
            raise self._dropped("did not answer in time.\nIs it busy or too far away?") \
                from None
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            log.warning("ComfyUI %s %s: %r", self.label, path, exc)
            raise self._dropped("cannot be reached.\nIs it running, and the address right?") \
                from None

    def get_json(self, path: str, timeout: float | None = None) -> Any:
        data = self.request(path, timeout=timeout)
        try:
            return json.loads(data)
        except ValueError:
            log.warning("ComfyUI %s %s: not JSON: %r", self.label, path, data[:200])
            raise self._fail("answered something that is not ComfyUI's.\n"
                             "Is the address right?") from None

    def post_json(self, path: str, payload: Any) -> bytes:
        return self.request(path, json.dumps(payload).encode(), "application/json")

    # ---- what the server is and has ------------------------------------------------------------
    def system_stats(self, timeout: float | None = None) -> dict[str, Any]:
        stats = self.get_json("/system_stats", timeout)
        if not isinstance(stats, dict) or "devices" not in stats:
            raise self._fail("answered something that is not ComfyUI's.\n"
                             "Is the address right?")
        return stats

    def node_choices(self, node: str, field: str, timeout: float | None = None) -> list[str]:
        """The choices of a node's input (checkpoint names, LoRA names...)."""
        info = self.get_json(f"/object_info/{node}", timeout)
        try:
            choices = info[node]["input"]["required"][field][0]
        except (KeyError, IndexError, TypeError):
            return []
        return [str(c) for c in choices] if isinstance(choices, list) else []

    def checkpoints(self, timeout: float | None = None) -> list[str]:
        return self.node_choices("CheckpointLoaderSimple", "ckpt_name", timeout)

    def listing(self, timeout: float | None = None) -> dict[str, list[str]]:
        """{folder: names} for the checkpoints, LoRAs, ControlNets and upscale models the
        server has (`LISTS`; a node the server lacks lists nothing)."""
        return {folder: self.node_choices(node, field, timeout)
                for folder, (node, field) in LISTS.items()}

    def queue_length(self) -> int:
        """Prompts running and waiting on the server (GET /queue)."""
        state = self.get_json("/queue")
        return sum(len(state.get(k) or []) for k in ("queue_running", "queue_pending")) \
            if isinstance(state, dict) else 0

    def metadata(self, folder: str, filename: str) -> dict[str, str]:
        """A safetensors file's `__metadata__` (GET /view_metadata), {} when there is none."""
        q = urllib.parse.urlencode({"filename": filename})
        try:
            data = self.get_json(f"/view_metadata/{folder}?{q}")
        except ComfyError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    # ---- pictures ------------------------------------------------------------------------------
    def upload(self, png: bytes) -> str:
        """The server's name of the picture `png` (uploaded once per content and server)."""
        digest = hashlib.sha256(png).hexdigest()
        if digest in self._uploads:
            return self._uploads[digest]
        name = f"aiart-{digest[:32]}.png"
        boundary = uuid.uuid4().hex
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                 f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n".encode(), png,
                 f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n"
                 f"\r\ntrue\r\n--{boundary}--\r\n".encode()]
        answer = self.request("/upload/image", b"".join(parts),
                              f"multipart/form-data; boundary={boundary}")
        try:
            got = json.loads(answer)
            stored = str(got["name"]) if not got.get("subfolder") else \
                f"{got['subfolder']}/{got['name']}"
        except (ValueError, KeyError, TypeError):
            stored = name
        self.uploads_sent += 1
        self._uploads[digest] = stored
        return stored

    def view(self, image: dict[str, Any]) -> np.ndarray:
        """An output picture (an entry of /history's `images`) as RGB uint8."""
        q = urllib.parse.urlencode({k: image.get(k, "") for k in ("filename", "subfolder",
                                                                  "type")})
        data = self.request(f"/view?{q}")
        px = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if px is None:
            raise self._fail("sent a picture that cannot be read.\nThe details are in the log.")
        return np.ascontiguousarray(cv2.cvtColor(px, cv2.COLOR_BGR2RGB))

    # ---- a prompt --------------------------------------------------------------------------------
    def queue(self, workflow: dict[str, Any], prompt_id: str) -> str:
        """Queue `workflow`; the prompt's id (ours where the server takes it)."""
        payload = {"prompt": workflow, "client_id": self.client_id, "prompt_id": prompt_id}
        req = urllib.request.Request(self.url + "/prompt", json.dumps(payload).encode(),
                                     {**self._headers(), "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                answer = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 400:
                exc.close()
                return self._queue_failed(exc)
            answer = json.loads(exc.read() or b"{}")
            log.warning("ComfyUI %s refused the workflow: %s", self.label, answer)
            raise self._fail(f"refused the job: {_refusal(answer)}") from None
        return str(answer.get("prompt_id") or prompt_id)

    def _queue_failed(self, exc: urllib.error.HTTPError) -> str:
        if exc.code in (401, 403):
            raise self._fail("refused the token.\nCheck the token set for it in "
                             "Settings › Where AI runs.")
        raise self._fail(f"answered with an error (HTTP {exc.code}).\n"
                         "The details are in the log.")

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        got = self.get_json(f"/history/{prompt_id}")
        entry = got.get(prompt_id) if isinstance(got, dict) else None
        return entry if isinstance(entry, dict) else None

    def cancel(self, prompt_id: str) -> None:
        """Take the prompt off the queue, and interrupt it if it is the one running."""
        try:
            self.post_json("/queue", {"delete": [prompt_id]})
            state = self.get_json("/queue")
            running = [str(p[1]) for p in state.get("queue_running", []) if len(p) > 1]
            if prompt_id in running:
                self.post_json("/interrupt", {})
        except ComfyError:
            log.warning("could not cancel prompt %s on %s", prompt_id, self.label)

    def run(self, workflow: dict[str, Any], outputs: list[str],
            on_progress: Callable[[ProgressInfo], None] | None,
            cancelled: Callable[[], bool], phase: str = "generating") -> list[np.ndarray]:
        """Run `workflow`; the first picture of each node in `outputs`, in that order."""
        from .comfy_socket import ComfySocket

        sock = ComfySocket(self)
        try:
            prompt_id = self.queue(workflow, uuid.uuid4().hex)
            self.last_prompt_id = prompt_id
            sock.follow(prompt_id, on_progress, cancelled, phase)
        finally:
            sock.close()
        entry = self.history(prompt_id)
        if entry is None:
            raise self._dropped("lost the job's results.\nRun it again.")
        images = []
        for node in outputs:
            found = (entry.get("outputs", {}).get(node) or {}).get("images") or []
            if not found:
                log.warning("ComfyUI %s: no image from node %s: %s", self.label, node, entry)
                raise self._fail("sent no picture back.\nThe details are in the log.")
            images.append(self.view(found[0]))
        return images


def _refusal(answer: Any) -> str:
    """The first plain reason in a /prompt 400 answer."""
    if not isinstance(answer, dict):
        return "an invalid workflow.\nThe details are in the log."
    for node in (answer.get("node_errors") or {}).values():
        for err in node.get("errors", []):
            details = str(err.get("details", ""))
            if "ckpt_name" in details or "not in list" in str(err.get("message", "")):
                value = details.split(":", 1)[-1].strip()
                return f"it has no model {value}.\nPick a model the server has."[:300]
            return f"{err.get('message', '')} {details}".strip()[:200] + \
                "\nThe details are in the log."
    err = answer.get("error") or {}
    msg = err.get("message", "an invalid workflow") if isinstance(err, dict) else str(err)
    return f"{msg}.\nThe details are in the log."


def preview_frame(data: bytes) -> np.ndarray | None:
    """A binary websocket frame's preview picture (RGB), or None when it is not one."""
    if len(data) < 8 or struct.unpack(">I", data[:4])[0] != PREVIEW_IMAGE:
        return None
    px = cv2.imdecode(np.frombuffer(data[8:], np.uint8), cv2.IMREAD_COLOR)
    return None if px is None else np.ascontiguousarray(cv2.cvtColor(px, cv2.COLOR_BGR2RGB))


def check_cancel(cancelled: Callable[[], bool]) -> None:
    if cancelled():
        raise Cancelled()


def now() -> float:
    return time.monotonic()
