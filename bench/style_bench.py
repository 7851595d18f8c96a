"""Style transfer benchmark: megapixels per second, ours vs onnxruntime called directly.

Built-in style 7 (multistyle26 network), CPU. At 512² the picture is one tile; at 2048² it is
processed in 512 px tiles overlapping by 64 (25 tiles). The raw baseline, measured in the same
run, feeds the same input to the same cached InferenceSession: one call at 512², and at 2048²
the same 25 tiles back to back with no blending. `style_vs_raw_ratio` is the worse of the two
(raw speed / our speed); target ≤ 1.15. Median of N runs of each, alternated, after
one warm-up.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit  # noqa: E402

from aiart_desktop.ai.style import session, style_transfer  # noqa: E402
from aiart_desktop.ai.style_tiles import run_tiles_raw  # noqa: E402

STYLE = 7
TILE, OVERLAP = 512, 64


def picture(size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.dstack([xx, yy, 0.5 + 0.5 * np.sin(12 * (xx + yy))]) * 255
    img[size // 4: size // 2, size // 4: size // 2] = (200, 40, 30)
    return img.astype(np.uint8)


def median_pair(a: Callable[[], object], b: Callable[[], object], runs: int
                ) -> tuple[float, float]:
    """Median seconds of `a` and of `b`, run alternately (so machine noise hits both)."""
    a(), b()
    ta, tb = [], []
    for _ in range(runs):
        for fn, times in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def raw_fn() -> Callable[[np.ndarray], np.ndarray]:
    sess = session("multistyle26")
    weights = np.zeros(26, np.float32)
    weights[STYLE] = 1.0

    def run(tile: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(tile.transpose(2, 0, 1)[None])
        return sess.run(None, {"image": x, "style_weights": weights})[0]

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    raw = raw_fn()
    out: dict[str, object] = {}
    ratios = []
    for size in (512, 2048):
        img = picture(size)
        mp = size * size / 1e6
        f32 = img.astype(np.float32) / 255.0
        if size <= TILE:
            def base_fn(f32: np.ndarray = f32) -> object:
                return raw(f32)
        else:
            def base_fn(f32: np.ndarray = f32) -> object:
                return run_tiles_raw(f32, raw, TILE, OVERLAP)
        ours, base = median_pair(
            lambda img=img: style_transfer(img, f"Style {STYLE}", tile=TILE, overlap=OVERLAP),
            base_fn, args.runs)
        out[f"style_{size}_mps"] = round(mp / ours, 2)
        out[f"raw_{size}_mps"] = round(mp / base, 2)
        out[f"style_{size}_ms"] = round(ours * 1000, 1)
        out[f"raw_{size}_ms"] = round(base * 1000, 1)
        ratios.append(ours / base)
    img = picture(1024)
    style_img = picture(300)
    t = time.perf_counter()
    style_transfer(img, style_img)
    out["image_style_1024_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["style_vs_raw_ratio"] = round(max(ratios), 3)
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
