"""Control layers and LoRAs walked on a real X display, driven like a user with xdotool.

    python docs/screenshots/walk_controls.py 1366x768 [--scale 1.5] [--out /tmp/walk13]
    MAXIMIZE=1 WAIT=45 python docs/screenshots/walk_controls.py 1920x1080   # env knobs

Starts Xvfb, openbox and the app (a fresh data folder holding a tiny random-weight SD model
and a tiny line-art ControlNet, built by the tests' builders; a tiny LoRA file beside it),
then: a new layer, a line sketch drawn on it with the brush, Generate picked, a prompt typed,
the "Control layers" section opened, the layer added as a Line art control (its thumbnail
shows), the "LoRAs" section opened and a LoRA added from a file (Add LoRA…: the file dialog is
answered by typing the path), its trigger word clicked into the prompt, Generate run, the
model manager's LoRAs and Control models tabs. A screenshot after each
step goes to the output folder.

The app is the real one (`bootstrap.create_window`); the only addition is a timer that writes
where the widgets the walk clicks are on screen (`geom.json`), as a user would see them.
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


# ---- inside the app ----------------------------------------------------------------------------
def app_main(geom_file: str) -> int:
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
    win = create_window([], recover=False, lazy=True)
    win.show()

    def where(w) -> list[int] | None:
        if w is None or not w.isVisible() or w.visibleRegion().isEmpty():
            return None
        r = w.visibleRegion().boundingRect()
        c = w.mapToGlobal(QPoint(r.center().x(), r.center().y()))
        k = win.devicePixelRatioF()   # xdotool works in device pixels (QT_SCALE_FACTOR)
        return [round(c.x() * k), round(c.y() * k)]

    def dump() -> None:
        panel = getattr(win, "ai_panel", None)
        out: dict[str, list[int] | None] = {"canvas": where(getattr(win, "canvas", None))}
        canvas = getattr(win, "canvas", None)
        if canvas is not None:
            k = win.devicePixelRatioF()
            vp = canvas.viewport()
            out["canvas_size"] = [round(vp.width() * k), round(vp.height() * k)]
        dlg = getattr(win, "_ai_model_manager", None)
        if dlg is not None and dlg.isVisible():
            bar = dlg.tabs.tabBar()
            k = dlg.devicePixelRatioF()
            for i in range(bar.count()):
                c = bar.mapToGlobal(bar.tabRect(i).center())
                out["mm_" + bar.tabText(i).split()[0].lower()] = [round(c.x() * k),
                                                                   round(c.y() * k)]
        for bar in win.findChildren(QTabBar):   # the dock tabs: "Layers", "AI"
            for i in range(bar.count()):
                if bar.isVisible() and bar.tabText(i).replace("&", "") in ("AI", "Layers"):
                    c = bar.mapToGlobal(bar.tabRect(i).center())
                    k = win.devicePixelRatioF()
                    out[bar.tabText(i).replace("&", "").lower() + "_tab"] = [
                        round(c.x() * k), round(c.y() * k)]
        if panel is not None:
            f = panel.form
            cs, ls = f.controls_section, f.loras_section
            out.update(op=where(f.op), prompt=where(f.prompt), model=where(f.model),
                       models_button=where(f.models_button),
                       controls=where(cs.toggle), add_control=where(cs.add_button),
                       loras=where(ls.toggle), add_lora=where(ls.add_file),
                       lora_picker=where(ls.picker), run=where(panel.run_button),
                       scroll=where(panel.scroll.widget()))
            if cs.rows:
                out["kind"] = where(cs.rows[0].kind)
                out["thumb"] = where(cs.rows[0].thumb)
            if ls.rows and ls.rows[0].trigger_buttons:
                out["trigger"] = where(ls.rows[0].trigger_buttons[0])
        tmp = geom_file + ".tmp"
        Path(tmp).write_text(json.dumps(out))
        os.replace(tmp, geom_file)

    timer = QTimer()
    timer.timeout.connect(dump)
    timer.start(250)
    return app.exec()


# ---- the data folder ----------------------------------------------------------------------------
def prep(data: Path) -> dict[str, str]:
    """A tiny SD model and a tiny line-art ControlNet registered in `data`/models, a tiny LoRA
    file outside it (added in the walk). Returns the paths the walk uses."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd

    reg = ModelRegistry(data / "models", allow_pickle=False)
    sd = build_sd(data / "tiny" / "sd")
    reg.add_folder(sd, name="Tiny SD (stand-in)")
    out: dict[str, str] = {}
    from tests.support.tiny_controlnets import build_controlnet
    from tests.support.tiny_loras import build_lora, tag_frequency

    reg.add_control_model(build_controlnet(data / "tiny" / "control_lineart_tiny", sd))
    out["lora"] = str(build_lora(sd, data / "tiny" / "inkwash_style.safetensors", layout="kohya",
                                 metadata=tag_frequency({"inkwash": 12, "sumi-e": 5})))
    return out


# ---- the walk ------------------------------------------------------------------------------------
class Walk:
    def __init__(self, size: str, scale: float, out: Path, display: str) -> None:
        self.size, self.scale, self.out, self.display = size, scale, out, display
        self.geom = out / "geom.json"
        self.env = dict(os.environ, DISPLAY=display)

    def x(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True)

    def pos(self, name: str, wait: float = 10.0) -> tuple[int, int]:
        end = time.time() + wait
        while True:
            try:
                p = json.loads(self.geom.read_text()).get(name)
            except (OSError, ValueError):
                p = None
            if p:
                return int(p[0]), int(p[1])
            if time.time() > end:
                raise SystemExit(f"{name} is not on screen")
            time.sleep(0.25)

    def reveal(self, name: str) -> tuple[int, int]:
        """Scroll the AI form with the wheel until `name` is on screen."""
        for button in ["5"] * 15 + ["4"] * 30:   # down, then up
            try:
                return self.pos(name, wait=0.6)
            except SystemExit:
                sx, sy = self.pos("scroll")
                self.x("mousemove", str(sx), str(sy), "click", button)
                time.sleep(0.2)
        return self.pos(name)

    def click(self, name: str, scroll: bool = True) -> None:
        x, y = self.reveal(name) if scroll else self.pos(name)
        self.x("mousemove", str(x), str(y), "click", "1")
        time.sleep(0.6)

    def shot(self, name: str) -> Path:
        p = self.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(p)], env=self.env, check=True)
        print(p)
        return p

    def draw_sketch(self) -> None:
        """A house and a hill drawn with the brush in the middle of the canvas."""
        cx, cy = self.pos("canvas")
        vw, vh = self.pos("canvas_size")
        s = int(min(60 * self.scale, min(vw, vh) / 9))
        strokes = [
            [(-3, 1), (-1, -1), (1, -1), (3, 1)],                       # hill
            [(-1, 0), (-1, -1.6), (0, -2.4), (1, -1.6), (1, 0), (-1, 0)],  # house
            [(-0.3, 0), (-0.3, -0.8), (0.3, -0.8), (0.3, 0)],            # door
            [(-3.5, 1.3), (3.5, 1.3)],                                   # ground
        ]
        for stroke in strokes:
            pts = [(cx + int(px * s), cy + int(py * s)) for px, py in stroke]
            self.x("mousemove", str(pts[0][0]), str(pts[0][1]))
            time.sleep(0.1)
            self.x("mousedown", "1")
            for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
                for t in range(1, 13):
                    x = x0 + (x1 - x0) * t // 12
                    y = y0 + (y1 - y0) * t // 12
                    self.x("mousemove", str(x), str(y))
                    time.sleep(0.01)
            self.x("mouseup", "1")
            time.sleep(0.2)


def walk(size: str, scale: float, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="walk13-"))
    data, home = tmp / "data", tmp / "home"
    home.mkdir()
    env = dict(os.environ, AIART_DATA_DIR=str(data), HOME=str(home), HF_HUB_OFFLINE="1",
               QT_SCALE_FACTOR=str(scale), PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)
    paths = json.loads(subprocess.run(
        [PY, __file__, "prep", str(data)], env=env, check=True, capture_output=True,
        text=True).stdout.strip().splitlines()[-1])
    display = os.environ.get("WALK_DISPLAY", ":5")
    procs = [subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(1.5)
        env["DISPLAY"] = display
        procs.append(subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1)
        log = open(out / "app.log", "w")
        procs.append(subprocess.Popen([PY, __file__, "app", str(out / "geom.json")], env=env,
                                      stdout=log, stderr=subprocess.STDOUT))
        w = Walk(size, scale, out, display)
        w.pos("ai_tab", wait=60)
        time.sleep(2)
        if os.environ.get("MAXIMIZE"):        # as a user would on a big screen
            wid = subprocess.run(["xdotool", "search", "--name", "AIArt Desktop"], env=w.env,
                                 capture_output=True, text=True).stdout.split()[-1]
            sw, sh = (int(v) for v in size.split("x"))
            w.x("windowmove", wid, "0", "0")
            w.x("windowsize", wid, str(sw), str(sh - 30))
            time.sleep(2)
        w.shot("01_start")
        w.x("key", "ctrl+shift+n")        # a new layer for the sketch
        time.sleep(0.5)
        w.x("key", "b")                   # the brush
        w.draw_sketch()
        time.sleep(0.5)
        w.click("ai_tab", scroll=False)   # the AI dock, tabbed with Layers
        w.click("op", scroll=False)       # Generate: Down Down in the operation list
        w.x("key", "Down", "Down", "Return")
        w.click("prompt", scroll=False)
        w.x("type", "--delay", "20", "a cottage on a hill, watercolor")
        w.click("controls")               # open the section
        w.click("add_control")            # the active layer (the sketch)
        w.click("kind")                   # pick Line art (the second type)
        w.x("key", "Home", "Down", "Return")
        time.sleep(1.0)
        w.reveal("thumb")
        w.shot("02_control_added")
        if paths.get("lora"):
            w.click("loras")
            w.click("add_lora")
            time.sleep(1.5)               # the file dialog: type the path
            w.x("key", "ctrl+a")
            w.x("type", "--delay", "10", paths["lora"])
            w.x("key", "Return")
            time.sleep(1.5)
            w.reveal("trigger")
            w.shot("03_lora_added")
            w.click("trigger")
            w.shot("04_trigger_clicked")
        w.x("key", "ctrl+Return")         # Generate
        time.sleep(float(os.environ.get("WAIT", "12")))
        w.shot("05_generated")
        try:
            w.click("models_button")      # the model manager: LoRAs, control models
        except SystemExit as exc:         # a very short dock: the form scrolls away
            print("model manager not shown:", exc)
            return
        time.sleep(1.5)
        w.click("mm_loras", scroll=False)
        w.shot("06_manager_loras")
        w.click("mm_control", scroll=False)
        w.shot("07_manager_controls")
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
        sys.exit(app_main(sys.argv[2]))
    if cmd == "prep":
        print(json.dumps(prep(Path(sys.argv[2]))))
        sys.exit(0)
    args = sys.argv[1:]
    scale = float(args[args.index("--scale") + 1]) if "--scale" in args else 1.0
    out = Path(args[args.index("--out") + 1]) if "--out" in args else Path("/tmp/walk13")
    walk(args[0], scale, out)
