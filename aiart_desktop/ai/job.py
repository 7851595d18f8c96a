"""The backend-neutral job: what the engine asks a backend to make, in the backend's space.

The engine turns a request (document space: a region, a selection) into a `Job`: pixels
scaled to the model's size, the denoise mask, the composed prompt, one seed per variation.
Every backend (`backend.Backend`) takes the same type and reads the fields its operation
needs:

- diffusion ("txt2img", "img2img", "inpaint"): model, prompt, negative_prompt, seeds, steps,
  guidance, scheduler, strength, width, height, image, mask (the denoise mask), mix /
  prompt_b / negative_b (latent exploration), ip_adapter / ip_adapter_scale /
  ip_adapter_image (IP-Adapter: which adapter, how strong, the reference picture), decoder
  ("vae", or "taesd": the final latents decoded by TAESD where one is installed);
- the classical fill ("inpaint"): image, mask (the selection), seeds, params["fill_method"];
- style transfer ("style"): image, strength, style_image or params["style"] (a built-in
  style's name or a picture file), params "style_scale", "preserve_colors", "tile",
  "overlap".

Diffusion jobs may also carry `controls` (JobControl: a processed control picture per
ControlNet, at the job's size) and `loras` ((LoRA id, weight) pairs).

`params` holds the operation-specific settings as plain data (JSON types only).

A job crosses a process or network boundary as plain data plus pictures:

    data, blobs = job.to_data()      # JSON-able dict, {name: PNG or .npy bytes}
    same = Job.from_data(data, blobs)

8-bit pictures (grey, RGB, RGBA) travel as PNG (lossless: the pixels come back
bit-identical); any other array as a .npy file.
"""
from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .errors import RequestError

DATA_VERSION = 1
# The fields holding pictures (numpy arrays), sent as blobs.
PICTURES = ("image", "mask", "ip_adapter_image", "style_image")


@dataclass(frozen=True, eq=False, kw_only=True)
class JobControl:
    """One ControlNet of a job: its kind, the control model's id ("" = the one that fits the
    job's model), the control picture the model sees ((height, width, 3) uint8, the job's size),
    its conditioning scale and the fraction of the steps it acts on."""

    kind: str
    image: np.ndarray
    model: str = ""
    strength: float = 1.0
    start: float = 0.0
    end: float = 1.0

    def __post_init__(self) -> None:
        for name in ("strength", "start", "end"):
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclass(frozen=True, eq=False, kw_only=True)
class Job:
    """One job for a backend; sizes and pixels are in the backend's space (see the module)."""

    op: str                              # "txt2img", "img2img", "inpaint" or "style"
    model: str = ""                      # the model source's id; "" where no model is used
    prompt: str = ""
    negative_prompt: str = ""
    seeds: tuple[int, ...] = (0,)        # one result per seed
    steps: int = 20
    guidance: float = 7.0
    scheduler: str = "euler_a"
    strength: float = 1.0
    width: int = 0                       # model-space size (multiples of 8 for diffusion)
    height: int = 0
    image: np.ndarray | None = None      # (h, w, 3) uint8 RGB
    mask: np.ndarray | None = None       # (h, w) uint8, 255 = repaint / fill
    # Latent exploration (ai/latents.py): per result (other seed, t); every random draw of
    # result i is slerp(draw(seeds[i]), draw(other seed), t); prompt embeddings are lerped
    # towards prompt_b / negative_b at the same t.
    mix: tuple[tuple[int, float], ...] | None = None
    prompt_b: str | None = None
    negative_b: str | None = None
    ip_adapter: str = ""                 # the model source's IP-Adapter id ("" = one that fits)
    ip_adapter_scale: float = 0.0        # 0 = no IP-Adapter
    ip_adapter_image: np.ndarray | None = None   # (h, w, 3) uint8 reference picture
    style_image: np.ndarray | None = None        # style: the style picture's pixels
    # ControlNets: each with its control picture already processed and scaled to width x
    # height; LoRAs: (the model source's LoRA id, weight), applied in this order.
    controls: tuple[JobControl, ...] = ()
    loras: tuple[tuple[str, float], ...] = ()
    decoder: str = "vae"                 # "vae" or "taesd" (requests.DECODERS)
    params: dict[str, Any] = field(default_factory=dict)   # op-specific plain data

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "seeds", tuple(int(s) for s in self.seeds))
        for name in ("steps", "width", "height"):
            set_(self, name, int(getattr(self, name)))
        for name in ("guidance", "strength", "ip_adapter_scale"):
            set_(self, name, float(getattr(self, name)))
        if self.mix is not None:
            set_(self, "mix", tuple((int(s), float(t)) for s, t in self.mix))
        set_(self, "controls", tuple(self.controls))
        set_(self, "loras", tuple((str(n), float(w)) for n, w in self.loras))
        if not self.seeds:
            raise RequestError("a job needs at least one seed")

    def replace(self, **changes: Any) -> Job:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # ---- plain data -----------------------------------------------------------------------
    def to_data(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """(JSON-able description, pictures by field name as PNG / .npy bytes)."""
        data: dict[str, Any] = {"version": DATA_VERSION}
        blobs: dict[str, bytes] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in PICTURES:
                if value is not None:
                    data[f.name], blobs[f.name] = _encode(f.name, value)
                continue
            if f.name == "controls":
                value = []
                for i, c in enumerate(self.controls):
                    ref, blobs[f"control_{i}"] = _encode(f"control {i}", c.image)
                    value.append({"kind": c.kind, "model": c.model, "strength": c.strength,
                                  "start": c.start, "end": c.end, "image": ref})
            elif f.name == "loras":
                value = [[n, w] for n, w in value]
            elif f.name == "seeds":
                value = list(value)
            elif f.name == "mix" and value is not None:
                value = [[s, t] for s, t in value]
            data[f.name] = value
        try:  # only JSON's types may travel (an op's params above all)
            json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RequestError(f"the job cannot be sent: {exc}") from exc
        return data, blobs

    @classmethod
    def from_data(cls, data: dict[str, Any], blobs: dict[str, bytes]) -> Job:
        """The job `to_data` described."""
        if data.get("version") != DATA_VERSION:
            raise RequestError(f"unknown job format {data.get('version')!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in data.items() if k in names}
        for name in PICTURES:
            ref = kw.pop(name, None)
            if ref is not None:
                if name not in blobs:
                    raise RequestError(f"the job's {name} is missing")
                kw[name] = _decode(ref, blobs[name])
        if kw.get("mix") is not None:
            kw["mix"] = tuple((s, t) for s, t in kw["mix"])
        controls = []
        for i, c in enumerate(kw.pop("controls", None) or []):
            if f"control_{i}" not in blobs:
                raise RequestError(f"the job's control {i} is missing")
            controls.append(JobControl(kind=c["kind"], model=c.get("model", ""),
                                       strength=c["strength"], start=c["start"], end=c["end"],
                                       image=_decode(c["image"], blobs[f"control_{i}"])))
        kw["controls"] = tuple(controls)
        kw["loras"] = tuple((n, w) for n, w in kw.get("loras") or [])
        kw["params"] = dict(kw.get("params") or {})
        return cls(**kw)


def _encode(name: str, a: np.ndarray) -> tuple[dict[str, Any], bytes]:
    arr = np.ascontiguousarray(a)
    if arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        px = arr
        if arr.ndim == 3:  # OpenCV writes BGR(A)
            px = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
        ok, buf = cv2.imencode(".png", px)
        if not ok:
            raise RequestError(f"the job's {name} cannot be encoded")
        return {"format": "png", "shape": list(arr.shape)}, buf.tobytes()
    out = io.BytesIO()
    np.save(out, arr, allow_pickle=False)
    return {"format": "npy", "shape": list(arr.shape)}, out.getvalue()


def _decode(ref: dict[str, Any], blob: bytes) -> np.ndarray:
    if ref.get("format") == "png":
        px = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
        if px is None:
            raise RequestError("a picture of the job cannot be decoded")
        if px.ndim == 3:
            px = cv2.cvtColor(px, cv2.COLOR_BGR2RGB if px.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    elif ref.get("format") == "npy":
        px = np.load(io.BytesIO(blob), allow_pickle=False)
    else:
        raise RequestError(f"unknown picture format {ref.get('format')!r} in the job")
    if list(px.shape) != list(ref.get("shape") or px.shape):
        raise RequestError("a picture of the job has the wrong size")
    return np.ascontiguousarray(px)
