"""Blend modes against the W3C Compositing and Blending Level 1 formulas, pixel by pixel."""
from __future__ import annotations

import math

import numpy as np
import pytest

from aiart_desktop.core import kernels
from aiart_desktop.core.blend import BLEND_MODES, composite, flatten, to_straight_u8
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.layer import Group, Layer


@pytest.fixture(params=["numpy", "jit"], autouse=True)
def pixel_path(request):
    """Every test runs on both the numpy path and the compiled kernels."""
    if request.param == "jit":
        kernels.warm_up(block=True)
        if kernels.get() is None:
            pytest.fail(f"JIT kernels unavailable: {kernels.failure()}")
    else:
        kernels.set_enabled(False)
    yield request.param
    kernels.set_enabled(True)


# ---- a scalar reference written straight from the spec -----------------------------------
def _sep(mode: str, cb: float, cs: float) -> float:
    if mode == "normal":
        return cs
    if mode == "multiply":
        return cb * cs
    if mode == "screen":
        return cb + cs - cb * cs
    if mode == "overlay":
        return _sep("hard-light", cs, cb)
    if mode == "darken":
        return min(cb, cs)
    if mode == "lighten":
        return max(cb, cs)
    if mode == "color-dodge":
        if cb == 0:
            return 0.0
        if cs == 1:
            return 1.0
        return min(1.0, cb / (1 - cs))
    if mode == "color-burn":
        if cb == 1:
            return 1.0
        if cs == 0:
            return 0.0
        return 1 - min(1.0, (1 - cb) / cs)
    if mode == "hard-light":
        if cs <= 0.5:
            return cb * 2 * cs
        return _sep("screen", cb, 2 * cs - 1)
    if mode == "soft-light":
        if cs <= 0.5:
            return cb - (1 - 2 * cs) * cb * (1 - cb)
        d = ((16 * cb - 12) * cb + 4) * cb if cb <= 0.25 else math.sqrt(cb)
        return cb + (2 * cs - 1) * (d - cb)
    if mode == "difference":
        return abs(cb - cs)
    if mode == "exclusion":
        return cb + cs - 2 * cb * cs
    raise KeyError(mode)


def _lum(c):
    return 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]


def _clip(c):
    lum, n, x = _lum(c), min(c), max(c)
    if n < 0:
        c = [lum + (v - lum) * lum / (lum - n) for v in c]
    if x > 1:
        c = [lum + (v - lum) * (1 - lum) / (x - lum) for v in c]
    return c


def _set_lum(c, lum):
    d = lum - _lum(c)
    return _clip([v + d for v in c])


def _sat(c):
    return max(c) - min(c)


def _set_sat(c, s):
    order = sorted(range(3), key=lambda i: c[i])
    lo, mid, hi = order
    out = [0.0, 0.0, 0.0]
    if c[hi] > c[lo]:
        out[mid] = (c[mid] - c[lo]) * s / (c[hi] - c[lo])
        out[hi] = s
    return out


def _nonsep(mode, cb, cs):
    if mode == "hue":
        return _set_lum(_set_sat(cs, _sat(cb)), _lum(cb))
    if mode == "saturation":
        return _set_lum(_set_sat(cb, _sat(cs)), _lum(cb))
    if mode == "color":
        return _set_lum(cs, _lum(cb))
    return _set_lum(cb, _lum(cs))


def reference(mode, backdrop, source, opacity):
    """Straight RGBA floats in, straight RGBA floats out, as the spec composes them."""
    cb, ab = backdrop[:3], backdrop[3]
    cs, as_ = source[:3], source[3] * opacity
    if mode in ("hue", "saturation", "color", "luminosity"):
        b = _nonsep(mode, list(cb), list(cs))
    else:
        b = [_sep(mode, cb[i], cs[i]) for i in range(3)]
    ao = as_ + ab * (1 - as_)
    co = [as_ * (1 - ab) * cs[i] + as_ * ab * b[i] + (1 - as_) * ab * cb[i] for i in range(3)]
    rgb = [v / ao if ao > 0 else 0.0 for v in co]
    return np.array([*rgb, ao])


def _samples(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, size=(n, 4)).astype(np.uint8)
    # Include the edge values the formulas treat specially.
    px[:8, :3] = [[0, 0, 0], [255, 255, 255], [128, 128, 128], [255, 0, 0],
                  [0, 255, 64], [64, 64, 255], [1, 254, 127], [200, 100, 0]]
    px[:4, 3] = [255, 0, 1, 128]
    return px


@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize("opacity", [1.0, 0.6])
def test_mode_matches_spec_on_sampled_pixels(mode: str, opacity: float) -> None:
    back = _samples(1)
    src = _samples(2)
    acc = np.zeros((1, len(back), 4), np.float32)
    composite(acc, back[None], "normal")
    composite(acc, src[None], mode, opacity)
    got = to_straight_u8(acc)[0].astype(np.float64)
    for i in range(len(back)):
        want = reference(mode, back[i] / 255.0, src[i] / 255.0, opacity)
        if want[3] * 255 < 0.5:
            assert got[i, 3] == 0
            continue
        want_u8 = np.clip(want * 255.0, 0, 255)
        # float32 accumulation and rounding to 8 bits: at most one level off
        assert np.all(np.abs(got[i] - want_u8) <= 1.0), (mode, i, back[i], src[i], got[i], want_u8)


def test_fully_opaque_backdrop_known_values() -> None:
    # multiply 50% grey over white is 50% grey; screen black over anything is unchanged
    acc = np.zeros((1, 1, 4), np.float32)
    composite(acc, np.array([[[255, 255, 255, 255]]], np.uint8))
    composite(acc, np.array([[[128, 128, 128, 255]]], np.uint8), "multiply")
    assert tuple(to_straight_u8(acc)[0, 0]) == (128, 128, 128, 255)
    acc = np.zeros((1, 1, 4), np.float32)
    composite(acc, np.array([[[10, 200, 30, 255]]], np.uint8))
    composite(acc, np.array([[[0, 0, 0, 255]]], np.uint8), "screen")
    assert tuple(to_straight_u8(acc)[0, 0]) == (10, 200, 30, 255)


def test_source_over_half_alpha_over_transparent_keeps_colour() -> None:
    acc = np.zeros((1, 1, 4), np.float32)
    composite(acc, np.array([[[200, 40, 90, 128]]], np.uint8), "multiply", 1.0)
    # over nothing, every mode reduces to the source itself
    assert tuple(to_straight_u8(acc)[0, 0]) == (200, 40, 90, 128)


def _layer(color, rect: Rect, **kw) -> Layer:
    layer = Layer(**kw)
    px = np.zeros((rect.h, rect.w, 4), np.uint8)
    px[...] = color
    layer.tiles.write(rect.x, rect.y, px)
    return layer


def _tree(*nodes) -> Group:
    root = Group(name="root")
    for n in nodes:
        n.parent = root
        root.children.append(n)
    return root


def test_flatten_only_computes_requested_rect_and_matches_full() -> None:
    root = _tree(_layer((255, 255, 255, 255), Rect(0, 0, 300, 200)),
                 _layer((255, 0, 0, 200), Rect(50, 30, 100, 80), blend_mode="multiply"),
                 _layer((0, 0, 255, 100), Rect(100, 50, 150, 120), opacity=0.5))
    full = flatten(root, Rect(0, 0, 300, 200))
    part = flatten(root, Rect(90, 40, 70, 60))
    assert np.array_equal(full[40:100, 90:160], part)
    assert part.shape == (60, 70, 4)


def test_group_isolated_vs_pass_through() -> None:
    white = _layer((255, 255, 255, 255), Rect(0, 0, 8, 8))
    inner = _layer((255, 0, 0, 255), Rect(0, 0, 8, 8), blend_mode="difference")
    g = Group(name="g", children=[inner])
    inner.parent = g
    root = _tree(white, g)
    # isolated: difference against transparency inside the group = red, then normal over white
    assert tuple(flatten(root, Rect(0, 0, 1, 1))[0, 0]) == (255, 0, 0, 255)
    g.pass_through = True  # now difference sees the white below: |1-1|,|1-0|,|1-0| = cyan
    assert tuple(flatten(root, Rect(0, 0, 1, 1))[0, 0]) == (0, 255, 255, 255)
    g.opacity = 0.5  # half-way between white and cyan
    assert tuple(flatten(root, Rect(0, 0, 1, 1))[0, 0]) == (128, 255, 255, 255)


def test_group_opacity_and_hidden_layers() -> None:
    base = _layer((0, 0, 0, 255), Rect(0, 0, 4, 4))
    a = _layer((255, 255, 255, 255), Rect(0, 0, 4, 4))
    g = Group(name="g", children=[a], opacity=0.25)
    a.parent = g
    root = _tree(base, g)
    assert tuple(flatten(root, Rect(0, 0, 1, 1))[0, 0]) == (64, 64, 64, 255)
    a.visible = False
    assert tuple(flatten(root, Rect(0, 0, 1, 1))[0, 0]) == (0, 0, 0, 255)


def test_layer_offset_moves_pixels() -> None:
    layer = _layer((9, 8, 7, 255), Rect(0, 0, 2, 2))
    layer.offset = (10, 5)
    out = flatten(_tree(layer), Rect(0, 0, 20, 20))
    assert tuple(out[5, 10]) == (9, 8, 7, 255)
    assert out[0, 0, 3] == 0 and out[7, 12, 3] == 0


def test_single_layer_blocks_are_copied_exactly() -> None:
    rng = np.random.default_rng(5)
    px = rng.integers(0, 256, (300, 600, 4), dtype=np.uint8)
    layer = Layer()
    layer.tiles.write(0, 0, px)
    root = _tree(layer)
    assert np.array_equal(flatten(root, Rect(0, 0, 600, 300)), px)  # straight: exact copy
    layer.opacity = 0.999  # forces real compositing: at most one level of rounding
    assert np.abs(flatten(root, Rect(0, 0, 600, 300)).astype(int) - px)[..., 3].max() <= 1
