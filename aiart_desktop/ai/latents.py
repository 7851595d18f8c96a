"""Latent-space exploration: spherical / linear interpolation, and `LatentMix`, the frozen
description of an exploration set on a request (in-betweens, "more like this").

Pure math, no torch at import: every function takes numpy arrays or torch tensors (anything with
`*`, `+`, `.sum()` and a float64 view) and returns the same kind, in the inputs' dtype.

Why slerp for noise: a diffusion model's initial latent is a draw of i.i.d. unit Gaussians, so
its norm is almost exactly sqrt(n). A straight line between two such draws passes through
vectors of smaller norm (at t = 0.5 about sqrt(n / 2)), which the model reads as "less noise"
and renders as a washed-out, blurry picture. Slerp walks the great circle instead and keeps the
norm, so every in-between frame is as sharp as the endpoints. When the two vectors are almost
parallel the angle is numerically meaningless and slerp falls back to lerp.

Prompt embeddings are not noise: they are interpolated linearly (`lerp`).

t = 0 returns `a` itself and t = 1 returns `b` itself (the same object, bit for bit), so the
ends of an interpolation reproduce the endpoint results exactly.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import RequestError

if TYPE_CHECKING:
    from .requests import AiRequest, AiResult

T = TypeVar("T")
INTERPOLATE, MORE_LIKE_THIS = "interpolate", "more_like_this"
MAX_SEED = 2**32 - 1

DOT_THRESHOLD = 0.9995  # |cos(angle)| above this: treat as parallel and lerp


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _f64(x: Any) -> Any:
    return x.double() if _is_torch(x) else x.astype("float64", copy=False)


def _like(x: Any, ref: Any) -> Any:
    """`x` cast back to `ref`'s dtype (and kind)."""
    return x.to(ref.dtype) if _is_torch(ref) else x.astype(ref.dtype, copy=False)


def _check(a: Any, b: Any, t: float) -> float:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"cannot interpolate between shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    t = float(t)
    if not math.isfinite(t):
        raise ValueError(f"t must be a finite number, not {t}")
    return t


def lerp(a: T, b: T, t: float) -> T:
    """(1 - t) * a + t * b, in the inputs' dtype; t = 0 and t = 1 return `a` / `b` as they are."""
    t = _check(a, b, t)
    if t == 0.0:
        return a
    if t == 1.0:
        return b
    a64, b64 = _f64(a), _f64(b)
    return _like(a64 * (1.0 - t) + b64 * t, a)


def angle(a: Any, b: Any) -> float:
    """The angle between `a` and `b` seen as flat vectors, in radians (0 when either is 0)."""
    a64, b64 = _f64(a), _f64(b)
    na = math.sqrt(float((a64 * a64).sum()))
    nb = math.sqrt(float((b64 * b64).sum()))
    if na == 0.0 or nb == 0.0:
        return 0.0
    dot = float((a64 * b64).sum()) / (na * nb)
    return math.acos(max(-1.0, min(1.0, dot)))


def slerp(a: T, b: T, t: float, dot_threshold: float = DOT_THRESHOLD) -> T:
    """Spherical interpolation between `a` and `b` (flattened), in the inputs' dtype.

    sin((1 - t) θ) / sin θ · a + sin(t θ) / sin θ · b, θ the angle between them; lerp when
    |cos θ| > `dot_threshold` (near-parallel or near-opposite: the formula divides by ~0).
    t outside [0, 1] extrapolates along the same great circle.
    """
    t = _check(a, b, t)
    if t == 0.0:
        return a
    if t == 1.0:
        return b
    theta = angle(a, b)
    if abs(math.cos(theta)) > dot_threshold:
        return lerp(a, b, t)
    s = math.sin(theta)
    c0 = math.sin((1.0 - t) * theta) / s
    c1 = math.sin(t * theta) / s
    return _like(_f64(a) * c0 + _f64(b) * c1, a)


def frame_ts(k: int, ends: bool = True) -> tuple[float, ...]:
    """`k` evenly spaced values of t: with `ends`, from 0 to 1 inclusive (k >= 2), else strictly
    between them (the in-betweens only)."""
    k = int(k)
    if k < 1:
        raise ValueError("at least one frame is needed")
    if ends:
        if k == 1:
            return (0.5,)
        return tuple(round(i / (k - 1), 6) for i in range(k))
    return tuple(round((i + 1) / (k + 1), 6) for i in range(k))


@dataclass(frozen=True)
class LatentMix:
    """Latent-space exploration set on a request (`AiRequest.mix`): result i mixes the random
    draws of the request's seed with those of `subseeds[i]` at `ts[i]` (slerp; see
    `ai/latents.py`), and for an interpolation also lerps the prompt embeddings towards
    `prompt` / `negative_prompt` (endpoint B; endpoint A is the request's own prompt).

    "interpolate": A = (request seed, prompt), B = (subseed, `prompt`), t per frame.
    "more_like_this": a small perturbation of the request seed's noise: one perturbation seed
    per variation, the same `amount` (t) for all.
    """

    kind: str
    subseeds: tuple[int, ...]
    ts: tuple[float, ...]
    prompt: str | None = None
    negative_prompt: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "subseeds", tuple(int(s) for s in self.subseeds))
        set_(self, "ts", tuple(float(t) for t in self.ts))
        if self.kind not in (INTERPOLATE, MORE_LIKE_THIS):
            raise RequestError(f"unknown latent exploration {self.kind!r}")
        if not self.ts or len(self.ts) != len(self.subseeds):
            raise RequestError("a latent exploration needs one seed and one t per result")
        if any(not 0 <= s <= MAX_SEED for s in self.subseeds):
            raise RequestError(f"seeds must be between 0 and {MAX_SEED}")
        if any(not 0.0 <= t <= 1.0 for t in self.ts):
            raise RequestError("interpolation positions and amounts must be between 0 and 1")

    def __len__(self) -> int:
        return len(self.ts)

    def variant(self, i: int) -> LatentMix:
        """The mix of result `i` alone (to re-make just that one)."""
        return dataclasses.replace(self, subseeds=(self.subseeds[i],), ts=(self.ts[i],))

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "subseeds": list(self.subseeds), "ts": list(self.ts),
                "prompt": self.prompt, "negative_prompt": self.negative_prompt}

    def variant_record(self, req: AiRequest, i: int) -> tuple[str, dict[str, Any]]:
        """(key, readable record) of result `i`: what provenance shows and re-makes it."""
        if self.kind == MORE_LIKE_THIS:
            return MORE_LIKE_THIS, {"base_seed": req.seed, "perturbation_seed":
                                    self.subseeds[i], "amount": self.ts[i]}
        a = {"seed": req.seed, "prompt": req.prompt, "negative_prompt": req.negative_prompt}
        b = {"seed": self.subseeds[i], "prompt": self.prompt_b(req),
             "negative_prompt": self.negative_b(req)}
        return INTERPOLATE, {"t": self.ts[i], "from": a, "to": b}

    def prompt_b(self, req: AiRequest) -> str:
        return req.prompt if self.prompt is None else self.prompt

    def negative_b(self, req: AiRequest) -> str:
        return req.negative_prompt if self.negative_prompt is None else self.negative_prompt

    @staticmethod
    def from_record(rec: dict[str, Any]) -> LatentMix | None:
        """The single-result mix a provenance record describes (None: a plain result)."""
        if isinstance(rec.get(MORE_LIKE_THIS), dict):
            m = rec[MORE_LIKE_THIS]
            return LatentMix(MORE_LIKE_THIS, (int(m["perturbation_seed"]),),
                             (float(m["amount"]),))
        if isinstance(rec.get(INTERPOLATE), dict):
            m = rec[INTERPOLATE]
            b = m["to"]
            return LatentMix(INTERPOLATE, (int(b["seed"]),), (float(m["t"]),),
                             str(b.get("prompt", "")), str(b.get("negative_prompt", "")))
        if isinstance(rec.get("mix"), dict):
            m = rec["mix"]
            return LatentMix(str(m["kind"]), tuple(m["subseeds"]), tuple(m["ts"]),
                             m.get("prompt"), m.get("negative_prompt"))
        return None


# ---- requests for exploring a result's variations -------------------------------------------
def _plain_seeds(result: AiResult, *indices: int) -> list[int]:
    if result.backend != "diffusers":
        raise RequestError("in-betweens and 'more like this' need variations a diffusion "
                           "model made")
    if result.request.mix is not None:
        raise RequestError("pick plain variations: these are already in-betweens or "
                           "'more like this' variations (apply one, or re-generate it first)")
    for i in indices:
        if not 0 <= i < len(result.images):
            raise RequestError(f"there is no variation {i + 1}")
    return [int(result.seeds[i]) for i in indices]


def _pinned(result: AiResult) -> dict[str, Any]:
    """The request's fields that pin the exact model the result was made with."""
    model = result.info.get("model_id") or result.request.model
    return {"model": str(model)}


def between_request(result: AiResult, a: int, b: int, frames: int) -> AiRequest:
    """`frames` in-betweens (strictly between t = 0 and 1) of variations `a` and `b` of
    `result`: the same pixels, settings and model; seed A mixed with seed B."""
    sa, sb = _plain_seeds(result, a, b)
    if a == b or sa == sb:
        raise RequestError("pick two different variations for in-betweens")
    ts = frame_ts(frames, ends=False)
    mix = LatentMix(INTERPOLATE, (sb,) * len(ts), ts)
    return dataclasses.replace(result.request, seed=sa, batch_size=len(ts), mix=mix,
                               **_pinned(result))


def more_like_request(result: AiResult, index: int, count: int, amount: float,
                      first_seed: int) -> AiRequest:
    """`count` variations close to variation `index`: its seed's noise slerped `amount` of the
    way towards the noise of seeds `first_seed`, `first_seed + 1`, ..."""
    (seed,) = _plain_seeds(result, index)
    if not 0.0 < float(amount) <= 1.0:
        raise RequestError(f"the amount must be between 0 and 1, not {amount}")
    subs = tuple((int(first_seed) + j) % (MAX_SEED + 1) for j in range(int(count)))
    if seed in subs:
        subs = tuple((s + count) % (MAX_SEED + 1) for s in subs)
    mix = LatentMix(MORE_LIKE_THIS, subs, (float(amount),) * len(subs))
    return dataclasses.replace(result.request, seed=seed, batch_size=len(subs), mix=mix,
                               **_pinned(result))
