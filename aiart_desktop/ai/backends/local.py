"""The local diffusers backend: the ONLY module that imports torch / diffusers /
transformers, and only inside functions, so importing it costs nothing.

`LocalBackend(models, device)` implements the `Backend` protocol (ai/backend.py) for the models
its `ModelSource` (the local `ModelRegistry`) offers. It keeps the last model loaded (one base
pipeline plus the txt2img / img2img / inpaint pipelines derived from it with `from_pipe`,
sharing weights), attaches the job's IP-Adapter (backends/ip_adapter_slot.py), runs a `Job`
(model-space pixels) with per-step progress and previews (a TAESD decoder when the source has
one), cancels through `callback_on_step_end`, retries a CUDA out-of-memory failure once with
attention slicing and VAE tiling, and turns any other failure inside the pipeline into a
`GenerationError`, leaving itself ready for the next job. `pickle_facts` reads an allowed pickle
checkpoint's tensor names for the registry (torch.load).

Live painting's fast path (backends/fast_path.py): a job with `decoder="taesd"` has its final
latents decoded by the source's TAESD for the model's family (`ModelSource.preview_decoder`,
loaded once and kept with the model) instead of the VAE, or by the VAE when none is installed;
`record(job)["decoder"]` says which ran. The pipeline runs under `torch.inference_mode()`, with
diffusers' default SDPA attention, channels_last on CUDA, fp16 on CUDA (`select_device`), and
the UNet compiled by `torch.compile` when `compile` is set (CUDA only; a failure, at load or at
the first step, falls back to eager with a line in the log).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import Capabilities
from ..conditioning import CONTROL_KINDS
from ..errors import (
    AiError,
    Cancelled,
    GenerationError,
    MissingDependencyError,
    ModelLoadError,
    OutOfMemoryError,
    quoted,
)
from ..job import Job
from ..memory import collect_garbage
from ..models.source import LOCAL_BACKEND, PAINT_OPS
from ..requests import TAESD, VAE, ProgressInfo
from . import fast_path
from .ip_adapter_slot import Attached, IpAdapterJob
from .local_lora import Addons
from .previews import latent_preview, shrink

if TYPE_CHECKING:
    from ..models.source import ModelInfo, ModelSource

log = logging.getLogger(__name__)

# Pipeline class names by (architecture, operation).
PIPELINES = {
    ("sd", "txt2img"): "StableDiffusionPipeline",
    ("sd", "img2img"): "StableDiffusionImg2ImgPipeline",
    ("sd", "inpaint"): "StableDiffusionInpaintPipeline",
    ("sdxl", "txt2img"): "StableDiffusionXLPipeline",
    ("sdxl", "img2img"): "StableDiffusionXLImg2ImgPipeline",
    ("sdxl", "inpaint"): "StableDiffusionXLInpaintPipeline",
}


class _Interrupt(Exception):
    """Raised from the step callback to stop the pipeline at once."""


def _mixed_noise(torch: Any, partners: dict[int, tuple[Any, float]]) -> Any:
    """A torch function mode (this thread only, for the `with` block) under which every
    `torch.randn(..., generator=g)` with `g` in `partners` returns slerp(that draw, the same
    draw from the partner generator, t). diffusers draws all its noise with `torch.randn`
    through `randn_tensor`: the initial latents, the VAE's posterior sample of an input image,
    an ancestral sampler's per-step noise. So at t = 0 the run is exactly seed A's, at t = 1
    exactly seed B's, and in between every draw walks the great circle from one to the other."""
    from torch.overrides import TorchFunctionMode

    from ..latents import slerp

    class MixedNoise(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            gen = kwargs.get("generator")
            if func is torch.randn and gen is not None and id(gen) in partners:
                other, t = partners[id(gen)]
                a = func(*args, **kwargs)
                b = func(*args, **{**kwargs, "generator": other})
                return slerp(a, b, t)
            return func(*args, **kwargs)

    return MixedNoise()


# Where diffusers draws noise: the pipelines' latent preparation (initial noise, the VAE's
# posterior sample of an input image, the masked image's for a 9-channel UNet) and the sampler's
# step (ancestral / LCM noise). The mode is active only inside these, so the UNet's thousands of
# operations per step pay nothing for it.
_NOISY = (("pipe", "prepare_latents"), ("pipe", "prepare_mask_latents"), ("scheduler", "step"))


@contextlib.contextmanager
def _scoped(mode: Any, pipe: Any) -> Iterator[None]:
    """`mode` active inside the noisy methods of `pipe` and its scheduler, for this call only
    (instance attributes shadowing the methods, removed afterwards: the pipeline is shared)."""
    done: list[tuple[Any, str]] = []
    try:
        for owner, name in _NOISY:
            obj = pipe if owner == "pipe" else pipe.scheduler
            orig = getattr(obj, name, None)
            if orig is None:
                continue

            # wraps(): pipelines read the step's signature to decide whether to pass the
            # generator (prepare_extra_step_kwargs)
            @functools.wraps(orig)
            def wrapped(*a: Any, _orig: Any = orig, **k: Any) -> Any:
                with mode:
                    return _orig(*a, **k)

            obj.__dict__[name] = wrapped
            done.append((obj, name))
        yield
    finally:
        for obj, name in done:
            obj.__dict__.pop(name, None)


def _prompt_embeds(pipe: Any, arch: str, prompt: str, negative: str | None, cfg: bool,
                   torch: Any) -> dict[str, Any]:
    """The pipeline's own prompt encoding, as keyword arguments for its `__call__`."""
    with torch.no_grad():
        if arch == "sdxl":
            pe, ne, pp, npp = pipe.encode_prompt(
                prompt, device=pipe.device, num_images_per_prompt=1,
                do_classifier_free_guidance=cfg, negative_prompt=negative)
            out = {"prompt_embeds": pe, "negative_prompt_embeds": ne,
                   "pooled_prompt_embeds": pp, "negative_pooled_prompt_embeds": npp}
        else:
            pe, ne = pipe.encode_prompt(prompt, pipe.device, 1, cfg, negative_prompt=negative)
            out = {"prompt_embeds": pe, "negative_prompt_embeds": ne}
    return {k: v for k, v in out.items() if v is not None}


def _lerp_prompts(pipe: Any, arch: str, job: Job, t: float, guidance: float,
                  torch: Any) -> dict[str, Any]:
    """Prompt embeddings lerped from the job's prompt (t = 0) to `prompt_b` (t = 1)."""
    from ..latents import lerp
    from .local_lora import weighted_prompts

    cfg = guidance > 1.0 and getattr(pipe.unet.config, "time_cond_proj_dim", None) is None
    neg_b = job.negative_prompt if job.negative_b is None else job.negative_b
    prompt_b = job.prompt if job.prompt_b is None else job.prompt_b
    pair = weighted_prompts(pipe, arch, [(job.prompt, job.negative_prompt), (prompt_b, neg_b)],
                            torch)  # weighting syntax or long prompts: both by compel
    if pair is not None:
        a, b = pair
        return {k: lerp(a[k], b[k], t) for k in a}
    a = _prompt_embeds(pipe, arch, job.prompt, job.negative_prompt or None, cfg, torch)
    b = _prompt_embeds(pipe, arch, prompt_b, neg_b or None, cfg, torch)
    return {k: lerp(a[k], b[k], t) for k in a}


def _imports() -> tuple[Any, Any]:
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"AI generation needs torch and diffusers, which are not installed ({exc.name}); "
            "Fill selection without a model still works") from exc
    global _quiet
    if not _quiet:
        _quiet = True
        diffusers.utils.logging.set_verbosity_error()
        diffusers.utils.logging.disable_progress_bar()
        try:
            import transformers

            transformers.utils.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
        except ImportError:
            pass
    return torch, diffusers


_quiet = False


def _dtype_kwargs(dtype: Any) -> dict[str, Any]:
    """`dtype=` where diffusers has it (`torch_dtype` is deprecated there), else `torch_dtype=`."""
    import importlib.util

    spec = importlib.util.find_spec("diffusers.utils.deprecation_utils")
    if spec is not None:
        from diffusers.utils import deprecation_utils

        if hasattr(deprecation_utils, "_resolve_dtype"):
            return {"dtype": dtype}
    return {"torch_dtype": dtype}


def select_device(preference: str = "auto") -> tuple[str, str]:
    """(device, dtype name): CUDA in fp16, else Apple MPS, else the CPU in fp32; a preference
    other than "auto" is honoured or refused with a clear message."""
    torch, _ = _imports()
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if preference == "auto":
        preference = "cuda" if cuda else "mps" if mps else "cpu"
    if preference == "cuda" and not cuda:
        raise AiError("the CUDA device is chosen in the settings but no CUDA GPU is available")
    if preference == "mps" and not mps:
        raise AiError("the MPS device is chosen in the settings but Apple's MPS is not available")
    if preference not in ("cuda", "mps", "cpu"):
        raise AiError(f"unknown device {preference!r} (use auto, cuda, mps or cpu)")
    return preference, "float16" if preference == "cuda" else "float32"


def make_scheduler(name: str, config: Any) -> Any:
    """A scheduler instance for one of the ids in `requests.SCHEDULERS`."""
    _, d = _imports()
    if name == "euler_a":
        return d.EulerAncestralDiscreteScheduler.from_config(config)
    if name == "dpmpp_2m":
        return d.DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2)
    if name == "ddim":
        return d.DDIMScheduler.from_config(config)
    if name == "lcm":
        return d.LCMScheduler.from_config(config)
    raise AiError(f"unknown scheduler {name!r}")


def _generation_failure(info: ModelInfo, exc: BaseException) -> GenerationError:
    """A failure inside the pipeline, in words; the exception and its traceback are logged."""
    log.error("%s (%s) failed while generating", info.name, info.path,
              exc_info=(type(exc), exc, exc.__traceback__))
    return GenerationError(f"the model \u201c{info.name}\u201d failed while generating; "
                           "nothing was changed.\nTry again, or another model; the details are "
                           "in the log.")


def _diagnosis(cls: Any, info: ModelInfo, dtype: Any, exc: BaseException) -> BaseException:
    """The failure to explain. Loading without initialising on the meta device (accelerate's
    default) stops at the first weight of another shape; for a single-file checkpoint that
    failed so, load it once more the slow way, which names every such weight (the message
    counts them, the log lists them). Anything else: `exc` itself."""
    if info.source != "checkpoint" or "expected shape" not in str(exc):
        return exc
    try:
        cls.from_single_file(str(info.path), config=str(info.config_path), local_files_only=True,
                             low_cpu_mem_usage=False, **_dtype_kwargs(dtype))
    except Exception as full:
        if "size mismatch" in str(full):
            return full
    return exc


def _is_oom(exc: BaseException, torch: Any) -> bool:
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class LocalBackend:
    """Loads and runs diffusers pipelines; one at a time, last model kept loaded."""

    name = LOCAL_BACKEND
    capabilities = Capabilities(ops=frozenset(PAINT_OPS), archs=frozenset({"sd", "sdxl"}),
                                controls=frozenset(CONTROL_KINDS),
                                loras=frozenset({"sd", "sdxl"}), previews=True, ip_adapter=True)

    def __init__(self, models: ModelSource, device: str = "auto", compile: bool = False) -> None:
        self.models = models
        self.device_preference = device
        self.compile = compile          # torch.compile the UNet at load (settings.torch_compile)
        self.compile_on_cpu = False     # CUDA only, unless a test asks for it
        self.compiled = False           # the loaded UNet is compiled
        self.decoded: str = VAE         # the decoder of the last job that ran (record())
        self._lock = threading.RLock()
        self._key: tuple[str, str, str] | None = None
        self._pipes: dict[str, Any] = {}
        self._base_scheduler: Any = None
        self._taesd: tuple[str, Any] | None = None
        self._ip: Attached | None = None  # the IP-Adapter loaded in the UNet, if any
        self._addons = Addons()  # LoRAs and embeddings in the loaded model (local_lora.py)
        self._control: Any = None    # local_control.ControlSlot, made at the first control
        self._detectors: Any = None  # local_control.Detectors, made at the first detection
        self.low_memory = False  # set after an out-of-memory retry
        # The last prompt's embeddings (live painting re-runs one prompt at every stroke):
        # (key, embeddings) while the model, prompt, negative prompt and guidance are unchanged.
        self.cache_prompts = True
        self._embeds: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self.embeds_encoded = 0  # prompts encoded through the cache (tests, benchmark)

    # ---- model management ---------------------------------------------------------------
    def set_device(self, device: str) -> None:
        """"auto", "cuda", "mps" or "cpu"; takes effect at the next model load."""
        if device != self.device_preference:
            self.unload()
            self.device_preference = device

    @property
    def loaded(self) -> str | None:
        return self._key[0] if self._key else None

    def unload(self) -> None:
        """Drop the loaded model and free its memory."""
        with self._lock:
            self._pipes.clear()
            self._key, self._base_scheduler, self._taesd, self._ip = None, None, None, None
            self.compiled = False
            self._embeds = None
            self._addons.reset()
            if self._control is not None:
                self._control.clear()
            self.low_memory = False
            collect_garbage()
            try:
                import torch
            except ImportError:
                return
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def load(self, info: ModelInfo) -> None:
        """Load `info` (unless it is already loaded), unloading the previous model."""
        device, dtype = select_device(self.device_preference)
        key = (str(info.path), device, dtype)
        with self._lock:
            if self._key == key:
                return
            self.unload()
            pipe = self._load_base(info, device, dtype)
            pipe.set_progress_bar_config(disable=True)
            wanted = self.compile and (device == "cuda" or self.compile_on_cpu)
            self.compiled = fast_path.speed_up(pipe, device, wanted, _imports()[0])
            self._pipes = {type(pipe).__name__: pipe}
            self._base_scheduler = pipe.scheduler.config
            self._key = key

    def _load_base(self, info: ModelInfo, device: str, dtype_name: str) -> Any:
        return load_base(info, device, dtype_name)

    def _pipeline(self, info: ModelInfo, op: str, job: Job | None = None) -> Any:
        _, d = _imports()
        arch = info.facts.arch
        if job is not None and job.controls:  # a ControlNet pipeline sharing the base's weights
            return self._controlled(info, "inpaint" if info.facts.inpaint else op, job)
        # A 9-channel inpaint UNet can only run the inpaint pipeline (full mask for txt2img).
        name = PIPELINES[(arch, "inpaint" if info.facts.inpaint else op)]
        if name not in self._pipes:
            base = next(iter(self._pipes.values()))
            pipe = getattr(d, name).from_pipe(base)
            pipe.set_progress_bar_config(disable=True)
            self._pipes[name] = pipe
        return self._pipes[name]

    def _control_models(self, info: ModelInfo, job: Job) -> list[Any]:
        return [self.models.control_model_for(c.kind, info.arch, c.model) for c in job.controls]

    def _controlled(self, info: ModelInfo, op: str, job: Job) -> Any:
        from .local_control import ControlSlot

        if self._control is None:
            self._control = ControlSlot()
        base = next(iter(self._pipes.values()))
        infos = self._control_models(info, job)
        cache = Path(getattr(self.models, "root", Path.home())) / ".configs"
        nets = self._control.nets(infos, base.device, base.unet.dtype, cache)
        return self._control.pipeline(base, info.facts.arch, op, infos, nets)

    def detect(self, kind: str, rgb: np.ndarray) -> np.ndarray:
        """The `kind` ("depth", "pose") control picture of `rgb` by the source's detector."""
        from .local_control import Detectors

        folder = self.models.detector(kind)
        _imports()
        with self._lock:
            if self._detectors is None:
                self._detectors = Detectors()
            return self._detectors.detect(kind, rgb, folder)

    def _preview_vae(self, path: str | None, device: str, dtype: Any) -> Any:
        if path is None:
            return None
        if self._taesd is None or self._taesd[0] != path:
            _, d = _imports()
            try:
                vae = d.AutoencoderTiny.from_pretrained(path, local_files_only=True,
                                                        **_dtype_kwargs(dtype))
            except Exception as exc:  # previews are optional
                log.warning("TAESD preview decoder %s not usable: %s", path, exc)
                return None
            vae = vae.to(device)
            if str(device).split(":")[0] in fast_path.CHANNELS_LAST_DEVICES:
                vae.to(memory_format=_imports()[0].channels_last)
            self._taesd = (path, vae)
        return self._taesd[1]

    # ---- generation ---------------------------------------------------------------------
    def generate(self, job: Job, on_progress: Callable[[ProgressInfo], None] | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        """Run `job` with its model (`job.model`, an id of `self.models`); one RGB8 image per
        seed, `job.width` x `job.height`."""
        info = self.models.inspect(job.model)
        ip = self._ip_adapter(job, info)
        tiny = (self.models.preview_decoder(info.arch)
                if on_progress or job.decoder == TAESD else None)
        return self._generate(info, job, ip, on_progress, cancelled,
                              None if tiny is None else str(tiny))

    def record(self, job: Job) -> dict[str, Any]:
        """The device asked for, whether memory-saving was needed (out of memory once), and
        the decoder that made the pixels ("taesd" only when asked and installed)."""
        return {"device": self.device_preference, "low_memory": self.low_memory,
                "decoder": self.decoded}

    def _ip_adapter(self, job: Job, info: ModelInfo) -> IpAdapterJob | None:
        """Where the job's IP-Adapter is, its scale and reference (None: the job uses none)."""
        if job.ip_adapter_scale <= 0.0:
            return None
        if job.ip_adapter_image is None:
            raise AiError("the IP-Adapter job holds no reference picture")
        adapter = (self.models.resolve_ip_adapter(job.ip_adapter) if job.ip_adapter
                   else self.models.ip_adapter_for(info))
        return IpAdapterJob(str(adapter.root), adapter.weight, adapter.encoder,
                            job.ip_adapter_scale, np.ascontiguousarray(job.ip_adapter_image))

    def _generate(self, info: ModelInfo, job: Job, ip: IpAdapterJob | None,
                  on_progress: Callable[[ProgressInfo], None] | None,
                  cancelled: Callable[[], bool], preview_vae: str | None = None
                  ) -> list[np.ndarray]:
        if on_progress and self.loaded != str(info.path):
            # Importing torch and diffusers (first job) and reading the weights take seconds
            # with no steps to count: total 0 says "busy", not a full bar.
            on_progress(ProgressInfo(0, 0, None, "loading the model"))
        torch, _ = _imports()
        with self._lock:
            self.load(info)
            if cancelled():
                raise Cancelled()
            pipe = self._pipeline(info, job.op, job)
            if ip is not None or self._ip is not None:
                from .ip_adapter_slot import attach

                if on_progress and ip is not None and self._ip is None:
                    on_progress(ProgressInfo(0, 1, None, "loading IP-Adapter"))
                shared = list(self._pipes.values())
                if self._control is not None and self._control.current is not None:
                    shared.append(self._control.current)  # a ControlNet pipeline shares it too
                self._ip = attach(pipe, shared, self._ip, ip)
            job = self._addons.apply(pipe, job, self.models, info.facts.arch)
            pipe.scheduler = make_scheduler(job.scheduler, self._base_scheduler)
            device = pipe.device
            taesd = (self._preview_vae(preview_vae, device, pipe.unet.dtype)
                     if on_progress or job.decoder == TAESD else None)
            self.decoded = TAESD if job.decoder == TAESD and taesd is not None else VAE
            try:
                return self._run_batch(pipe, info, job, on_progress, cancelled, taesd, torch,
                                       one_by_one=False)
            except Cancelled:
                raise
            except _Interrupt:
                raise Cancelled() from None
            except AiError:
                raise
            except Exception as exc:
                if self.compiled and not _is_oom(exc, torch):
                    return self._eager_again(pipe, info, job, on_progress, cancelled, taesd,
                                             torch, exc)
                if not _is_oom(exc, torch):
                    raise _generation_failure(info, exc) from exc
            # Out of memory: free what we can, save memory, and try once more.
            self._addons.trim(pipe)  # LoRAs kept loaded but not used by this job
            collect_garbage()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            pipe.enable_attention_slicing()
            if hasattr(pipe.vae, "enable_tiling"):
                pipe.vae.enable_tiling()
            self.low_memory = True
            try:
                return self._run_batch(pipe, info, job, on_progress, cancelled, taesd, torch,
                                       one_by_one=True)
            except _Interrupt:
                raise Cancelled() from None
            except Exception as exc:
                if _is_oom(exc, torch):
                    raise OutOfMemoryError(
                        "the GPU ran out of memory, even with attention slicing and VAE "
                        "tiling: select a smaller area, make fewer variations, or use the "
                        "CPU device in the settings") from exc
                raise _generation_failure(info, exc) from exc

    def _eager_again(self, pipe: Any, info: ModelInfo, job: Job,
                     on_progress: Callable[[ProgressInfo], None] | None,
                     cancelled: Callable[[], bool], taesd: Any, torch: Any,
                     exc: BaseException) -> list[np.ndarray]:
        """The compiled UNet failed (tracing happens at the first step): back to eager for
        good, said in the log, and the job run once more."""
        log.warning("the compiled UNet failed; running eager from now on: %s", exc,
                    exc_info=(type(exc), exc, exc.__traceback__))
        fast_path.uncompile(pipe)
        self.compiled = False
        try:
            return self._run_batch(pipe, info, job, on_progress, cancelled, taesd, torch,
                                   one_by_one=False)
        except _Interrupt:
            raise Cancelled() from None
        except (AiError, Cancelled):
            raise
        except Exception as again:
            raise _generation_failure(info, again) from again

    def _run_batch(self, pipe: Any, info: ModelInfo, job: Job,
                   on_progress: Callable[[ProgressInfo], None] | None,
                   cancelled: Callable[[], bool], taesd: Any, torch: Any,
                   one_by_one: bool) -> list[np.ndarray]:
        """All variations of `job`. Image-based operations (inpaint, img2img, outpaint, and
        anything on an inpainting UNet) run one seed per call: diffusers encodes the input
        image with the first generator only, so a batched variation could not be reproduced
        from its own seed later (Re-generate). Plain txt2img batches are exact per seed."""
        n = len(job.seeds)
        if n == 1 or (not one_by_one and job.op == "txt2img" and not info.facts.inpaint
                      and job.mix is None):
            return self._run(pipe, info, job, on_progress, cancelled, taesd, torch)
        images: list[np.ndarray] = []
        for k, seed in enumerate(job.seeds):
            if cancelled():  # between frames / variations
                raise Cancelled()
            mix = None if job.mix is None else (job.mix[k],)
            one = job.replace(seeds=(seed,), mix=mix)
            report = None
            if on_progress is not None:
                def report(p: ProgressInfo, k: int = k) -> None:
                    on_progress(ProgressInfo(p.step + k * p.total, p.total * n, p.preview,
                                             p.phase, p.render))
            images += self._run(pipe, info, one, report, cancelled, taesd, torch)
        return images

    def _run(self, pipe: Any, info: ModelInfo, job: Job,
             on_progress: Callable[[ProgressInfo], None] | None,
             cancelled: Callable[[], bool], taesd: Any, torch: Any) -> list[np.ndarray]:
        from PIL import Image

        arch = info.facts.arch
        n = len(job.seeds)
        kwargs: dict[str, Any] = dict(
            prompt=job.prompt, negative_prompt=job.negative_prompt or None,
            num_inference_steps=int(job.steps), guidance_scale=float(job.guidance),
            generator=[torch.Generator("cpu").manual_seed(int(s)) for s in job.seeds],
            num_images_per_prompt=n, output_type="np",
            callback_on_step_end_tensor_inputs=["latents"],
        )
        op, strength = job.op, float(job.strength)
        image, mask = job.image, job.mask
        if info.facts.inpaint and op != "inpaint":
            # 9-channel UNet: txt2img / img2img are inpaints of the whole picture.
            if image is None:
                image = np.full((job.height, job.width, 3), 127, np.uint8)
                strength = 1.0
            mask = np.full((job.height, job.width), 255, np.uint8)
            op = "inpaint"
        if op == "txt2img":
            kwargs.update(width=job.width, height=job.height)
        else:
            assert image is not None
            # Keep at least one denoising step at low strength.
            kwargs["num_inference_steps"] = max(int(job.steps), int(np.ceil(1.0 / max(
                strength, 1e-3))))
            kwargs.update(image=Image.fromarray(image), strength=strength)
            if op == "inpaint":
                assert mask is not None
                kwargs.update(mask_image=Image.fromarray(mask, "L"), width=job.width,
                              height=job.height)
                if arch == "sdxl" and strength >= 1.0:
                    kwargs["strength"] = 0.9999  # SDXL inpaint's own default
        step_total = [max(1, int(round(kwargs["num_inference_steps"] * min(strength, 1.0))))]

        def on_step(p: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            if cancelled():
                p._interrupt = True
                raise _Interrupt()
            if on_progress is not None:
                total = int(getattr(p, "_num_timesteps", 0) or step_total[0])
                latents = tensors.get("latents")
                # Decoded only when a listener shows it (live frames show none).
                on_progress(ProgressInfo(min(i + 1, total), total, render=lambda: self._preview(
                    latents, arch, taesd, torch)))
            return {}

        kwargs["callback_on_step_end"] = on_step
        if job.controls:
            from .local_control import control_kwargs

            kwargs.update(control_kwargs(job, op, self._control_models(info, job)))
        if job.ip_adapter_scale > 0.0 and job.ip_adapter_image is not None:
            kwargs["ip_adapter_image"] = Image.fromarray(job.ip_adapter_image)
        mode = None
        if job.mix is not None:  # one image per call (see _run_batch)
            (other, t), = job.mix
            partner = torch.Generator("cpu").manual_seed(int(other))
            mode = _mixed_noise(torch, {id(kwargs["generator"][0]): (partner, float(t))})
            differs = (job.prompt_b is not None and job.prompt_b != job.prompt) or (
                job.negative_b is not None and job.negative_b != job.negative_prompt)
            if differs:
                del kwargs["prompt"], kwargs["negative_prompt"]
                kwargs.update(_lerp_prompts(pipe, arch, job, float(t), job.guidance, torch))
        if "prompt" in kwargs:  # weighting syntax or past 77 tokens: compel's embeddings
            from .local_lora import weighted_prompts

            weighted = weighted_prompts(pipe, arch, [(job.prompt, job.negative_prompt)], torch)
            if weighted is not None:
                del kwargs["prompt"], kwargs["negative_prompt"]
                kwargs.update(weighted[0])
            elif self._cacheable(job):
                del kwargs["prompt"], kwargs["negative_prompt"]
                kwargs.update(self._cached_embeds(pipe, arch, job, torch))
        tiny = taesd if job.decoder == TAESD else None
        if tiny is not None:  # the final latents, decoded below by TAESD instead of the VAE
            kwargs["output_type"] = "latent"
        if cancelled():
            raise Cancelled()
        with torch.inference_mode(), (contextlib.nullcontext() if mode is None
                                      else _scoped(mode, pipe)):
            out = pipe(**kwargs).images
            if tiny is not None:
                out = fast_path.taesd_decode(pipe, tiny, out, torch)
        if cancelled():
            raise Cancelled()
        arr = np.asarray(out, np.float32)
        return [np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8) for a in arr]

    def _cacheable(self, job: Job) -> bool:
        """Plain prompts on a model with no LoRA or embedding loaded (those change the text
        encoder or its tokens) and no IP-Adapter: what the pipeline would encode itself."""
        a = self._addons
        return (self.cache_prompts and not job.loras and not a.adapters and not a.embeddings
                and self._ip is None)

    def _cached_embeds(self, pipe: Any, arch: str, job: Job, torch: Any) -> dict[str, Any]:
        """The pipeline's own encoding of the job's prompt (`_prompt_embeds`, bit-identical to
        what `pipe(prompt=...)` computes), kept while the prompt and the model are the same."""
        cfg = (float(job.guidance) > 1.0
               and getattr(pipe.unet.config, "time_cond_proj_dim", None) is None)
        negative = job.negative_prompt or None
        key = (self._key, id(pipe.text_encoder), arch, job.prompt, negative, cfg)
        if self._embeds is None or self._embeds[0] != key:
            self._embeds = (key, _prompt_embeds(pipe, arch, job.prompt, negative, cfg, torch))
            self.embeds_encoded += 1
        return dict(self._embeds[1])

    @staticmethod
    def _preview(latents: Any, arch: str, taesd: Any, torch: Any) -> np.ndarray | None:
        if latents is None:
            return None
        with torch.no_grad():
            lat = latents[:1]
            if taesd is not None:
                try:
                    img = taesd.decode(lat.to(taesd.dtype)).sample[0]
                    rgb = ((img.float().clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0)
                    return shrink(rgb.round().byte().cpu().numpy())
                except Exception as exc:  # fall back to the approximation
                    log.debug("TAESD preview failed: %s", exc)
            arr = lat[0].float().cpu().numpy()
        return shrink(latent_preview(arr, arch))


def load_base(info: ModelInfo, device: str, dtype_name: str) -> Any:
    """The base pipeline of `info` on `device` in `dtype_name`, loaded by diffusers from the
    local files only; every loader failure a ModelLoadError naming the file (the trainer, too,
    loads its base model here)."""
    torch, d = _imports()
    dtype = getattr(torch, dtype_name)
    facts = info.facts
    op = "inpaint" if facts.inpaint else "txt2img"
    cls = getattr(d, PIPELINES[(facts.arch, op)])
    try:
        if info.source == "checkpoint":
            pipe = cls.from_single_file(str(info.path), config=str(info.config_path),
                                        local_files_only=True, **_dtype_kwargs(dtype))
        else:
            kwargs: dict[str, Any] = {**_dtype_kwargs(dtype), "local_files_only": True}
            if facts.variant:
                kwargs["variant"] = facts.variant
            if not info.allow_pickle:
                kwargs["use_safetensors"] = True
            if facts.arch == "sd":
                kwargs.update(safety_checker=None, feature_extractor=None,
                              requires_safety_checker=False)
            pipe = cls.from_pretrained(str(info.path), **kwargs)
        return pipe.to(device)
    except (AiError, MemoryError):
        raise
    except Exception as exc:  # every loader failure names the file
        from ..models.checkpoints import load_failure

        raise load_failure(info.path, facts, _diagnosis(cls, info, dtype, exc)) from exc


def pickle_facts(path: Any) -> Any:
    """What an (explicitly allowed) pickle checkpoint is, from its tensor names."""
    from ..models.checkpoints import facts_from_keys

    torch, _ = _imports()
    try:
        try:
            sd = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        log.warning("cannot read the pickle checkpoint %s", path, exc_info=True)
        raise ModelLoadError(f"cannot read the checkpoint {quoted(path)}: it is damaged or not "
                             "a checkpoint.\nThe details are in the log.") from exc
    if isinstance(sd, dict) and isinstance(sd.get("state_dict"), dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        log.warning("%s holds a %s, not a state dict", path, type(sd).__name__)
        raise ModelLoadError(f"{quoted(path)} is not a model checkpoint (it holds no weights)")
    shapes = {k: list(v.shape) for k, v in sd.items() if hasattr(v, "shape")}
    import os

    return facts_from_keys(shapes, os.path.getsize(path), str(path))
