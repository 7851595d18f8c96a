"""ControlNets and control detectors for the local diffusers backend (torch, lazily).

`ControlSlot` is the local backend's (backends/local.py) memory of control models: each
`ControlModelInfo` (models/control_models.py) is loaded once per file, device and dtype
(`ControlNetModel` / `ControlNetUnionModel`: a diffusers folder, a diffusers-layout single file
with its config, or an original-layout file through `from_single_file` with the shipped
config), and the controlled pipeline (`StableDiffusionControlNet{,Img2Img,Inpaint}Pipeline`,
the SDXL ones, the SDXL union ones) is built with `from_pipe` from the loaded base, so the
base's weights are shared. Several controls run as a multi-ControlNet (`MultiControlNetModel`;
a union model repeated in a `MultiControlNetUnionModel`, one control type each).

`control_kwargs(job, op, union)` gives a pipeline call's control arguments: the control
pictures (`image` for plain txt2img, `control_image` otherwise), `controlnet_conditioning_scale`,
`control_guidance_start` / `_end` (lists for several controls) and, for a union model,
`control_mode`.

`Detectors` runs the depth (Depth Anything, `DepthAnythingForDepthEstimation`) and pose
(ViTPose, `VitPoseForPoseEstimation`) models through transformers, once loaded per folder;
the pictures they give are drawn by ai/controls.py.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AiError, ModelLoadError, quoted
from ..job import Job

if TYPE_CHECKING:
    from ..models.control_models import ControlModelInfo

log = logging.getLogger(__name__)

CONTROL_PIPELINES = {
    ("sd", "txt2img"): "StableDiffusionControlNetPipeline",
    ("sd", "img2img"): "StableDiffusionControlNetImg2ImgPipeline",
    ("sd", "inpaint"): "StableDiffusionControlNetInpaintPipeline",
    ("sdxl", "txt2img"): "StableDiffusionXLControlNetPipeline",
    ("sdxl", "img2img"): "StableDiffusionXLControlNetImg2ImgPipeline",
    ("sdxl", "inpaint"): "StableDiffusionXLControlNetInpaintPipeline",
}
UNION_PIPELINES = {
    ("sdxl", "txt2img"): "StableDiffusionXLControlNetUnionPipeline",
    ("sdxl", "img2img"): "StableDiffusionXLControlNetUnionImg2ImgPipeline",
    ("sdxl", "inpaint"): "StableDiffusionXLControlNetUnionInpaintPipeline",
}


KEEP = 4  # control models kept loaded (besides those of the current job)


def _load_failure(path: Path, exc: BaseException) -> ModelLoadError:
    log.error("loading the control model %s failed", path,
              exc_info=(type(exc), exc, exc.__traceback__))
    return ModelLoadError(f"cannot load the control model {quoted(path)}: it is damaged or made "
                          "for another program.\nThe details are in the log.")


def load_control_net(info: ControlModelInfo, device: str, dtype: Any, cache_root: Path) -> Any:
    """The ControlNet (or union ControlNet) of `info`, on `device` in `dtype`."""
    import diffusers
    import torch

    from .local import _dtype_kwargs

    cls = diffusers.ControlNetUnionModel if info.union else diffusers.ControlNetModel
    try:
        if info.layout == "folder":
            kw: dict[str, Any] = {**_dtype_kwargs(dtype), "local_files_only": True}
            if info.variant:
                kw["variant"] = info.variant
            if not info.allow_pickle:
                kw["use_safetensors"] = True
            net = cls.from_pretrained(str(info.path), **kw)
        elif info.layout == "diffusers":
            from safetensors.torch import load_file

            net = cls.from_config(cls.load_config(info.config))
            net.load_state_dict(load_file(str(info.path)), strict=True)
        else:
            from ..models.control_models import shipped_config

            folder = shipped_config(info.config, cache_root)
            net = diffusers.ControlNetModel.from_single_file(
                str(info.path), config=str(folder), local_files_only=True,
                **_dtype_kwargs(dtype))
        net = net.to(device=device, dtype=dtype)
        net.eval()
        return net
    except (AiError, MemoryError, torch.cuda.OutOfMemoryError):
        raise
    except Exception as exc:
        raise _load_failure(info.path, exc) from exc


class ControlSlot:
    """Loaded control models and the controlled pipeline built on the loaded base model."""

    def __init__(self) -> None:
        self._nets: dict[tuple[str, str, str], Any] = {}
        self._pipe: tuple[tuple[Any, ...], Any] | None = None

    def clear(self) -> None:
        self._nets.clear()
        self._pipe = None

    def nets(self, infos: list[ControlModelInfo], device: str, dtype: Any,
             cache_root: Path) -> list[Any]:
        out, keys = [], []
        for info in infos:
            key = (str(info.path), str(device), str(dtype))
            net = self._nets.pop(key, None)  # re-inserted: the most recently used last
            if net is None:
                net = load_control_net(info, device, dtype, cache_root)
            self._nets[key] = net
            out.append(net)
            keys.append(key)
        others = [k for k in self._nets if k not in keys]
        for old in others[:max(0, len(others) - KEEP)]:
            del self._nets[old]  # the least recently used beyond KEEP
            self._pipe = None
        return out

    def pipeline(self, base: Any, arch: str, op: str, infos: list[ControlModelInfo],
                 nets: list[Any]) -> Any:
        """The controlled pipeline for `op` with `nets` (one per control), sharing `base`'s
        components; the last one is kept for the next job with the same models."""
        import diffusers
        from diffusers.models.controlnets import MultiControlNetModel, MultiControlNetUnionModel

        union = infos[0].union
        if any(i.union != union for i in infos):
            raise AiError("a union control model cannot be mixed with single control models: "
                          "pick control models of one sort")
        name = (UNION_PIPELINES if union else CONTROL_PIPELINES).get((arch, op))
        if name is None:
            raise AiError(f"union control models work with SDXL models only, not {arch}")
        key = (name, id(base), *(id(n) for n in nets))
        if self._pipe is not None and self._pipe[0] == key:
            return self._pipe[1]
        if len(nets) == 1:
            controlnet = nets[0]
        else:
            controlnet = (MultiControlNetUnionModel if union else MultiControlNetModel)(nets)
        pipe = getattr(diffusers, name).from_pipe(base, controlnet=controlnet)
        pipe.set_progress_bar_config(disable=True)
        self._pipe = (key, pipe)
        return pipe

    @property
    def current(self) -> Any:
        return None if self._pipe is None else self._pipe[1]


def control_kwargs(job: Job, op: str, infos: list[ControlModelInfo]) -> dict[str, Any]:
    """A controlled pipeline call's control arguments for `job` run as `op`."""
    from PIL import Image

    pictures = [Image.fromarray(np.ascontiguousarray(c.image)) for c in job.controls]
    several = len(pictures) > 1
    union = bool(infos) and infos[0].union
    out: dict[str, Any] = {}
    key = "image" if op == "txt2img" and not union else "control_image"
    out[key] = pictures if several or union else pictures[0]
    scales = [float(c.strength) for c in job.controls]
    out["controlnet_conditioning_scale"] = scales if several else scales[0]
    starts = [float(c.start) for c in job.controls]
    ends = [float(c.end) for c in job.controls]
    out["control_guidance_start"] = starts if several else starts[0]
    out["control_guidance_end"] = ends if several else ends[0]
    if union:
        out["control_mode"] = [info.union_mode(c.kind) for info, c in zip(infos, job.controls,
                                                                           strict=True)]
    return out


# ---- detectors ------------------------------------------------------------------------------
class Detectors:
    """The depth and pose detectors, each loaded once per folder (CPU is enough for them)."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def _model(self, kind: str, folder: Path, device: str) -> tuple[Any, dict[str, Any]]:
        key = (str(folder), device)
        with self._lock:
            if key not in self._models:
                import transformers

                cls = (transformers.DepthAnythingForDepthEstimation if kind == "depth"
                       else transformers.VitPoseForPoseEstimation)
                try:
                    model = cls.from_pretrained(str(folder), local_files_only=True)
                except Exception as exc:
                    raise _load_failure(folder, exc) from exc
                model = model.to(device).eval()
                prep: dict[str, Any] = {}
                cfg = folder / "preprocessor_config.json"
                if cfg.is_file():
                    try:
                        prep = json.loads(cfg.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        log.warning("cannot read %s: using the default settings", cfg)
                self._models[key] = (model, prep)
            return self._models[key]

    def detect(self, kind: str, rgb: np.ndarray, folder: Path, device: str = "cpu"
               ) -> np.ndarray:
        """The `kind` ("depth", "pose") control picture of `rgb` (h, w, 3), same size."""
        import torch

        from .. import controls

        model, prep = self._model(kind, folder, device)
        mean = tuple(prep.get("image_mean") or (0.485, 0.456, 0.406))
        std = tuple(prep.get("image_std") or (0.229, 0.224, 0.225))
        h, w = rgb.shape[:2]
        dtype = next(model.parameters()).dtype
        with torch.no_grad():
            if kind == "depth":
                size = prep.get("size") or {}
                target = int(size.get("height", 518)) if isinstance(size, dict) else 518
                inp = controls.detector_input(rgb, controls.depth_input_size(w, h, target),
                                              mean, std)
                out = model(pixel_values=torch.from_numpy(inp).to(device, dtype))
                depth = out.predicted_depth[0].float().cpu().numpy()
                return controls.depth_picture(depth, (w, h))
            size = prep.get("size") or {}
            iw, ih = int(size.get("width", 192)), int(size.get("height", 256))
            box = controls.pose_box(w, h, iw, ih)
            crop = controls.pose_crop(rgb, box, (iw, ih))
            inp = controls.detector_input(crop, (iw, ih), mean, std)
            out = model(pixel_values=torch.from_numpy(inp).to(device, dtype))
            heat = out.heatmaps[0].float().cpu().numpy()
        coords, scores = controls.keypoints_from_heatmaps(heat, box)
        if len(scores) < 17:
            raise AiError(f"the pose detector in {quoted(folder)} finds {len(scores)} body "
                          "points, not the 17 of COCO: use ViTPose from the model manager")
        points = controls.openpose_keypoints(coords[:17], scores[:17], threshold=0.3)
        return controls.pose_picture(points, (w, h))
