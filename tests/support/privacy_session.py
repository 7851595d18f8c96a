"""A user's first session, in one process, for tests/test_privacy.py to watch under strace.

    PYTHONPATH=REPO python -m tests.support.privacy_session MODEL_DIR OUT_DIR [IDLE_S]

Runs main.py's own start-up lines (the telemetry switches; not its GUI loop), then what
`run_gui` does: the real main window, lazily built, until the AI and Style docks are
installed (the Style dock renders its thumbnails with the style network on a first start)
and a few seconds more; then a style job and a diffusion job (MODEL_DIR, a tiny random-weight
Stable Diffusion folder registered through the app's own model registry and loader), both
through the window's AI worker, each applied as a layer; a PNG export through the window's
exporter; then IDLE_S seconds of event loop (onnxruntime's telemetry, when it is on, looks up
its server about ten seconds after the first inference session). Prints one line per step.
"""
from __future__ import annotations

import os
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(model_dir: str, out_dir: str, idle_s: float = 15.0) -> int:
    # main.py's module level: the telemetry switches, then `from aiart_desktop.app import main`.
    runpy.run_path(str(ROOT / "main.py"), run_name="aiart_main")

    from PySide6.QtWidgets import QApplication

    from aiart_desktop.ai.apply import apply_result
    from aiart_desktop.ai.backends.style import builtin_styles
    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.core.geometry import Rect
    from aiart_desktop.core.selection import rect_mask
    from aiart_desktop.qt.bootstrap import create_app, create_window
    from aiart_desktop.selftest import _wait_job

    def spin(seconds: float, until: object = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QApplication.processEvents()
            if callable(until) and until():
                return True
            time.sleep(0.02)
        return False

    app = create_app([])
    win = create_window([], recover=True, lazy=True)  # as run_gui does
    win.resize(1280, 800)
    win.show()
    docks = ("ai_panel", "style_gallery")  # installed together, with the Generations dock
    if not spin(240, lambda: all(getattr(win, a, None) is not None for a in docks)):
        print("the AI docks were not installed", file=sys.stderr)
        return 1
    print("session: window ready, AI docks installed", flush=True)
    spin(4)

    doc = win.doc
    doc.set_selection(rect_mask(doc.width, doc.height, Rect(32, 32, 96, 96)))
    worker = win.ai_worker
    style = builtin_styles()[0].name
    layer = apply_result(doc, _wait_job(worker, make_request(doc, "style", style=style)), 0)
    print(f"session: style job applied as {layer.name!r}", flush=True)

    info = win.ai_panel.registry.add_folder(model_dir, name="tiny-sd")
    req = make_request(doc, "inpaint", prompt="a red boat", model=info.id, steps=2, seed=7)
    layer = apply_result(doc, _wait_job(worker, req), 0)
    print(f"session: diffusion job applied as {layer.name!r}", flush=True)

    png = Path(out_dir) / "export.png"
    if not win.export_to(str(png)) or not png.is_file():
        print(f"the export to {png} failed", file=sys.stderr)
        return 1
    print(f"session: exported {png.stat().st_size} bytes", flush=True)

    spin(idle_s)
    print("session: done", flush=True)
    worker.shutdown()
    app.processEvents()
    sys.stdout.flush()
    os._exit(0)  # no close dialogs, no teardown order surprises: the test only reads strace


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 15.0))
