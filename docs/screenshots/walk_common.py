"""What the X walks share (walk_objects.py, walk_upscale.py): the X session with the app in a
fresh data folder, and `Walk`, which reads the widget positions the app dumps (`geom.json`,
device pixels) and drives the mouse and keys with xdotool.

    with session(__file__, "1366x768", 1.5, out, picture, ":7") as w:   # Xvfb, openbox, the app
        w.get("ai_tab", wait=90)
        w.click("ai_tab")
        w.shot("01_ai_panel")

A walk script answers `python walk_x.py prep DATA` (put the stand-in models in DATA/models)
and `python walk_x.py app GEOM PICTURE` (the app, dumping GEOM); `session` runs both.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python")
HERE = Path(__file__).resolve().parent


def start_app(picture: str) -> tuple[Any, Any]:
    """(In the app subprocess) the app as main.py starts it — telemetry off, the log, the
    window on `picture` — as (application, window)."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.privacy import disable_telemetry

    disable_telemetry()
    from aiart_desktop.logs import setup_logging
    from aiart_desktop.qt.bootstrap import create_app, create_window

    setup_logging()
    app = create_app([])
    win = create_window([picture], recover=False, lazy=True)
    win.show()
    return app, win


def run_dumping(app: Any, geom_file: str, dump: Callable[[], dict], every_ms: int = 250
                ) -> int:
    """(In the app subprocess) run the app, writing `dump()` to `geom_file` every `every_ms`
    (atomically: the walk never reads half a file)."""
    from PySide6.QtCore import QTimer

    def write() -> None:
        tmp = geom_file + ".tmp"
        Path(tmp).write_text(json.dumps(dump()))
        os.replace(tmp, geom_file)

    timer = QTimer()
    timer.timeout.connect(write)
    timer.start(every_ms)
    return int(app.exec())


def screen_point(win: Any, widget: Any) -> list[int] | None:
    """(In the app) the centre of `widget`'s visible part in device pixels (what xdotool
    takes, QT_SCALE_FACTOR applied), or None when it is not on screen."""
    from PySide6.QtCore import QPoint

    if widget is None or not widget.isVisible() or widget.visibleRegion().isEmpty():
        return None
    r = widget.visibleRegion().boundingRect()
    return device(win, widget.mapToGlobal(QPoint(r.center().x(), r.center().y())))


def device(win: Any, p: Any) -> list[int]:
    """A global point in logical pixels as device pixels."""
    k = win.devicePixelRatioF()
    return [round(p.x() * k), round(p.y() * k)]


class Walk:
    """The walk's hands and eyes: the app's dumped state, xdotool, screenshots."""

    def __init__(self, out: Path, display: str, env: dict[str, str] | None = None) -> None:
        self.out, self.geom = out, out / "geom.json"
        self.env = dict(env or os.environ, DISPLAY=display)

    def x(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True)

    def state(self) -> dict:
        try:
            return json.loads(self.geom.read_text())
        except (OSError, ValueError):
            return {}

    def get(self, name: str, wait: float = 10.0) -> Any:
        """The dumped value `name` once it is there (a widget on screen); SystemExit after
        `wait` seconds."""
        end = time.time() + wait
        while True:
            p = self.state().get(name)
            if p:
                return p
            if time.time() > end:
                raise SystemExit(f"{name} is not on screen")
            time.sleep(0.2)

    def until(self, test: Callable[[dict], Any], what: str, wait: float = 30.0) -> dict:
        """The dumped state once `test(state)` holds; SystemExit naming `what` after `wait`."""
        end = time.time() + wait
        while time.time() < end:
            s = self.state()
            if s and test(s):
                return s
            time.sleep(0.25)
        raise SystemExit(f"timed out waiting for {what}: {self.state()}")

    def click_at(self, x: int, y: int) -> None:
        self.x("mousemove", str(x), str(y))
        time.sleep(0.15)
        self.x("click", "1")
        time.sleep(0.6)

    def click(self, name: str, wait: float = 10.0, scroll: str | None = None) -> None:
        """Click the widget `name`; with `scroll` (a scroll area's dumped name), scroll it
        down, then up, with the wheel until the widget is on screen."""
        if scroll:
            for button in ["5"] * 20 + ["4"] * 20:
                try:
                    self.get(name, wait=0.5)
                    break
                except SystemExit:
                    sx, sy = self.get(scroll)
                    self.x("mousemove", str(sx), str(sy), "click", button)
                    time.sleep(0.2)
        x, y = self.get(name, wait)
        self.click_at(x, y)

    def shot(self, name: str, note: str = "") -> Path:
        p = self.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(p)], env=self.env, check=True)
        print(p, *(["|", note] if note else []), flush=True)
        return p


@contextlib.contextmanager
def session(script: str, size: str, scale: float, out: Path, picture: str, display: str,
            walk: type[Walk] = Walk) -> Iterator[Any]:
    """Xvfb at `size`, openbox, and the app of `script` on `picture` with a fresh data folder
    (its `prep` run first) and `QT_SCALE_FACTOR` = `scale`; a `walk` over it. Everything is
    stopped and the data folder removed at the end."""
    tmp = Path(tempfile.mkdtemp(prefix="walk-"))
    data, home = tmp / "data", tmp / "home"
    home.mkdir()
    env = dict(os.environ, AIART_DATA_DIR=str(data), HOME=str(home), HF_HUB_OFFLINE="1",
               QT_SCALE_FACTOR=str(scale), PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run([PY, script, "prep", str(data)], env=env, check=True,
                       capture_output=True)
        procs.append(subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.5)
        env["DISPLAY"] = display
        procs.append(subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1)
        with open(out / "app.log", "w") as log:
            procs.append(subprocess.Popen([PY, script, "app", str(out / "geom.json"),
                                           picture], env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
        yield walk(out, display, env)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def entry(app_main: Callable[[str, str], int], prep: Callable[[Path], None],
          walk: Callable[..., None], default_out: str,
          commands: dict[str, Callable[[str], None]] | None = None) -> None:
    """The `__main__` of a walk script: `app GEOM PICTURE` (the app, run by `session`),
    `prep DATA` (its data folder), one of `commands` (name -> fn(arg)), else the walk:
    `SIZE [--scale F] [--out DIR] [--name value ...]`, other options given to `walk` by name."""
    args = sys.argv[1:]
    cmd = args[0]
    if cmd == "app":
        sys.exit(app_main(args[1], args[2]))
    if cmd == "prep":
        prep(Path(args[1]))
        sys.exit(0)
    if commands and cmd in commands:
        commands[cmd](args[1])
        sys.exit(0)
    opts = {a[2:]: b for a, b in zip(args[1::2], args[2::2], strict=False) if a.startswith("--")}
    scale = float(opts.pop("scale", 1.0))
    out = Path(opts.pop("out", default_out))
    walk(cmd, scale, out, **opts)
