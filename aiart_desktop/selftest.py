"""The installed app's smoke test, and its start-up probe (main.py --selftest / --startup-probe).

    aiart-desktop --selftest [--model DIR] [--out DIR]
    aiart-desktop --startup-probe

`--selftest` runs the installed program's real parts, in one process, headless (Qt offscreen
unless QT_QPA_PLATFORM says otherwise): make a sample .ora with the app's own writer, open it in
a main window, paint a stroke with the brush engine, run a classical fill, an inpaint with the
diffusion model in DIR (a tiny random-weight pipeline in the package test) and the built-in
style transfer, each through the AI worker thread, apply the three results as layers, save the
.ora, load it back and compare. Prints one line per step and exits 0, or prints
``selftest FAILED at <step>: <why>`` and exits 1. Without --model the inpaint step is skipped.

`--startup-probe` shows the main window exactly as a double-click does (skeleton first) and
prints ``first_paint_epoch: <unix time>`` and, where the OS tells when the process started,
``startup_ms: N`` (process start to the first painted frame); it quits once the window is built.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEP_TIMEOUT_MS = 300_000


class SelftestError(Exception):
    pass


def process_start_epoch() -> float | None:
    """When this process started (unix time), from /proc on Linux or psutil; else None."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        now = time.time()
        return now - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:  # optional
        return None


# ---- startup probe --------------------------------------------------------------------------
def startup_probe(timeout_ms: int = 60_000) -> int:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QWidget

    from .qt.bootstrap import create_app, create_window

    app = create_app([])
    win = create_window([], recover=False, lazy=True)
    seen: dict[str, float] = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if ("paint" not in seen and event.type() == QEvent.Type.Paint
                    and isinstance(obj, QWidget) and obj.window() is win):
                seen["paint"] = time.time()
            return False

    probe = FirstPaint()
    app.installEventFilter(probe)

    def built() -> None:
        seen["ready"] = time.time()
        QTimer.singleShot(300, win.close)
        QTimer.singleShot(600, app.quit)

    win.when_ready(built)
    QTimer.singleShot(timeout_ms, app.quit)
    win.show()
    app.exec()
    app.removeEventFilter(probe)
    if "paint" not in seen:
        print("startup probe FAILED: the main window was never painted", file=sys.stderr)
        return 1
    print(f"first_paint_epoch: {seen['paint']:.3f}")
    start = process_start_epoch()
    if start is not None:
        print(f"startup_ms: {round((seen['paint'] - start) * 1000)}")
        if "ready" in seen:
            print(f"ready_ms: {round((seen['ready'] - start) * 1000)}")
    return 0


# ---- selftest -------------------------------------------------------------------------------
def _wait_job(worker: Any, request: Any) -> Any:
    """Submit `request` to the worker and wait (in a Qt event loop) for its result."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    job = worker.submit(request)   # its handle's signals come once the loop runs
    job.ended.connect(lambda _job: loop.quit())
    QTimer.singleShot(STEP_TIMEOUT_MS, loop.quit)
    loop.exec()
    if job.state == "finished":
        return job.result
    if job.state == "cancelled":
        raise SelftestError("the job was cancelled")
    raise SelftestError(job.error or f"no result after {STEP_TIMEOUT_MS // 1000} s")


def _sample_ora(path: Path) -> None:
    import numpy as np

    from .core.document import Document
    from .core.io.ora import save_ora

    doc = Document.new(192, 160, (236, 232, 220, 255))
    sky = np.zeros((80, 192, 4), np.uint8)
    sky[..., 0] = np.linspace(90, 170, 192, dtype=np.uint8)[None, :]
    sky[..., 1], sky[..., 2], sky[..., 3] = 140, 210, 255
    doc.add_layer("Sky", pixels=sky, x=0, y=0)
    save_ora(doc, path)


def _step(name: str, fn: Callable[[], str | None]) -> None:
    t0 = time.perf_counter()
    try:
        note = fn()
    except SelftestError:
        raise
    except Exception as exc:  # every failure becomes a clear message
        raise SelftestError(f"{type(exc).__name__}: {exc}") from exc
    ms = round((time.perf_counter() - t0) * 1000)
    print(f"selftest: {name} ok ({ms} ms){' - ' + note if note else ''}", flush=True)


def _train_style(model: str, out_dir: Path) -> str:
    """Train a Style end to end: a 3-step LoRA on the tiny model, in the trainer's own
    process (the frozen app runs it as its `train-job` sub-command)."""
    import threading

    import numpy as np

    from .ai import training as tr
    from .ai.models.lora_files import inspect_lora
    from .ai.setup import user_models

    reg = user_models(out_dir / "train-models", allow_pickle=False)
    info = reg.add_folder(model, name="tiny-train")
    out = reg.lora_folder() / "selftest-style.safetensors"
    plan = tr.TrainPlan(name=out.stem, trigger="selfteststyle", base_model=info.id,
                        base_name=info.name, arch=info.arch, resolution=64, rank=2, steps=3,
                        learning_rate=1e-3, checkpoint_every=2, sample_every=0, device="cpu",
                        output=str(out), models_dir=str(reg.root))
    rng = np.random.default_rng(0)
    pictures = [tr.PictureSource(f"p{i}", rgba=rng.integers(0, 255, (72, 64 + 8 * i, 4),
                                                            dtype=np.uint8))
                for i in range(tr.MIN_PICTURES)]
    folder = tr.prepare_job(out_dir / "training", plan, pictures)
    events: list[dict[str, Any]] = []
    ended = threading.Event()

    def on_event(e: dict[str, Any]) -> None:
        events.append(e)
        if e.get("event") in ("done", "error", "stopped", "cancelled"):
            ended.set()

    proc = tr.TrainerProcess(folder, on_event)
    proc.start()
    if not ended.wait(300):
        proc.kill()
        raise SelftestError("the trainer process did not finish in 5 minutes")
    proc.wait(30)
    last = events[-1]
    if last.get("event") != "done":
        raise SelftestError(f"the training ended with {last}")
    facts = inspect_lora(out)
    if not facts.get("trained_here") or facts.get("layout") != "kohya":
        raise SelftestError(f"the trained LoRA reads as {facts}")
    steps = sum(1 for e in events if e.get("event") == "step")
    return f"{steps} steps in its own process, {out.stat().st_size // 1024} KiB kohya LoRA"


def selftest(model: str | None, out_dir: Path, train_model: str | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np

    from .ai.apply import apply_result
    from .ai.capture import make_request
    from .ai.setup import default_engine, user_models
    from .core import selection
    from .core.brush import BrushSettings, Stroke
    from .core.geometry import Rect
    from .core.io.ora import load_ora, save_ora
    from .qt.bootstrap import create_app
    from .qt.main_window import MainWindow
    from .qt.worker import AiWorker
    from .settings import Settings

    out_dir.mkdir(parents=True, exist_ok=True)
    sample, saved = out_dir / "sample.ora", out_dir / "selftest.ora"
    ctx: dict[str, Any] = {}
    current = ["start"]

    def run(name: str, fn: Callable[[], str | None]) -> None:
        current[0] = name
        _step(name, fn)

    def open_window() -> str:
        app = create_app([])
        win = MainWindow(settings=Settings(), autosave=False, ai=False)
        win.show()
        app.processEvents()
        if not win.open_path(str(sample), ask=False):
            raise SelftestError(f"the window did not open {sample}")
        doc = win.doc
        if doc is None:
            raise SelftestError(f"the window shows no document after opening {sample}")
        ctx.update(app=app, win=win, doc=doc)
        return f"{len(doc.layers)} layers, platform {app.platformName()}"

    def paint() -> str:
        doc = ctx["doc"]
        brush = BrushSettings(size=14, hardness=0.9, color=(200, 30, 40), name="Selftest")
        s = Stroke(doc, doc.active_layer, brush, 20, 120)
        for i in range(1, 21):
            s.move(20 + i * 7, 120 - i * 2)
        s.end()
        r, g, b, _ = (int(v) for v in doc.flatten(Rect(90, 100, 1, 1))[0, 0])
        if not (r > 150 and g < 90 and b < 100):
            raise SelftestError(f"the stroke did not paint: pixel (90, 100) is {(r, g, b)}")
        return f"pixel under the stroke {(r, g, b)}"

    def jit() -> str:
        from .core import kernels

        if kernels.get() is None and os.environ.get("AIART_NO_JIT"):
            return "skipped (AIART_NO_JIT)"
        kernels.warm_up(block=True)
        if kernels.failure():
            raise SelftestError(f"the numba pixel kernels failed: {kernels.failure()}")
        return "numba kernels ready"

    def select() -> None:
        doc = ctx["doc"]
        doc.set_selection(selection.rect_mask(doc.width, doc.height, Rect(48, 32, 64, 64)))
        reg = user_models(out_dir / "models", allow_pickle=False)
        ctx["worker"] = AiWorker(engine=default_engine(reg, device="cpu"))

    def ai(op: str, label: str, **params: Any) -> Callable[[], str]:
        def job() -> str:
            doc = ctx["doc"]
            before = len(doc.layers)
            result = _wait_job(ctx["worker"], make_request(doc, op, **params))
            layer = apply_result(doc, result, 0)
            if len(doc.layers) != before + 1 or layer.provenance is None:
                raise SelftestError(f"the {label} result was not applied as a new layer")
            return f"layer {layer.name!r} from {result.backend}"
        return job

    def png_export() -> str:
        from PIL import Image

        from .ai.records.c2pa_manifest import export_png_with_c2pa, read_manifest
        from .ai.records.export_parameters import document_parameters

        doc, png = ctx["doc"], out_dir / "selftest.png"
        params = document_parameters(doc)
        outcome = export_png_with_c2pa(doc, png, parameters=params)
        with Image.open(png) as im:
            if im.size != (doc.width, doc.height) or "parameters" not in im.info:
                raise SelftestError("the exported PNG lacks its size or parameters chunk")
        # the C2PA native library loads and reads (an unsigned file has no manifest)
        if read_manifest(png.read_bytes()) is not None:
            raise SelftestError("an unsigned PNG was read as carrying a C2PA manifest")
        return f"{png.stat().st_size // 1024} KiB with parameters; {outcome.message}"

    def save_and_reload() -> str:
        doc = ctx["doc"]
        save_ora(doc, saved)
        back = load_ora(saved)
        names = [la.name for la in doc.layers]
        if [la.name for la in back.layers] != names:
            raise SelftestError(f"layers differ after reload: {names} vs "
                                f"{[la.name for la in back.layers]}")
        if not np.array_equal(back.flatten(), doc.flatten()):
            raise SelftestError("the reloaded picture differs from the saved one")
        return f"{saved.stat().st_size // 1024} KiB, layers {names}"

    try:
        run("sample .ora", lambda: _sample_ora(sample))
        run("open in window", open_window)
        run("brush stroke", paint)
        run("pixel kernels", jit)
        run("selection and worker", select)
        run("classical fill", ai("inpaint", "fill", model="classical"))
        if model:
            run("tiny-model inpaint", ai("inpaint", "inpaint", prompt="a small red boat",
                                         model=model, steps=2, seed=7))
        else:
            print("selftest: tiny-model inpaint skipped (no --model)", flush=True)
        run("style transfer", ai("style", "style", style="Style 3"))
        if train_model:
            run("train a style", lambda: _train_style(train_model, out_dir))
        run("PNG export (parameters, C2PA reader)", png_export)
        run("save and reload", save_and_reload)
    except SelftestError as exc:
        print(f"selftest FAILED at {current[0]}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if "worker" in ctx:
            ctx["worker"].shutdown()
        if "win" in ctx:  # hidden, not closed: closing would ask to save the changes
            ctx["win"].hide()
            ctx["win"].deleteLater()
    print("selftest: passed", flush=True)
    return 0


def main(argv: list[str]) -> int:
    from .privacy import disable_telemetry

    disable_telemetry()  # before any AI library loads (see privacy.py)
    p = argparse.ArgumentParser(prog="aiart-desktop", description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--selftest", action="store_true")
    mode.add_argument("--startup-probe", action="store_true")
    p.add_argument("--model", help="diffusers folder for the inpaint step")
    p.add_argument("--train-model", help="diffusers folder (not inpaint) for the training step")
    p.add_argument("--out", help="folder for the sample and saved files (default: a temp dir)")
    p.add_argument("--log", help="also write the report to this file (a windowed Windows "
                   "program has no console: there it goes to <out>/selftest.log by default)")
    args = p.parse_args(argv)
    log = args.log or (os.path.join(args.out, "selftest.log")
                       if sys.stdout is None and args.out else None)
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        sys.stdout = sys.stderr = open(log, "w", encoding="utf-8", buffering=1)
    elif sys.stdout is None:  # windowed program without --out: nowhere to print
        sys.stdout = sys.stderr = open(os.devnull, "w")
    if args.startup_probe:
        return startup_probe()
    if args.model and not Path(args.model).is_dir():
        print(f"selftest FAILED at start: model folder {args.model} does not exist",
              file=sys.stderr)
        return 1
    if args.out:
        return selftest(args.model, Path(args.out), args.train_model)
    with tempfile.TemporaryDirectory(prefix="aiart-selftest-") as tmp:
        return selftest(args.model, Path(tmp), args.train_model)
