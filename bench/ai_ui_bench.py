"""UI responsiveness while the AI worker runs: the largest gap between ticks of a 5 ms QTimer
on the UI thread of the real window, while the dock's worker thread runs a tiny random-weight
diffusers job (built here, loaded through `ai.models` like a user model) lasting a few seconds.

Prints `name: value` lines:

    ui_max_stall_ms          largest tick gap while a warm job runs (target <= 50, issue 5)
    ui_p99_gap_ms            99th percentile of the tick gaps in that job
    idle_max_stall_ms        largest gap of the same probe with no job (baseline, same run)
    cold_ui_max_stall_ms     largest gap during the first job (loads the model from disk)
    job_s / cold_job_s       wall time of the warm / first job as the dock sees it
    generate_call_ms         time for Generate to return (copy region, submit)
    apply_ms                 time to apply a variation as a layer (UI thread, one undo step)
    progress_events          progress signals received during the warm job
    torch_threads            torch intra-op threads on the worker (CPU)
    controls                 control layers in the job (--control: a Line art control layer
                             added through the dock's Control layers section, run by a
                             ControlNet of the bench model; issue 13's target is the same)

    .venv/bin/python bench/ai_ui_bench.py [--steps 60] [--batch 2] [--control]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="aiart-ai-ui-bench-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))

import numpy as np  # noqa: E402
from _ui_probe import Probe  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def run_job(app: QApplication, panel, timeout_s: float = 300.0) -> dict[str, float]:
    probe = Probe()
    events = [0]

    def count(*_a: object) -> None:
        events[0] += 1

    probe.timer.start()
    t0 = time.perf_counter()
    handle = panel.generate()
    if handle is None:
        raise SystemExit(f"generate refused: {panel.error.text()}")
    call = time.perf_counter() - t0
    handle.progress.connect(count)   # nothing is delivered before the event loop runs
    while panel.running and time.perf_counter() - t0 < timeout_s:
        app.processEvents()
        time.sleep(0.0005)
    job = time.perf_counter() - t0
    probe.timer.stop()
    if panel.result is None:
        raise SystemExit(f"the job failed: {panel.error.text() or panel.status.text()}")
    g = probe.gaps_ms()
    return {"max": float(g.max()), "p99": float(np.percentile(g, 99)), "job": job,
            "call": call * 1000.0, "events": events[0]}


def idle(app: QApplication, seconds: float) -> float:
    probe = Probe()
    probe.timer.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.0005)
    probe.timer.stop()
    return float(probe.gaps_ms().max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--control", action="store_true",
                    help="the job follows a Line art control layer (a ControlNet)")
    args = ap.parse_args()

    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core import selection
    from aiart_desktop.core.document import Document
    from aiart_desktop.core.geometry import Rect
    from aiart_desktop.qt.ai_dock import install_ai_dock
    from aiart_desktop.qt.bootstrap import create_app
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.settings import Settings
    from tests.support.tiny_models import build_sd

    base = Path(_tmp)
    reg = ModelRegistry(base / "models", allow_pickle=False)
    # Bigger than the tests' model (native 256 px) so one job takes a few seconds on a CPU.
    # A ControlNet is made from a 4-channel UNet: with --control the model is a plain one
    # (Fill selection then runs the controlled inpaint pipeline on it).
    model = build_sd(base / "sd-inpaint", inpaint=not args.control, unet_channels=(64, 128),
                     sample_size=32)
    reg.add_folder(model, name="bench-inpaint")
    if args.control:
        from tests.support.tiny_controlnets import build_controlnet

        net = build_controlnet(base / "controlnet" / "control_v11p_sd15_lineart", model)
        reg.add_control_model(net)
    app = create_app([])
    win = MainWindow(settings=Settings(), autosave=False)
    panel = install_ai_dock(win, registry=reg, engine=default_engine(reg, device="cpu"))
    win.resize(1400, 900)
    win.show()
    win.docks["aiDock"].raise_()
    doc = Document.new(2048, 2048, (40, 120, 200, 255))
    doc.set_selection(selection.rect_mask(2048, 2048, Rect(700, 700, 384, 384)))
    if args.control:  # a pencil sketch on its own layer, the dock's Line art control
        sketch = np.zeros((384, 384, 4), np.uint8)
        for k in range(0, 384, 48):
            sketch[k:k + 3, :, 3] = 255
            sketch[:, k:k + 3, 3] = 255
        doc.add_layer("Sketch", pixels=sketch, x=700, y=700)
    win.set_document(doc)
    panel.refresh_models()
    f = panel.form
    f.model.setCurrentIndex(f.model.findData("bench-inpaint"))
    f.prompt.setPlainText("a red boat on a calm lake")
    f.steps.setValue(args.steps)
    f.batch.setValue(args.batch)
    for _ in range(20):
        app.processEvents()
    if args.control:
        f.controls_section.set_open(True)
        if f.controls_section.add_active("lineart") is None:
            raise SystemExit("the Sketch layer could not be added as a control")
        for _ in range(20):
            app.processEvents()

    cold = run_job(app, panel)
    warm = run_job(app, panel)
    base_idle = idle(app, min(3.0, warm["job"]))
    t0 = time.perf_counter()
    panel.apply()
    apply_ms = (time.perf_counter() - t0) * 1000.0
    import torch  # the worker imported it; only read its thread count here

    figures = {
        "ui_max_stall_ms": round(warm["max"], 1),
        "ui_p99_gap_ms": round(warm["p99"], 1),
        "idle_max_stall_ms": round(base_idle, 1),
        "cold_ui_max_stall_ms": round(cold["max"], 1),
        "job_s": round(warm["job"], 2),
        "cold_job_s": round(cold["job"], 2),
        "generate_call_ms": round(warm["call"], 2),
        "apply_ms": round(apply_ms, 2),
        "progress_events": warm["events"],
        "torch_threads": torch.get_num_threads(),
        "model_size_px": panel.result.size[0],
        "steps": args.steps,
        "batch": args.batch,
        "controls": len(panel.result.request.controls),
    }
    for k, v in figures.items():
        print(f"{k}: {v}")
    panel.worker.shutdown()
    win.doc.history.set_clean()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
