"""Live painting walked on a real X display, driven like a user with xdotool.

    python docs/screenshots/walk_live.py 1366x768 [--scale 1.5] [--out /tmp/walk14]

Starts Xvfb, openbox and the app (a fresh data folder holding a tiny random-weight SD model,
the tests' builder: its frames are noise, as expected of random weights) on the painted
landscape of walk_tools.py, then: the Live dock's tab, a prompt typed, the region set to Live
frame, Live switched on with its key (Ctrl+Shift+L), a few brush strokes over the frame while
live runs, and a screenshot after each step into the output folder (frames recorded to
`<out>/frames` through Record frames to folder…, the folder typed into the dialog).

The app is the real one (`bootstrap.create_window`); the only addition is a timer writing where
the widgets the walk clicks are on screen (`geom.json`).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python")
HERE = Path(__file__).resolve().parent


def app_main(geom_file: str, picture: str) -> int:
    """The app as main.py starts it, plus a timer writing the walk's widget positions."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.privacy import disable_telemetry

    disable_telemetry()
    from PySide6.QtCore import QPoint, QTimer
    from PySide6.QtWidgets import QTabBar

    from aiart_desktop.logs import setup_logging
    from aiart_desktop.qt.bootstrap import create_app, create_window

    setup_logging()
    app = create_app([])
    win = create_window([picture], recover=False, lazy=True)
    win.show()

    def where(w) -> list[int] | None:
        if w is None or not w.isVisible() or w.visibleRegion().isEmpty():
            return None
        r = w.visibleRegion().boundingRect()
        c = w.mapToGlobal(QPoint(r.center().x(), r.center().y()))
        k = win.devicePixelRatioF()   # xdotool works in device pixels (QT_SCALE_FACTOR)
        return [round(c.x() * k), round(c.y() * k)]

    def dump() -> None:
        k = win.devicePixelRatioF()
        out: dict[str, object] = {}
        canvas = getattr(win, "canvas", None)
        if canvas is not None:
            out["canvas"] = where(canvas)
        for bar in win.findChildren(QTabBar):
            for i in range(bar.count()):
                name = bar.tabText(i).replace("&", "")
                if bar.isVisible() and name in ("Live", "AI", "Layers"):
                    c = bar.mapToGlobal(bar.tabRect(i).center())
                    out[name.lower() + "_tab"] = [round(c.x() * k), round(c.y() * k)]
        live = getattr(win, "live_panel", None)
        if live is not None:
            out.update(live_prompt=where(live.prompt), live_region=where(live.region),
                       live_toggle=where(live.toggle), live_record=where(live.record),
                       live_scroll=where(live.body_scroll.widget()),
                       frames=live.session.frames)
            if canvas is not None and live.frame_rect is not None:
                r = canvas.doc_rect_to_view(live.frame_rect)
                tl = canvas.viewport().mapToGlobal(r.topLeft().toPoint())
                out["frame"] = [round(tl.x() * k), round(tl.y() * k),
                                round(r.width() * k), round(r.height() * k)]
        tmp = geom_file + ".tmp"
        Path(tmp).write_text(json.dumps(out))
        os.replace(tmp, geom_file)

    timer = QTimer()
    timer.timeout.connect(dump)
    timer.start(250)
    return app.exec()


def prep(data: Path) -> None:
    """A tiny SD model registered in `data`/models."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd

    reg = ModelRegistry(data / "models", allow_pickle=False)
    reg.add_folder(build_sd(data / "tiny" / "sd"), name="Tiny SD (stand-in)")


class Walk:
    def __init__(self, out: Path, display: str) -> None:
        self.out, self.geom = out, out / "geom.json"
        self.env = dict(os.environ, DISPLAY=display)

    def x(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True)

    def get(self, name: str, wait: float = 10.0) -> object:
        end = time.time() + wait
        while True:
            try:
                p = json.loads(self.geom.read_text()).get(name)
            except (OSError, ValueError):
                p = None
            if p:
                return p
            if time.time() > end:
                raise SystemExit(f"{name} is not on screen")
            time.sleep(0.25)

    def click(self, name: str) -> None:
        for button in ["4"] * 10 + ["5"] * 20:   # scroll the dock up, then down, to find it
            try:
                x, y = self.get(name, wait=0.6)  # type: ignore[misc]
                break
            except SystemExit:
                sx, sy = self.get("live_scroll")  # type: ignore[misc]
                self.x("mousemove", str(sx), str(sy), "click", button)
                time.sleep(0.2)
        else:
            x, y = self.get(name)  # type: ignore[misc]
        self.x("mousemove", str(x), str(y), "click", "1")
        time.sleep(0.6)

    def top(self) -> None:
        """Scroll the Live dock back to its top (the switch, Apply, the frame)."""
        sx, sy = self.get("live_scroll")  # type: ignore[misc]
        self.x("mousemove", str(sx), str(sy))
        for _ in range(12):
            self.x("click", "4")
        time.sleep(0.3)

    def shot(self, name: str) -> Path:
        p = self.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(p)], env=self.env, check=True)
        print(p)
        return p

    def stroke(self, pts: list[tuple[int, int]]) -> None:
        self.x("mousemove", str(pts[0][0]), str(pts[0][1]))
        time.sleep(0.1)
        self.x("mousedown", "1")
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            for t in range(1, 13):
                self.x("mousemove", str(x0 + (x1 - x0) * t // 12), str(y0 + (y1 - y0) * t // 12))
                time.sleep(0.01)
        self.x("mouseup", "1")
        time.sleep(0.3)


def walk(size: str, scale: float, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="walk14-"))
    data, home = tmp / "data", tmp / "home"
    home.mkdir()
    env = dict(os.environ, AIART_DATA_DIR=str(data), HOME=str(home), HF_HUB_OFFLINE="1",
               QT_SCALE_FACTOR=str(scale), PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)
    subprocess.run([PY, __file__, "prep", str(data)], env=env, check=True, capture_output=True)
    picture = str(out / "landscape.ora")
    subprocess.run([PY, str(HERE / "walk_tools.py"), "paint", picture], env=env, check=True)
    display = os.environ.get("WALK_DISPLAY", ":6")
    procs = [subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(1.5)
        env["DISPLAY"] = display
        procs.append(subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1)
        log = open(out / "app.log", "w")
        procs.append(subprocess.Popen([PY, __file__, "app", str(out / "geom.json"), picture],
                                      env=env, stdout=log, stderr=subprocess.STDOUT))
        w = Walk(out, display)
        w.get("live_tab", wait=90)
        time.sleep(2)
        w.click("live_tab")
        w.click("live_prompt")
        w.x("type", "--delay", "20", "a lake at dusk, oil painting")
        w.click("live_region")                   # Selection, Live frame, Canvas
        w.x("key", "Down", "Return")
        frames = out / "frames"
        frames.mkdir(exist_ok=True)
        w.click("live_record")                   # the folder dialog: type the path
        time.sleep(1.5)
        w.x("key", "ctrl+a")
        w.x("type", "--delay", "10", str(frames))
        w.x("key", "Return")
        time.sleep(1.5)
        w.top()
        w.shot("01_live_dock")
        cx, cy = w.get("canvas")  # type: ignore[misc]
        w.x("mousemove", str(cx), str(cy))
        w.x("key", "ctrl+shift+l")               # Live on
        time.sleep(float(os.environ.get("WAIT", "8")))
        w.shot("02_live_on")
        fx, fy, fw, fh = w.get("frame")  # type: ignore[misc]
        w.x("key", "b")                          # the brush, strokes over the live frame
        for i in range(3):
            y = fy + fh * (3 + 2 * i) // 10
            w.stroke([(fx + fw // 6, y), (fx + fw // 2, y - fh // 12), (fx + fw * 5 // 6, y)])
            time.sleep(1.0)
        time.sleep(float(os.environ.get("WAIT", "8")))
        w.top()
        w.shot("03_painted_live")
        print("frames shown:", w.get("frames"))
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "app":
        sys.exit(app_main(sys.argv[2], sys.argv[3]))
    if cmd == "prep":
        prep(Path(sys.argv[2]))
        sys.exit(0)
    args = sys.argv[1:]
    scale = float(args[args.index("--scale") + 1]) if "--scale" in args else 1.0
    out = Path(args[args.index("--out") + 1]) if "--out" in args else Path("/tmp/walk14")
    walk(args[0], scale, out)
