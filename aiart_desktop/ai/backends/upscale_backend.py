"""The upscaler models behind the `Backend` protocol (ai/backend.py): Image › Upscale with a
model file (ESRGAN, Real-ESRGAN, SwinIR, HAT, OmniSR… through spandrel).

An "upscale" job (made by `ai/engine.py: Engine._upscale`, one per layer scaled) holds the
layer's straight RGBA8 pixels (`Job.image`), the model file (`Job.model`), the exact size
wanted (`Job.width` × `Job.height`) and the tiling (`params["tile"]`, `params["overlap"]`,
`params["allow_pickle"]`). The tiles, the blending across their overlap and the alpha handling
are `ai/upscale.py: with_model` (no torch); one tile through the network is
`ai/backends/local_upscale.py: Upscaler.run` (torch and spandrel, imported on the worker thread
at the first job only).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import upscale
from ..backend import Capabilities
from ..errors import Cancelled, RequestError
from ..job import Job
from ..requests import UPSCALE, ProgressInfo

UPSCALER = "upscaler"     # the backend's name and architecture


class UpscaleBackend:
    """Runs "upscale" jobs with a model file; see the module's notes."""

    name = UPSCALER
    capabilities = Capabilities(ops=frozenset({UPSCALE}), archs=frozenset({UPSCALER}))

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._upscaler: Any = None

    def set_device(self, device: str) -> None:
        self.device = device
        self.unload()

    def _model(self) -> Any:
        if self._upscaler is None:
            from .local_upscale import Upscaler  # torch and spandrel: on the worker thread

            self._upscaler = Upscaler(self.device)
        return self._upscaler

    def generate(self, job: Job, on_progress: Callable[[ProgressInfo], None] | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        if job.image is None or not job.model or job.width <= 0 or job.height <= 0:
            raise RequestError("an upscale needs the layer's pixels, the model file and the "
                               "size to make")
        if cancelled():
            raise Cancelled()
        up = self._model()
        path, allow = job.model, bool(job.params.get("allow_pickle", False))
        scale = int(up.scale(path, allow))
        phase = str(job.params.get("phase") or f"upscaling ({Path(path).stem})")

        image = job.image
        alpha = None if bool((image[..., 3] == 255).all()) else image[..., 3]

        def on_tile(done: int, total: int, so_far: np.ndarray) -> None:
            if on_progress is not None:  # (so_far is premultiplied where there is alpha)
                on_progress(ProgressInfo(done, total, None, phase,
                                         render=lambda: upscale.model_preview(so_far, alpha)))

        out = upscale.with_model(image, (job.width, job.height),
                                 lambda tile: up.run(tile, path, allow), scale,
                                 int(job.params.get("tile", upscale.TILE)),
                                 int(job.params.get("overlap", upscale.OVERLAP)),
                                 on_tile, cancelled)
        return [out]

    def record(self, job: Job) -> dict[str, Any]:
        return {"model_name": Path(job.model).stem, "model_file": Path(job.model).name}

    def unload(self) -> None:
        if self._upscaler is not None:
            self._upscaler.unload()
