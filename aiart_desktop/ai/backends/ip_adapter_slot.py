"""The IP-Adapter loaded in the local backend's pipelines (backends/local.py).

`attach(pipe, pipes, state, job)` is called by the local backend with the pipeline about to
run: it loads the adapter into the shared UNet with `pipe.load_ip_adapter(...,
local_files_only=True)`, keeps it loaded while the next jobs use the same adapter (only the
scale changes), and unloads it (`unload_ip_adapter`) for a job that does not use it. The
pipelines come from the local backend; nothing here imports torch. Finding and checking an
adapter's files is models/ip_adapter.py's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError


@dataclass
class IpAdapterJob:
    """What a generation needs of an IP-Adapter: where it is, the scale, the reference."""

    root: str
    weight: str
    encoder: str
    scale: float
    image: np.ndarray  # (h, w, 3) uint8 reference picture

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.root, self.weight, self.encoder)


@dataclass
class Attached:
    """The adapter loaded in the backend's UNet, and its image encoder and preprocessor."""

    key: tuple[str, str, str]
    encoder: Any
    feature_extractor: Any


def attach(pipe: Any, pipes: list[Any], state: Attached | None, job: IpAdapterJob | None
           ) -> Attached | None:
    """Make `pipe` (and the UNet it shares with `pipes`) ready for `job`: load its adapter,
    keep one already loaded, or unload it when `job` is None. Returns the new state."""
    if job is None:
        if state is not None:
            detach(pipe, pipes)
        return None
    if state is not None and state.key != job.key:
        detach(pipe, pipes)
        state = None
    if state is None:
        parent = Path(job.weight).parent.as_posix()
        try:
            pipe.load_ip_adapter(job.root, subfolder="" if parent == "." else parent,
                                 weight_name=Path(job.weight).name,
                                 image_encoder_folder=job.encoder if "/" in job.encoder
                                 else f"./{job.encoder}", local_files_only=True)
        except Exception as exc:  # any loader failure names the files
            detach(pipe, pipes)
            raise ModelLoadError(f"cannot load the IP-Adapter {Path(job.root) / job.weight}: "
                                 f"{type(exc).__name__}: {exc}") from exc
        state = Attached(job.key, pipe.image_encoder, pipe.feature_extractor)
    elif getattr(pipe, "image_encoder", None) is not state.encoder:
        pipe.register_modules(image_encoder=state.encoder,
                              feature_extractor=state.feature_extractor)
    pipe.set_ip_adapter_scale(float(job.scale))
    return state


def detach(pipe: Any, pipes: list[Any]) -> None:
    """Unload the adapter from the shared UNet and drop the image encoder everywhere."""
    try:
        pipe.unload_ip_adapter()
    except Exception:  # a half-loaded adapter: restore what can be
        pipe.unet.encoder_hid_proj = None
        pipe.unet.config.encoder_hid_dim_type = None
    for p in pipes:
        if getattr(p, "image_encoder", None) is not None:
            p.image_encoder = None
