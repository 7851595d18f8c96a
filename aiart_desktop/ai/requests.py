"""Frozen AI request and result types: everything needed to reproduce a result.

A request holds a COPY of the region's pixels (straight RGBA8) and of the selection mask inside
that region (uint8, 255 = selected), the region's rectangle in document coordinates (context
margin included), the document revision it was taken from, and the generation settings. The
same record, with the seed actually used, becomes the new layer's provenance and the PNG
`parameters` text (AUTOMATIC1111's format, which many tools read).
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..core.geometry import Rect
from .conditioning import Control, LoraRef, check_conditioning
from .errors import RequestError
from .latents import LatentMix
from .outpaint import DIRECTIONS, OutpaintLayout

# Scheduler ids -> names as AUTOMATIC1111 writes them in `parameters`.
SCHEDULERS: dict[str, str] = {
    "euler_a": "Euler a",
    "dpmpp_2m": "DPM++ 2M",
    "ddim": "DDIM",
    "lcm": "LCM",
}
OPS = ("inpaint", "img2img", "txt2img", "outpaint")
STYLE = "style"  # fast neural style transfer (ai/backends/style.py): no diffusion model needed
CLASSICAL = "classical"
AUTO = "auto"  # the last used installed model, or the classical fill when none is installed
# (a Fill selection with no prompt: LaMa when it is installed, ai/engine.py)
LAMA = "lama"  # the LaMa fill (backends/lama.py): request model id and pseudo-architecture
MIGAN = "migan"  # MI-GAN, the light object remover (backends/lama.py too): model id and arch
SUBJECT = "subject"  # Select Subject / Remove Background: the main subject's soft mask
MATTE = "matte"  # the background remover (backends/matte.py): backend name and architecture
UPSCALE = "upscale"  # Image › Upscale (ai/upscale.py): op; its model is "lanczos" or an upscaler
# What turns the final latents into pixels: the model's own VAE, or TAESD (diffusers'
# AutoencoderTiny: much faster, a little softer) where one for the model's family is installed;
# a backend without it decodes with the VAE and records so (`AiResult.record()["decoder"]`).
VAE, TAESD = "vae", "taesd"
DECODERS = (VAE, TAESD)
MAX_SEED = 2**32 - 1
MAX_BATCH = 16
RECORD_VERSION = 1


def random_seed() -> int:
    return random.SystemRandom().randint(0, MAX_SEED)


def _freeze_picture(req: object, name: str, what: str) -> None:
    """Replace the request's field `name` (pixels or None) by a frozen uint8 copy, checking it
    is an RGB or RGBA picture."""
    a = getattr(req, name)
    if a is None:
        return
    img = np.array(a, dtype=np.uint8, copy=True)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise RequestError(f"{what} must be an RGB or RGBA picture, not {img.shape}")
    img.flags.writeable = False
    object.__setattr__(req, name, img)


def _frozen_copy(a: np.ndarray | None, dtype: type, ndim: int, what: str) -> np.ndarray | None:
    if a is None:
        return None
    out: np.ndarray = np.array(a, dtype=dtype, copy=True)
    if out.ndim != ndim:
        raise RequestError(f"the request's {what} must have {ndim} dimensions, not {out.ndim}")
    out.flags.writeable = False
    return out


@dataclass(frozen=True, kw_only=True, eq=False)
class AiRequest:
    """Base of the four request kinds. Build one with `capture.make_request(doc, op, ...)`."""

    op: ClassVar[str] = ""

    rect: Rect                          # region in document coordinates (context included)
    image: np.ndarray | None = None     # (h, w, 4) uint8 straight RGBA: the visible composite
    mask: np.ndarray | None = None      # (h, w) uint8 selection inside `rect`, 255 = selected
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None             # None: a random seed, recorded in the result
    steps: int = 20
    guidance: float = 7.0
    scheduler: str = "euler_a"
    model: str = AUTO                   # registry id, path, "auto" or "classical"
    batch_size: int = 1                 # number of variations (seeds seed, seed + 1, ...)
    strength: float = 1.0
    revision: int = 0                   # document revision the pixels were copied from
    canvas_size: tuple[int, int] = (0, 0)  # document (width, height) at capture time
    color_match: bool = True            # match the result's colours to its surroundings
    mix: LatentMix | None = None        # latent exploration (in-betweens, more like this)
    style_preset: str = ""              # text style preset (ai/styles/presets.py) or ""
    # IP-Adapter (ai/models/ip_adapter.py): a reference picture steers the model at this scale
    # (0 = off). `ip_adapter_image` holds its pixels (copied at capture time); without them
    # the picture file `ip_adapter_reference` is read when the job runs (re-make from a record).
    # `ip_adapter` names the adapter; "" = the installed one that fits the model.
    ip_adapter_scale: float = 0.0
    ip_adapter_image: np.ndarray | None = None
    ip_adapter_reference: str = ""
    ip_adapter: str = ""
    # Control layers and LoRAs (ai/conditioning.py): each control holds its layer's pixels
    # over `rect`; each LoRA is a model source's LoRA id with a weight.
    controls: tuple[Control, ...] = ()
    loras: tuple[LoraRef, ...] = ()
    decoder: str = VAE                  # "vae" or "taesd" (live frames; see DECODERS)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "image", _frozen_copy(self.image, np.uint8, 3, "image"))
        set_(self, "mask", _frozen_copy(self.mask, np.uint8, 2, "mask"))
        set_(self, "controls", tuple(self.controls))
        set_(self, "loras", tuple(self.loras))
        r = self.rect
        if r.empty:
            raise RequestError("the region to work on is empty (select something first)")
        if self.controls or self.loras:
            check_conditioning(self.controls, self.loras, (r.h, r.w))
            if self.op == STYLE or self.model == CLASSICAL:
                raise RequestError("control layers and LoRAs need a diffusion model: pick one "
                                   "in the Model list")
        if self.image is not None and self.image.shape != self._image_shape():
            raise RequestError(f"image is {self.image.shape}, expected {self._image_shape()}")
        if self.mask is not None and self.mask.shape != (r.h, r.w):
            raise RequestError(f"mask is {self.mask.shape}, expected ({r.h}, {r.w})")
        if self.scheduler not in SCHEDULERS:
            raise RequestError(f"unknown scheduler {self.scheduler!r} "
                               f"(use one of {', '.join(SCHEDULERS)})")
        if not 1 <= int(self.steps) <= 500:
            raise RequestError(f"steps must be between 1 and 500, not {self.steps}")
        if not 1 <= int(self.batch_size) <= MAX_BATCH:
            raise RequestError(f"batch size must be between 1 and {MAX_BATCH}")
        if not 0.0 <= float(self.strength) <= 1.0:
            raise RequestError(f"strength must be between 0 and 1, not {self.strength}")
        if not 0.0 <= float(self.guidance) <= 50.0:
            raise RequestError(f"guidance must be between 0 and 50, not {self.guidance}")
        if self.seed is not None and not 0 <= int(self.seed) <= MAX_SEED:
            raise RequestError(f"seed must be between 0 and {MAX_SEED}")
        if not self.model:
            raise RequestError("no model chosen")
        if self.decoder not in DECODERS:
            raise RequestError(f"unknown decoder {self.decoder!r} "
                               f"(use one of {', '.join(DECODERS)})")
        if self.mix is not None:
            if not isinstance(self.mix, LatentMix):
                raise RequestError("the request's latent exploration is not a LatentMix")
            if int(self.batch_size) != len(self.mix):
                raise RequestError(f"batch size {self.batch_size} does not match the "
                                   f"{len(self.mix)} results of the latent exploration")
            if self.model == CLASSICAL:
                raise RequestError("in-betweens and 'more like this' need a diffusion model")
        if self.style_preset:
            from .styles.presets import preset_named

            preset_named(self.style_preset)  # raises for an unknown preset
        self._check_ip_adapter()

    def _image_shape(self) -> tuple[int, int, int]:
        """The shape `image` must have: the region's, RGBA."""
        return (self.rect.h, self.rect.w, 4)

    def _check_ip_adapter(self) -> None:
        _freeze_picture(self, "ip_adapter_image", "the IP-Adapter reference")
        scale = float(self.ip_adapter_scale)
        if not 0.0 <= scale <= 2.0:
            raise RequestError(f"the IP-Adapter scale must be between 0 and 2, not {scale}")
        if scale <= 0.0:
            return
        if self.op == STYLE or self.model == CLASSICAL:
            raise RequestError("the IP-Adapter needs a diffusion model: pick one in the Model "
                               "list")
        if self.ip_adapter_image is None and not self.ip_adapter_reference:
            raise RequestError("the IP-Adapter needs a reference picture: choose one with "
                               "Picture…")

    # ---- derived ----------------------------------------------------------------------------
    def with_seed(self) -> AiRequest:
        """This request with its seed fixed (a random one when unset)."""
        if self.seed is not None:
            return self
        return dataclasses.replace(self, seed=random_seed())

    @property
    def seeds(self) -> list[int]:
        """The seed of each variation (the request's seed must be set)."""
        if self.seed is None:
            raise RequestError("the seed is not set yet (call with_seed())")
        if self.mix is not None:  # every result starts from the same seed, mixed
            return [int(self.seed)] * self.batch_size
        return [(int(self.seed) + i) % (MAX_SEED + 1) for i in range(self.batch_size)]

    def selection(self) -> np.ndarray:
        """The mask, or a full one when the request has none."""
        if self.mask is not None:
            return self.mask
        return np.full((self.rect.h, self.rect.w), 255, np.uint8)

    def to_record(self) -> dict[str, Any]:
        """JSON-able description (no pixels): the layer's provenance."""
        rec: dict[str, Any] = {
            "version": RECORD_VERSION, "op": self.op, "prompt": self.prompt,
            "negative_prompt": self.negative_prompt, "seed": self.seed, "steps": int(self.steps),
            "guidance": float(self.guidance), "scheduler": self.scheduler, "model": self.model,
            "batch_size": int(self.batch_size), "strength": float(self.strength),
            "rect": [self.rect.x, self.rect.y, self.rect.w, self.rect.h],
            "revision": int(self.revision), "canvas_size": list(self.canvas_size),
        }
        if self.mix is not None:
            rec["mix"] = self.mix.to_record()
        if self.style_preset:
            rec["style_preset"] = self.style_preset
        if float(self.ip_adapter_scale) > 0.0:
            rec.update(ip_adapter=self.ip_adapter, ip_adapter_scale=float(self.ip_adapter_scale),
                       ip_adapter_reference=self.ip_adapter_reference or "image")
        if self.controls:
            rec["controls"] = [c.to_record() for c in self.controls]
        if self.loras:
            rec["loras"] = [lo.to_record() for lo in self.loras]
        if self.decoder != VAE:  # the result's record says which decoder actually ran
            rec["decoder"] = self.decoder
        rec.update(self._extra_record())
        return rec

    def _extra_record(self) -> dict[str, Any]:
        return {}

    def parameters(self, size: tuple[int, int] | None = None) -> str:
        from .records.export_parameters import parameters_text

        return parameters_text(self.to_record(), size)


@dataclass(frozen=True, kw_only=True, eq=False)
class InpaintRequest(AiRequest):
    """Fill the selection from the prompt (or from its surroundings with no model)."""

    op: ClassVar[str] = "inpaint"
    fill_method: str = "auto"  # classical only: "auto", "patchmatch", "telea", "ns"

    def _extra_record(self) -> dict[str, Any]:
        return {"fill_method": self.fill_method}


@dataclass(frozen=True, kw_only=True, eq=False)
class Img2ImgRequest(AiRequest):
    """Repaint the region, keeping `1 - strength` of the original.

    Style from a reference: with `style_reference` set (a built-in style name or a picture
    file; `style_image` holds its pixels, copied at capture time), the region is first
    restyled with the fast style network (ai/backends/style.py, `style_mix` of it blended in), then
    repainted by the diffusion model at `strength`, which keeps the reference's colours and
    strokes but redraws them coherently with the prompt.
    """

    op: ClassVar[str] = "img2img"
    strength: float = 0.6
    style_reference: str = ""
    style_image: np.ndarray | None = None
    style_mix: float = 1.0
    # Tiled refine (after an upscale): the region repainted tile by tile at the model's own
    # size (`tile` 0) or `tile` pixels, tiles overlapping by `tile_overlap`, each with its own
    # seed (the request's + the tile's index), blended with smooth weights (ai/upscale.py).
    tiled: bool = False
    tile: int = 0
    tile_overlap: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        _freeze_picture(self, "style_image", "the style picture")
        if not 0.0 <= float(self.style_mix) <= 1.0:
            raise RequestError(f"the reference style's mix must be between 0 and 1, not "
                               f"{self.style_mix}")
        if self.tiled:
            if int(self.batch_size) != 1 or self.mix is not None or self.controls:
                raise RequestError("a refine in tiles makes one result, without control "
                                   "layers or in-betweens")
            if self.style_reference or self.style_image is not None:
                raise RequestError("a refine in tiles takes no reference style")
            if int(self.tile) != 0 and not 64 <= int(self.tile) <= 2048:
                raise RequestError(f"refine tiles must be 64 to 2048 pixels, not {self.tile}")
            if not 0 <= int(self.tile_overlap) <= 256:
                raise RequestError("the refine tiles' overlap must be 0 to 256 pixels")

    def _extra_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        if self.tiled:
            rec.update(tiled=True, tile=int(self.tile), tile_overlap=int(self.tile_overlap))
        if not self.style_reference and self.style_image is None:
            return rec
        return {**rec, "style_reference": self.style_reference or "image",
                "style_mix": float(self.style_mix)}


@dataclass(frozen=True, kw_only=True, eq=False)
class Txt2ImgRequest(AiRequest):
    """A new picture the size of the region (no pixels needed)."""

    op: ClassVar[str] = "txt2img"


@dataclass(frozen=True, kw_only=True, eq=False)
class OutpaintRequest(AiRequest):
    """Grow the canvas by `pixels` on one side and paint the new strip.

    `image` / `rect` hold the strip of the existing canvas along that edge (the context); the
    result covers that strip plus the new area, in the grown canvas's coordinates. `layout`
    (ai/outpaint.py: `OutpaintLayout`), computed once from `canvas_size`, `rect`, `direction`
    and `pixels` when the request is made, says where everything goes: every user reads it.
    """

    op: ClassVar[str] = "outpaint"
    direction: str = "right"
    pixels: int = 256
    layout: OutpaintLayout = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.direction not in DIRECTIONS:
            raise RequestError(f"unknown direction {self.direction!r} "
                               f"(use one of {', '.join(DIRECTIONS)})")
        if not 8 <= int(self.pixels) <= 8192:
            raise RequestError(f"outpaint pixels must be between 8 and 8192, not {self.pixels}")
        object.__setattr__(self, "layout", OutpaintLayout.plan(
            self.canvas_size, self.rect, self.direction, int(self.pixels)))

    def _extra_record(self) -> dict[str, Any]:
        return {"direction": self.direction, "pixels": int(self.pixels)}


@dataclass(frozen=True, kw_only=True, eq=False)
class StyleRequest(AiRequest):
    """Restyle the selection with a fast style-transfer network (no diffusion model).

    `style` is a built-in name ("Style 0" ... "Style 25") or a picture file; `style_image`
    (RGB or RGBA uint8) overrides it with pixels copied at capture time, so a style picture
    deleted or edited later cannot change a running job. `strength` blends with the content,
    `style_scale` > 1 makes strokes bigger, `preserve_colors` transfers luminance only.
    """

    op: ClassVar[str] = STYLE
    style: str = "Style 0"
    style_image: np.ndarray | None = None
    style_scale: float = 1.0
    preserve_colors: bool = False
    tile: int = 512
    overlap: int = 64
    color_match: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _freeze_picture(self, "style_image", "the style picture")
        if self.style_image is None and not str(self.style).strip():
            raise RequestError("no style chosen")
        if self.image is None:
            raise RequestError("the style request holds no pixels")
        if not 0.25 <= float(self.style_scale) <= 4.0:
            raise RequestError(f"style scale must be between 0.25 and 4, not {self.style_scale}")
        if int(self.tile) < 64 or int(self.overlap) < 0:
            raise RequestError("style tiles must be at least 64 pixels, overlap not negative")
        if int(self.batch_size) != 1:
            raise RequestError("style transfer makes one result per run")

    def _extra_record(self) -> dict[str, Any]:
        return {"style": self.style, "style_scale": float(self.style_scale),
                "preserve_colors": bool(self.preserve_colors), "tile": int(self.tile),
                "overlap": int(self.overlap)}


@dataclass(frozen=True, kw_only=True, eq=False)
class SubjectRequest(AiRequest):
    """Find the main subject of a picture (Select Subject, Remove Background): the result's
    `alpha` is its soft mask over `rect` (255 = subject), and it has no images.

    `image` is the picture of `rect` (a layer's pixels or the visible composite) scaled by
    `scale` (picture pixels per document pixel, at most 1: a huge canvas is sent at about the
    network's size, never whole); `model` is "auto" (the installed background remover) or a
    file. Build one with `ai/cutout.py: subject_request`.
    """

    op: ClassVar[str] = SUBJECT
    scale: float = 1.0
    color_match: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < float(self.scale) <= 1.0:
            raise RequestError(f"the picture's scale must be in (0, 1], not {self.scale}")
        super().__post_init__()
        if self.image is None:
            raise RequestError("the subject request holds no picture")
        if int(self.batch_size) != 1 or self.controls or self.loras or self.mix is not None:
            raise RequestError("finding the subject makes one mask and takes no controls, "
                               "LoRAs or mixes")

    def _image_shape(self) -> tuple[int, int, int]:
        s = float(self.scale)
        return (max(1, round(self.rect.h * s)), max(1, round(self.rect.w * s)), 4)

    def _extra_record(self) -> dict[str, Any]:
        return {"scale": float(self.scale)}


@dataclass(frozen=True, kw_only=True, eq=False)
class UpscaleRequest(AiRequest):
    """Scale the picture (every layer), one layer, or the selected part of one (into a new
    layer) by `scale` (ai/upscale.py).

    `pieces` holds, per layer scaled, (its index in `Document.layers`, its bounds, its straight
    RGBA8 pixels over them), copied at capture time; `rect` is their union. `model` is
    "lanczos" (no model) or an upscaler's id or file (ai/backends/local_upscale.py);
    `tile` / `overlap`: the model's tiles in input pixels. The result's `info["tiles"]` holds
    each scaled piece already cut into its layer's tiles, a `TileGrid` (made on the worker, so
    applying costs the UI thread nothing that grows with the picture) and `info["rects"]`
    where each goes; `images` is empty. Build one with `ai/upscale.py: upscale_request`.
    """

    op: ClassVar[str] = UPSCALE
    model: str = "lanczos"
    scale: float = 2.0
    target: str = "picture"
    pieces: tuple[tuple[int, Rect, np.ndarray], ...] = ()
    offsets: tuple[tuple[int, int], ...] = ()   # each piece's layer offset (its tile space)
    tile: int = 512
    overlap: int = 32
    color_match: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.1 <= float(self.scale) <= 8.0:
            raise RequestError(f"the upscale factor must be between 0.1 and 8, not "
                               f"{self.scale}")
        if self.target not in ("picture", "layer", "selection"):
            raise RequestError(f"unknown upscale target {self.target!r}")
        if not 64 <= int(self.tile) <= 4096 or not 0 <= int(self.overlap) <= int(self.tile) // 4:
            raise RequestError("upscale tiles must be 64 to 4096 pixels, their overlap at "
                               "most a quarter of that")
        if not self.pieces:
            raise RequestError("the upscale request holds no pixels")
        frozen = []
        for index, rect, pixels in self.pieces:
            a = _frozen_copy(pixels, np.uint8, 3, "piece")
            assert a is not None
            if a.shape != (rect.h, rect.w, 4):
                raise RequestError(f"a piece is {a.shape}, expected ({rect.h}, {rect.w}, 4)")
            frozen.append((int(index), rect, a))
        object.__setattr__(self, "pieces", tuple(frozen))
        offsets = tuple((int(x), int(y)) for x, y in self.offsets) or ((0, 0),) * len(frozen)
        if len(offsets) != len(frozen):
            raise RequestError("the upscale request needs one layer offset per piece")
        object.__setattr__(self, "offsets", offsets)
        if int(self.batch_size) != 1 or self.controls or self.loras or self.mix is not None:
            raise RequestError("an upscale makes one result and takes no controls, LoRAs or "
                               "mixes")

    def _extra_record(self) -> dict[str, Any]:
        return {"scale": float(self.scale), "target": self.target, "tile": int(self.tile),
                "overlap": int(self.overlap)}


REQUEST_TYPES: dict[str, type[AiRequest]] = {
    c.op: c for c in (InpaintRequest, Img2ImgRequest, Txt2ImgRequest, OutpaintRequest,
                      StyleRequest)
}


@dataclass(frozen=True)
class ProgressInfo:
    """One progress report: `step` of `total` (steps of the current phase), an optional small
    RGB uint8 preview (h, w, 3) of what is being made, and a phase label. A backend whose
    preview costs something (a decode) gives `render` instead: `picture()` makes it, only for
    a listener that shows it, and only during the report."""

    step: int
    total: int
    preview: np.ndarray | None = None
    phase: str = "generating"
    render: Callable[[], np.ndarray | None] | None = field(default=None, compare=False)

    def picture(self) -> np.ndarray | None:
        """The preview: given, or made now by `render`."""
        if self.preview is None and self.render is not None:
            return self.render()
        return self.preview

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)


@dataclass(frozen=True, eq=False)
class AiResult:
    """What a job made: one image per variation over `rect`, and the blend mask.

    `images[i]` is (h, w, 3) uint8 RGB covering `rect` (document coordinates; for outpaint,
    those of the grown canvas). `alpha` (h, w) uint8 is the feathered blend mask: zero outside
    the selection, so applying a result never changes a pixel outside it.
    """

    request: AiRequest             # seed set
    images: list[np.ndarray]
    seeds: list[int]
    alpha: np.ndarray
    rect: Rect
    backend: str                   # "diffusers" or "classical"
    model_name: str
    size: tuple[int, int]          # (width, height) the model worked at
    info: dict[str, Any] = field(default_factory=dict)

    def record(self, index: int = 0) -> dict[str, Any]:
        """Provenance of variation `index`: the request record with its own seed."""
        rec = self.request.to_record()
        rec.update(seed=self.seeds[index], variant=index, backend=self.backend,
                   model_name=self.model_name, size=list(self.size),
                   result_rect=[self.rect.x, self.rect.y, self.rect.w, self.rect.h])
        rec["batch_size"] = len(self.images)
        rec.setdefault("time", self.info.get("time"))
        if self.info.get("model_hash"):
            rec["model_hash"] = self.info["model_hash"]
        servers = self.info.get("servers")   # a ComfyUI server made it: which one
        if isinstance(servers, list) and index < len(servers):
            rec["server"] = servers[index]
        elif self.info.get("server"):
            rec["server"] = self.info["server"]
        mix = self.request.mix
        if mix is not None and index < len(mix):
            key, value = mix.variant_record(self.request, index)
            rec.pop("mix", None)
            rec[key] = value
            rec["batch_size"] = 1  # re-made alone: request_params() gives one result
        if rec.get("style_reference"):  # img2img from a reference style: which, by content
            rec.update(style_kind=self.info.get("style_kind"),
                       style_sha256=self.info.get("style_sha256"))
        if rec.get("ip_adapter_scale"):  # which adapter and which picture, by content
            rec.update(ip_adapter=self.info.get("ip_adapter") or rec.get("ip_adapter"),
                       ip_adapter_sha256=self.info.get("ip_adapter_sha256"),
                       ip_adapter_reference_sha256=self.info.get("ip_adapter_reference_sha256"))
        ran = self.info.get("controls")
        if rec.get("controls") and isinstance(ran, list) and len(ran) == len(rec["controls"]):
            # which control model ran, its hash, and the control picture the model saw
            rec["controls"] = [{**c, "model": r.get("model") or c.get("model"),
                                "model_name": r.get("model_name"),
                                "model_sha256": r.get("model_sha256"),
                                "control_sha256": r.get("control_sha256")}
                               for c, r in zip(rec["controls"], ran, strict=True)]
        if rec.get("tiled") and isinstance(ran, list) and ran:  # the Tile control it held to
            rec["tile_control"] = ran[0].get("model_name")
        if self.info.get("decoder"):  # which decoder made the pixels (TAESD may be missing)
            rec["decoder"] = str(self.info["decoder"])
        for key in ("lora_hashes", "embeddings"):  # which LoRA / embedding files, by content
            if self.info.get(key):
                rec[key] = dict(self.info[key])
        if self.info.get("loras_trained_here"):  # LoRAs Train a Style made, on the artist's
            rec["loras_trained_here"] = list(self.info["loras_trained_here"])  # own pictures
        if self.backend == STYLE:  # which picture gave the style, by content
            rec.update(model=self.model_name, style_kind=self.info.get("style_kind"),
                       style_sha256=self.info.get("style_sha256"))
        return rec

    def parameters(self, index: int = 0) -> str:
        from .records.export_parameters import parameters_text

        return parameters_text(self.record(index), self.size)


REQUEST_FIELDS = ("prompt", "negative_prompt", "seed", "steps", "guidance", "scheduler", "model",
                  "batch_size", "strength", "color_match", "fill_method", "direction", "pixels",
                  "style", "style_scale", "preserve_colors", "tile", "overlap",
                  "style_preset", "style_reference", "style_mix", "ip_adapter_scale",
                  "ip_adapter_reference", "ip_adapter", "decoder", "tiled", "tile_overlap")


def request_params(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The settings of a provenance record as `make_request` parameters, with `changes`
    applied: "Re-generate with tweaks" is `make_request(doc, rec["op"], **request_params(rec,
    seed=None))`."""
    cls = REQUEST_TYPES.get(str(record.get("op")))
    if cls is None:
        raise RequestError(f"the record's operation {record.get('op')!r} is unknown")
    names = {f.name for f in dataclasses.fields(cls)}
    out = {k: record[k] for k in REQUEST_FIELDS if k in record and k in names}
    mix = LatentMix.from_record(record)
    if mix is not None:
        out.update(mix=mix, batch_size=len(mix))
    loras = record.get("loras")
    if isinstance(loras, list) and loras:  # controls hold pixels: the caller re-captures them
        try:
            out["loras"] = tuple(LoraRef(str(d["name"]), float(d.get("weight", 1.0)))
                                 for d in loras)
        except (KeyError, TypeError, ValueError) as exc:
            raise RequestError("the record's LoRAs are damaged") from exc
    out.update(changes)
    return out
