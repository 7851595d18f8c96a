"""slerp / lerp on numpy arrays (and torch tensors): ends exact, norm kept, fallback, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

from aiart_desktop.ai.latents import angle, frame_ts, lerp, slerp


def _noise(seed: int, shape=(4, 8, 8), dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_ends_are_the_inputs_themselves() -> None:
    a, b = _noise(1), _noise(2)
    assert slerp(a, b, 0.0) is a and slerp(a, b, 1.0) is b
    assert lerp(a, b, 0) is a and lerp(a, b, 1) is b


def test_slerp_keeps_the_norm_where_lerp_shrinks_it() -> None:
    a, b = _noise(1, (4, 64, 64)), _noise(2, (4, 64, 64))
    n = np.linalg.norm(a)
    mid_s, mid_l = slerp(a, b, 0.5), lerp(a, b, 0.5)
    assert mid_s.dtype == np.float32 and mid_s.shape == a.shape
    assert abs(np.linalg.norm(mid_s) / n - 1) < 0.02      # same "amount of noise"
    assert np.linalg.norm(mid_l) / n < 0.75               # lerp: ~1/sqrt(2) of it


def test_slerp_walks_the_great_circle_at_constant_speed() -> None:
    a = np.array([1.0, 0.0])
    b = np.array([0.0, 1.0])
    for t in (0.1, 0.25, 0.5, 0.9):
        v = slerp(a, b, t)
        assert np.allclose(v, [math.cos(t * math.pi / 2), math.sin(t * math.pi / 2)])
        assert math.isclose(angle(a, v), t * math.pi / 2, abs_tol=1e-12)


def test_near_parallel_falls_back_to_lerp() -> None:
    a = _noise(3)
    b = a * 2.0 + 1e-6  # same direction: the angle is ~0 and sin(θ) would divide by ~0
    out = slerp(a, b, 0.3)
    assert np.all(np.isfinite(out))
    assert np.allclose(out, lerp(a, b, 0.3))
    assert np.array_equal(slerp(a, -a, 0.5), lerp(a, -a, 0.5))  # opposite: lerp too


def test_lerp_values_and_dtype() -> None:
    a = np.zeros((2, 3), np.float16)
    b = np.full((2, 3), 4.0, np.float16)
    out = lerp(a, b, 0.25)
    assert out.dtype == np.float16 and np.all(out == 1.0)


def test_errors() -> None:
    with pytest.raises(ValueError, match="shapes"):
        slerp(np.zeros(3), np.zeros(4), 0.5)
    with pytest.raises(ValueError, match="finite"):
        lerp(np.zeros(3), np.ones(3), float("nan"))
    assert angle(np.zeros(3), np.ones(3)) == 0.0


def test_torch_tensors_too() -> None:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    a = torch.randn(1, 4, 8, 8, generator=g)
    b = torch.randn(1, 4, 8, 8, generator=g)
    out = slerp(a, b, 0.4)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    ref = slerp(a.numpy(), b.numpy(), 0.4)
    assert np.allclose(out.numpy(), ref, atol=1e-6)


def test_frame_ts() -> None:
    assert frame_ts(5) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert frame_ts(3, ends=False) == (0.25, 0.5, 0.75)
    assert frame_ts(1) == (0.5,)
    with pytest.raises(ValueError):
        frame_ts(0)
