"""Runs one AI request: picks the backend, prepares the region, generates, colour-matches.

    result = engine.run(request, on_progress, cancelled)

Synchronous; meant for the one AI worker thread. It never touches a document: the request
carries copies of the pixels, and the result goes back to the UI thread, where
`apply.apply_result` turns it into a layer. It raises `Cancelled` when `cancelled()` turns true,
or an `AiError` subclass with a message fit for the user; after either, the next run works.

Backend choice: model "classical" -> OpenCV / PatchMatch fill; "auto" -> the last used (or
first) installed diffusion model, or the classical fill when none is installed; anything else
-> that model (a registry id, catalogue id or a path).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from ..core.geometry import Rect
from . import region
from .backends import classical
from .backends.local import DiffusionBackend, Job
from .capture import outpaint_layout
from .errors import AiError, Cancelled, RequestError
from .models.ip_adapter import IpAdapterJob, pixels_sha256
from .models.model_hash import file_sha256
from .models.registry import ModelInfo, ModelRegistry
from .requests import (
    AUTO,
    CLASSICAL,
    STYLE,
    AiRequest,
    AiResult,
    Img2ImgRequest,
    OutpaintRequest,
    ProgressInfo,
    StyleRequest,
)
from .styles.presets import compose

NO_MODEL_HINT = ("no diffusion model is installed: open the model manager to download "
                 "SD-Turbo (2.6 GB), or add a diffusers folder or a .safetensors checkpoint. "
                 "Fill selection works without a model.")

ProgressFn = Callable[[ProgressInfo], None]


class Engine:
    """Keeps the diffusers backend (and so the last loaded model) between runs."""

    def __init__(self, registry: ModelRegistry | None = None, device: str | None = None) -> None:
        self._registry = registry
        if device is None:
            from ..settings import load_settings

            device = load_settings().device
        self.backend = DiffusionBackend(device)
        self._lock = threading.Lock()

    @property
    def registry(self) -> ModelRegistry:
        return self._registry if self._registry is not None else ModelRegistry()

    def set_device(self, device: str) -> None:
        """"auto", "cuda", "mps" or "cpu"; takes effect at the next model load."""
        if device != self.backend.device_preference:
            self.backend.unload()
            self.backend.device_preference = device

    def unload(self) -> None:
        self.backend.unload()

    # ---- running --------------------------------------------------------------------------
    def run(self, request: AiRequest, on_progress: ProgressFn | None = None,
            cancelled: Callable[[], bool] | None = None) -> AiResult:
        stop = cancelled or (lambda: False)
        with self._lock:
            try:
                return self._run(request.with_seed(), on_progress, stop)
            except (AiError, Cancelled):
                raise
            except MemoryError as exc:
                raise AiError("not enough memory for this job: select a smaller area or make "
                              "fewer variations") from exc
            except Exception as exc:  # never let a raw error reach the UI
                import logging

                logging.getLogger(__name__).error("the AI job failed", exc_info=True)
                raise AiError("the AI job failed unexpectedly; your picture is unchanged.\n"
                              "The details are in the log.") from exc

    def choose_model(self, request: AiRequest) -> ModelInfo | None:
        """The diffusion model for `request`, or None for the classical fill."""
        if request.model == CLASSICAL:
            return None
        reg = self.registry
        if request.model != AUTO:
            return reg.resolve(request.model)
        models = [m for m in reg.diffusion_models()]
        if not models:
            return None
        from ..settings import load_settings

        last = load_settings().last_model
        return next((m for m in models if m.id == last), models[0])

    def _run(self, req: AiRequest, on_progress: ProgressFn | None,
             stop: Callable[[], bool]) -> AiResult:
        if isinstance(req, StyleRequest):
            return self._style(req, on_progress, stop)
        t0 = time.perf_counter()
        info = self.choose_model(req)
        if info is None and req.op not in ("inpaint", "outpaint"):
            raise RequestError(f"{req.op} needs a diffusion model; {NO_MODEL_HINT}")
        if info is None and req.mix is not None:
            raise RequestError(f"in-betweens and 'more like this' need a diffusion model; "
                               f"{NO_MODEL_HINT}")
        if info is None and float(req.ip_adapter_scale) > 0.0:
            raise RequestError(f"the IP-Adapter needs a diffusion model; {NO_MODEL_HINT}")
        if info is not None and info.arch not in ("sd", "sdxl"):
            raise RequestError(f"{info.name} is not a model that paints: pick a Stable "
                               "Diffusion or SDXL model")
        ref: dict[str, Any] = {}  # the reference style / IP-Adapter, when there is one
        if info is not None:  # which weights, by content (read once per model, then cached)
            ref["model_hash"] = self._model_hash(info, on_progress, stop)
        ip = self._ip_adapter(req, info, ref) if info is not None else None
        rect, original, sel = _geometry(req)
        if stop():
            raise Cancelled()
        h, w = sel.shape
        sb = _bounds(sel)
        feather = 0 if req.op == "outpaint" else region.default_feather(sb.w, sb.h)
        timings: dict[str, float] = {"prepare_s": time.perf_counter() - t0}
        t1 = time.perf_counter()
        if info is None:
            images = self._classical(req, original, sel, on_progress, stop)
            size, backend, name = (w, h), "classical", CLASSICAL
        else:
            size = region.model_size(w, h, info.native)
            if isinstance(req, Img2ImgRequest) and original is not None and (
                    req.style_reference or req.style_image is not None):
                original = self._reference_style(req, original, on_progress, stop, ref)
            images = self._diffusion(req, info, original, sel, size, on_progress, stop, ip)
            backend, name = "diffusers", info.name
        timings["generate_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        if original is not None and req.color_match and req.op in ("inpaint", "outpaint") \
                and info is not None:
            ring = max(4, region.default_grow(sb.w, sb.h))
            images = [region.color_match(im, original, sel, ring) for im in images]
        alpha = region.blend_mask(sel, feather)
        timings["finish_s"] = time.perf_counter() - t2
        if stop():
            raise Cancelled()
        # when it was made (UTC, ISO 8601), for the provenance record
        made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        extra: dict[str, Any] = {"timings": timings, "time": made, **ref}
        if info is not None:
            extra.update(model_id=info.id, arch=info.arch, device=self.backend.device_preference,
                         low_memory=self.backend.low_memory)
        return AiResult(request=req, images=images, seeds=req.seeds, alpha=alpha, rect=rect,
                        backend=backend, model_name=name, size=size, info=extra)

    @staticmethod
    def _model_hash(info: ModelInfo, on_progress: ProgressFn | None,
                    stop: Callable[[], bool]) -> str | None:
        from .models.model_hash import model_sha256

        def report(done: int, total: int) -> None:  # per 4 MiB read: cancel works here too
            if stop():
                raise Cancelled()
            if on_progress is not None:
                on_progress(ProgressInfo(done >> 20, max(1, total >> 20),
                                         phase="checking the model (once)"))

        try:
            return model_sha256(info.path, report)
        except OSError:  # unreadable weights fail the load next, with a clearer message
            return None

    def _style(self, req: StyleRequest, on_progress: ProgressFn | None,
               stop: Callable[[], bool]) -> AiResult:
        """Fast style transfer of the request's region (onnxruntime; no diffusion model)."""
        from .backends import style

        t0 = time.perf_counter()
        rect, original, sel = _geometry(req)
        assert original is not None
        spec = req.style_image if req.style_image is not None else req.style
        st = style.resolve_style(spec)
        if stop():
            raise Cancelled()
        if on_progress is not None:
            on_progress(ProgressInfo(0, 1, phase="styling"))

        def tiles(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(ProgressInfo(done, total, phase="styling"))

        # The region carries the wide context diffusion wants; the style network needs only
        # the selection and a margin (CONTEXT_MARGIN), so only that is styled. Outside it the
        # blend mask is zero: the original pixels stay there.
        sb = _bounds(sel)
        m = style.CONTEXT_MARGIN
        h, w = sel.shape
        x0, y0 = max(0, sb.x - m), max(0, sb.y - m)
        x1, y1 = min(w, sb.x + sb.w + m), min(h, sb.y + sb.h + m)
        part = np.ascontiguousarray(original[y0:y1, x0:x1])
        done = style.transfer(part, st, strength=float(req.strength),
                              style_scale=float(req.style_scale),
                              preserve_colors=bool(req.preserve_colors), tile=int(req.tile),
                              overlap=int(req.overlap), cancelled=stop, on_progress=tiles)
        if (x0, y0, x1, y1) == (0, 0, w, h):
            styled = done
        else:
            styled = np.array(original, copy=True)
            styled[y0:y1, x0:x1] = done
        alpha = region.blend_mask(sel, region.default_feather(sb.w, sb.h))
        if stop():
            raise Cancelled()
        rec = style.style_record(st)
        extra: dict[str, Any] = {
            "timings": {"generate_s": time.perf_counter() - t0},
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "style_name": st.name, "style_kind": st.kind, "style_sha256": st.digest,
        }
        return AiResult(request=req, images=[styled], seeds=req.seeds, alpha=alpha, rect=rect,
                        backend=STYLE, model_name=rec["model"], size=(w, h), info=extra)

    def _reference_style(self, req: Img2ImgRequest, original: np.ndarray,
                         on_progress: ProgressFn | None, stop: Callable[[], bool],
                         facts: dict[str, Any]) -> np.ndarray:
        """The region restyled with the reference (fast style network): the picture the
        diffusion model then repaints at the request's strength."""
        from .backends import style

        spec = req.style_image if req.style_image is not None else req.style_reference
        st = style.resolve_style(spec)

        def tiles(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(ProgressInfo(done, total, phase="styling"))

        styled = style.transfer(original, st, strength=float(req.style_mix), cancelled=stop,
                                on_progress=tiles)
        if stop():
            raise Cancelled()
        facts.update(style_reference=st.name, style_kind=st.kind, style_sha256=st.digest)
        return styled

    def _ip_adapter(self, req: AiRequest, info: ModelInfo, facts: dict[str, Any]
                    ) -> IpAdapterJob | None:
        """The IP-Adapter job of `req` (None when it uses none): the installed adapter that
        fits the model (a clear RequestError naming what to install otherwise), the
        reference picture, and their hashes for the record."""
        scale = float(req.ip_adapter_scale)
        if scale <= 0.0:
            return None
        adapter = self.registry.ip_adapter_for(info, req.ip_adapter)
        if req.ip_adapter_image is not None:
            rgb = region.rgba_to_rgb(req.ip_adapter_image)
        else:
            from .backends.style import style_image_rgb

            rgb = style_image_rgb(req.ip_adapter_reference)  # StyleError names the file
        facts.update(ip_adapter=adapter.id,
                     ip_adapter_sha256=file_sha256(adapter.weight_path),
                     ip_adapter_reference_sha256=pixels_sha256(rgb))
        return IpAdapterJob(str(adapter.root), adapter.weight, adapter.encoder, scale,
                            np.ascontiguousarray(rgb))

    def _classical(self, req: AiRequest, original: np.ndarray | None, sel: np.ndarray,
                   on_progress: ProgressFn | None, stop: Callable[[], bool]
                   ) -> list[np.ndarray]:
        """PatchMatch / OpenCV fill of every variation (PatchMatch ones at the same time where
        the cores allow), with an estimated progress and cancel checked as it runs."""
        assert original is not None

        def report(step: int, total: int, phase: str) -> None:
            if on_progress is not None:
                on_progress(ProgressInfo(step, total, None, phase))

        method = getattr(req, "fill_method", "auto")
        return classical.fill_many(original, sel, method, req.seeds, stop, report)

    def _diffusion(self, req: AiRequest, info: ModelInfo, original: np.ndarray | None,
                   sel: np.ndarray, size: tuple[int, int], on_progress: ProgressFn | None,
                   stop: Callable[[], bool], ip: IpAdapterJob | None = None
                   ) -> list[np.ndarray]:
        h, w = sel.shape
        sb = _bounds(sel)
        image = None if original is None else region.resize(original, size)
        mask = None
        op = req.op
        if op in ("inpaint", "outpaint"):
            scale = size[0] / w
            grow = max(1, round(region.default_grow(sb.w, sb.h) * scale))
            feather = max(1.0, region.default_feather(sb.w, sb.h) * scale)
            mask = region.denoise_mask(region.resize(sel, size), grow, feather)
            op = "inpaint"
        prompt, negative = compose(req.prompt, req.negative_prompt, req.style_preset)
        job = Job(op=op, prompt=prompt, negative_prompt=negative,
                  seeds=req.seeds, steps=int(req.steps), guidance=float(req.guidance),
                  scheduler=req.scheduler, strength=float(req.strength), width=size[0],
                  height=size[1], image=image, mask=mask, ip=ip)
        if req.mix is not None:
            job.mix = list(zip(req.mix.subseeds, req.mix.ts, strict=True))
            job.prompt_b, job.negative_b = compose(req.mix.prompt_b(req),
                                                   req.mix.negative_b(req), req.style_preset)
        preview = self.registry.preview_decoder(info.arch) if on_progress else None
        images = self.backend.generate(info, job, on_progress, stop,
                                       None if preview is None else str(preview))
        return [region.resize(im, (w, h)) for im in images]


def _bounds(mask: np.ndarray) -> Rect:
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if ys.size == 0:
        raise RequestError("the selection is empty: select the area to work on first")
    return Rect.from_edges(int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def _geometry(req: AiRequest) -> tuple[Rect, np.ndarray | None, np.ndarray]:
    """(result rect, original RGB over it or None, selection over it) for a request."""
    if isinstance(req, OutpaintRequest):
        if req.image is None:
            raise RequestError("the outpaint request holds no pixels")
        rect, strip, mask = outpaint_layout(req.canvas_size, req.rect, req.direction,
                                            req.pixels)
        rgb = region.rgba_to_rgb(req.image)
        # Start the new area from the edge's colours stretched outwards.
        top, left = strip.y, strip.x
        bottom, right = rect.h - strip.bottom, rect.w - strip.right
        ext = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REPLICATE)
        return rect, ext, mask
    sel = req.selection()
    if req.op == "txt2img":
        return req.rect, None, sel
    if req.image is None:
        raise RequestError(f"the {req.op} request holds no pixels")
    return req.rect, region.rgba_to_rgb(req.image), sel


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine()
        return _default


def run(request: AiRequest, on_progress: ProgressFn | None = None,
        cancelled: Callable[[], bool] | None = None) -> AiResult:
    """Run `request` on the shared engine (see `Engine.run`)."""
    return default_engine().run(request, on_progress, cancelled)


def unload() -> None:
    """Free the loaded model's memory (it loads again on the next run)."""
    if _default is not None:
        _default.unload()
