"""Classical fill benchmark: the app's Fill selection (no diffusion model) against the bare
PatchMatch call on the same region and mask.

A 1600×1200 painting made with the real brush engine (sky and ground gradients with canvas
grain, clouds, grass and a tree drawn as strokes on their own layers), a 460×350 elliptical
selection around the tree. The app's job is `make_request` (region + context margin, mask)
followed by `Engine.run` with model "classical" (PatchMatch, patch radius 3), for 1 and for 2
variations. The baseline is `patchmatch.inpaint(rgb, hole, patch_size=3)` after
`set_random_seed`, called on exactly the region and hole that the job fills, with the
PatchMatch seed the job's first variation uses (the job's seed is a multiple of 8: its first
variation is the region as it is, and the bench checks that it equals the bare call's fill;
the second is the region mirrored, the same work). Each round runs bare, job 1, job 2 and
bare on two threads back to back; a ratio is the median over the rounds of the ratio within a
round (neighbours in time share the machine's load), after a warm-up. Prints `name: value`
lines:

- bare_ms: one bare PatchMatch call.
- job_1_ms, job_2_ms: the app's job with 1 and 2 variations.
- job_1_vs_bare_ratio: job_1 / bare (target ≤ 1.10).
- job_2_per_variation_vs_bare_ratio: job_2 / (2 × bare) (target ≤ 1.10).
- job_2_vs_job_1_ratio: what a second variation adds (≤ 2 wanted; below 2 when the two
  variations run at the same time on a machine with two or more free cores).
- bare_2_threads_ms: the two bare calls on two threads at once (what concurrency can reach on
  this machine at that moment), and job_2_vs_bare_2_threads_ratio.
- job_2_parallelism: CPU seconds of the process over wall seconds during job 2 (1.0: one core
  at a time; up to 2.0 with the two variations filled at once on two free cores).
- *_cpu_* figures: the ratios in CPU seconds of the whole process (every thread): the work
  done, which the other programs on a busy machine disturb less than the wall clock.
- capture_ms, prepare_ms, finish_ms: the app's own work around the fill (make_request; the
  engine before and after the fill: region, masks, blend mask), job 1.
- progress_reports_1, first_report_ms: how many ProgressInfo reports one job sends and when
  the first one arrives (the dock's bar moves during the fill).

Usage: python bench/fill_bench.py [--runs N] [--json]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _report import emit  # noqa: E402

from aiart_desktop.ai import region  # noqa: E402
from aiart_desktop.ai.backends import classical  # noqa: E402
from aiart_desktop.ai.capture import make_request  # noqa: E402
from aiart_desktop.ai.models.registry import ModelRegistry  # noqa: E402
from aiart_desktop.ai.requests import AiRequest, ProgressInfo  # noqa: E402
from aiart_desktop.ai.setup import default_engine  # noqa: E402
from aiart_desktop.core import selection as sel  # noqa: E402
from aiart_desktop.core.brush import BrushSettings, Stroke  # noqa: E402
from aiart_desktop.core.document import Document  # noqa: E402

W, H = 1600, 1200
SEL = (560, 430, 460, 350)  # x, y, w, h of the elliptical selection around the tree


def _stroke(doc: Document, layer: object, brush: BrushSettings,
            points: list[tuple[float, float, float]]) -> None:
    x, y, p = points[0]
    s = Stroke(doc, layer, brush, x, y, p, respect_selection=False)  # type: ignore[arg-type]
    for x, y, p in points[1:]:
        s.move(x, y, p)
    s.end()


def painting() -> Document:
    """A painting as a user makes one: gradients with grain, then strokes on layers."""
    rng = np.random.default_rng(11)
    doc = Document.new(W, H, (255, 255, 255, 255))
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    horizon = 640 + 40 * np.sin(xx / 210.0)
    sky = np.stack([110 + 60 * yy / H, 160 + 40 * yy / H, 235 - 30 * yy / H], -1)
    ground = np.stack([70 + 50 * (yy - 640) / 560, 120 + 30 * np.sin(xx / 53.0),
                       50 + 20 * np.cos(yy / 41.0)], -1)
    rgb = np.where((yy < horizon)[..., None], sky, ground)
    rgb += rng.normal(0, 6, (H, W, 3)).astype(np.float32)  # canvas grain
    base = np.empty((H, W, 4), np.uint8)
    base[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    base[..., 3] = 255
    doc.add_layer("underpainting", pixels=base)
    clouds = doc.add_layer("clouds")
    for _ in range(14):
        cx, cy = rng.uniform(0, W), rng.uniform(40, 420)
        pts = [(cx + 18 * k, cy + 6 * np.sin(k), 0.8) for k in range(12)]
        brush = BrushSettings(size=float(rng.uniform(30, 70)), hardness=0.2, opacity=0.7,
                              flow=0.4, color=(245, 245, 250))
        _stroke(doc, clouds, brush, pts)
    grass = doc.add_layer("grass")
    for _ in range(260):
        gx, gy = rng.uniform(0, W), rng.uniform(700, H)
        g = int(rng.uniform(90, 170))
        brush = BrushSettings(size=float(rng.uniform(3, 8)), hardness=0.7,
                              color=(40, g, 30))
        _stroke(doc, grass, brush, [(gx, gy, 1.0), (gx + rng.uniform(-6, 6), gy - 28, 0.4)])
    tree = doc.add_layer("tree")
    tx, ty = SEL[0] + SEL[2] / 2, SEL[1] + SEL[3] / 2
    _stroke(doc, tree, BrushSettings(size=34, hardness=0.9, color=(80, 50, 30)),
            [(tx, ty + 150, 1.0), (tx + 4, ty, 1.0), (tx - 3, ty - 60, 0.8)])
    for _ in range(40):
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(20, 110)
        brush = BrushSettings(size=float(rng.uniform(20, 45)), hardness=0.5, opacity=0.9,
                              color=(30, int(rng.uniform(70, 120)), 35))
        x0, y0 = tx + r * np.cos(a), ty - 80 + 0.6 * r * np.sin(a)
        _stroke(doc, tree, brush, [(x0, y0, 1.0), (x0 + 15, y0 + 8, 0.8)])
    x, y, w, h = SEL
    doc.set_selection(sel.ellipse_mask(W, H, x, y, x + w, y + h))
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pm = classical._patchmatch()
    if pm is None:
        sys.exit("pypatchmatch's native library is not available: nothing to measure")
    doc = painting()
    engine = default_engine(ModelRegistry(Path(tempfile.mkdtemp(prefix="aiart-fill-")),
                                          allow_pickle=False), device="cpu")
    seed = 8 * 1234
    split = getattr(classical, "split_seed", lambda s: (s, 0))  # older code: no split_seed
    pm_seed = split(seed)[0]
    params = dict(prompt="", model="classical", seed=seed)
    req1 = make_request(doc, "inpaint", batch_size=1, **params)
    # The exact region and hole the job fills: the captured picture and the selection > 0.
    rgb = np.ascontiguousarray(region.rgba_to_rgb(req1.image))
    hole = ((req1.selection() > 0) * 255).astype(np.uint8)

    cpu: dict[str, list[float]] = {"bare": [], "job_1": [], "job_2": []}

    def bare() -> float:
        c0, t0 = time.process_time(), time.perf_counter()
        pm.set_random_seed(pm_seed)  # type: ignore[attr-defined]
        pm.inpaint(rgb, hole, patch_size=3)  # type: ignore[attr-defined]
        cpu["bare"].append(time.process_time() - c0)
        return time.perf_counter() - t0

    def bare_2_threads() -> float:
        pm.set_random_seed(pm_seed)  # type: ignore[attr-defined]
        threads = [threading.Thread(target=pm.inpaint, args=(rgb, hole),  # type: ignore
                                    kwargs={"patch_size": 3}) for _ in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    reports: list[tuple[float, ProgressInfo]] = []
    parts: dict[str, list[float]] = {"capture": [], "prepare": [], "finish": []}

    def job(n: int) -> float:
        reports.clear()
        c0, t0 = time.process_time(), time.perf_counter()
        req: AiRequest = make_request(doc, "inpaint", batch_size=n, **params)
        t1 = time.perf_counter()
        res = engine.run(req, lambda p: reports.append((time.perf_counter() - t0, p)))
        assert res.backend == "classical" and len(res.images) == n
        if n == 1:
            parts["capture"].append(t1 - t0)
            parts["prepare"].append(res.info["timings"]["prepare_s"])
            parts["finish"].append(res.info["timings"]["finish_s"])
        cpu[f"job_{n}"].append(time.process_time() - c0)
        return time.perf_counter() - t0

    bare()
    job(1)  # warm up
    same = engine.run(req1).images[0]
    pm.set_random_seed(pm_seed)  # type: ignore[attr-defined]
    ref = pm.inpaint(rgb, hole, patch_size=3)  # type: ignore[attr-defined]
    assert np.array_equal(same[hole > 0], ref[hole > 0]), "the job and the bare call differ"
    for v in [*cpu.values(), *parts.values()]:
        v.clear()
    bares, b2s, j1s, j2s, nrep, first = [], [], [], [], [], []
    for _ in range(args.runs):
        bares.append(bare())
        j1s.append(job(1))
        nrep.append(len(reports))
        first.append(reports[0][0] if reports else float("nan"))
        j2s.append(job(2))
        b2s.append(bare_2_threads())
    med = statistics.median
    b, b2, j1, j2 = med(bares), med(b2s), med(j1s), med(j2s)

    def paired(num: list[float], den: list[float], k: float = 1.0) -> float:
        return round(med([x / (k * y) for x, y in zip(num, den, strict=True)]), 3)

    emit({
        "region_px": f"{rgb.shape[1]}x{rgb.shape[0]}",
        "hole_px": int(np.count_nonzero(hole)),
        "cpus": os.cpu_count(),
        "bare_ms": round(b * 1000, 1),
        "bare_2_threads_ms": round(b2 * 1000, 1),
        "job_1_ms": round(j1 * 1000, 1),
        "job_2_ms": round(j2 * 1000, 1),
        "job_1_vs_bare_ratio": paired(j1s, bares),
        "job_2_per_variation_vs_bare_ratio": paired(j2s, bares, 2.0),
        "job_2_vs_job_1_ratio": paired(j2s, j1s),
        "job_2_vs_bare_2_threads_ratio": paired(j2s, b2s),
        "job_2_parallelism": paired(cpu["job_2"], j2s),
        "job_1_cpu_vs_bare_cpu_ratio": paired(cpu["job_1"], cpu["bare"]),
        "job_2_cpu_per_variation_vs_bare_cpu_ratio": paired(cpu["job_2"], cpu["bare"], 2.0),
        **{f"{k}_ms": round(med(v) * 1000, 1) for k, v in parts.items()},
        "progress_reports_1": int(med(nrep)),
        "first_report_ms": round(med(first) * 1000, 1),
    }, args.json)


if __name__ == "__main__":
    main()
