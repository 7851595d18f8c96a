"""What steers a diffusion job besides the prompt: control layers and LoRAs, as request data.

    Control(kind="lineart", image=rgba, strength=0.8, start=0.0, end=1.0, layer="Sketch")
    LoraRef(name="watercolor_v2", weight=0.7)

A request (ai/requests.py) holds a tuple of each. A `Control` carries a COPY of its source
layer's pixels over the request's `rect` (document space, RGBA, exactly the region the
request's picture covers, so the two line up); the engine turns it into the control picture
the model sees (`ai/controls.py: preprocess`) and scales it with the region. A `LoraRef` names
a LoRA of the model source by id (its file name without the extension) with a weight;
`<lora:name:weight>` in a prompt adds one (ai/prompt_syntax.py).

Plain data only: no torch, no Qt. Each has `to_record()` (no pixels: a control is recorded by
its picture's SHA-256) for the layer's provenance, the history and the PNG parameters.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import RequestError

# The control kinds, in the order the AI dock offers them.
CONTROL_KINDS = ("scribble", "lineart", "softedge", "canny", "depth", "pose", "tile")
CONTROL_LABELS = {
    "scribble": "Scribble", "lineart": "Line art", "softedge": "Soft edge", "canny": "Canny",
    "depth": "Depth", "pose": "Pose", "tile": "Tile",
}
MAX_CONTROLS = 4
MAX_LORAS = 8
MAX_LORA_WEIGHT = 4.0


@dataclass(frozen=True, kw_only=True, eq=False)
class Control:
    """One control layer of a request (see the module's notes)."""

    kind: str
    image: np.ndarray               # (h, w, 4) uint8 straight RGBA over the request's rect
    strength: float = 1.0           # 0..2, the ControlNet's conditioning scale
    start: float = 0.0              # the fraction of the steps where it starts to act
    end: float = 1.0                # ... and stops
    model: str = ""                 # the control model's id; "" = the installed one that fits
    layer: str = ""                 # the source layer's name, for the record

    def __post_init__(self) -> None:
        if self.kind not in CONTROL_KINDS:
            raise RequestError(f"unknown control type {self.kind!r} "
                               f"(use one of {', '.join(CONTROL_KINDS)})")
        img = np.array(self.image, dtype=np.uint8, copy=True)
        if img.ndim != 3 or img.shape[2] != 4:
            raise RequestError(f"a control's picture must be RGBA, not {img.shape}")
        img.flags.writeable = False
        object.__setattr__(self, "image", img)
        for name in ("strength", "start", "end"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not 0.0 <= self.strength <= 2.0:
            raise RequestError(f"a control's strength must be between 0 and 2, not "
                               f"{self.strength}")
        if not 0.0 <= self.start < self.end <= 1.0:
            raise RequestError(f"a control's range must run forwards within 0..1, not "
                               f"{self.start}..{self.end}")

    @property
    def label(self) -> str:
        return CONTROL_LABELS[self.kind]

    def image_sha256(self) -> str:
        """The source picture's content hash (shape and pixels), for the record."""
        h = hashlib.sha256(repr(self.image.shape).encode())
        h.update(np.ascontiguousarray(self.image).tobytes())
        return h.hexdigest()

    def to_record(self) -> dict[str, Any]:
        return {"type": self.kind, "strength": self.strength, "start": self.start,
                "end": self.end, "model": self.model, "layer": self.layer,
                "image_sha256": self.image_sha256()}


@dataclass(frozen=True)
class LoraRef:
    """One LoRA of a request: the model source's LoRA id and its weight."""

    name: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.name or not str(self.name).strip():
            raise RequestError("a LoRA needs a name")
        object.__setattr__(self, "weight", float(self.weight))
        if not -MAX_LORA_WEIGHT <= self.weight <= MAX_LORA_WEIGHT:
            raise RequestError(f"the weight of LoRA {self.name!r} must be between "
                               f"{-MAX_LORA_WEIGHT:g} and {MAX_LORA_WEIGHT:g}, not "
                               f"{self.weight:g}")

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight}


def check_conditioning(controls: tuple[Control, ...], loras: tuple[LoraRef, ...],
                       shape: tuple[int, int]) -> None:
    """Raise a RequestError unless the controls and LoRAs fit a request whose region is
    `shape` (height, width) pixels."""
    if len(controls) > MAX_CONTROLS:
        raise RequestError(f"at most {MAX_CONTROLS} control layers at once")
    for c in controls:
        if not isinstance(c, Control):
            raise RequestError("a request's controls must be Control values")
        if c.image.shape[:2] != shape:
            raise RequestError(f"the {c.label} control covers {c.image.shape[1]}x"
                               f"{c.image.shape[0]} pixels, the region {shape[1]}x{shape[0]}")
    if len(loras) > MAX_LORAS:
        raise RequestError(f"at most {MAX_LORAS} LoRAs at once")
    names = [lo.name for lo in loras]
    if len(set(names)) != len(names):
        raise RequestError("a LoRA is listed twice: give it one weight")
