"""Runs one AI request: prepares the region, picks the backend, runs the job, colour-matches.

    engine = setup.default_engine()             # the composition root builds it (ai/setup.py)
    result = engine.run(request, on_progress, cancelled)

`Engine(models, backends)` is given its model source (models/source.py: `ModelSource`) and its
backends (ai/backend.py: `Backend`); it keeps only what is backend-neutral: region preparation
(context; for outpaint, the `OutpaintLayout` the request carries), model-size scaling, the
denoise and blend masks, colour matching, the reference style and IP-Adapter choice, the
model's hash and the provenance record. A backend gets a `Job` (ai/job.py) and returns
pictures.

Synchronous; meant for the one AI worker thread. It never touches a document: the request
carries copies of the pixels, and the result goes back to the UI thread, where
`apply.apply_result` turns it into a layer. It raises `Cancelled` when `cancelled()` turns true,
or an `AiError` subclass with a message fit for the user; after either, the next run works.

How a request finds its backend (`choose_model`, then `choose_backend`):
- op "style" -> the first backend whose capabilities list the "style" op;
- op "subject" (Select Subject, Remove Background) -> the first backend listing that op (the
  background remover, backends/matte.py), with the model source's `matting()` file (`_subject`);
- op "upscale" -> Lanczos here (model "lanczos"), or the first backend listing that op with the
  model source's `upscaler(id)` file (backends/upscale_backend.py; `_upscale`);
- model "classical" -> the first backend with the "classical" arch that does the op
  (inpaint, outpaint: the model-free fill);
- model "lama" / "migan" -> the object remover (backends/lama.py; inpaint only), with the
  model source's `lama()` / `migan()` file;
- model "auto" -> for an inpaint with no prompt (and no controls, LoRAs, IP-Adapter or latent
  mix) while LaMa (else MI-GAN) is installed and a backend with the "lama" arch is set up:
  that object remover (`_lama`);
  otherwise the last used (or first) model of the model source, or the classical fill when it
  offers none;
- any other model id (or path) -> the model source's `inspect(id)` -> `ModelInfo`, run by the
  backend it names (`ModelInfo.backend`), which must list the model's arch and the op.
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from ..core.geometry import Rect
from . import region
from .backend import CLASSICAL_ARCH, Backend, ProgressFn
from .errors import AiError, Cancelled, RequestError
from .job import Job, JobControl
from .models.ip_adapter import pixels_sha256
from .models.model_hash import file_sha256
from .models.source import ModelInfo, ModelSource
from .prompt_syntax import split_loras
from .requests import (
    AUTO,
    CLASSICAL,
    LAMA,
    MIGAN,
    STYLE,
    AiRequest,
    AiResult,
    Img2ImgRequest,
    OutpaintRequest,
    ProgressInfo,
    StyleRequest,
    SubjectRequest,
    UpscaleRequest,
)
from .styles.presets import compose

TILE_CONTROL_STRENGTH = 0.6  # a refine in tiles with a Tile control: how closely it holds
NO_MODEL_HINT = ("no diffusion model is installed: open the model manager to download "
                 "SD-Turbo (2.6 GB), or add a diffusers folder or a .safetensors checkpoint. "
                 "Fill selection works without a model.")


class Engine:
    """Runs requests on the backends it was given, with the models of `models`; keeps each
    backend (and so the last loaded model) between runs."""

    def __init__(self, models: ModelSource, backends: Sequence[Backend]) -> None:
        self.models = models
        self.backends: tuple[Backend, ...] = tuple(backends)
        names = [b.name for b in self.backends]
        if len(set(names)) != len(names):
            raise ValueError(f"two backends share a name: {names}")
        self._lock = threading.Lock()

    def backend(self, name: str) -> Backend:
        """The backend called `name` ("diffusers", "classical", "style"...)."""
        found = self._named(name)
        if found is None:
            raise LookupError(f"no backend called {name!r}")
        return found

    def _named(self, name: str) -> Backend | None:
        return next((b for b in self.backends if b.name == name), None)

    def set_device(self, device: str) -> None:
        """"auto", "cuda", "mps" or "cpu" for the backends that run on a device (those with a
        `set_device` method); takes effect at their next model load."""
        for b in self.backends:
            set_device = getattr(b, "set_device", None)
            if callable(set_device):
                set_device(device)

    def unload(self) -> None:
        for b in self.backends:
            b.unload()

    # ---- choosing ---------------------------------------------------------------------------
    def choose_model(self, request: AiRequest) -> ModelInfo | None:
        """The diffusion model for `request`, every fact learned, or None for the classical
        fill (runs on the worker: learning a pickle checkpoint's facts needs torch)."""
        if request.model == CLASSICAL:
            return None
        if request.model != AUTO:
            return self.models.inspect(request.model)
        models = self.models.models()
        if not models:
            return None
        from ..settings import load_settings

        last = load_settings().last_model
        chosen = next((m for m in models if m.id == last), models[0])
        return chosen if chosen.checked else self.models.inspect(chosen.id)

    def _lama_backend(self) -> Backend | None:
        return next((b for b in self.backends if LAMA in b.capabilities.archs), None)

    def _lama(self, request: AiRequest) -> str | None:
        """The object remover's file that fills `request` (LaMa, or MI-GAN), or None when
        neither does (see the module's notes); a RequestError when the request names one and it
        cannot run."""
        named = {LAMA: ("LaMa", self.models.lama, "LaMa (Remove object)", "208 MB"),
                 MIGAN: ("MI-GAN", self.models.migan, "MI-GAN (Remove object, light)",
                         "28 MB")}.get(request.model)
        if named is not None:
            name, find, entry, size = named
            if request.op != "inpaint":
                raise RequestError(f"{name} only fills selections; {request.op} needs a "
                                   "diffusion model")
            if self._lama_backend() is None:
                raise RequestError(f"the {name} fill is not available in this installation")
            path = find()
            if path is None:
                raise RequestError(f"{name} is not installed: download “{entry}” in the "
                                   f"model manager (Models…), {size}.")
            return str(path)
        if (request.model != AUTO or request.op != "inpaint" or request.prompt.strip()
                or request.controls or request.loras or request.mix is not None
                or float(request.ip_adapter_scale) > 0.0 or self._lama_backend() is None):
            return None
        found = self.models.lama() or self.models.migan()
        return None if found is None else str(found)

    def choose_backend(self, request: AiRequest, info: ModelInfo | None) -> Backend:
        """The backend for `request` run with `info` (see the module's notes); a RequestError
        says why there is none."""
        op = request.op
        if op == STYLE:
            found = next((b for b in self.backends if STYLE in b.capabilities.ops), None)
            if found is None:
                raise RequestError("style transfer is not available in this installation")
            return found
        if info is None:
            found = next((b for b in self.backends if CLASSICAL_ARCH in b.capabilities.archs
                          and op in b.capabilities.ops), None)
            if found is None:
                raise RequestError(f"{op} needs a diffusion model; {NO_MODEL_HINT}")
            return found
        found = self._named(info.backend)
        if found is None:
            raise RequestError(f"{info.name} runs on the {info.backend} backend, which is not "
                               "set up here")
        if info.arch not in found.capabilities.archs:
            raise RequestError(f"{info.name} is not a model that paints: pick a Stable "
                               "Diffusion or SDXL model")
        if op not in found.capabilities.ops:
            raise RequestError(f"{info.name} cannot do {op} on the {found.name} backend")
        return found

    # ---- running ----------------------------------------------------------------------------
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

    def _run(self, req: AiRequest, on_progress: ProgressFn | None,
             stop: Callable[[], bool]) -> AiResult:
        if isinstance(req, StyleRequest):
            return self._style(req, on_progress, stop)
        if isinstance(req, SubjectRequest):
            return self._subject(req, on_progress, stop)
        if isinstance(req, UpscaleRequest):
            return self._upscale(req, on_progress, stop)
        t0 = time.perf_counter()
        lama = self._lama(req)
        info = None if lama is not None else self.choose_model(req)
        if info is None and req.op not in ("inpaint", "outpaint"):
            raise RequestError(f"{req.op} needs a diffusion model; {NO_MODEL_HINT}")
        if info is None and req.mix is not None:
            raise RequestError(f"in-betweens and 'more like this' need a diffusion model; "
                               f"{NO_MODEL_HINT}")
        if info is None and float(req.ip_adapter_scale) > 0.0:
            raise RequestError(f"the IP-Adapter needs a diffusion model; {NO_MODEL_HINT}")
        if info is None and req.controls:
            raise RequestError(f"control layers need a diffusion model; {NO_MODEL_HINT}")
        found = self._lama_backend() if lama is not None else None
        backend = found if found is not None else self.choose_backend(req, info)
        ref: dict[str, Any] = {}  # the reference style / IP-Adapter, when there is one
        if info is not None:  # which weights, by content (read once per model, then cached)
            ref["model_hash"] = self._model_hash(info, on_progress, stop)
        ip = self._ip_adapter(req, info, backend, ref) if info is not None else {}
        if info is not None:  # LoRAs (request and <lora:> tags) and embeddings, checked
            ip.update(self._addons(req, info, backend, ref))
        rect, original, sel = _geometry(req)
        if stop():
            raise Cancelled()
        h, w = sel.shape
        sb = _bounds(sel)
        feather = 0 if req.op == "outpaint" else region.default_feather(sb.w, sb.h)
        timings: dict[str, float] = {"prepare_s": time.perf_counter() - t0}
        t1 = time.perf_counter()
        if info is None:
            assert original is not None
            job = Job(op="inpaint", model=str(lama or ""), image=original, mask=sel,
                      seeds=tuple(req.seeds),
                      params={"fill_method": getattr(req, "fill_method", "auto")})
            images = backend.generate(job, on_progress, stop)
            size = (w, h)
        else:
            size = region.model_size(w, h, info.native)
            if isinstance(req, Img2ImgRequest) and original is not None and (
                    req.style_reference or req.style_image is not None):
                original = self._reference_style(req, original, on_progress, stop, ref)
            if isinstance(req, Img2ImgRequest) and req.tiled and original is not None:
                size = (w, h)      # every tile runs at its own size: the region's, in all
                images, job = self._tiled(req, info, backend, original, on_progress, stop, ip)
            else:
                images, job = self._diffusion(req, info, backend, original, sel, size,
                                              on_progress, stop, ip)
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
        facts = backend.record(job)
        name = str(facts.pop("model_name", CLASSICAL if info is None else info.name))
        if info is not None:
            extra.update(model_id=info.id, arch=info.arch)
        extra.update(facts)
        if job.controls and info is not None:
            extra["controls"] = self._control_record(job, info)
        return AiResult(request=req, images=images, seeds=req.seeds, alpha=alpha, rect=rect,
                        backend=backend.name, model_name=name, size=size, info=extra)

    def _job_controls(self, req: AiRequest, info: ModelInfo, backend: Backend,
                      size: tuple[int, int]) -> tuple[JobControl, ...]:
        """The request's controls as the job's: each layer's pixels placed over the region
        (for outpaint, the context strip inside the grown region), scaled to the job's size
        like the picture, made into the control picture (ai/controls.py; depth and pose by
        the backend's detector, or the local backend's for one without), with the control
        model that fits (a RequestError says what to install)."""
        from . import controls as cp
        from .conditioning import CONTROL_LABELS
        from .models.ip_adapter import model_cross_dim

        missing = [c.kind for c in req.controls if c.kind not in backend.capabilities.controls]
        if missing:
            raise RequestError(f"the {backend.name} backend has no {CONTROL_LABELS[missing[0]]} "
                               "control: remove it from the AI panel's controls")
        cross = model_cross_dim(info)
        models = _one_sort([self.models.control_model_for(c.kind, info.arch, c.model)
                            for c in req.controls], req.controls)
        out = []
        for c, model in zip(req.controls, models, strict=True):
            if cross is not None and model.cross_dim is not None and model.cross_dim != cross:
                raise RequestError(f"the control model {model.name} does not fit {info.name} "
                                   "(another Stable Diffusion version): pick another one")
            rgba = _control_over_region(req, c.image, c.kind == "tile")
            scaled = cp.scale(rgba, size)
            if cp.needs_detector(c.kind):
                # the backend's own detector, else this computer's (a ComfyUI server's core
                # nodes have none: the depth or pose picture is made here and sent)
                detect = next((d for d in (getattr(b, "detect", None)
                                           for b in (backend, *self.backends)) if callable(d)),
                              None)
                if detect is None:
                    raise RequestError(f"the {backend.name} backend cannot make "
                                       f"{CONTROL_LABELS[c.kind]} pictures")
                self.models.detector(c.kind)  # says what to install before any work
                picture = detect(c.kind, region.rgba_to_rgb(scaled))
            else:
                picture = cp.preprocess(c.kind, scaled)
            out.append(JobControl(kind=c.kind, image=picture, model=model.id,
                                  strength=c.strength, start=c.start, end=c.end))
        return tuple(out)

    def _control_record(self, job: Job, info: ModelInfo) -> list[dict[str, Any]]:
        """Per control: the model that ran (id, name, content hash) and the hash of the
        control picture the model saw."""
        from .models.model_hash import model_sha256

        out = []
        for c in job.controls:
            model = self.models.control_model_for(c.kind, info.arch, c.model)
            try:
                digest: str | None = model_sha256(model.path)
            except OSError:
                digest = None
            out.append({"type": c.kind, "model": model.id, "model_name": model.name,
                        "model_sha256": digest, "strength": c.strength, "start": c.start,
                        "end": c.end, "control_sha256": pixels_sha256(c.image)})
        return out

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
        """Style transfer of the request's region on the style backend (no diffusion model)."""
        t0 = time.perf_counter()
        backend = self.choose_backend(req, None)
        rect, original, sel = _geometry(req)
        assert original is not None
        # The region carries the wide context diffusion wants; the style network needs only
        # the selection and a margin (its capabilities' context), so only that is styled.
        # Outside it the blend mask is zero: the original pixels stay there.
        sb = _bounds(sel)
        h, w = sel.shape
        m = backend.capabilities.context
        x0, y0, x1, y1 = 0, 0, w, h
        if m is not None:
            x0, y0 = max(0, sb.x - m), max(0, sb.y - m)
            x1, y1 = min(w, sb.x + sb.w + m), min(h, sb.y + sb.h + m)
        part = np.ascontiguousarray(original[y0:y1, x0:x1])
        params = {"style": req.style, "style_scale": float(req.style_scale),
                  "preserve_colors": bool(req.preserve_colors), "tile": int(req.tile),
                  "overlap": int(req.overlap)}
        job = Job(op=STYLE, image=part, strength=float(req.strength), params=params,
                  style_image=req.style_image)
        done = backend.generate(job, on_progress, stop)[0]
        if (x0, y0, x1, y1) == (0, 0, w, h):
            styled = done
        else:
            styled = np.array(original, copy=True)
            styled[y0:y1, x0:x1] = done
        alpha = region.blend_mask(sel, region.default_feather(sb.w, sb.h))
        if stop():
            raise Cancelled()
        facts = backend.record(job)
        name = str(facts.pop("model_name", backend.name))
        extra = _stamped(t0, facts)
        return AiResult(request=req, images=[styled], seeds=req.seeds, alpha=alpha, rect=rect,
                        backend=backend.name, model_name=name, size=(w, h), info=extra)

    def _subject(self, req: SubjectRequest, on_progress: ProgressFn | None,
                 stop: Callable[[], bool]) -> AiResult:
        """The main subject's soft mask over the request's region (`AiResult.alpha`), found
        on the request's scaled picture (composited over white) and scaled back."""
        from .cutout import SUBJECT_HINT
        from .segment import over_white

        t0 = time.perf_counter()
        backend = next((b for b in self.backends if req.op in b.capabilities.ops), None)
        if backend is None:
            raise RequestError("finding the subject is not available in this installation")
        path = req.model if req.model != AUTO else self.models.matting()
        if path is None:
            raise RequestError(SUBJECT_HINT)
        assert req.image is not None
        rgb = over_white(req.image)
        job = Job(op=req.op, model=str(path), image=rgb, seeds=tuple(req.seeds))
        soft = backend.generate(job, on_progress, stop)[0]
        rect = req.rect
        if soft.shape != (rect.h, rect.w):
            soft = cv2.resize(soft, (rect.w, rect.h), interpolation=cv2.INTER_LINEAR)
        if stop():
            raise Cancelled()
        facts = backend.record(job)
        name = str(facts.pop("model_name", backend.name))
        extra = _stamped(t0, facts)
        return AiResult(request=req, images=[], seeds=req.seeds, alpha=soft, rect=rect,
                        backend=backend.name, model_name=name,
                        size=(rgb.shape[1], rgb.shape[0]), info=extra)

    def _upscale(self, req: UpscaleRequest, on_progress: ProgressFn | None,
                 stop: Callable[[], bool]) -> AiResult:
        """Every piece of the request scaled: Lanczos here, or a model file tile by tile on
        the upscaler backend (ai/upscale.py, backends/upscale_backend.py)."""
        from pathlib import Path

        from . import upscale as up

        t0 = time.perf_counter()
        rects = up.piece_rects(req, req.canvas_size)
        n = len(req.pieces)
        tiles: list[Any] = []       # each piece, scaled, cut into its layer's tiles
        extra: dict[str, Any] = {"rects": rects, "tiles": tiles}
        if req.model == up.LANCZOS:
            backend_name, name = up.LANCZOS, "Lanczos"
            for i, ((_, _, pixels), rect) in enumerate(zip(req.pieces, rects, strict=True)):
                if stop():
                    raise Cancelled()
                scaled = up.lanczos(pixels, (rect.w, rect.h))
                if on_progress is not None:   # a look at the layer just scaled
                    on_progress(ProgressInfo(i + 1, n, None, "upscaling (Lanczos)",
                                             render=functools.partial(up.preview, scaled)))
                tiles.append(up.layer_grid(scaled, rect, req.offsets[i]))
        else:
            # "<backend>:<file>" (a ComfyUI server's upscaler) names the backend that runs it
            named = self._named(req.model.split(":", 1)[0]) if ":" in req.model else None
            backend = named if named is not None and req.op in named.capabilities.ops else \
                next((b for b in self.backends if req.op in b.capabilities.ops), None)
            if backend is None:
                raise RequestError("upscaling with a model is not available in this "
                                   "installation: use Lanczos")
            given = Path(req.model)
            path = given if given.suffix and given.is_file() else \
                self.models.upscaler(req.model).path
            allow = bool(getattr(self.models, "allow_pickle", False))
            job = None
            for i, ((_, _, pixels), rect) in enumerate(zip(req.pieces, rects, strict=True)):
                phase = f"upscaling ({path.stem})" if n == 1 else \
                    f"upscaling layer {i + 1} of {n} ({path.stem})"
                job = Job(op=req.op, model=str(path), image=pixels, width=rect.w,
                          height=rect.h, seeds=tuple(req.seeds),
                          params={"tile": int(req.tile), "overlap": int(req.overlap),
                                  "allow_pickle": allow, "phase": phase})
                tiles.append(up.layer_grid(backend.generate(job, on_progress, stop)[0], rect,
                                           req.offsets[i]))
            assert job is not None
            facts = backend.record(job)
            backend_name = backend.name
            name = str(facts.pop("model_name", path.stem))
            extra.update(facts)
        if stop():
            raise Cancelled()
        extra.update(_stamped(t0, {}))
        w, h = up.scaled_size(*req.canvas_size, float(req.scale))
        return AiResult(request=req, images=[], seeds=req.seeds,
                        alpha=np.zeros((0, 0), np.uint8), rect=req.rect,
                        backend=backend_name, model_name=name, size=(w, h), info=extra)

    def _reference_style(self, req: Img2ImgRequest, original: np.ndarray,
                         on_progress: ProgressFn | None, stop: Callable[[], bool],
                         facts: dict[str, Any]) -> np.ndarray:
        """The region restyled with the reference (the style backend): the picture the
        diffusion model then repaints at the request's strength."""
        backend = next((b for b in self.backends if STYLE in b.capabilities.ops), None)
        if backend is None:
            raise RequestError("a reference style needs style transfer, which is not "
                               "available in this installation")
        job = Job(op=STYLE, image=original, strength=float(req.style_mix),
                  style_image=req.style_image, params={"style": req.style_reference})
        styled = backend.generate(job, on_progress, stop)[0]
        if stop():
            raise Cancelled()
        st = backend.record(job)
        facts.update(style_reference=st.get("style_name"), style_kind=st.get("style_kind"),
                     style_sha256=st.get("style_sha256"))
        return styled

    def _addons(self, req: AiRequest, info: ModelInfo, backend: Backend,
                facts: dict[str, Any]) -> dict[str, Any]:
        """The job's LoRAs: the prompt's `<lora:name:weight>` tags and the request's LoRAs
        (whose weights win), each installed and made for the model's architecture (a
        RequestError names the one that is not). Their hashes, and those of the embeddings
        the prompts call by name, go in `facts` for the record."""
        from .conditioning import MAX_LORAS
        from .models.lora_files import arch_label
        from .prompt_syntax import used_embeddings

        weights = {lo.name: lo.weight for lo in split_loras(req.prompt)[1]}
        weights.update({lo.name: lo.weight for lo in req.loras})
        if len(weights) > MAX_LORAS:
            raise RequestError(f"at most {MAX_LORAS} LoRAs at once (the prompt's <lora:> tags "
                               "count too)")
        if weights and info.arch not in backend.capabilities.loras:
            raise RequestError(f"the {backend.name} backend takes no LoRAs for {info.name}: "
                               "remove them")
        loras: dict[str, float] = {}  # by file: two spellings of one LoRA count once
        hashes = {}
        trained: list[str] = []
        for name, weight in weights.items():
            try:
                lora = self.models.resolve_lora(name)
            except AiError as exc:
                raise RequestError(str(exc)) from exc
            if lora.arch != info.arch:
                raise RequestError(f"the LoRA \u201c{name}\u201d is for {arch_label(lora.arch)}; "
                                   f"the model {info.name} is {arch_label(info.arch)}.\nRemove "
                                   "the LoRA, or pick a model it was made for.")
            loras.pop(lora.id, None)
            loras[lora.id] = weight
            hashes[name] = self.models.lora_sha256(lora)
            if lora.trained_here:  # Train a Style made it from the artist's own pictures
                trained.append(name)
        prompt, negative = compose(req.prompt, req.negative_prompt, req.style_preset)
        found = {e.id: e for e in self.models.embeddings() if e.arch == info.arch}
        used = used_embeddings((prompt, negative), found)
        if hashes:
            facts["lora_hashes"] = hashes
        if trained:
            facts["loras_trained_here"] = trained
        if used:
            facts["embeddings"] = {n: file_sha256(found[n].path) for n in used}
        return {"loras": tuple(loras.items())} if loras else {}

    def _ip_adapter(self, req: AiRequest, info: ModelInfo, backend: Backend,
                    facts: dict[str, Any]) -> dict[str, Any]:
        """The IP-Adapter fields of the job for `req` (none when it uses none): the installed
        adapter that fits the model (a clear RequestError naming what to install otherwise),
        the reference picture, and their hashes for the record."""
        scale = float(req.ip_adapter_scale)
        if scale <= 0.0:
            return {}
        if not backend.capabilities.ip_adapter:
            raise RequestError(f"the {backend.name} backend takes no IP-Adapter: set its "
                               "strength to 0")
        adapter = self.models.ip_adapter_for(info, req.ip_adapter)
        if req.ip_adapter_image is not None:
            rgb = region.rgba_to_rgb(req.ip_adapter_image)
        else:
            from .backends.style import style_image_rgb

            rgb = style_image_rgb(req.ip_adapter_reference)  # StyleError names the file
        facts.update(ip_adapter=adapter.id,
                     ip_adapter_sha256=file_sha256(adapter.weight_path),
                     ip_adapter_reference_sha256=pixels_sha256(rgb))
        return {"ip_adapter": adapter.id, "ip_adapter_scale": scale,
                "ip_adapter_image": np.ascontiguousarray(rgb)}

    def _diffusion(self, req: AiRequest, info: ModelInfo, backend: Backend,
                   original: np.ndarray | None, sel: np.ndarray, size: tuple[int, int],
                   on_progress: ProgressFn | None, stop: Callable[[], bool],
                   ip: dict[str, Any]) -> tuple[list[np.ndarray], Job]:
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
        prompt, negative = compose(split_loras(req.prompt)[0], req.negative_prompt,
                                   req.style_preset)
        controls = self._job_controls(req, info, backend, size) if req.controls else ()
        if stop():
            raise Cancelled()
        job = Job(op=op, model=info.id, prompt=prompt, negative_prompt=negative,
                  seeds=tuple(req.seeds), steps=int(req.steps), guidance=float(req.guidance),
                  scheduler=req.scheduler, strength=float(req.strength), width=size[0],
                  height=size[1], image=image, mask=mask, controls=controls,
                  decoder=req.decoder, **ip)
        if req.mix is not None:
            prompt_b, negative_b = compose(split_loras(req.mix.prompt_b(req))[0],
                                           req.mix.negative_b(req),
                                           req.style_preset)
            job = job.replace(mix=tuple(zip(req.mix.subseeds, req.mix.ts, strict=True)),
                              prompt_b=prompt_b, negative_b=negative_b)
        images = backend.generate(job, on_progress, stop)
        return [region.resize(im, (w, h)) for im in images], job


    def _tiled(self, req: Img2ImgRequest, info: ModelInfo, backend: Backend,
               original: np.ndarray, on_progress: ProgressFn | None, stop: Callable[[], bool],
               ip: dict[str, Any]) -> tuple[list[np.ndarray], Job]:
        """The refine in tiles (after an upscale): img2img over overlapping tiles of the
        model's size, each tile at its own resolution with its own seed (the request's plus
        its index), blended with weights that sum to one (ai/upscale.py: `tiled`)."""
        from . import upscale as up

        tile = int(req.tile) or int(info.native)
        overlap = min(int(req.tile_overlap), tile // 4)
        h, w = original.shape[:2]
        total = len(up.tile_grid(h, w, tile, overlap))
        prompt, negative = compose(split_loras(req.prompt)[0], req.negative_prompt,
                                   req.style_preset)
        seed = int(req.seeds[0])
        count = [0]
        last: list[Job] = []
        tile_control = self._tile_control(info, backend)

        def run(part: np.ndarray) -> np.ndarray:
            i = count[0]
            count[0] += 1
            th, tw = part.shape[:2]
            size = (max(8, tw // 8 * 8), max(8, th // 8 * 8))   # what the model takes
            image = region.resize(part, size)
            controls: tuple[JobControl, ...] = ()
            if tile_control is not None:   # keeps each tile to what it shows (no new things)
                from . import controls as cp

                rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
                controls = (JobControl(kind="tile", image=cp.preprocess("tile", rgba),
                                       model=tile_control.id, strength=TILE_CONTROL_STRENGTH),)
            job = Job(op="img2img", model=info.id, prompt=prompt, negative_prompt=negative,
                      seeds=(seed + i,), steps=int(req.steps), guidance=float(req.guidance),
                      scheduler=req.scheduler, strength=float(req.strength), width=size[0],
                      height=size[1], image=image, decoder=req.decoder, controls=controls,
                      **ip)
            last[:] = [job]
            phase = f"refining tile {i + 1} of {total}"

            def relay(p: ProgressInfo) -> None:
                assert on_progress is not None
                on_progress(ProgressInfo(p.step, p.total, p.preview, phase, p.render))

            # no listener, no relay: a backend makes step previews only for one
            out = backend.generate(job, relay if on_progress is not None else None, stop)[0]
            return region.resize(out, (tw, th))

        refined = up.tiled(original, run, 1, tile, overlap, None, stop)
        return [refined], last[0]

    def _tile_control(self, info: ModelInfo, backend: Backend) -> Any:
        """The installed Tile control model that fits `info` (the refine in tiles uses it when
        there is one), or None."""
        if "tile" not in backend.capabilities.controls:
            return None
        from .models.ip_adapter import model_cross_dim

        try:
            found = self.models.control_model_for("tile", info.arch)
        except AiError:
            return None                     # none installed: the refine runs without
        cross = model_cross_dim(info)
        if cross is not None and found.cross_dim is not None and found.cross_dim != cross:
            return None
        return found


def _stamped(t0: float, facts: dict[str, Any]) -> dict[str, Any]:
    """A result's info: how long the job took since `t0`, when it was made (UTC, ISO 8601),
    and the backend's facts."""
    return {"timings": {"generate_s": time.perf_counter() - t0},
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **facts}


def _bounds(mask: np.ndarray) -> Rect:
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if ys.size == 0:
        raise RequestError("the selection is empty: select the area to work on first")
    return Rect.from_edges(int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def _one_sort(models: list[Any], specs: tuple[Any, ...]) -> list[Any]:
    """The control models of one job, all union models or all single ones (diffusers runs one
    sort at a time): a union model takes over the controls it serves whose model was not picked
    by hand; a RequestError when that is not enough."""
    unions = [m for m in models if m.union]
    if not unions or len(unions) == len(models):
        return models
    u = unions[0]
    out = [u if not m.union and not c.model and u.serves(c.kind) else m
           for m, c in zip(models, specs, strict=True)]
    if any(not m.union for m in out):
        raise RequestError(f"the union control model {u.name} cannot run beside single control "
                           "models: pick one sort for all the controls")
    return out


def _control_over_region(req: AiRequest, rgba: np.ndarray, replicate: bool) -> np.ndarray:
    """A control layer's pixels over the region the model paints: the request's rect, or for
    outpaint the grown region, the new area transparent (no lines, no edges) or, for a tile
    control, the edge stretched outwards as the picture is."""
    if not isinstance(req, OutpaintRequest):
        return rgba
    layout = req.layout
    strip, rect = layout.strip, layout.region
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(np.ascontiguousarray(rgba), strip.y, rect.h - strip.bottom,
                              strip.x, rect.w - strip.right, border, value=(0, 0, 0, 0))


def _geometry(req: AiRequest) -> tuple[Rect, np.ndarray | None, np.ndarray]:
    """(result rect, original RGB over it or None, selection over it) for a request."""
    if isinstance(req, OutpaintRequest):
        if req.image is None:
            raise RequestError("the outpaint request holds no pixels")
        layout = req.layout
        rect, strip, mask = layout.region, layout.strip, layout.mask
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
