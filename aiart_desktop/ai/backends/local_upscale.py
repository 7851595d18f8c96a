"""Upscaler models (Image › Upscale…) through spandrel and torch (both lazily): one tile at a time.

    up = Upscaler()                                   # device "cpu" (or "auto", "cuda")
    facts = up.load(path)                             # -> LoadedUpscaler (arch, scale, half...)
    up.scale(path)                                    # 2, 4... (loads the model if needed)
    out = up.run(tile, path)                          # (h, w, 3) uint8 -> (h*s, w*s, 3) uint8
    up.unload()                                       # frees the model (and its GPU memory)

spandrel (MIT) recognises ESRGAN-family models (ESRGAN, Real-ESRGAN, SwinIR, HAT, OmniSR,
DAT...) from the tensor names of their weights and builds the right network with the right
scale; this module only checks the file first (models/upscalers.py: `check_upscaler`: a missing
file, a damaged `.safetensors`, a pickle without the user's consent), keeps ONE loaded model
(per path, size and modification time), and runs one RGB8 tile through it under
`torch.inference_mode()`: float32 on the CPU, float16 on CUDA when spandrel says the
architecture supports it. The tiling, overlap and blending are the caller's (ai/upscale.py).
Every failure is an AiError of at most two lines naming the file; the details go to the log.

The torchvision shim. spandrel imports every architecture it knows when it is imported, and two
of them (LaMa and RestoreFormer, neither an upscaler) import a function or two from
`torchvision.transforms.functional` at module level. torchvision cannot be installed beside our
pinned torch (PyPI's build fails to import with it; one that works needs another torch, a
multi-GB CUDA build), so `spandrel_module()` imports spandrel with three tiny stand-in modules
(`torchvision`, `.transforms`, `.transforms.functional`: `InterpolationMode` and functions that
raise a RuntimeError naming the architecture that needs torchvision) and removes them from
`sys.modules` right after: spandrel's modules keep their own references to the stand-ins, and
nothing else (transformers, diffusers, which ask whether torchvision is installed) ever sees a
fake torchvision. When a real torchvision imports, spandrel uses it and no stand-in is made.

Threads: called from the AI worker thread only (the one thread that imports torch); a lock
keeps two callers from loading at once, but the import's short window with the stand-ins in
`sys.modules` assumes no other thread imports transformers or diffusers at that moment.
"""
from __future__ import annotations

import enum
import logging
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    GenerationError,
    MissingDependencyError,
    ModelLoadError,
    OutOfMemoryError,
    RequestError,
    quoted,
)
from ..models.upscalers import check_upscaler

log = logging.getLogger(__name__)

KNOWN = "ESRGAN, Real-ESRGAN, SwinIR, HAT, OmniSR…"
_SHIM = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")
_IMPORT_LOCK = threading.Lock()


class _InterpolationMode(enum.Enum):
    """torchvision's InterpolationMode, as spandrel's LaMa module names it at import."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _needs_torchvision(what: str) -> Any:
    def missing(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"spandrel's {what} architecture needs torchvision, which this app "
                           "does not install (it does not fit our torch)")
    missing.__name__ = what
    return missing


def _stub_modules() -> dict[str, types.ModuleType]:
    root = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    functional.InterpolationMode = _InterpolationMode  # type: ignore[attr-defined]
    functional.rotate = _needs_torchvision("LaMa")  # type: ignore[attr-defined]
    functional.normalize = _needs_torchvision("RestoreFormer")  # type: ignore[attr-defined]
    transforms.functional = functional  # type: ignore[attr-defined]
    root.transforms = transforms  # type: ignore[attr-defined]
    return {m.__name__: m for m in (root, transforms, functional)}


def _forget_spandrel() -> None:
    for name in [n for n in sys.modules if n == "spandrel" or n.startswith("spandrel.")]:
        del sys.modules[name]


def spandrel_module() -> Any:
    """The `spandrel` package, imported once (with the torchvision stand-ins when torchvision
    is not installed; see the module's docstring). Slow the first time: it imports torch."""
    with _IMPORT_LOCK:
        if "spandrel" in sys.modules and hasattr(sys.modules["spandrel"], "ModelLoader"):
            return sys.modules["spandrel"]
        try:
            import spandrel

            return spandrel
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("torchvision"):
                _forget_spandrel()
                if (exc.name or "").startswith("spandrel"):
                    raise MissingDependencyError(
                        "Upscaling with a model needs the spandrel package, which is not "
                        "installed.\nRun `make run` again, or pip install --no-deps "
                        "spandrel==0.4.2.") from exc
                raise MissingDependencyError(
                    f"spandrel, the upscalers' loader, needs {exc.name}, which is not "
                    "installed.\nRun `make run` again to install it.") from exc
            log.info("spandrel: torchvision is not installed; importing with stand-ins")
        _forget_spandrel()
        stubs = _stub_modules()
        saved = {name: sys.modules.get(name) for name in _SHIM}
        sys.modules.update(stubs)
        try:
            import spandrel
        finally:
            for name, module in stubs.items():
                if sys.modules.get(name) is module:
                    del sys.modules[name]
                if saved[name] is not None:
                    sys.modules[name] = saved[name]  # type: ignore[assignment]
        return spandrel


@dataclass(frozen=True)
class LoadedUpscaler:
    """What the loaded model is, as spandrel found it."""

    path: Path
    arch: str                      # spandrel's architecture name ("ESRGAN", "OmniSR"...)
    scale: int                     # output size / input size
    half: bool                     # runs in float16 (CUDA, when the architecture allows it)
    device: str                    # "cpu" or "cuda"
    multiple_of: int = 1           # spandrel pads each tile to a multiple of this (and crops)
    tiling: str = "supported"      # spandrel's advice: "supported", "discouraged", "internal"


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _load_failure(path: Path, exc: BaseException) -> ModelLoadError:
    log.error("loading the upscaler %s failed", path, exc_info=(type(exc), exc, exc.__traceback__))
    return ModelLoadError(f"cannot load the upscaler {quoted(path)}: it is damaged or not a "
                          "model file.\nThe details are in the log.")


class Upscaler:
    """One upscaler model at a time, loaded through spandrel, run one tile at a time."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.loads = 0                 # how many times a model file was read (tests, logs)
        self._key: tuple[str, int, int] | None = None
        self._model: Any = None        # spandrel.ImageModelDescriptor
        self._facts: LoadedUpscaler | None = None
        self._lock = threading.RLock()

    def _device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def load(self, path: str | Path, allow_pickle: bool = False) -> LoadedUpscaler:
        """Load the model in `path` (checked first; kept until another file or `unload`):
        an AiError of at most two lines naming the file when it cannot be used."""
        p = Path(path).expanduser()
        check_upscaler(p, allow_pickle)
        key = _file_key(p)
        with self._lock:
            if self._key == key and self._facts is not None:
                return self._facts
            self.unload()
            spandrel = spandrel_module()
            device = self._device()
            try:
                model = spandrel.ModelLoader(device).load_from_file(str(p))
            except spandrel.UnsupportedModelError as exc:
                log.warning("spandrel does not know the model in %s: %r", p, exc)
                raise ModelLoadError(f"{quoted(p)} is not an upscaler this app knows "
                                     f"({KNOWN}).\nThe details are in the log.") from exc
            except Exception as exc:  # a damaged pickle, a tensor of the wrong shape...
                raise _load_failure(p, exc) from exc
            arch = str(model.architecture.name)
            if not isinstance(model, spandrel.ImageModelDescriptor):
                raise ModelLoadError(f"{quoted(p)} is not an upscaler (spandrel found {arch}).\n"
                                     f"Use an upscaler model file ({KNOWN}).")
            if model.purpose == "FaceSR":
                raise ModelLoadError(f"{quoted(p)} is a face restoration model ({arch}), not "
                                     f"an upscaler.\nUse an upscaler model file ({KNOWN}).")
            if model.input_channels != 3 or model.output_channels != 3:
                raise ModelLoadError(f"{quoted(p)} works on {model.input_channels}-channel "
                                     "pictures, not RGB.\nUse an upscaler made for colour "
                                     "pictures.")
            half = device.startswith("cuda") and bool(model.supports_half)
            model = model.half() if half else model.float()
            model.eval()
            self._model, self._key = model, key
            self._facts = LoadedUpscaler(
                p, arch, int(model.scale), half, device,
                int(model.size_requirements.multiple_of), model.tiling.name.lower())
            self.loads += 1
            log.info("upscaler %s loaded: %s x%d on %s%s", p, arch, model.scale, device,
                     " (float16)" if half else "")
            return self._facts

    def scale(self, path: str | Path, allow_pickle: bool = False) -> int:
        """The model's scale (2, 4...): loads it if it is not the loaded one."""
        return self.load(path, allow_pickle).scale

    def run(self, rgb: np.ndarray, path: str | Path, allow_pickle: bool = False) -> np.ndarray:
        """One tile through the model in `path`: RGB8 (h, w, 3) in, (h*s, w*s, 3) uint8 out."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
            raise RequestError(f"an upscaler tile must be RGB8 (h, w, 3), not {rgb.dtype} "
                               f"{rgb.shape}")
        import torch

        with self._lock:
            facts = self.load(path, allow_pickle)
            model = self._model
            h, w = rgb.shape[:2]
            try:
                with torch.inference_mode():
                    x = torch.from_numpy(np.ascontiguousarray(rgb)).to(facts.device)
                    x = x.permute(2, 0, 1).unsqueeze(0)
                    x = x.to(torch.float16 if facts.half else torch.float32).div_(255.0)
                    y = model(x)
                    y = y[0].float().mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
                    out = y.permute(1, 2, 0).contiguous().cpu().numpy()
            except torch.cuda.OutOfMemoryError as exc:
                log.warning("out of GPU memory upscaling a %dx%d tile with %s", w, h, path)
                raise OutOfMemoryError(f"the GPU ran out of memory upscaling a {w}×{h} tile "
                                       f"with {quoted(facts.path)}.\nUse smaller tiles or the "
                                       "CPU.") from exc
            except RuntimeError as exc:
                log.error("the upscaler %s failed on a %dx%d tile", path, w, h,
                          exc_info=(type(exc), exc, exc.__traceback__))
                raise GenerationError(f"the upscaler {quoted(facts.path)} failed on a {w}×{h} "
                                      "tile.\nThe details are in the log.") from exc
        s = facts.scale
        if out.shape != (h * s, w * s, 3):  # spandrel crops its padding; a model may not
            out = np.ascontiguousarray(out[: h * s, : w * s])
        return out

    def unload(self) -> None:
        """Drop the loaded model (its GPU memory is freed by the next collection)."""
        with self._lock:
            self._model = None
            self._key = None
            self._facts = None
