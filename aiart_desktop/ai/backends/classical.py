"""Model-free fill: PatchMatch (the `pypatchmatch` package) or OpenCV's inpainting.

"Fill / Remove selection" works with no diffusion model installed: the hole is filled from its
surroundings. PatchMatch copies texture from elsewhere in the region (best for removing objects
from textured backgrounds); OpenCV's Telea / Navier-Stokes methods smoothly propagate the
colours around the hole (best for small holes and flat areas). Only masked pixels change.

Variations and seeds. pypatchmatch keeps ONE random seed for the whole process (read by each
call when it starts), but its random generator is per thread and its calls release the GIL, so
calls that share a seed can run at the same time and give exactly what they give alone. So a
variation's seed `s` picks PatchMatch's seed `s // 8` and one of the 8 flips / quarter turns of
the region (`s % 8`, undone afterwards): consecutive seeds, as the variations of one job have,
share PatchMatch's seed and are filled at the same time, one thread per core (as memory
allows), and each one is exactly what its seed gives when it is re-made alone.

Progress. Neither PatchMatch nor OpenCV's inpainting has a callback, so each fill runs on its
own thread (both release the GIL) while the caller's thread reports an estimate every 0.1 s
(the work of the region's size and hole, at the speed measured on this machine's earlier
fills; it creeps, never reaching the end, when a fill takes longer than estimated) and checks
for cancel. A cancelled fill is abandoned: its thread runs to its end in the background and
its result is dropped.
"""
from __future__ import annotations

import functools
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from ..backend import CLASSICAL_ARCH, Capabilities
from ..errors import Cancelled, RequestError
from ..job import Job
from ..requests import ProgressInfo

METHODS = ("auto", "patchmatch", "telea", "ns")
# PatchMatch's cost grows with the hole; above this many hole pixels OpenCV is used for "auto".
PATCHMATCH_MAX_HOLE = 1536 * 1536
PATCH_SIZE = 3        # PatchMatch's patch radius (7×7 patches), as in pypatchmatch's examples
ORIENTATIONS = 8      # flips × transposition: the part of a seed that picks the orientation
STEPS = 100           # progress steps per variation
POLL_S = 0.1          # how often progress is reported and cancel checked during a fill
HOLE_WEIGHT = 10.0    # estimated cost of a hole pixel, in region pixels
MEMORY_BUDGET = 1536 * 2**20  # bytes the PatchMatch fills running at once may hold

ProgressFn = Callable[[int, int, str], None]  # (step, total, phase)
Key = tuple[int, int]  # (PatchMatch seed, orientation); (0, 0) for OpenCV's fills
Done = tuple[Key, np.ndarray | None, BaseException | None, float]  # key, fill, error, seconds

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _patchmatch() -> object | None:
    """The pypatchmatch module when its native library loads, else None."""
    try:
        from patchmatch import patch_match
    except Exception as exc:  # any import failure means "not available"
        log.info("PatchMatch unavailable: %s", exc)
        return None
    return patch_match if getattr(patch_match, "patchmatch_available", False) else None


def patchmatch_available() -> bool:
    return _patchmatch() is not None


def resolve_method(method: str, hole_pixels: int) -> str:
    if method not in METHODS:
        raise RequestError(f"unknown fill method {method!r} (use one of {', '.join(METHODS)})")
    if method == "patchmatch" and not patchmatch_available():
        raise RequestError("PatchMatch is not available (the pypatchmatch package is not "
                           "installed or its library does not load); use telea or ns")
    if method == "auto":
        ok = patchmatch_available() and hole_pixels <= PATCHMATCH_MAX_HOLE
        return "patchmatch" if ok else "telea"
    return method


def split_seed(seed: int) -> tuple[int, int]:
    """(PatchMatch's seed, orientation 0..7) of a variation's seed."""
    s = int(seed)
    return (s // ORIENTATIONS) % 2**32, s % ORIENTATIONS


def orient(img: np.ndarray, k: int) -> np.ndarray:
    """`img` transposed (k & 4), mirrored left-right (k & 1) and upside down (k & 2)."""
    if k & 4:
        img = img.swapaxes(0, 1)
    if k & 1:
        img = img[:, ::-1]
    if k & 2:
        img = img[::-1]
    return np.ascontiguousarray(img)


def unorient(img: np.ndarray, k: int) -> np.ndarray:
    """The inverse of `orient(img, k)`."""
    if k & 2:
        img = img[::-1]
    if k & 1:
        img = img[:, ::-1]
    if k & 4:
        img = img.swapaxes(0, 1)
    return np.ascontiguousarray(img)


def fill(rgb: np.ndarray, mask: np.ndarray, method: str = "auto", seed: int = 0,
         cancelled: Callable[[], bool] | None = None,
         on_progress: ProgressFn | None = None) -> np.ndarray:
    """Fill the pixels where `mask` > 0 of an RGB8 image from their surroundings. Every pixel
    where `mask` is 0 is returned unchanged."""
    return fill_many(rgb, mask, method, [seed], cancelled, on_progress)[0]


def fill_many(rgb: np.ndarray, mask: np.ndarray, method: str = "auto",
              seeds: Sequence[int] = (0,), cancelled: Callable[[], bool] | None = None,
              on_progress: ProgressFn | None = None) -> list[np.ndarray]:
    """One fill (see `fill`) per seed, in the order of `seeds`. PatchMatch fills run at the same
    time where their seeds allow it (see the module's doc); each equals `fill` of its seed.
    OpenCV's methods are deterministic: one fill serves every seed. `on_progress(step, total,
    phase)` gets STEPS steps per variation; `cancelled()` is checked every POLL_S seconds and
    raises `Cancelled`."""
    stop = cancelled or (lambda: False)
    hole = (mask > 0).astype(np.uint8) * 255
    n = int(np.count_nonzero(hole))
    if n == 0:
        return [rgb.copy() for _ in seeds]
    if n == hole.size:
        raise RequestError("the whole region is selected, so there is nothing to fill it from: "
                           "select only the part to remove, or add a diffusion model")
    chosen = resolve_method(method, n)
    rgb = np.ascontiguousarray(rgb)
    if stop():
        raise Cancelled()
    task: Callable[[Key], np.ndarray]
    if chosen == "patchmatch":
        pm = _patchmatch()
        assert pm is not None
        keys = [split_seed(s) for s in seeds]
        waves = _waves(keys, _workers(rgb))
        cost = rgb.shape[0] * rgb.shape[1] + HOLE_WEIGHT * n

        def task(key: Key) -> np.ndarray:  # the GIL is released inside
            k = key[1]
            out = pm.inpaint(orient(rgb, k), orient(hole, k),  # type: ignore[attr-defined]
                             patch_size=PATCH_SIZE)
            return unorient(np.asarray(out, np.uint8), k)

        def start(wave: list[Key]) -> None:
            pm.set_random_seed(wave[0][0])  # type: ignore[attr-defined]
    else:
        keys = [(0, 0)] * len(seeds)
        waves = [[(0, 0)]]
        radius = int(min(15, max(3, round(np.sqrt(n) / 20))))
        flag = cv2.INPAINT_TELEA if chosen == "telea" else cv2.INPAINT_NS
        cost = n * radius * radius

        def task(key: Key) -> np.ndarray:
            return cv2.inpaint(rgb, hole, radius, flag)

        def start(wave: list[Key]) -> None:
            pass

    outs = _run_waves(chosen, waves, keys, task, start, cost, stop, on_progress)
    keep = hole == 0
    for out in outs:
        out[keep] = rgb[keep]
    return outs


# ---- fills on threads, with an estimated progress --------------------------------------------
class _Speed:
    """Seconds per cost unit of the fills measured in this process, per method and number of
    fills running at once: the estimate behind the progress bar."""

    DEFAULT = {"patchmatch": 2.0e-6, "telea": 1.0e-7, "ns": 1.0e-7}  # before a first fill

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._s_per_unit: dict[tuple[str, int], float] = {}

    def expected_s(self, method: str, cost: float, at_once: int) -> float:
        with self._lock:
            rate = self._s_per_unit.get((method, at_once))
            if rate is None:
                one = self._s_per_unit.get((method, 1), self.DEFAULT[method])
                rate = one * at_once / min(at_once, os.cpu_count() or 1)
        return cost * rate

    def measured(self, method: str, cost: float, at_once: int, seconds: float) -> None:
        rate = seconds / max(cost, 1.0)
        with self._lock:
            old = self._s_per_unit.get((method, at_once))
            self._s_per_unit[(method, at_once)] = rate if old is None else 0.5 * (old + rate)


_speed = _Speed()


def _workers(rgb: np.ndarray) -> int:
    """How many PatchMatch fills of `rgb` run at once: one per core, within the memory
    budget (a fill holds about 130 bytes per pixel of the region)."""
    per_fill = 130 * rgb.shape[0] * rgb.shape[1]
    return max(1, min(os.cpu_count() or 1, MEMORY_BUDGET // max(per_fill, 1)))


def _waves(keys: list[Key], workers: int) -> list[list[Key]]:
    """Groups of at most `workers` distinct keys sharing the PatchMatch seed, in the order of
    first appearance: each group runs at once."""
    waves: list[list[Key]] = []
    by_seed: dict[int, list[Key]] = {}
    for key in dict.fromkeys(keys):
        wave = by_seed.get(key[0])
        if wave is None or len(wave) >= workers:
            wave = by_seed[key[0]] = []
            waves.append(wave)
        wave.append(key)
    return waves


def _estimated_fraction(elapsed: float, expected: float) -> float:
    """Linear up to 90 % at the expected time, then creeping towards 99 %."""
    t = elapsed / max(expected, 1e-3)
    if t <= 0.9:
        return t
    return 0.99 - 0.09 * math.exp(-(t - 0.9) / 0.5)


def _run_waves(method: str, waves: list[list[Key]], keys: list[Key],
               task: Callable[[Key], np.ndarray], start: Callable[[list[Key]], None],
               cost: float, stop: Callable[[], bool], on_progress: ProgressFn | None
               ) -> list[np.ndarray]:
    """Run `task` for every key, one thread per key of a wave, a wave at a time, reporting
    progress and checking `stop` meanwhile. One array per entry of `keys`."""
    expected = [_speed.expected_s(method, cost, len(w)) for w in waves]
    n = len(keys)
    phase = "filling" if n == 1 else f"filling {n} variations"
    if sum(expected) >= 1.5:
        phase += f", about {round(sum(expected))} s"
    total = STEPS * n
    weight = {k: keys.count(k) for k in set(keys)}  # a repeated key counts for each variation
    filled: dict[Key, np.ndarray] = {}
    last = -1

    def report(running: list[Key], elapsed: float, expect: float) -> None:
        nonlocal last
        if on_progress is None:
            return
        done = sum(weight[k] for k in filled) * STEPS
        frac = _estimated_fraction(elapsed, expect)
        step = min(total - 1, done + int(sum(weight[k] for k in running) * STEPS * frac))
        if step != last:
            last = step
            on_progress(step, total, phase)

    for wave, expect in zip(waves, expected, strict=True):
        results: queue.Queue[Done] = queue.Queue()
        start(wave)
        t0 = time.perf_counter()
        for key in wave:
            threading.Thread(target=_worker, args=(task, key, t0, results), daemon=True,
                             name=f"fill-{method}-{key[1]}").start()
        running = list(wave)
        report(running, 0.0, expect)
        while running:
            try:
                key, out, error, seconds = results.get(timeout=POLL_S)
            except queue.Empty:
                if stop():
                    raise Cancelled() from None  # the threads finish unobserved
                report(running, time.perf_counter() - t0, expect)
                continue
            if error is not None:
                raise error
            assert out is not None
            running.remove(key)
            filled[key] = out
            _speed.measured(method, cost, len(wave), seconds)
            if stop():
                raise Cancelled()
            report(running, time.perf_counter() - t0, expect)
    outs: list[np.ndarray] = []
    for key in keys:
        out = filled[key]
        outs.append(out if not any(o is out for o in outs) else out.copy())
    if on_progress is not None:
        on_progress(total, total, phase)
    return outs


def _worker(task: Callable[[Key], np.ndarray], key: Key, t0: float,
            results: queue.Queue[Done]) -> None:
    try:
        results.put((key, task(key), None, time.perf_counter() - t0))
    except BaseException as exc:  # handed to the caller's thread
        results.put((key, None, exc, 0.0))


# ---- the backend -----------------------------------------------------------------------------
class ClassicalBackend:
    """The model-free fill behind the `Backend` protocol (ai/backend.py): an "inpaint" job's
    `image` (RGB8) is filled where its `mask` (the selection) is set, one fill per seed, with
    `params["fill_method"]` ("auto", "patchmatch", "telea" or "ns"). The engine sends it
    inpaints and outpaints (the new strip as the hole) when the request's model is
    "classical", or "auto" with no diffusion model installed."""

    name = "classical"
    capabilities = Capabilities(ops=frozenset({"inpaint", "outpaint"}),
                                archs=frozenset({CLASSICAL_ARCH}))

    def generate(self, job: Job, on_progress: Callable[[ProgressInfo], None] | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        if job.image is None or job.mask is None:
            raise RequestError("the fill needs the region's pixels and the selection")

        def report(step: int, total: int, phase: str) -> None:
            if on_progress is not None:
                on_progress(ProgressInfo(step, total, None, phase))

        method = str(job.params.get("fill_method", "auto"))
        return fill_many(job.image, job.mask, method, job.seeds, cancelled, report)

    def record(self, job: Job) -> dict[str, Any]:
        return {}

    def unload(self) -> None:
        pass
