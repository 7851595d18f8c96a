"""Select Subject / Remove Background (issue 18): the app's path against the bare onnxruntime
call, on a CPU.

The real BiRefNet lite export (224 MB) is not fetched: a stand-in graph with its interface
(`input_image` 1x3x1024x1024, ImageNet-normalised -> `output_image` 1x1x1024x1024 logits) and
random weights is built with onnx.helper: three 3x3 convolutions at 1024² (3 -> 32 -> 32 -> 1
channels by default, `--width`; ReLU between), about 10.6 G multiply-adds. It is lighter than
BiRefNet lite (a Swin-T backbone, ~ 44 M parameters), so the app's fixed costs weigh more here
than with the real network: the ratio is an upper bound.

Prints `name: value` lines:

    matte_ms                median of `ai/backends/matte.py: matte` on a 1024x768 picture
                            (normalise, run, sigmoid, scale back to the picture)
    raw_run_ms              median of the bare session.run on the feeds `matte` prepared
    matte_vs_raw_ratio      matte_ms / raw_run_ms (target <= 1.10)
    subject_capture_ms      `cutout.subject_request` on a 4096x3072 two-layer canvas: the
                            composite read and scaled to 1024x768 (on the UI thread)
    subject_job_ms          `Engine.run` of that request (on the worker): the network, and
                            the mask scaled back to 4096x3072
    subject_select_ms       `cutout.subject_selection` + `Document.set_selection` (UI thread)
    remove_background_ms    `cutout.remove_background` of a 4096x3072 layer (UI thread)
    ui_max_stall_ms         the longest gap of a 5 ms timer on the UI thread of the real
                            window (offscreen, the AI dock and its worker installed) from
                            Select › Select Subject on that canvas to its selection being set
                            (target <= 50)
    ui_subject_ms           that whole round trip (reading in steps, the job, the selection)

    .venv/bin/python bench/subject_bench.py [--runs 7] [--width 32] [--no-ui]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tests.support.onnx_graphs import save_graph  # noqa: E402


def stand_in(path: Path, width: int = 32, seed: int = 0) -> Path:
    """A BiRefNet-interface graph of a few random 3x3 convolutions at 1024² (see the notes)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def weights(name: str, cout: int, cin: int) -> list:
        w = rng.normal(0, (2.0 / (cin * 9)) ** 0.5, (cout, cin, 3, 3)).astype(np.float32)
        return [numpy_helper.from_array(w, f"{name}_w"),
                numpy_helper.from_array(np.zeros(cout, np.float32), f"{name}_b")]

    inits = weights("c1", width, 3) + weights("c2", width, width) + weights("c3", 1, width)
    conv = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [
        helper.make_node("Conv", ["input_image", "c1_w", "c1_b"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "c2_w", "c2_b"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "c3_w", "c3_b"], ["output_image"], **conv),
    ]
    graph = helper.make_graph(
        nodes, "birefnet-stand-in",
        [helper.make_tensor_value_info("input_image", TensorProto.FLOAT, [1, 3, 1024, 1024])],
        [helper.make_tensor_value_info("output_image", TensorProto.FLOAT, [1, 1, 1024, 1024])],
        inits)
    return save_graph(graph, path)


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--width", type=int, default=32, help="channels of the stand-in's convs")
    ap.add_argument("--no-ui", action="store_true", help="skip the window part")
    args = ap.parse_args()
    from aiart_desktop.ai import cutout
    from aiart_desktop.ai.backends import matte
    from aiart_desktop.ai.models.catalogue import matting_entry
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core.document import Document

    rng = np.random.default_rng(1)
    pic = rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        reg = ModelRegistry(Path(tmp) / "models", allow_pickle=False)
        entry = matting_entry()
        path = stand_in(reg.catalogue_folder(entry.id) / entry.allow_patterns[0], args.width)
        net = matte.load(path)
        feeds = net.feeds(pic)
        matte.matte(pic, path)  # warm-up, both paths
        net.session.run([net.output_name], feeds)
        app, raw = [], []
        for _ in range(args.runs):
            app.append(_ms(lambda: matte.matte(pic, path)))
            raw.append(_ms(lambda: net.session.run([net.output_name], feeds)))
        matte_ms, raw_ms = statistics.median(app), statistics.median(raw)
        print(f"matte_ms: {matte_ms:.1f}")
        print(f"raw_run_ms: {raw_ms:.1f}")
        print(f"matte_vs_raw_ratio: {matte_ms / raw_ms:.3f}")

        doc = Document.new(4096, 3072, (230, 225, 210, 255))
        figure = np.zeros((3072, 4096, 4), np.uint8)
        cv2.ellipse(figure, (2048, 1700), (700, 1100), 0, 0, 360, (40, 30, 35, 255), -1)
        layer = doc.add_layer("Figure", pixels=figure)
        engine = default_engine(reg, device="cpu")
        cap, job, sel, cut = [], [], [], []
        for _ in range(max(1, args.runs // 2)):
            t0 = time.perf_counter()
            req = cutout.subject_request(doc)
            t1 = time.perf_counter()
            res = engine.run(req)
            t2 = time.perf_counter()
            doc.set_selection(cutout.subject_selection(doc, res), "Select subject")
            t3 = time.perf_counter()
            cap.append((t1 - t0) * 1000)
            job.append((t2 - t1) * 1000)
            sel.append((t3 - t2) * 1000)
            res = engine.run(cutout.subject_request(doc, layer))
            t0 = time.perf_counter()
            cutout.remove_background(doc, layer, res)
            cut.append((time.perf_counter() - t0) * 1000)
            doc.history.undo()
        print(f"subject_capture_ms: {statistics.median(cap):.1f}")
        print(f"subject_job_ms: {statistics.median(job):.1f}")
        print(f"subject_select_ms: {statistics.median(sel):.1f}")
        print(f"remove_background_ms: {statistics.median(cut):.1f}")
        if not args.no_ui:
            for name, value in ui_stall(reg).items():
                print(f"{name}: {value:.1f}")


def _canvas() -> object:
    from aiart_desktop.core.document import Document

    doc = Document.new(4096, 3072, (230, 225, 210, 255))
    figure = np.zeros((3072, 4096, 4), np.uint8)
    cv2.ellipse(figure, (2048, 1700), (700, 1100), 0, 0, 360, (40, 30, 35, 255), -1)
    doc.add_layer("Figure", pixels=figure)
    return doc


def ui_stall(reg: object) -> dict[str, float]:
    """The real window, offscreen, with the AI dock: Select Subject on the 4096x3072 canvas."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "bench"))
    from _ui_probe import Probe
    from PySide6.QtWidgets import QApplication

    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.qt.ai_dock import install_ai_dock
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.qt.subject_ops import install_subject_ops
    from aiart_desktop.qt.ui_thread import keep_gc_on_ui_thread
    from aiart_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    keep_gc_on_ui_thread(app)
    win = MainWindow(settings=Settings(), autosave=False, ai=False)
    install_ai_dock(win, registry=reg, engine=default_engine(reg, device="cpu"))
    ops = install_subject_ops(win)
    win.resize(1366, 768)
    win.show()
    doc = _canvas()
    win.set_document(doc)
    win.canvas.fit()
    app.processEvents()

    def spin(until, timeout_s: float = 300.0) -> None:
        t0 = time.perf_counter()
        while not until():
            if time.perf_counter() - t0 > timeout_s:
                raise SystemExit("timed out waiting for Select Subject")
            app.processEvents()
            time.sleep(0.0002)

    ops.start("select")                        # a first run: onnxruntime and the session load
    spin(lambda: not ops.running)
    doc.set_selection(None)
    probe = Probe()
    probe.timer.start()
    t0 = time.perf_counter()
    ops.actions["select"].trigger()
    spin(lambda: not ops.running and doc.selection is not None)
    total = (time.perf_counter() - t0) * 1000
    t_end = time.perf_counter() + 0.1     # the tick after the last step: its stall counts
    spin(lambda: time.perf_counter() > t_end)
    probe.timer.stop()
    stall = probe.max_gap_ms()
    win.ai_worker.shutdown()
    win.hide()          # not close(): it would ask to save the canvas
    return {"ui_max_stall_ms": stall, "ui_subject_ms": total}


if __name__ == "__main__":
    main()
