"""The style networks (backends/style.py) behind the `Backend` protocol (ai/backend.py).

A "style" job restyles its `image` (RGB8) with `style_image` (pixels, RGB or RGBA) or, without
them, `params["style"]` (a built-in style's id or name, or a picture file), blended with the
content at `strength`; `params` may set "style_scale" (> 1: bigger strokes),
"preserve_colors", "tile" and "overlap" (the defaults are `style.transfer`'s). The engine
sends it the selection with `capabilities.context` pixels around it (Style requests), and the
whole region for the reference style of an img2img (restyled first, then repainted).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import Capabilities
from ..errors import Cancelled, RequestError
from ..job import Job
from ..requests import STYLE, ProgressInfo
from . import style


class StyleBackend:
    """Fast style transfer on onnxruntime (one cached session per network)."""

    name = STYLE
    capabilities = Capabilities(ops=frozenset({STYLE}), context=style.CONTEXT_MARGIN)

    def __init__(self) -> None:
        self._last: tuple[Job, Any] | None = None  # the last job and its resolved style

    def _style(self, job: Job) -> Any:
        if self._last is not None and self._last[0] is job:
            return self._last[1]
        spec: style.StyleSpec | None = job.style_image
        if spec is None:
            spec = str(job.params.get("style", ""))
        st = style.resolve_style(spec)  # a StyleError names what is wrong
        self._last = (job, st)
        return st

    def generate(self, job: Job, on_progress: Callable[[ProgressInfo], None] | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        if job.image is None:
            raise RequestError("the style job holds no pixels")
        st = self._style(job)
        if cancelled():
            raise Cancelled()
        if on_progress is not None:
            on_progress(ProgressInfo(0, 1, phase="styling"))

        def tiles(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(ProgressInfo(done, total, phase="styling"))

        p = job.params
        out = style.transfer(job.image, st, strength=job.strength,
                             style_scale=float(p.get("style_scale", 1.0)),
                             preserve_colors=bool(p.get("preserve_colors", False)),
                             tile=int(p.get("tile", 512)), overlap=int(p.get("overlap", 64)),
                             cancelled=cancelled, on_progress=tiles)
        return [out]

    def record(self, job: Job) -> dict[str, Any]:
        """The style by name, kind and content hash, and the network that applied it."""
        st = self._style(job)
        rec = style.style_record(st)
        return {"model_name": rec["model"], "style_name": st.name, "style_kind": st.kind,
                "style_sha256": st.digest}

    def unload(self) -> None:
        self._last = None
