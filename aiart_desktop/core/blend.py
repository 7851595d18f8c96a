"""W3C Compositing and Blending Level 1: blend modes, source-over, and flattening.

Colours are floats in [0, 1]. The compositing accumulator is premultiplied RGBA float32;
layers are straight RGBA8. For a source colour Cs with alpha as (already multiplied by the
layer opacity) over a backdrop Cb with alpha ab, the spec gives

    co = as (1 - ab) Cs + as ab B(Cb, Cs) + (1 - as) ab Cb      (premultiplied)
    ao = as + ab (1 - as)
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .geometry import Rect
from .layer import Group, Layer

SEPARABLE = (
    "normal", "multiply", "screen", "overlay", "darken", "lighten", "color-dodge",
    "color-burn", "hard-light", "soft-light", "difference", "exclusion",
)
NON_SEPARABLE = ("hue", "saturation", "color", "luminosity")
BLEND_MODES: tuple[str, ...] = SEPARABLE + NON_SEPARABLE

Blend = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _multiply(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return cb * cs


def _screen(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return cb + cs - cb * cs


def _hard_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return np.where(cs <= 0.5, cb * (2 * cs), _screen(cb, 2 * cs - 1))


def _overlay(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return _hard_light(cs, cb)


def _color_dodge(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.minimum(1.0, cb / (1.0 - cs))
    r = np.where(cs >= 1.0, 1.0, r)
    return np.where(cb <= 0.0, 0.0, r).astype(np.float32)


def _color_burn(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1.0 - np.minimum(1.0, (1.0 - cb) / cs)
    r = np.where(cs <= 0.0, 0.0, r)
    return np.where(cb >= 1.0, 1.0, r).astype(np.float32)


def _soft_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
    return np.where(
        cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb)
    )


def _lum(c: np.ndarray) -> np.ndarray:
    return (0.3 * c[..., 0] + 0.59 * c[..., 1] + 0.11 * c[..., 2])[..., None]


def _clip_color(c: np.ndarray) -> np.ndarray:
    lum = _lum(c)
    n = c.min(axis=-1, keepdims=True)
    x = c.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = lum + (c - lum) * lum / (lum - n)
        c = np.where(n < 0, low, c)
        high = lum + (c - lum) * (1 - lum) / (x - lum)
        c = np.where(x > 1, high, c)
    return c


def _set_lum(c: np.ndarray, lum: np.ndarray) -> np.ndarray:
    return _clip_color(c + (lum - _lum(c)))


def _sat(c: np.ndarray) -> np.ndarray:
    return c.max(axis=-1, keepdims=True) - c.min(axis=-1, keepdims=True)


def _set_sat(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    cmin = c.min(axis=-1, keepdims=True)
    span = c.max(axis=-1, keepdims=True) - cmin
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (c - cmin) * s / span
    return np.where(span > 0, out, 0.0)


def _hue(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return _set_lum(_set_sat(cs, _sat(cb)), _lum(cb))


def _saturation(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return _set_lum(_set_sat(cb, _sat(cs)), _lum(cb))


def _color(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return _set_lum(cs, _lum(cb))


def _luminosity(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return _set_lum(cb, _lum(cs))


BLEND_FUNCTIONS: dict[str, Blend] = {
    "normal": lambda cb, cs: cs,
    "multiply": _multiply,
    "screen": _screen,
    "overlay": _overlay,
    "darken": np.minimum,
    "lighten": np.maximum,
    "color-dodge": _color_dodge,
    "color-burn": _color_burn,
    "hard-light": _hard_light,
    "soft-light": _soft_light,
    "difference": lambda cb, cs: np.abs(cb - cs),
    "exclusion": lambda cb, cs: cb + cs - 2 * cb * cs,
    "hue": _hue,
    "saturation": _saturation,
    "color": _color,
    "luminosity": _luminosity,
}


def composite(
    acc: np.ndarray,
    src: np.ndarray,
    mode: str = "normal",
    opacity: float = 1.0,
    src_premultiplied: bool = False,
) -> None:
    """Composite `src` onto the premultiplied float32 accumulator `acc`, in place.

    `src` is (h, w, 4): uint8 straight RGBA, or float32 (straight or, with
    `src_premultiplied`, premultiplied) in [0, 1].
    """
    if src.dtype == np.uint8:
        s = src.astype(np.float32)
        s *= 1.0 / 255.0
        src_premultiplied = False
    else:
        s = src.astype(np.float32, copy=True)
    a_s = s[..., 3:4]
    if opacity != 1.0:
        a_s *= opacity
        if src_premultiplied:
            s[..., :3] *= opacity
    if mode == "normal":
        cs_p = s[..., :3] if src_premultiplied else s[..., :3] * a_s
        acc[..., :3] *= 1.0 - a_s
        acc[..., :3] += cs_p
        acc[..., 3:4] += a_s * (1.0 - acc[..., 3:4])
        return
    func = BLEND_FUNCTIONS[mode]
    a_b = acc[..., 3:4]
    with np.errstate(divide="ignore", invalid="ignore"):
        if src_premultiplied:
            cs = np.where(a_s > 0, s[..., :3] / a_s, 0.0)
        else:
            cs = s[..., :3]
        cb = np.where(a_b > 0, acc[..., :3] / a_b, 0.0)
    b = np.clip(func(cb, cs), 0.0, 1.0)
    co = a_s * (1.0 - a_b) * cs + a_s * a_b * b + (1.0 - a_s) * acc[..., :3]
    acc[..., :3] = co
    acc[..., 3:4] = a_s + a_b * (1.0 - a_s)


def to_straight_u8(acc: np.ndarray) -> np.ndarray:
    """Premultiplied float accumulator -> straight RGBA8."""
    a = acc[..., 3:4]
    out = np.empty(acc.shape, np.uint8)
    with np.errstate(divide="ignore", invalid="ignore"):
        rgb = np.where(a > 0, acc[..., :3] / a, 0.0)
    out[..., :3] = np.clip(rgb * 255.0 + 0.5, 0, 255)
    out[..., 3:4] = np.clip(a * 255.0 + 0.5, 0, 255)
    return out


def to_premultiplied_u8(acc: np.ndarray) -> np.ndarray:
    """Premultiplied float accumulator -> premultiplied RGBA8 (what a display wants)."""
    return np.clip(acc * 255.0 + 0.5, 0, 255).astype(np.uint8)


def lerp_acc(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """Premultiplied interpolation, used for pass-through group opacity."""
    return before + (after - before) * np.float32(t)


# ---- flattening the layer tree --------------------------------------------------------------
FLATTEN_BLOCK = 512


def flatten(root: Group, rect: Rect, premultiplied: bool = False) -> np.ndarray:
    """Composite the visible layer tree over transparency, computing only `rect`.

    Returns (h, w, 4) uint8: straight RGBA, or premultiplied RGBA with `premultiplied`.
    """
    out = np.empty((max(rect.h, 0), max(rect.w, 0), 4), np.uint8)
    conv = to_premultiplied_u8 if premultiplied else to_straight_u8
    for by in range(rect.y, rect.bottom, FLATTEN_BLOCK):
        for bx in range(rect.x, rect.right, FLATTEN_BLOCK):
            block = Rect.from_edges(
                bx, by, min(bx + FLATTEN_BLOCK, rect.right), min(by + FLATTEN_BLOCK, rect.bottom)
            )
            acc = flatten_acc(root, block)
            out[block.slices(rect.x, rect.y)] = conv(acc)
    return out


def flatten_acc(root: Group, rect: Rect) -> np.ndarray:
    """The premultiplied float32 composite of `root`'s children in `rect`."""
    acc = np.zeros((rect.h, rect.w, 4), np.float32)
    _composite_children(acc, root, rect)
    return acc


def _composite_children(acc: np.ndarray, group: Group, rect: Rect) -> None:
    for node in group.children:
        if not node.visible or node.opacity <= 0.0:
            continue
        if isinstance(node, Layer):
            if node.has_pixels_in(rect):
                composite(acc, node.read(rect), node.blend_mode, node.opacity)
        elif isinstance(node, Group):
            if node.pass_through:
                before = acc.copy() if node.opacity < 1.0 else None
                _composite_children(acc, node, rect)
                if before is not None:
                    acc[...] = lerp_acc(before, acc, node.opacity)
            else:
                sub = np.zeros_like(acc)
                _composite_children(sub, node, rect)
                if sub[..., 3].any():
                    composite(acc, sub, node.blend_mode, node.opacity, src_premultiplied=True)

