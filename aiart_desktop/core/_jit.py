"""numba kernels; imported only through kernels.warm_up() (never at start-up)."""
from __future__ import annotations

import math
import os

import numpy as np

if "NUMBA_CACHE_DIR" not in os.environ:
    from platformdirs import user_cache_dir

    os.environ["NUMBA_CACHE_DIR"] = os.path.join(user_cache_dir("aiart-desktop"), "numba")

from numba import njit

F0 = np.float32(0.0)
F1 = np.float32(1.0)
INV255 = np.float32(1.0 / 255.0)


@njit(nogil=True, cache=True)
def over_u8(acc, src, opacity):  # pragma: no cover - compiled
    """Normal source-over of straight RGBA8 `src` onto premultiplied float32 `acc`."""
    h, w = src.shape[0], src.shape[1]
    k = np.float32(opacity) * INV255
    for y in range(h):
        for x in range(w):
            a = np.float32(src[y, x, 3]) * k
            if a == F0:
                continue
            inv = F1 - a
            ka = a * INV255
            for c in range(3):
                acc[y, x, c] = acc[y, x, c] * inv + np.float32(src[y, x, c]) * ka
            acc[y, x, 3] = acc[y, x, 3] * inv + a


@njit(nogil=True, cache=True, inline="always")
def _blend(mode, cb, cs):  # pragma: no cover - compiled
    if mode == 1:
        return cb * cs
    if mode == 2:
        return cb + cs - cb * cs
    if mode == 3:  # overlay = hard-light with the layers swapped
        if cb <= 0.5:
            return cs * 2 * cb
        t = 2 * cb - 1
        return cs + t - cs * t
    if mode == 4:
        return min(cb, cs)
    if mode == 5:
        return max(cb, cs)
    if mode == 6:
        if cb <= 0:
            return 0.0
        if cs >= 1:
            return 1.0
        return min(1.0, cb / (1 - cs))
    if mode == 7:
        if cb >= 1:
            return 1.0
        if cs <= 0:
            return 0.0
        return 1 - min(1.0, (1 - cb) / cs)
    if mode == 8:
        if cs <= 0.5:
            return cb * 2 * cs
        t = 2 * cs - 1
        return cb + t - cb * t
    if mode == 9:
        if cs <= 0.5:
            return cb - (1 - 2 * cs) * cb * (1 - cb)
        d = ((16 * cb - 12) * cb + 4) * cb if cb <= 0.25 else math.sqrt(cb)
        return cb + (2 * cs - 1) * (d - cb)
    if mode == 10:
        return abs(cb - cs)
    return cb + cs - 2 * cb * cs


@njit(nogil=True, cache=True)
def blend_u8(acc, src, opacity, mode):  # pragma: no cover - compiled
    """Separable W3C blend of straight RGBA8 `src` onto premultiplied float32 `acc`."""
    h, w = src.shape[0], src.shape[1]
    k = np.float32(opacity) * INV255
    for y in range(h):
        for x in range(w):
            a_s = np.float32(src[y, x, 3]) * k
            if a_s == F0:
                continue
            a_b = acc[y, x, 3]
            for c in range(3):
                cs = np.float32(src[y, x, c]) * INV255
                cb = acc[y, x, c] / a_b if a_b > F0 else F0
                b = np.float32(min(1.0, max(0.0, _blend(mode, cb, cs))))
                acc[y, x, c] = a_s * (cs + a_b * (b - cs)) + (F1 - a_s) * acc[y, x, c]
            acc[y, x, 3] = a_s + a_b * (F1 - a_s)


@njit(nogil=True, cache=True)
def to_straight(acc, out):  # pragma: no cover - compiled
    h, w = acc.shape[0], acc.shape[1]
    for y in range(h):
        for x in range(w):
            a = acc[y, x, 3]
            if a <= F0:
                for c in range(4):
                    out[y, x, c] = 0
                continue
            s = np.float32(255.0) / a
            for c in range(3):
                out[y, x, c] = np.uint8(min(np.float32(255.0), max(F0, acc[y, x, c] * s
                                                                   + np.float32(0.5))))
            out[y, x, 3] = np.uint8(min(np.float32(255.0), a * np.float32(255.0)
                                        + np.float32(0.5)))


@njit(nogil=True, cache=True)
def to_premul(acc, out):  # pragma: no cover - compiled
    h, w = acc.shape[0], acc.shape[1]
    for y in range(h):
        for x in range(w):
            for c in range(4):
                out[y, x, c] = np.uint8(min(np.float32(255.0), max(
                    F0, acc[y, x, c] * np.float32(255.0) + np.float32(0.5))))


def warm() -> None:
    """Compile (or load from the cache) every kernel once."""
    acc = np.zeros((2, 2, 4), np.float32)
    src = np.full((2, 2, 4), 128, np.uint8)
    out = np.zeros((2, 2, 4), np.uint8)
    over_u8(acc, src, 1.0)
    blend_u8(acc, src, 1.0, 1)
    to_straight(acc, out)
    to_premul(acc, out)
