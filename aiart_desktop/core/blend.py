"""W3C Compositing and Blending Level 1: blend modes, source-over, and flattening.

Colours are floats in [0, 1]. The compositing accumulator is premultiplied RGBA float32;
layers are straight RGBA8. For a source colour Cs with alpha as (already multiplied by the
layer opacity) over a backdrop Cb with alpha ab, the spec gives

    co = as (1 - ab) Cs + as ab B(Cb, Cs) + (1 - as) ab Cb      (premultiplied)
    ao = as + ab (1 - as)
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from . import kernels
from .geometry import Rect
from .layer import Group, Layer, Node

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

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
    if src.dtype == np.uint8 and (k := kernels.get()) is not None:
        if mode == "normal":
            k["over"](acc, src, float(opacity))
            return
        if mode in kernels.MODE_IDS:
            k["blend"](acc, src, float(opacity), kernels.MODE_IDS[mode])
            return
    if mode == "normal":
        sp = premultiply(src, opacity, src_premultiplied)
        acc *= 1.0 - sp[..., 3:4]
        acc += sp
        return
    if src.dtype == np.uint8:
        s = src.astype(np.float32)
        s *= np.float32(1.0 / 255.0)
        src_premultiplied = False
    else:
        s = src.astype(np.float32, copy=True)
    a_s = s[..., 3:4]
    if opacity != 1.0:
        a_s *= np.float32(opacity)
        if src_premultiplied:
            s[..., :3] *= np.float32(opacity)
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


def premultiply(src: np.ndarray, opacity: float = 1.0,
                src_premultiplied: bool = False) -> np.ndarray:
    """Premultiplied float32 RGBA in [0, 1] of `src` with `opacity` applied."""
    if src.dtype == np.uint8:
        s = src.astype(np.float32)
        a = s[..., 3:4] * np.float32(opacity / (255.0 * 255.0))
        s[..., 3] = 255.0
        s *= a
        return s
    s = src.astype(np.float32, copy=True)
    if src_premultiplied:
        if opacity != 1.0:
            s *= np.float32(opacity)
        return s
    a = s[..., 3:4] * np.float32(opacity)
    s[..., 3] = 1.0
    s *= a
    return s


def to_straight_u8(acc: np.ndarray) -> np.ndarray:
    """Premultiplied float accumulator -> straight RGBA8."""
    if (k := kernels.get()) is not None:
        out = np.empty(acc.shape, np.uint8)
        k["straight"](acc, out)
        return out
    a = acc[..., 3:4]
    scale = np.zeros_like(a)
    np.divide(np.float32(255.0), a, out=scale, where=a > 0)
    tmp = acc * scale
    tmp[..., 3:4] = a * np.float32(255.0)
    tmp += np.float32(0.5)
    np.clip(tmp, 0.0, 255.0, out=tmp)
    return tmp.astype(np.uint8)


def to_premultiplied_u8(acc: np.ndarray) -> np.ndarray:
    """Premultiplied float accumulator -> premultiplied RGBA8 (what a display wants)."""
    if (k := kernels.get()) is not None:
        out = np.empty(acc.shape, np.uint8)
        k["premul"](acc, out)
        return out
    tmp = acc * np.float32(255.0)
    tmp += np.float32(0.5)
    np.clip(tmp, 0.0, 255.0, out=tmp)
    return tmp.astype(np.uint8)


def lerp_acc(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """Premultiplied interpolation, used for pass-through group opacity."""
    return before + (after - before) * np.float32(t)


# ---- flattening the layer tree --------------------------------------------------------------
FLATTEN_BLOCK = 512
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                                   thread_name_prefix="flatten")
    return _pool


def flatten(root: Group, rect: Rect, premultiplied: bool = False) -> np.ndarray:
    """Composite the visible layer tree over transparency, computing only `rect`.

    Returns (h, w, 4) uint8: straight RGBA, or premultiplied RGBA with `premultiplied`.
    Large rects are split into blocks composited in parallel (numpy releases the GIL).
    """
    out = np.zeros((max(rect.h, 0), max(rect.w, 0), 4), np.uint8)
    if rect.area > 4 * FLATTEN_BLOCK * FLATTEN_BLOCK:
        kernels.warm_up()  # big flattens are worth compiling for (in the background)
    conv = to_premultiplied_u8 if premultiplied else to_straight_u8
    blocks = [
        Rect.from_edges(bx, by, min(bx + FLATTEN_BLOCK, rect.right),
                        min(by + FLATTEN_BLOCK, rect.bottom))
        for by in range(rect.y, rect.bottom, FLATTEN_BLOCK)
        for bx in range(rect.x, rect.right, FLATTEN_BLOCK)
    ]

    def work(block: Rect) -> None:
        dst = out[block.slices(rect.x, rect.y)]
        if _copy_single_layer(root, block, dst, premultiplied):
            return
        acc = flatten_acc(root, block)
        if acc is not None:
            dst[...] = conv(acc)

    if len(blocks) > 2:
        list(_executor().map(work, blocks))
    else:
        for b in blocks:
            work(b)
    return out


def _copy_single_layer(root: Group, block: Rect, dst: np.ndarray, premultiplied: bool) -> bool:
    """Fast path: when one plain layer (normal, 100 %) is all there is in `block`, its pixels
    are the composite. Returns False when the block needs real compositing."""
    only: Node | None = None
    for node in root.children:
        if not node.visible or node.opacity <= 0.0:
            continue
        if isinstance(node, Layer):
            if _coverage(node, block).empty:
                continue
        elif isinstance(node, Group):
            if all(_coverage(n, block).empty for n in node.layers()):
                continue
        if only is not None:
            return False
        only = node
    if only is None:
        return True  # nothing visible: dst is already transparent
    if not isinstance(only, Layer) or only.blend_mode != "normal" or only.opacity != 1.0:
        return False
    src = only.read(block)
    if premultiplied and not (src[..., 3] == 255).all():
        return False
    dst[...] = src
    return True


def flatten_acc(root: Group, rect: Rect) -> np.ndarray | None:
    """The premultiplied float32 composite of `root` in `rect`; None when nothing is there."""
    acc = np.zeros((rect.h, rect.w, 4), np.float32)
    return acc if _composite_children(acc, root, rect, True) else None


def _coverage(layer: Layer, rect: Rect) -> Rect:
    """Part of `rect` where `layer` has stored tiles (tile-granular)."""
    ox, oy = layer.offset
    return layer.tiles.covered(rect.translated(-ox, -oy)).translated(ox, oy)


def _composite_children(acc: np.ndarray, group: Group, rect: Rect, empty: bool) -> bool:
    """Composite the group's children onto `acc` (which covers `rect`). `empty` says acc
    holds nothing yet, allowing a plain copy for the first normal layer. Returns whether
    anything was drawn into acc (or acc was already non-empty)."""
    drawn = not empty
    for node in group.children:
        if not node.visible or node.opacity <= 0.0:
            continue
        if isinstance(node, Layer):
            part = _coverage(node, rect)
            if part.empty:
                continue
            sl = part.slices(rect.x, rect.y)
            src = node.read(part)
            if not drawn and node.blend_mode == "normal" and kernels.get() is None:
                acc[sl] = premultiply(src, node.opacity)
            else:
                composite(acc[sl], src, node.blend_mode, node.opacity)
            drawn = True
        elif isinstance(node, Group):
            if node.pass_through:
                before = acc.copy() if node.opacity < 1.0 else None
                drawn = _composite_children(acc, node, rect, not drawn) or drawn
                if before is not None:
                    acc[...] = lerp_acc(before, acc, node.opacity)
            else:
                sub = np.zeros_like(acc)
                if _composite_children(sub, node, rect, True):
                    composite(acc, sub, node.blend_mode, node.opacity, src_premultiplied=True)
                    drawn = True
    return drawn
