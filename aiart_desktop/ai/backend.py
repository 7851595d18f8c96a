"""What a backend is: something that turns a `Job` (ai/job.py) into pictures.

    backend.name                    # "diffusers", "classical", "style" (AiResult.backend)
    backend.capabilities            # Capabilities: what it can do
    images = backend.generate(job, on_progress, cancelled)   # one RGB8 array per seed
    facts = backend.record(job)     # for the provenance record, after generate
    backend.unload()                # free what it holds (models, sessions)

Backends do no document work: the engine (ai/engine.py) prepares the region, scales it to the
model's size, makes the masks and matches colours; a backend only runs the job, on the worker
thread, reporting progress and checking `cancelled()` (raising `errors.Cancelled`) as it goes,
and raising an `AiError` with a message for the user when it fails.

The backends are built at the composition root (ai/setup.py) and handed to the engine; how the
engine picks one for a request is written in ai/engine.py. Adding a backend is one module
implementing this protocol plus one line in `setup.backends()`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .job import Job
from .requests import CLASSICAL, ProgressInfo

ProgressFn = Callable[[ProgressInfo], None]
CLASSICAL_ARCH = CLASSICAL  # the model-free fill's pseudo-architecture (and request model id)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do.

    `ops`: the request operations it runs ("inpaint", "img2img", "txt2img", "outpaint",
    "style"); `archs`: the model architectures it runs ("sd", "sdxl"; "classical" for the
    model-free fill; empty for a backend that needs no model); `controls`: the control kinds
    it applies (ControlNet: ai/controls.py's kinds), `loras`: the architectures whose LoRAs it
    applies; `previews`: live previews while it works;
    `ip_adapter`: IP-Adapter reference pictures; `context`: the pixels of picture around the
    selection it needs (None: the whole region the request holds)."""

    ops: frozenset[str]
    archs: frozenset[str] = frozenset()
    controls: frozenset[str] = frozenset()
    loras: frozenset[str] = frozenset()
    previews: bool = False
    ip_adapter: bool = False
    context: int | None = None


@runtime_checkable
class Backend(Protocol):
    """Runs jobs (see the module's notes)."""

    @property
    def name(self) -> str:
        """Its name, recorded as `AiResult.backend` ("diffusers", "classical", "style")."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        ...

    def generate(self, job: Job, on_progress: ProgressFn | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        """The results of `job`: one (height, width, 3) uint8 RGB array per seed (for a job
        with pixels, the size of `job.image`; else `job.width` x `job.height`)."""
        ...

    def record(self, job: Job) -> dict[str, Any]:
        """Facts for the provenance record of `job`, asked right after it ran (the device,
        the style's name and hash...). A "model_name" key names what made the result."""
        ...

    def unload(self) -> None:
        """Free the memory it holds; the next job loads again."""
        ...
