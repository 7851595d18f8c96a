"""What a model source is: the models a backend offers, and how the UI and the engine ask.

    source.models()                 # models that paint, for the picker (cheap: no torch)
    source.resolve("sd-turbo")      # -> ModelInfo (cheap: what is known now)
    source.inspect("dream")         # -> ModelInfo with every fact learned (may be slow: the
                                    #    engine calls it on the worker thread, never the UI)
    source.preview_decoder("sd")    # a TAESD folder for live previews, or None
    source.ip_adapters() / source.ip_adapter_for(info) / source.resolve_ip_adapter(id)
    source.loras() / source.resolve_lora("watercolor") / source.embeddings()   # models/loras.py
    source.control_models() / source.control_model_for("lineart", "sd")   # ControlNets
    source.detector("depth")        # the detector folder making depth pictures
    source.segmenters() / source.segmenter()   # Segment Anything models (Select Object)
    source.upscalers() / source.upscaler()     # upscaler model files (Image › Upscale…)

The local `ModelRegistry` (models.registry) is one; a remote backend (ComfyUI) will bring its
own. A `ModelInfo` names the backend that runs it (`backend`), so the engine sends a job for
that model there. Later issues add what else a backend offers to the protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .checkpoints import ModelFacts
from .control_models import ControlModelInfo
from .ip_adapter import IpAdapterInfo
from .loras import EmbeddingInfo, LoraInfo
from .segmenters import SegmenterInfo
from .upscalers import UpscalerInfo

LOCAL_BACKEND = "diffusers"  # the name of the local diffusers backend (backends/local.py)
PAINT_OPS = ("inpaint", "img2img", "txt2img", "outpaint")


@dataclass(frozen=True)
class ModelInfo:
    """A model a source offers, ready for the engine.

    `checked` is False for an (allowed) pickle checkpoint whose tensors were not read yet:
    its facts are then provisional (arch "sd", 512 px) until `ModelSource.inspect` reads them,
    which needs torch and so runs only off the UI thread (the registry caches the result)."""

    id: str
    name: str
    path: Path
    source: str                  # "catalogue", "folder" or "checkpoint"
    facts: ModelFacts
    licence: str = ""
    allow_pickle: bool = False
    config_path: Path | None = None   # shipped config folder (checkpoints only)
    checked: bool = True
    backend: str = LOCAL_BACKEND      # the backend (`Backend.name`) that runs it

    @property
    def arch(self) -> str:
        return self.facts.arch

    @property
    def native(self) -> int:
        return self.facts.native

    @property
    def ops(self) -> tuple[str, ...]:
        """The request operations it can do (none for a preview decoder)."""
        return PAINT_OPS if self.facts.arch in ("sd", "sdxl") else ()

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "path": str(self.path), "source": self.source,
                "arch": self.facts.arch, "inpaint": self.facts.inpaint,
                "native": self.facts.native, "size_bytes": self.facts.size_bytes,
                "licence": self.licence}


@runtime_checkable
class ModelSource(Protocol):
    """The models (and their add-ons) one backend offers. Every method but `inspect` is cheap
    and safe on the UI thread: it never imports torch nor reads weights."""

    def models(self) -> list[ModelInfo]:
        """Every usable model that paints (no preview decoders, no add-ons)."""
        ...

    def resolve(self, model_id: str) -> ModelInfo:
        """The model with that id (or path); an AiError says why there is none."""
        ...

    def inspect(self, model_id: str) -> ModelInfo:
        """`resolve`, with every fact learned (a pickle checkpoint's tensors read): may be
        slow and import torch, so only the worker thread (or a thread of its own) calls it."""
        ...

    def preview_decoder(self, arch: str) -> Path | None:
        """A TAESD folder (AutoencoderTiny) decoding `arch`'s latents, or None: for progress
        previews, and for live frames that ask for it (`decoder="taesd"`)."""
        ...

    def ip_adapters(self) -> list[IpAdapterInfo]:
        """Every usable IP-Adapter."""
        ...

    def resolve_ip_adapter(self, adapter_id: str) -> IpAdapterInfo:
        """The IP-Adapter with that id; an AiError says why there is none."""
        ...

    def ip_adapter_for(self, model: ModelInfo, adapter_id: str = "") -> IpAdapterInfo:
        """`adapter_id` checked to fit `model`, or the first installed one that fits; a
        RequestError says what to install when there is none."""
        ...

    def control_models(self) -> list[ControlModelInfo]:
        """Every usable control model (ControlNet)."""
        ...

    def control_model_for(self, kind: str, arch: str, control_id: str = "") -> ControlModelInfo:
        """`control_id` checked to serve `arch` base models, or the first installed control
        model serving a `kind` control for them; a RequestError says what to install."""
        ...

    def detector(self, kind: str) -> Path:
        """The detector folder making `kind` control pictures ("depth", "pose"); a
        RequestError says what to install."""
        ...

    def loras(self) -> list[LoraInfo]:
        """Every usable LoRA (reads at most the headers of files not seen before)."""
        ...

    def resolve_lora(self, lora_id: str) -> LoraInfo:
        """The LoRA with that id (its file name without the extension); an AiError says why
        there is none."""
        ...

    def lora_sha256(self, info: LoraInfo) -> str:
        """The LoRA's content hash as A1111 computes it (its first 12 hex digits are its
        `Lora hashes` entry): read once per file, on the worker thread."""
        ...

    def embeddings(self) -> list[EmbeddingInfo]:
        """Every usable textual-inversion embedding; its id is the word that calls it."""
        ...

    def lama(self) -> Path | None:
        """The installed LaMa ONNX file (Fill selection's object remover), or None."""
        ...

    def migan(self) -> Path | None:
        """The installed MI-GAN pipeline ONNX file (the light object remover), or None."""
        ...

    def matting(self) -> Path | None:
        """The installed background-removal ONNX file (Select Subject), or None."""
        ...

    def segmenters(self) -> list[SegmenterInfo]:
        """Every usable Segment Anything model (Select Object), the catalogue's first."""
        ...

    def segmenter(self, segmenter_id: str = "") -> SegmenterInfo:
        """The segmenter with that id, or the first installed one; a RequestError says what
        to install (`ai/segment.py: SEGMENT_HINT`)."""
        ...

    def upscalers(self) -> list[UpscalerInfo]:
        """Every installed upscaler model file (Image › Upscale…), the catalogue's first."""
        ...

    def upscaler(self, upscaler_id: str = "") -> UpscalerInfo:
        """The upscaler with that id, or the first installed one; a RequestError says what to
        install."""
        ...
