"""Core benchmark: stroke latency, flatten throughput and sparse memory.

Prints one `name: value` line per figure (or JSON with --json). Baselines are measured in
the same run: bare numpy alpha-blending of the same dabs, plain numpy copies of the same bytes.
Targets (issue 2): stroke p95 <= 4 ms, flatten_vs_copy_ratio <= 10, sparse RSS <= 300 MB.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import emit

from aiart_desktop.core import kernels
from aiart_desktop.core.brush import BrushSettings, Stroke, dab_shape
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def build_doc(size: int = 4096, layers: int = 20, seed: int = 0) -> Document:
    """A background plus `layers - 1` layers, each a 1024² block of content somewhere."""
    rng = np.random.default_rng(seed)
    doc = Document.new(size, size)
    for i in range(layers - 1):
        px = np.zeros((1024, 1024, 4), np.uint8)
        px[..., :3] = rng.integers(0, 256, 3, dtype=np.uint8)
        px[..., 3] = rng.integers(60, 256, dtype=np.uint8)
        x, y = (int(v) for v in rng.integers(0, size - 1024, 2))
        layer = doc.add_layer(f"L{i}", pixels=px, x=x, y=y)
        if i % 4 == 1:
            doc.set_props(layer, blend_mode="multiply")
    doc.history.clear()
    return doc


def stroke_path(n: int, size: int) -> list[tuple[float, float, float]]:
    pts = []
    for i in range(n):
        t = i / n
        x = size * (0.1 + 0.8 * t)
        y = size * 0.5 + size * 0.3 * math.sin(t * 6 * math.pi)
        pts.append((x, y, 0.6 + 0.4 * math.sin(t * 20)))
    return pts


def bench_stroke(doc: Document, events: int = 600) -> dict[str, float]:
    layer = doc.layers[-1]
    brush = BrushSettings(size=30, hardness=0.7, color=(20, 40, 200), spacing=0.1)
    pts = stroke_path(events, doc.width)
    times: list[float] = []
    dabs_per_event: list[list[tuple[float, float, float]]] = []
    stroke = Stroke(doc, layer, brush, *pts[0])
    for x, y, p in pts[1:]:
        t0 = time.perf_counter()
        dabs = stroke._interpolate(x, y, p)
        rect = stroke._paint_dabs(dabs)
        if not rect.empty:
            doc.flatten(rect, premultiplied=True)  # what the canvas does for this event
        times.append(time.perf_counter() - t0)
        dabs_per_event.append(dabs)
    stroke.end()
    ours = sum(times)

    # Baseline: bare numpy alpha-blending of the same dab patches onto a dense canvas.
    canvas = np.full((doc.height, doc.width, 4), 255, np.uint8)
    color = np.array(brush.color, np.float32)
    t0 = time.perf_counter()
    for dabs in dabs_per_event:
        for x, y, p in dabs:
            r = brush.radius_at(p)
            rect = Rect.around(x, y, r).intersect(doc.rect)
            a = dab_shape(x, y, r, brush.hardness, rect)[..., None]
            sl = canvas[rect.slices()]
            sl[..., :3] = (sl[..., :3] * (1 - a) + color * a).astype(np.uint8)
    base = time.perf_counter() - t0
    ms = np.array(times) * 1000
    return {
        "stroke_events": len(times),
        "stroke_event_p50_ms": round(float(np.percentile(ms, 50)), 3),
        "stroke_event_p95_ms": round(float(np.percentile(ms, 95)), 3),
        "stroke_numpy_total_ms": round(base * 1000, 1),
        "stroke_total_ms": round(ours * 1000, 1),
        "stroke_vs_numpy_ratio": round(ours / base, 2),
    }


def _best(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_flatten(doc: Document, repeats: int = 3) -> dict[str, float]:
    kernels.set_enabled(False)
    numpy_only = _best(doc.flatten, repeats)
    kernels.set_enabled(True)
    best = _best(doc.flatten, repeats)
    # Baseline: plain numpy copies of the same bytes (each layer's stored area, dense).
    dense = [layer.read(layer.coarse_bounds()) for layer in doc.layers]
    nbytes = sum(a.nbytes for a in dense)
    dest = [np.empty_like(a) for a in dense]

    def copy_all() -> None:
        for a, d in zip(dense, dest, strict=True):
            np.copyto(d, a)

    base = _best(copy_all, repeats)
    return {
        "flatten_4k_20_ms": round(best * 1000, 1),
        "flatten_4k_20_numpy_only_ms": round(numpy_only * 1000, 1),
        "flatten_copy_same_bytes_ms": round(base * 1000, 1),
        "flatten_layer_bytes_mb": round(nbytes / 2**20, 1),
        "flatten_vs_copy_ratio": round(best / base, 2),
    }


def bench_sparse(layers: int = 50, size: int = 8192) -> dict[str, float]:
    gc.collect()
    before = rss_mb()
    doc = Document(size, size)
    rng = np.random.default_rng(1)
    brush = BrushSettings(size=12, color=(0, 0, 0))
    for i in range(layers):
        layer = doc.add_layer(f"S{i}")
        x, y = (float(v) for v in rng.integers(500, size - 500, 2))
        s = Stroke(doc, layer, brush, x, y)
        for k in range(1, 31):
            s.move(x + k * 10, y + 20 * math.sin(k / 5))
        s.end()
    gc.collect()
    grew = rss_mb() - before
    stored = sum(layer.tiles.nbytes for layer in doc.layers) / 2**20
    return {"sparse_50x8k_rss_mb": round(grew, 1), "sparse_50x8k_tile_mb": round(stored, 2),
            "sparse_dense_equivalent_mb": round(layers * size * size * 4 / 2**20, 0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    kernels.warm_up(block=True)  # the app does this in the background after start-up
    out["jit_warm_up_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    out["jit_available"] = kernels.get() is not None
    out.update(bench_sparse())
    doc = build_doc(args.size)
    out.update(bench_stroke(doc))
    out.update(bench_flatten(doc))
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
