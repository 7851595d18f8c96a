"""Live painting (issue 14) on a CPU: a medium tiny random-weight SD model (as
bench/ai_ui_bench.py builds it, native 256 px), a 1024² document, a 256² live frame, the real
`AiWorker` and `qt/live.py: LiveSession`.

Prints `name: value` lines:

    live_frame_ms              median time from an edit (live idle before it) to its frame shown
    raw_img2img_ms             median of the bare img2img pipeline call on the same inputs
    live_frame_vs_raw_ratio    the two medians' ratio (target <= 1.15)
    stroke_p95_ms              p95 of a brush stroke event (core.brush, the region flattened as
                               the canvas does) without live mode
    live_stroke_p95_ms         the same while live mode runs frames (target <= 2x and <= 8 ms)
    live_ui_max_stall_ms       largest gap of a 5 ms UI-thread timer while strokes are painted
                               and live runs (target <= 33)
    idle_ui_max_stall_ms       the same probe with no strokes and no live (baseline)
    live_burst_edits / live_frames_ran   a burst of edits at ~60 Hz, and the frames it caused
    live_frames_dropped_correctly        1 when frames_ran <= edits + 1
    prompt_encodings           prompts encoded by the backend over the whole run (cache)

    .venv/bin/python bench/live_bench.py [--steps 4] [--rounds 7] [--decoder taesd]

With `--decoder taesd` a tiny random-weight TAESD (tests.support.tiny_models.build_taesd) is
installed as the catalogue's `taesd`, live frames are decoded by it, and the bare call decodes
its latents with the same tiny VAE.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="aiart-live-bench-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))

import numpy as np  # noqa: E402
from _ui_probe import Probe  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

FRAME = (384, 384, 256, 256)


def spin(app: QApplication, until, timeout_s: float = 120.0) -> None:
    t0 = time.perf_counter()
    while not until():
        if time.perf_counter() - t0 > timeout_s:
            raise SystemExit("timed out waiting for the live session")
        app.processEvents()
        time.sleep(0.0002)


def dab(doc, k: int) -> None:
    px = np.zeros((12, 12, 4), np.uint8)
    px[...] = ((37 * k) % 256, 200, 60, 255)
    x, y, w, h = FRAME
    doc.put_pixels(doc.layers[0], x + 20 + (k * 17) % (w - 40), y + 20 + (k * 29) % (h - 40), px)


def strokes(app: QApplication, doc, events: int, interval_ms: int = 8) -> tuple[list[float],
                                                                               float]:
    """Paint one long stroke over the frame, one event per timer tick: the event times (ms)
    and the probe's largest gap."""
    from aiart_desktop.core.brush import BrushSettings, Stroke

    x0, y0, w, h = FRAME
    brush = BrushSettings(size=18, hardness=0.7, color=(200, 40, 20), spacing=0.1)
    pts = [(x0 + 10 + (w - 20) * i / events,
            y0 + h / 2 + (h / 3) * math.sin(i / events * 6 * math.pi)) for i in range(events)]
    times: list[float] = []
    state = {"i": 1, "stroke": Stroke(doc, doc.layers[0], brush, *pts[0])}

    def move() -> None:
        i = state["i"]
        if i >= len(pts):
            return
        t0 = time.perf_counter()
        stroke = state["stroke"]
        rect = stroke.move(*pts[i])
        if not rect.empty:
            doc.flatten(rect, premultiplied=True)  # what the canvas does for this event
        if i % 40 == 0:  # a new stroke now and then: the document's edit lands
            stroke.end()
            state["stroke"] = Stroke(doc, doc.layers[0], brush, *pts[i])
        times.append((time.perf_counter() - t0) * 1000.0)
        state["i"] = i + 1

    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(move)
    probe = Probe()
    probe.timer.start()
    timer.start()
    spin(app, lambda: state["i"] >= len(pts))
    timer.stop()
    state["stroke"].end()
    probe.timer.stop()
    return times, probe.max_gap_ms()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--events", type=int, default=240)
    ap.add_argument("--decoder", choices=["vae", "taesd"], default="vae")
    args = ap.parse_args()

    import torch

    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.ai.live import LiveSettings
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core.document import Document
    from aiart_desktop.core.geometry import Rect
    from aiart_desktop.qt.live import LiveSession
    from aiart_desktop.qt.worker import AiWorker
    from tests.support.tiny_models import build_sd, build_taesd

    base = Path(_tmp)
    reg = ModelRegistry(base / "models", allow_pickle=False)
    reg.add_folder(build_sd(base / "sd", unet_channels=(64, 128), sample_size=32),
                   name="bench-sd")
    if args.decoder == "taesd":
        build_taesd(reg.catalogue_folder("taesd"))
    app = QApplication([])
    engine = default_engine(reg, device="cpu")
    worker = AiWorker(engine=engine)
    doc = Document.new(1024, 1024, (40, 120, 200, 255))
    frame = Rect(*FRAME)
    settings = LiveSettings("a red boat on a calm lake", model="bench-sd", steps=args.steps,
                            strength=0.6, seed=11, region="frame", frame=frame,
                            decoder=args.decoder)
    idle_probe = Probe()
    idle_probe.timer.start()
    t_end = time.perf_counter() + 1.0
    spin(app, lambda: time.perf_counter() > t_end)
    idle_probe.timer.stop()

    # Strokes without live mode first (nothing loaded on the worker yet but idle).
    plain_times, _ = strokes(app, doc, args.events)

    session = LiveSession(worker, doc)
    frames: list = []
    session.frame.connect(frames.append)
    session.start(settings)
    spin(app, lambda: len(frames) >= 1 and session.state == "waiting", 600)  # loads the model

    # The bare pipeline on the same inputs (the engine's own loaded pipeline).
    local = engine.backend("diffusers")
    info = reg.inspect("bench-sd")
    pipe = local._pipeline(info, "img2img")
    from PIL import Image

    taesd = local._taesd[1] if args.decoder == "taesd" and local._taesd else None
    if args.decoder == "taesd" and (taesd is None or local.decoded != "taesd"):
        raise SystemExit("live frames were not decoded by TAESD")

    def raw_call(req) -> float:
        image = Image.fromarray(np.ascontiguousarray(req.image[..., :3]))
        t0 = time.perf_counter()
        with torch.inference_mode():
            res = pipe(prompt=req.prompt, image=image, strength=req.strength,
                       num_inference_steps=req.steps, guidance_scale=req.guidance,
                       generator=torch.Generator("cpu").manual_seed(req.seed),
                       output_type="latent" if taesd is not None else "np")
            if taesd is not None:
                lat = res.images / float(taesd.config.scaling_factor or 1.0)
                taesd.decode(lat, return_dict=False)[0].float().numpy()
        return (time.perf_counter() - t0) * 1000.0

    live_ms: list[float] = []
    raw_ms: list[float] = []
    for k in range(args.rounds):  # alternated, live idle before each edit
        n = len(frames)
        t0 = time.perf_counter()
        dab(doc, k)
        rev = doc.revision
        spin(app, lambda n=n, rev=rev: len(frames) > n and frames[-1].request.revision >= rev)
        live_ms.append((time.perf_counter() - t0) * 1000.0)
        spin(app, lambda: session.state == "waiting" and not worker.busy)
        req = make_request(doc, "img2img", seed=11, **settings.capture_params())
        raw_ms.append(raw_call(req))

    # Strokes while live runs frames.
    live_times, live_stall = strokes(app, doc, args.events)
    spin(app, lambda: session.state == "waiting" and not worker.busy)

    # A burst of edits at ~60 Hz.
    started0 = session.scheduler.started
    burst = 12
    for k in range(burst):
        dab(doc, 100 + k)
        t_next = time.perf_counter() + 0.016
        spin(app, lambda t=t_next: time.perf_counter() >= t)
    spin(app, lambda: session.state == "waiting" and not worker.busy)
    ran = session.scheduler.started - started0

    session.stop()
    spin(app, lambda: not worker.busy)
    live_med, raw_med = float(np.median(live_ms)), float(np.median(raw_ms))
    figures = {
        "live_frame_ms": round(live_med, 1),
        "raw_img2img_ms": round(raw_med, 1),
        "live_frame_vs_raw_ratio": round(live_med / raw_med, 3),
        "stroke_p95_ms": round(float(np.percentile(plain_times, 95)), 2),
        "live_stroke_p95_ms": round(float(np.percentile(live_times, 95)), 2),
        "live_ui_max_stall_ms": round(live_stall, 1),
        "idle_ui_max_stall_ms": round(idle_probe.max_gap_ms(), 1),
        "live_burst_edits": burst,
        "live_frames_ran": ran,
        "live_frames_dropped_correctly": int(ran <= burst + 1),
        "prompt_encodings": local.embeds_encoded,
        "steps": args.steps,
        "decoder": args.decoder,
        "frame_px": f"{frame.w}x{frame.h}",
        "torch_threads": torch.get_num_threads(),
    }
    for k, v in figures.items():
        print(f"{k}: {v}")
    worker.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
