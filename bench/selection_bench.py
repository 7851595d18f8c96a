"""Selection benchmark on a 4096×4096 document: one `name: value` line per operation.

Target (issue 4): each operation under ~50 ms. The selection is a wobbly lasso about 2400 px
across (a large, realistic selection); the wand runs on a painted image. Median of 5 runs.
Baseline: a plain numpy copy of one canvas-sized mask, measured in the same run.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit

from aiart_desktop.core import selection as sel

SIZE = 4096


def lasso_points(n: int = 2000) -> np.ndarray:
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = 1200 * (1 + 0.15 * np.sin(7 * a))
    return np.stack([SIZE / 2 + r * np.cos(a), SIZE / 2 + r * np.sin(a)], axis=1)


def painted_image() -> np.ndarray:
    img = np.zeros((SIZE, SIZE, 4), np.uint8)
    img[..., 3] = 255
    img[..., 0] = (np.arange(SIZE) % 256).astype(np.uint8)[None, :]
    img[1000:3000, 1000:3000, :3] = (40, 90, 200)
    return img


def median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pts = lasso_points()
    mask = sel.polygon_mask(SIZE, SIZE, pts)
    img = painted_image()
    sel.feather(mask, 2)  # let OpenCV start its thread pool outside the timings
    out = {
        "lasso_rasterise_ms": median_ms(lambda: sel.polygon_mask(SIZE, SIZE, pts)),
        "ellipse_ms": median_ms(lambda: sel.ellipse_mask(SIZE, SIZE, 800, 800, 3200, 3300)),
        "wand_ms": median_ms(lambda: sel.magic_wand(img, 2000, 2000, 24)),
        "wand_global_ms": median_ms(lambda: sel.magic_wand(img, 2000, 2000, 24, False)),
        "feather_32px_ms": median_ms(lambda: sel.feather(mask, 32)),
        "grow_16px_ms": median_ms(lambda: sel.grow(mask, 16)),
        "shrink_16px_ms": median_ms(lambda: sel.shrink(mask, 16)),
        "border_10px_ms": median_ms(lambda: sel.border(mask, 10)),
        "invert_ms": median_ms(lambda: sel.invert(mask)),
        "mask_copy_baseline_ms": median_ms(mask.copy),
    }
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
