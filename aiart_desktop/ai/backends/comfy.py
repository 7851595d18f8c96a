"""The ComfyUI backend: every diffusion job of a remote model runs on a ComfyUI server.

    servers = [ComfyClient("http://gpu-box:8188", token)]
    models = ComfyModels(servers, local=user_models())   # local models + the servers' ones
    backend = ComfyBackend(models)                       # Backend "comfy"
    engine = Engine(models, [LocalBackend(models, ...), backend, ...])

`ComfyModels` is a `ModelSource`: the local source's models plus each server's checkpoints
(`/object_info`), as `ModelInfo`s with `backend="comfy"`, `source="remote"`, ids
"comfy:<checkpoint name>" and names that say which server has them. What a remote checkpoint
is (SD or SDXL, inpainting, its size) comes from its model-spec metadata (`/view_metadata`)
when it has some, else from its name; add-ons (LoRAs, controls, upscalers...) are the local
source's. Listing is cached: `refresh()` asks the servers again (the settings' Test connection,
a failed job), `models()` asks only once, and never again for `RETRY_S` after a failure, so the
pickers never wait on a server that is down.

`ComfyBackend` runs a `Job` as a workflow of core nodes (comfy_workflows.py) on the first
server that has the model, uploading the job's pictures (comfy_client.py, cached by content),
following progress and previews on the websocket (comfy_socket.py). Region preparation, colour
match, masks and records stay in the engine, so a remote result blends like a local one; the
record names the server (`record`: "server", "comfyui_version", "prompt_id").
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np

from ..backend import Capabilities, ProgressFn
from ..errors import ModelNotFoundError
from ..job import Job
from ..models.checkpoints import ModelFacts
from ..models.control_models import ControlModelInfo
from ..models.ip_adapter import IpAdapterInfo
from ..models.loras import EmbeddingInfo, LoraInfo
from ..models.segmenters import SegmenterInfo
from ..models.source import ModelInfo, ModelSource
from ..models.upscalers import UpscalerInfo
from . import comfy_workflows
from .comfy_client import ComfyClient, ComfyError

log = logging.getLogger(__name__)

NAME = "comfy"           # the backend's name (ModelInfo.backend, AiResult.backend)
PREFIX = "comfy:"        # a remote model's id: PREFIX + the server's checkpoint name
RETRY_S = 30.0           # after a failed listing, models() does not ask again for this long
LIST_TIMEOUT_S = 3.0     # listing on behalf of a picker waits at most this long


def remote_id(ckpt: str) -> str:
    return PREFIX + ckpt


def facts_of(ckpt: str, meta: dict[str, str] | None = None) -> ModelFacts:
    """What a remote checkpoint is: from its model-spec metadata, else from its name."""
    meta = meta or {}
    arch_text = meta.get("modelspec.architecture", "").lower()
    low = ckpt.lower()
    sdxl = "xl" in arch_text if arch_text else ("xl" in low or "pony" in low)
    inpaint = "inpaint" in arch_text or "inpaint" in low
    native = 1024 if sdxl else 512
    res = meta.get("modelspec.resolution", "")
    try:
        native = int(res.lower().split("x")[0]) if res else native
    except ValueError:
        pass
    return ModelFacts(arch="sdxl" if sdxl else "sd", inpaint=inpaint, native=native,
                      variant=None, size_bytes=0)


class ComfyModels:
    """The local models plus the servers' checkpoints (see the module)."""

    def __init__(self, servers: list[ComfyClient], local: ModelSource) -> None:
        self.servers = list(servers)
        self.local = local
        self._lock = threading.Lock()
        self._listed: dict[str, list[str]] = {}     # server label -> checkpoint names
        self._failed_at: dict[str, float] = {}
        self._inspected: dict[str, ModelInfo] = {}
        self.errors: dict[str, str] = {}             # server label -> its last listing error

    # ---- the servers' checkpoints --------------------------------------------------------------
    def refresh(self, timeout: float | None = None) -> None:
        """Ask every server for its checkpoints again (errors kept in `errors`)."""
        for client in self.servers:
            self._list(client, timeout)

    def _list(self, client: ComfyClient, timeout: float | None) -> list[str]:
        try:
            names = client.checkpoints(timeout)
        except ComfyError as exc:
            with self._lock:
                self._failed_at[client.label] = time.monotonic()
                self.errors[client.label] = str(exc)
                self._listed.pop(client.label, None)
            return []
        with self._lock:
            self._listed[client.label] = names
            self.errors.pop(client.label, None)
            self._failed_at.pop(client.label, None)
        return names

    def checkpoints(self, client: ComfyClient) -> list[str]:
        with self._lock:
            listed = self._listed.get(client.label)
            failed = self._failed_at.get(client.label)
        if listed is not None:
            return listed
        if failed is not None and time.monotonic() - failed < RETRY_S:
            return []
        return self._list(client, LIST_TIMEOUT_S)

    def servers_with(self, ckpt: str) -> list[ComfyClient]:
        return [c for c in self.servers if ckpt in self.checkpoints(c)]

    def _info(self, ckpt: str, facts: ModelFacts, checked: bool) -> ModelInfo:
        where = ", ".join(c.label for c in self.servers_with(ckpt)) or "no server"
        stem = ckpt.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return ModelInfo(id=remote_id(ckpt), name=f"{stem} (remote: {where})",
                         path=Path(str(PurePosixPath("comfy:", ckpt))), source="remote",
                         facts=facts, checked=checked, backend=NAME)

    def remote_models(self) -> list[ModelInfo]:
        seen: dict[str, None] = {}
        for client in self.servers:
            for ckpt in self.checkpoints(client):
                seen.setdefault(ckpt)
        return [self._inspected.get(remote_id(c)) or self._info(c, facts_of(c), False)
                for c in seen]

    # ---- ModelSource --------------------------------------------------------------------------
    def models(self) -> list[ModelInfo]:
        return [*self.local.models(), *self.remote_models()]

    def resolve(self, model_id: str) -> ModelInfo:
        if not model_id.startswith(PREFIX):
            return self.local.resolve(model_id)
        ckpt = model_id[len(PREFIX):]
        if model_id in self._inspected:
            return self._inspected[model_id]
        if not self.servers_with(ckpt):
            raise self._missing(ckpt)
        return self._info(ckpt, facts_of(ckpt), False)

    def inspect(self, model_id: str) -> ModelInfo:
        if not model_id.startswith(PREFIX):
            return self.local.inspect(model_id)
        if model_id in self._inspected:
            return self._inspected[model_id]
        ckpt = model_id[len(PREFIX):]
        having = self.servers_with(ckpt)
        if not having:
            self.refresh(LIST_TIMEOUT_S)
            having = self.servers_with(ckpt)
        if not having:
            raise self._missing(ckpt)
        info = self._info(ckpt, facts_of(ckpt, having[0].metadata("checkpoints", ckpt)), True)
        self._inspected[model_id] = info
        return info

    def _missing(self, ckpt: str) -> ModelNotFoundError:
        labels = ", ".join(c.label for c in self.servers)
        errors = "; ".join(self.errors.values())
        if errors:
            return ModelNotFoundError(errors.split("\n")[0] + f"\n“{ckpt}” cannot be used now.")
        return ModelNotFoundError(f"The ComfyUI server {labels} has no model “{ckpt}”.\n"
                                  "Pick a model the server has.")

    def client_for(self, model_id: str) -> ComfyClient:
        ckpt = model_id[len(PREFIX):] if model_id.startswith(PREFIX) else model_id
        having = self.servers_with(ckpt)
        if not having:
            raise self._missing(ckpt)
        return having[0]

    # Everything else is the local source's.
    def preview_decoder(self, arch: str) -> Path | None:
        return self.local.preview_decoder(arch)

    def ip_adapters(self) -> list[IpAdapterInfo]:
        return self.local.ip_adapters()

    def resolve_ip_adapter(self, adapter_id: str) -> IpAdapterInfo:
        return self.local.resolve_ip_adapter(adapter_id)

    def ip_adapter_for(self, model: ModelInfo, adapter_id: str = "") -> IpAdapterInfo:
        return self.local.ip_adapter_for(model, adapter_id)

    def control_models(self) -> list[ControlModelInfo]:
        return self.local.control_models()

    def control_model_for(self, kind: str, arch: str, control_id: str = "") -> ControlModelInfo:
        return self.local.control_model_for(kind, arch, control_id)

    def detector(self, kind: str) -> Path:
        return self.local.detector(kind)

    def loras(self) -> list[LoraInfo]:
        return self.local.loras()

    def resolve_lora(self, lora_id: str) -> LoraInfo:
        return self.local.resolve_lora(lora_id)

    def lora_sha256(self, info: LoraInfo) -> str:
        return self.local.lora_sha256(info)

    def embeddings(self) -> list[EmbeddingInfo]:
        return self.local.embeddings()

    def lama(self) -> Path | None:
        return self.local.lama()

    def migan(self) -> Path | None:
        return self.local.migan()

    def matting(self) -> Path | None:
        return self.local.matting()

    def segmenters(self) -> list[SegmenterInfo]:
        return self.local.segmenters()

    def segmenter(self, segmenter_id: str = "") -> SegmenterInfo:
        return self.local.segmenter(segmenter_id)

    def upscalers(self) -> list[UpscalerInfo]:
        return self.local.upscalers()

    def upscaler(self, upscaler_id: str = "") -> UpscalerInfo:
        return self.local.upscaler(upscaler_id)

    def __getattr__(self, name: str) -> Any:   # what later issues add to the local source
        return getattr(self.__dict__["local"], name)


def png(pixels: np.ndarray) -> bytes:
    px = pixels if pixels.ndim == 3 else np.repeat(pixels[:, :, None], 3, axis=2)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(px), cv2.COLOR_RGB2BGR))
    if not ok:
        raise ComfyError("A picture for the ComfyUI server cannot be encoded.\n"
                         "The details are in the log.")
    return buf.tobytes()


class ComfyBackend:
    """Runs diffusion jobs on ComfyUI servers (see the module)."""

    def __init__(self, models: ComfyModels) -> None:
        self.models = models
        self._last: dict[str, Any] = {}
        self._versions: dict[str, str] = {}

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(ops=frozenset({"txt2img", "img2img", "inpaint", "outpaint"}),
                            archs=frozenset({"sd", "sdxl"}), previews=True)

    def generate(self, job: Job, on_progress: ProgressFn | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        info = self.models.inspect(job.model)
        ckpt = job.model[len(PREFIX):]
        client = self.models.client_for(job.model)
        image = client.upload(png(job.image)) if job.image is not None else ""
        mask = client.upload(png(job.mask)) if job.mask is not None else ""
        wf = comfy_workflows.build(job, ckpt, info.facts.inpaint, image, mask)
        images = client.run(wf.graph, wf.outputs, on_progress, cancelled)
        self._last = {"model_name": ckpt, "server": client.label,
                      "comfyui_version": self._version(client),
                      "prompt_id": client.last_prompt_id}
        want = (job.width, job.height) if job.image is None else \
            (job.image.shape[1], job.image.shape[0])
        return [im if (im.shape[1], im.shape[0]) == want else
                cv2.resize(im, want, interpolation=cv2.INTER_CUBIC) for im in images]

    def _version(self, client: ComfyClient) -> str:
        if client.label not in self._versions:
            try:
                stats = client.system_stats()
            except ComfyError:
                return ""
            self._versions[client.label] = comfyui_version(stats)
        return self._versions[client.label]

    def record(self, job: Job) -> dict[str, Any]:
        return dict(self._last)

    def unload(self) -> None:
        """Nothing is held here; the servers keep their own models."""


def comfyui_version(stats: dict[str, Any]) -> str:
    """The ComfyUI version a /system_stats answer names ("" for older servers, which don't)."""
    system = stats.get("system") or {}
    return str(system.get("comfyui_version") or "") if isinstance(system, dict) else ""
