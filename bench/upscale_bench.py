"""Image › Upscale (issue 15) on a CPU: tiles against a whole run, memory, the UI thread.

Prints `name: value` lines:

    upscale_whole_ms              an upscaler model (a Real-ESRGAN "compact" architecture,
                                  SRVGGNetCompact 64 features × 16 convolutions ×4, about 1.2 M
                                  parameters, random weights, loaded through the app's loader)
                                  on a 384² picture in one run (median)
    upscale_tiled_ms              the same picture through `ai/upscale.py: with_model` in 128²
                                  tiles overlapping by 16, blended (median)
    upscale_tiled_vs_whole_ratio  tiled / whole (target <= 1.15)
    upscale_4k_x4_peak_rss_mb     a 4096² one-layer picture ×4 with Lanczos, request + engine +
                                  apply, in a fresh process: its peak resident memory (target
                                  <= 3000)
    upscale_4k_x4_s               that run's time
    ui_max_stall_ms               the longest gap of a 5 ms timer on the UI thread of the real
                                  window (offscreen, the AI dock's worker) from pressing Upscale
                                  (2048² ×4 with Lanczos) to the 8192² result in the document
                                  and the canvas repainted (target <= 50)
    refine_tiled_ms               the app's refine in tiles (make_request + Engine.run) of a
                                  256×192 picture in 128² tiles overlapping by 32 (6 tiles),
                                  a small random-weight SD model, 4 steps at strength 0.5
    refine_raw_tiles_ms           the bare diffusers img2img calls on the same tiles
    refine_vs_raw_tiles_ratio     refine_tiled_ms / refine_raw_tiles_ms (target <= 1.10)

    .venv/bin/python bench/upscale_bench.py [--runs 5] [--no-ui] [--no-rss]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def compact_model(path: Path) -> Path:
    """A Real-ESRGAN compact (SRVGGNetCompact) ×4 with random weights, as .safetensors."""
    import torch
    from safetensors.torch import save_file

    from aiart_desktop.ai.backends.local_upscale import spandrel_module

    spandrel_module()   # spandrel imported the app's way (see local_upscale.py)
    from spandrel.architectures.Compact.__arch.SRVGG import SRVGGNetCompact

    torch.manual_seed(0)
    net = SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def _picture(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def tiled_vs_whole(runs: int) -> dict[str, float]:
    from aiart_desktop.ai import upscale as up
    from aiart_desktop.ai.backends.local_upscale import Upscaler

    with tempfile.TemporaryDirectory() as tmp:
        path = compact_model(Path(tmp) / "compact_x4.safetensors")
        model = Upscaler("cpu")
        rgb = _picture(384, 384)
        rgba = np.dstack([rgb, np.full((384, 384), 255, np.uint8)])
        run = lambda t: model.run(t, path)  # noqa: E731
        model.run(rgb[:64, :64], path)      # load and warm up
        whole, tiled = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            model.run(rgb, path)
            whole.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            up.with_model(rgba, (1536, 1536), run, 4, tile=128, overlap=16)
            tiled.append((time.perf_counter() - t0) * 1000)
    w, t = statistics.median(whole), statistics.median(tiled)
    return {"upscale_whole_ms": w, "upscale_tiled_ms": t, "upscale_tiled_vs_whole_ratio": t / w}


RSS_CHILD = r"""
import resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from aiart_desktop.ai import upscale as up
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
doc = Document.new(4096, 4096, (200, 210, 220, 255))
y, x = np.mgrid[0:4096, 0:4096]
px = np.zeros((4096, 4096, 4), np.uint8)
px[..., 0], px[..., 1], px[..., 3] = x % 256, y % 256, 255
doc.put_pixels(doc.layers[0], 0, 0, px)
del px, x, y
t0 = time.perf_counter()
result = default_engine(ModelRegistry(sys.argv[2]), device="cpu").run(
    up.upscale_request(doc, 4.0))
up.apply_upscale(doc, result)
assert (doc.width, doc.height) == (16384, 16384)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - t0)
"""


def peak_rss() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(ROOT), tmp],
                             capture_output=True, text=True, check=True).stdout.split()
    return {"upscale_4k_x4_peak_rss_mb": float(out[0]), "upscale_4k_x4_s": float(out[1])}


def ui_stall() -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "bench"))
    from _ui_probe import Probe
    from PySide6.QtWidgets import QApplication

    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core.document import Document
    from aiart_desktop.qt.ai_dock import install_ai_dock
    from aiart_desktop.qt.dialogs.upscale import install_upscale, open_upscale
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.qt.ui_thread import keep_gc_on_ui_thread
    from aiart_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    keep_gc_on_ui_thread(app)
    tmp = tempfile.mkdtemp()
    reg = ModelRegistry(Path(tmp) / "models")
    win = MainWindow(settings=Settings(), autosave=False, ai=False)
    install_ai_dock(win, registry=reg, engine=default_engine(reg, device="cpu"))
    install_upscale(win)
    win.resize(1366, 768)
    win.show()
    doc = Document.new(2048, 2048, (200, 210, 220, 255))
    doc.put_pixels(doc.layers[0], 0, 0, np.dstack([_picture(2048, 2048),
                                                   np.full((2048, 2048), 255, np.uint8)]))
    win.set_document(doc)
    win.canvas.fit()
    app.processEvents()
    dlg = open_upscale(win)
    dlg.scale.setCurrentIndex(1)     # ×4

    def spin(until, timeout_s: float = 300.0) -> None:
        t0 = time.perf_counter()
        while not until():
            if time.perf_counter() - t0 > timeout_s:
                raise SystemExit("timed out waiting for the upscale")
            app.processEvents()
            time.sleep(0.0002)

    probe = Probe()
    probe.timer.start()
    t0 = time.perf_counter()
    dlg.start()
    spin(lambda: not dlg.running)
    total = (time.perf_counter() - t0) * 1000
    t_end = time.perf_counter() + 0.3          # the repaint after the last step counts too
    spin(lambda: time.perf_counter() > t_end)
    probe.timer.stop()
    assert (doc.width, doc.height) == (8192, 8192)
    win.ai_worker.shutdown()
    win.hide()
    return {"ui_max_stall_ms": probe.max_gap_ms(), "ui_upscale_ms": total}


def refine_vs_raw(runs: int, steps: int = 4) -> dict[str, float]:
    """The app's refine in tiles (make_request + Engine.run over a 256×192 picture, 128² tiles
    overlapping by 32) against the bare diffusers img2img calls on the same tiles, seeds and
    steps (the same loaded pipeline), with a small random-weight SD model (unet 64/128)."""
    import torch
    from PIL import Image

    from aiart_desktop.ai import upscale as up
    from aiart_desktop.ai.backends.local import make_scheduler
    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core.document import Document
    from tests.support.tiny_models import build_sd

    tmp = Path(tempfile.mkdtemp(prefix="aiart-bench-"))
    folder = build_sd(tmp / "model", unet_channels=(64, 128), sample_size=64)
    registry = ModelRegistry(tmp / "models", allow_pickle=False)
    info = registry.add_folder(folder, name="bench")
    engine = default_engine(registry, device="cpu")
    doc = Document.new(256, 192, (0, 0, 0, 255))
    doc.put_pixels(doc.layers[0], 0, 0, np.dstack([_picture(192, 256),
                                                   np.full((192, 256), 255, np.uint8)]))
    params = dict(prompt="a bench", model=info.id, seed=1, steps=steps, strength=0.5,
                  scheduler="euler_a", tiled=True, tile=128, tile_overlap=32)

    def app() -> float:
        t0 = time.perf_counter()
        engine.run(make_request(doc, "img2img", target="image", margin=0, **params))
        return time.perf_counter() - t0

    app()                                          # load the model
    pipe = engine.backend("diffusers")._pipeline(info, "img2img")
    base = engine.backend("diffusers")._base_scheduler
    picture = _picture(192, 256)
    tiles = [Image.fromarray(picture[r.slices()]) for r in up.tile_grid(192, 256, 128, 32)]

    def raw() -> float:
        t0 = time.perf_counter()
        for i, tile in enumerate(tiles):
            pipe.scheduler = make_scheduler("euler_a", base)
            pipe(prompt="a bench", image=tile, strength=0.5, num_inference_steps=steps,
                 guidance_scale=7.0, generator=[torch.Generator("cpu").manual_seed(1 + i)],
                 output_type="np")
        return time.perf_counter() - t0

    raw()
    apps, raws = [], []
    for _ in range(runs):
        raws.append(raw())
        apps.append(app())
    a, r = statistics.median(apps), statistics.median(raws)
    return {"refine_tiles": float(len(tiles)), "refine_tiled_ms": a * 1000,
            "refine_raw_tiles_ms": r * 1000, "refine_vs_raw_tiles_ratio": a / r}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-ui", action="store_true")
    ap.add_argument("--no-rss", action="store_true")
    args = ap.parse_args()
    figures = tiled_vs_whole(args.runs)
    figures.update(refine_vs_raw(args.runs))
    if not args.no_rss:
        figures.update(peak_rss())
    if not args.no_ui:
        figures.update(ui_stall())
    for name, value in figures.items():
        print(f"{name}: {value:.3f}" if "ratio" in name else f"{name}: {value:.1f}")


if __name__ == "__main__":
    main()
