"""Startup benchmark: time to the first painted frame of the real window vs a bare Qt window.

Each run is a fresh child process (`python -c ...`), so interpreter start, imports, window
construction and the first paint all count. The clock starts in the parent just before the
child is spawned and stops in the child when the window's first frame has been painted (the
first QEvent.Paint of the window, then the rest of that frame). Both kinds of child run in the
same invocation, interleaved, after one discarded warm-up each; the median of N runs is kept.

Prints `name: value` lines (or JSON with --json):

    startup_first_paint_ms      the AIArt Desktop main window, created as run_gui creates it
    bare_qt_first_paint_ms      a bare PySide6 QMainWindow with a label, same size
    startup_vs_bare_qt_ratio    target <= 2 (issue 3)
    startup_ready_ms            until `ready` fired and the frame after it was painted: the
                                picture is shown and can be painted on (= first paint for a
                                window built in one go)
    startup_ready_vs_bare_qt_ratio
    torch_imported_at_startup   must be False (also checks diffusers / transformers)

Children run offscreen with throw-away config/data folders (`--platform xcb` under Xvfb to
measure a real display). `--update-docs` writes the figures into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "diffusers", "transformers")

# Shared by both children: report the first painted frame of `win`, then exit.
_PROBE = r"""
import json, os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

class _FirstPaint(QObject):
    def __init__(self, win, marks):
        super().__init__()
        self.win, self.marks, self.seen = win, marks, False

    def eventFilter(self, obj, event):
        if (not self.seen and event.type() == QEvent.Type.Paint
                and obj.isWidgetType() and obj.window() is self.win):
            self.seen = True
            self.marks["paint"] = time.monotonic_ns()
            QTimer.singleShot(0, self.done)  # runs once the whole frame is painted
        return False

    def done(self):
        self.marks["frame"] = time.monotonic_ns()
        self.heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY_MODULES)
        ready = getattr(self.win, "ready", None)
        if ready is None or getattr(self.win, "is_ready", True):
            self.marks.setdefault("ready_frame", self.marks["frame"])
            self.report()
        else:  # a skeleton first: wait for `ready`, then for the next painted frame
            ready.connect(self.on_ready)

    def on_ready(self):
        self.marks["ready"] = time.monotonic_ns()
        self.ready_probe = _ReadyPaint(self)  # keep a reference: no Qt parent
        QApplication.instance().installEventFilter(self.ready_probe)

    def report(self):
        print("BENCH " + json.dumps({"marks": self.marks, "heavy": self.heavy}), flush=True)
        os._exit(0)

class _ReadyPaint(QObject):
    def __init__(self, probe):
        super().__init__()
        self.probe, self.seen = probe, False

    def eventFilter(self, obj, event):
        if (not self.seen and event.type() == QEvent.Type.Paint
                and obj.isWidgetType() and obj.window() is self.probe.win):
            self.seen = True
            QTimer.singleShot(0, self.done)
        return False

    def done(self):
        self.probe.marks["ready_frame"] = time.monotonic_ns()
        self.probe.report()

def watch(app, win, marks):
    probe = _FirstPaint(win, marks)
    app.installEventFilter(probe)
    QTimer.singleShot(30000, lambda: os._exit(3))  # never hang the benchmark
    return probe
""".replace("HEAVY_MODULES", repr(HEAVY))

BARE = _PROBE + r"""
marks = {"script": time.monotonic_ns()}
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
marks["imported"] = time.monotonic_ns()
app = QApplication(["bare"])
win = QMainWindow()
win.setWindowTitle("bare")
win.setCentralWidget(QLabel("bare"))
win.resize(1200, 800)
marks["created"] = time.monotonic_ns()
probe = watch(app, win, marks)
win.show()
app.exec()
"""

# The real window, started as run_gui starts it (qt/bootstrap.py): create_app, then
# create_window(lazy=True), the skeleton first. Whatever the window does at startup (settings,
# theme, recovery check) happens here too, in throw-away folders. "imported" is the bootstrap
# module (what app.py imports); main_window is imported inside create_window, so it counts in
# "created".
APP = _PROBE + r"""
marks = {"script": time.monotonic_ns()}
from aiart_desktop.qt import bootstrap
marks["imported"] = time.monotonic_ns()
app = bootstrap.create_app([])
win = bootstrap.create_window([], lazy=True)
marks["created"] = time.monotonic_ns()
probe = watch(app, win, marks)
win.show()
app.exec()
"""


def run_child(code: str, platform: str) -> dict[str, float | list[str]]:
    """One fresh process; returns milliseconds from spawn to each mark, and heavy modules."""
    with tempfile.TemporaryDirectory(prefix="aiart-startup-") as tmp:
        env = {**os.environ, "AIART_CONFIG_DIR": os.path.join(tmp, "config"),
               "AIART_DATA_DIR": os.path.join(tmp, "data"), "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        if platform:
            env["QT_QPA_PLATFORM"] = platform
        t0 = time.monotonic_ns()
        proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp,
                              capture_output=True, text=True, timeout=120)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"startup child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(line[6:])
    out: dict[str, float | list[str]] = {
        k: (v - t0) / 1e6 for k, v in data["marks"].items()}
    out["heavy"] = data["heavy"]
    return out


def measure(runs: int, platform: str) -> dict[str, object]:
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    run_child(BARE, platform)  # warm-ups: disk cache, font cache, bytecode
    run_child(APP, platform)
    bare, app = [], []
    for _ in range(runs):  # interleaved, so drift hits both alike
        bare.append(run_child(BARE, platform))
        app.append(run_child(APP, platform))

    def med(rows: list[dict[str, float | list[str]]], key: str) -> float:
        return round(statistics.median(float(r[key]) for r in rows), 1)  # type: ignore[arg-type]

    heavy = sorted({m for r in app for m in r["heavy"]})  # type: ignore[union-attr]
    app_ms, bare_ms = med(app, "frame"), med(bare, "frame")
    ready_ms = med(app, "ready_frame")
    return {
        "startup_first_paint_ms": app_ms,
        "bare_qt_first_paint_ms": bare_ms,
        "startup_vs_bare_qt_ratio": round(app_ms / bare_ms, 2),
        "startup_ready_ms": ready_ms,
        "startup_ready_vs_bare_qt_ratio": round(ready_ms / bare_ms, 2),
        "torch_imported_at_startup": any(m.split(".")[0] == "torch" for m in heavy),
        "heavy_modules_at_startup": heavy,
        "startup_imports_done_ms": med(app, "imported"),
        "startup_window_created_ms": med(app, "created"),
        "startup_first_paint_event_ms": med(app, "paint"),
        "bare_qt_imports_done_ms": med(bare, "imported"),
        "runs": runs,
        "load_avg_1min": load,
        "platform": platform or os.environ.get("QT_QPA_PLATFORM", "default"),
    }


def update_docs(res: dict[str, object], path: Path) -> None:
    """Add or replace the "## Startup" section of docs/benchmarks.md."""
    when = time.strftime("%Y-%m-%d")
    section = f"""## Startup (`bench/startup_bench.py`) — issue 3

Time from spawning `python` to the first painted frame of the main window, against a bare
PySide6 `QMainWindow` started in the same run (median of {res['runs']} fresh processes each,
platform `{res['platform']}`, 1-minute load average {res['load_avg_1min']}). Measured {when}.

| figure | value | target |
|---|---|---|
| `startup_first_paint_ms` | {res['startup_first_paint_ms']} ms | |
| `bare_qt_first_paint_ms` | {res['bare_qt_first_paint_ms']} ms | |
| `startup_vs_bare_qt_ratio` | {res['startup_vs_bare_qt_ratio']} | ≤ 2 |
| `startup_ready_ms` | {res['startup_ready_ms']} ms | |
| `startup_ready_vs_bare_qt_ratio` | {res['startup_ready_vs_bare_qt_ratio']} | |
| `torch_imported_at_startup` | {res['torch_imported_at_startup']} | False |

Where the app's time goes (ms from spawn, medians): imports {res['startup_imports_done_ms']} \
(bare Qt {res['bare_qt_imports_done_ms']}) → window built {res['startup_window_created_ms']} \
→ first paint event {res['startup_first_paint_event_ms']} → first frame complete \
{res['startup_first_paint_ms']} (the headline figure: what the user sees) → `ready` \
{res['startup_ready_ms']}.

The window is built skeleton first, as `run_gui` builds it (`MainWindow(lazy=True)`): the
first paint is the skeleton window (title, menus, tool bar, docks with their titles, the empty
canvas area, status bar), drawn before numpy and the core are imported; `ready` is when the
same window holds the real canvas and panels, the picture is shown and can be painted on.
"""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Startup\b.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                    help="Qt platform plugin for the children (default: offscreen)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--update-docs", action="store_true",
                    help="write the figures into docs/benchmarks.md")
    args = ap.parse_args(argv)
    res = measure(max(1, args.runs), args.platform)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k}: {v}")
    if args.update_docs:
        update_docs(res, ROOT / "docs" / "benchmarks.md")
    if res["heavy_modules_at_startup"]:
        print(f"error: imported at startup: {res['heavy_modules_at_startup']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
