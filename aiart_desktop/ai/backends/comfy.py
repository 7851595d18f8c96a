"""The ComfyUI backend: every diffusion job of a remote model runs on a ComfyUI server.

    servers = [ComfyClient("http://gpu-box:8188", token)]
    models = ComfyModels(servers, local=user_models())   # local models + the servers' ones
    backend = ComfyBackend(models)                       # Backend "comfy"
    engine = Engine(models, [LocalBackend(models, ...), backend, ...])

`ComfyModels` is a `ModelSource`: the local source's models plus each server's checkpoints
(`/object_info`), as `ModelInfo`s with `backend="comfy"`, `source="remote"`, ids
"comfy:<checkpoint name>" and names that say which server has them. What a remote checkpoint is
(SD or SDXL, inpainting, its size) comes from its model-spec metadata (`/view_metadata`) when
it has some, else from its name. The servers' LoRAs, ControlNets and upscale models are listed
beside the local source's, with "comfy:<file>" ids (`loras`, `control_models`, `upscalers`;
depth and pose pictures are made by the local detectors). Listing is cached: `refresh()` asks
the servers again (the settings' Test connection, a failed job), `models()` asks only once, and
never again for `RETRY_S` after a failure, so the pickers never wait on a server that is down.

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
from ..conditioning import CONTROL_KINDS
from ..errors import AiError, ModelNotFoundError, RequestError
from ..job import Job
from ..models.checkpoints import ModelFacts
from ..models.control_models import ControlModelInfo
from ..models.ip_adapter import IpAdapterInfo
from ..models.loras import EmbeddingInfo, LoraInfo
from ..models.segmenters import SegmenterInfo
from ..models.source import ModelInfo, ModelSource
from ..models.upscalers import UpscalerInfo
from . import comfy_pool, comfy_workflows
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
        self._listed: dict[str, dict[str, list[str]]] = {}   # server label -> folder -> names
        self._failed_at: dict[str, float] = {}
        self._inspected: dict[str, ModelInfo] = {}
        self._lora_meta: dict[str, dict[str, str]] = {}
        self.errors: dict[str, str] = {}             # server label -> its last listing error

    # ---- what the servers have ------------------------------------------------------------------
    def refresh(self, timeout: float | None = None) -> None:
        """Ask every server for its models again (errors kept in `errors`)."""
        for client in self.servers:
            self._list(client, timeout)

    def _list(self, client: ComfyClient, timeout: float | None) -> dict[str, list[str]]:
        try:
            found = client.listing(timeout)
        except ComfyError as exc:
            with self._lock:
                self._failed_at[client.label] = time.monotonic()
                self.errors[client.label] = str(exc)
                self._listed.pop(client.label, None)
            return {}
        with self._lock:
            self._listed[client.label] = found
            self.errors.pop(client.label, None)
            self._failed_at.pop(client.label, None)
        return found

    def names(self, client: ComfyClient, folder: str = "checkpoints") -> list[str]:
        """The files in the server's `folder` ("checkpoints", "loras", "controlnet",
        "upscale_models"), listed once (not again for RETRY_S after a failure)."""
        with self._lock:
            listed = self._listed.get(client.label)
            failed = self._failed_at.get(client.label)
        if listed is None:
            if failed is not None and time.monotonic() - failed < RETRY_S:
                return []
            listed = self._list(client, LIST_TIMEOUT_S)
        return list(listed.get(folder, []))

    def checkpoints(self, client: ComfyClient) -> list[str]:
        return self.names(client, "checkpoints")

    def servers_with(self, ckpt: str, folder: str = "checkpoints") -> list[ComfyClient]:
        return [c for c in self.servers if ckpt in self.names(c, folder)]

    def _where(self, name: str, folder: str = "checkpoints") -> str:
        return ", ".join(c.label for c in self.servers_with(name, folder)) or "no server"

    def _info(self, ckpt: str, facts: ModelFacts, checked: bool) -> ModelInfo:
        stem = ckpt.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return ModelInfo(id=remote_id(ckpt), name=f"{stem} (remote: {self._where(ckpt)})",
                         path=Path(str(PurePosixPath("comfy:", ckpt))), source="remote",
                         facts=facts, checked=checked, backend=NAME)

    def _remote(self, folder: str, ask: bool = True) -> list[str]:
        """The files of `folder` on any server; with `ask` False only those already listed
        (no network: what the add-on pickers get; `refresh` or a job lists them)."""
        seen: dict[str, None] = {}
        for client in self.servers:
            if ask:
                names = self.names(client, folder)
            else:
                with self._lock:
                    names = list(self._listed.get(client.label, {}).get(folder, []))
            for name in names:
                seen.setdefault(name)
        return list(seen)

    def remote_models(self) -> list[ModelInfo]:
        return [self._inspected.get(remote_id(c)) or self._info(c, facts_of(c), False)
                for c in self._remote("checkpoints")]

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

    def _missing(self, name: str, what: str = "model") -> ModelNotFoundError:
        labels = ", ".join(c.label for c in self.servers)
        errors = "; ".join(self.errors.values())
        if errors:
            return ModelNotFoundError(errors.split("\n")[0] + f"\n“{name}” cannot be used now.")
        return ModelNotFoundError(f"The ComfyUI server {labels} has no {what} “{name}”.\n"
                                  f"Pick a {what} the server has.")

    def client_for(self, model_id: str) -> ComfyClient:
        ckpt = model_id[len(PREFIX):] if model_id.startswith(PREFIX) else model_id
        having = self.servers_with(ckpt)
        if not having:
            raise self._missing(ckpt)
        return having[0]

    # ---- the servers' add-ons: LoRAs, ControlNets, upscale models -----------------------------
    def _remote_name(self, item_id: str, folder: str, what: str) -> str:
        """The server's file of a remote add-on id ("comfy:<file>"), or a ModelNotFoundError
        naming the servers when none has it."""
        name = item_id[len(PREFIX):]
        if not self.servers_with(name, folder):
            self.refresh(LIST_TIMEOUT_S)
        if not self.servers_with(name, folder):
            raise self._missing(name, what)
        return name

    def _remote_lora(self, name: str, meta: dict[str, str] | None = None) -> LoraInfo:
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        base = (meta or {}).get("ss_base_model_version", "") or \
            (meta or {}).get("modelspec.architecture", "")
        xl = "xl" in base.lower() if base else "xl" in stem.lower()
        return LoraInfo(id=remote_id(name), name=f"{stem} (remote: {self._where(name, 'loras')})",
                        path=Path(remote_id(name)), arch="sdxl" if xl else "sd", layout="kohya",
                        alias=(meta or {}).get("ss_output_name", ""),
                        sha256=(meta or {}).get("sshs_model_hash", ""))

    def loras(self) -> list[LoraInfo]:
        return [*self.local.loras(),
                *(self._remote_lora(n) for n in self._remote("loras", ask=False))]

    def resolve_lora(self, lora_id: str) -> LoraInfo:
        """A local LoRA, or a server's: "comfy:<file>", or a name only a server has."""
        if not lora_id.startswith(PREFIX):
            try:
                return self.local.resolve_lora(lora_id)
            except AiError:
                stems = {n.rsplit("/", 1)[-1].rsplit(".", 1)[0]: n for n in self._remote("loras")}
                if lora_id not in stems:
                    raise
                lora_id = remote_id(stems[lora_id])
        name = self._remote_name(lora_id, "loras", "LoRA")
        return self._remote_lora(name, self._lora_metadata(name))

    def _lora_metadata(self, name: str) -> dict[str, str]:
        """The server's LoRA file's metadata (asked once)."""
        if name not in self._lora_meta:
            self._lora_meta[name] = self.servers_with(name, "loras")[0].metadata("loras", name)
        return self._lora_meta[name]

    def lora_sha256(self, info: LoraInfo) -> str:
        return info.sha256 if info.id.startswith(PREFIX) else self.local.lora_sha256(info)

    def control_models(self) -> list[ControlModelInfo]:
        return [*self.local.control_models(),
                *(self._remote_control(n, "sd", ())
                  for n in self._remote("controlnet", ask=False))]

    def _remote_control(self, name: str, arch: str, kinds: tuple[str, ...]) -> ControlModelInfo:
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return ControlModelInfo(id=remote_id(name),
                                name=f"{stem} (remote: {self._where(name, 'controlnet')})",
                                path=Path(remote_id(name)), arch=arch, kinds=kinds,
                                layout="remote", source="remote")

    def control_model_for(self, kind: str, arch: str, control_id: str = "") -> ControlModelInfo:
        """A remote ControlNet ("comfy:<file>") or a local one; with no id, a local one that
        fits, else a server's whose name names the kind."""
        if control_id.startswith(PREFIX):
            name = self._remote_name(control_id, "controlnet", "ControlNet")
            return self._remote_control(name, arch, (kind,))
        try:
            return self.local.control_model_for(kind, arch, control_id)
        except AiError:
            named = [n for n in self._remote("controlnet") if kind in n.lower()]
            if control_id or not named:
                raise
            return self._remote_control(named[0], arch, (kind,))

    def upscalers(self) -> list[UpscalerInfo]:
        return [*self.local.upscalers(),
                *(self._remote_upscaler(n) for n in self._remote("upscale_models", ask=False))]

    def _remote_upscaler(self, name: str) -> UpscalerInfo:
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return UpscalerInfo(id=remote_id(name),
                            name=f"{stem} (remote: {self._where(name, 'upscale_models')})",
                            path=Path(remote_id(name)))

    def upscaler(self, upscaler_id: str = "") -> UpscalerInfo:
        if upscaler_id.startswith(PREFIX):
            return self._remote_upscaler(
                self._remote_name(upscaler_id, "upscale_models", "upscale model"))
        return self.local.upscaler(upscaler_id)

    # Everything else is the local source's.
    def preview_decoder(self, arch: str) -> Path | None:
        return self.local.preview_decoder(arch)

    def ip_adapters(self) -> list[IpAdapterInfo]:
        return self.local.ip_adapters()

    def resolve_ip_adapter(self, adapter_id: str) -> IpAdapterInfo:
        return self.local.resolve_ip_adapter(adapter_id)

    def ip_adapter_for(self, model: ModelInfo, adapter_id: str = "") -> IpAdapterInfo:
        return self.local.ip_adapter_for(model, adapter_id)

    def detector(self, kind: str) -> Path:
        return self.local.detector(kind)

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
        return Capabilities(ops=frozenset({"txt2img", "img2img", "inpaint", "outpaint",
                                           "upscale"}),
                            archs=frozenset({"sd", "sdxl"}), previews=True,
                            controls=frozenset(CONTROL_KINDS),   # depth, pose: detected here
                            loras=frozenset({"sd", "sdxl"}))

    # ---- which servers -------------------------------------------------------------------------
    def _servers(self, ckpt: str, needs: list[tuple[str, str, str]]) -> list[ComfyClient]:
        """The servers that have the checkpoint and every add-on in `needs` ((folder, file,
        what)), the least busy first; a ModelNotFoundError naming the servers otherwise."""
        having = self.models.servers_with(ckpt)
        if not having:
            raise self.models._missing(ckpt)
        for folder, name, what in needs:
            fit = [c for c in having if name in self.models.names(c, folder)]
            if not fit:
                labels = ", ".join(c.label for c in having)
                raise ModelNotFoundError(f"The ComfyUI server {labels} has no {what} “{name}”."
                                         f"\nPut it in the server's {folder} folder, or "
                                         f"remove it.")
            having = fit
        if len(having) > 1:
            having.sort(key=self._busy)
        return having

    @staticmethod
    def _busy(client: ComfyClient) -> int:
        try:
            return client.queue_length()
        except ComfyError:
            return 1 << 30   # likely down: tried last

    @staticmethod
    def _remote_file(item_id: str, what: str, label: str) -> str:
        if not item_id.startswith(PREFIX):
            raise ModelNotFoundError(f"The {what} “{item_id}” is on this computer, not on the "
                                     f"ComfyUI server {label}.\nPick one the server has.")
        return item_id[len(PREFIX):]

    # ---- running -------------------------------------------------------------------------------
    def generate(self, job: Job, on_progress: ProgressFn | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        if job.op == "upscale":
            return self._upscale(job, on_progress, cancelled)
        info = self.models.inspect(job.model)
        ckpt = job.model[len(PREFIX):]
        first = self.models.client_for(job.model).label
        loras = tuple((self._remote_file(lid, "LoRA", first), float(w)) for lid, w in job.loras)
        nets = [self._remote_file(c.model, "ControlNet", first) for c in job.controls]
        servers = self._servers(ckpt, [("loras", n, "LoRA") for n, _ in loras] +
                                [("controlnet", n, "ControlNet") for n in nets])
        # several servers: one prompt per variation, dealt to them all; one: one prompt
        units = [job.replace(seeds=(s,)) for s in job.seeds] \
            if len(servers) > 1 and len(job.seeds) > 1 else [job]

        def run(client: ComfyClient, unit: Job, report: ProgressFn | None,
                stopped: Callable[[], bool]) -> tuple[list[np.ndarray], str]:
            image = client.upload(png(unit.image)) if unit.image is not None else ""
            mask = client.upload(png(unit.mask)) if unit.mask is not None else ""
            hints = tuple((net, client.upload(png(c.image)))
                          for net, c in zip(nets, unit.controls, strict=True))
            wf = comfy_workflows.build(unit, ckpt, info.facts.inpaint, image, mask, loras,
                                       hints)
            images = client.run(wf.graph, wf.outputs, report, stopped)
            return images, client.last_prompt_id

        done = comfy_pool.deal(units, servers, run, on_progress, cancelled)
        labels = [d.server for d in done for _ in d.images]
        prompts = [d.prompt_id for d in done for _ in d.images]
        self._last = {"model_name": ckpt, "server": labels[0], "servers": labels,
                      "comfyui_version": self._version(done[0].server),
                      "prompt_id": prompts[0], "prompt_ids": prompts}
        want = (job.width, job.height) if job.image is None else \
            (job.image.shape[1], job.image.shape[0])
        return [im if (im.shape[1], im.shape[0]) == want else
                cv2.resize(im, want, interpolation=cv2.INTER_CUBIC)
                for d in done for im in d.images]

    def _upscale(self, job: Job, on_progress: ProgressFn | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        """Image › Upscale with a server's upscale model: colour through the model (ComfyUI
        tiles it), premultiplied; alpha with Lanczos; the exact size made here."""
        from .. import upscale as up

        if job.image is None or job.width <= 0 or job.height <= 0:
            raise RequestError("an upscale needs the layer's pixels and the size to make")
        name = PurePosixPath(Path(job.model).as_posix()).as_posix()[len(PREFIX):]
        servers = self.models.servers_with(name, "upscale_models")
        if not servers:
            raise self.models._missing(name, "upscale model")
        rgba = job.image
        opaque = bool((rgba[..., 3] == 255).all())
        rgb = np.ascontiguousarray(rgba[..., :3]) if opaque else up.premultiply(rgba)
        size = (job.width, job.height)
        phase = str(job.params.get("phase") or f"upscaling ({Path(name).stem})")

        def run(client: ComfyClient, _: Job, report: ProgressFn | None,
                stopped: Callable[[], bool]) -> tuple[list[np.ndarray], str]:
            wf = comfy_workflows.upscale(client.upload(png(rgb)), name)
            return client.run(wf.graph, wf.outputs, report, stopped, phase), \
                client.last_prompt_id

        done = comfy_pool.deal([job], servers, run, on_progress, cancelled)[0]
        big = done.images[0]
        if big.shape[1::-1] != size:
            big = cv2.resize(big, size, interpolation=cv2.INTER_AREA
                             if size[0] < big.shape[1] else cv2.INTER_LANCZOS4)
        self._last = {"model_name": Path(name).stem, "model_file": name,
                      "server": done.server, "comfyui_version": self._version(done.server),
                      "prompt_id": done.prompt_id}
        if opaque:
            out = np.empty((size[1], size[0], 4), np.uint8)
            out[..., :3] = big
            out[..., 3] = 255
            return [out]
        alpha = cv2.resize(np.ascontiguousarray(rgba[..., 3]), size,
                           interpolation=cv2.INTER_LANCZOS4)
        return [up.unpremultiply(big, alpha)]

    def _version(self, label: str) -> str:
        if label not in self._versions:
            client = next((c for c in self.models.servers if c.label == label), None)
            try:
                stats = client.system_stats() if client is not None else {}
            except ComfyError:
                return ""
            self._versions[label] = comfyui_version(stats)
        return self._versions[label]

    def record(self, job: Job) -> dict[str, Any]:
        return dict(self._last)

    def unload(self) -> None:
        """Nothing is held here; the servers keep their own models."""


def comfyui_version(stats: dict[str, Any]) -> str:
    """The ComfyUI version a /system_stats answer names ("" for older servers, which don't)."""
    system = stats.get("system") or {}
    return str(system.get("comfyui_version") or "") if isinstance(system, dict) else ""
