"""Image › Upscale… and the AI tab's Refine in tiles walked on a real X display (xdotool).

    python docs/screenshots/walk_upscale.py 1366x768 [--scale 1.5] [--out /tmp/walk15]
                                            [--part selection]

Starts Xvfb, openbox and the app (`bootstrap.create_window`, a fresh data folder, offline,
holding a tiny random-weight SD model, the tests' builder, "Tiny SD (stand-in)") on the painted
landscape of walk_tools.py, then, with the mouse and keys only, a screenshot after each step:

  01_upscale_dialog     Ctrl+Alt+I opens Image › Upscale…; "By" set to ×4 (clicked, Down,
                        Return): the line "W × H → 4W × 4H px";
  02_upscaling          Upscale pressed: caught while it runs (progress bar, small preview),
                        if it is slow enough to catch;
  03a_just_finished     the moment the finished message shows (the canvas may still be
                        drawing the bigger picture: the walk prints how long until the sky
                        shows on the canvas);
  03_upscaled           finished: "Upscaled with Lanczos: … px. Ctrl+Z undoes it.", the
                        canvas fitted to the bigger picture;
  04_upscaled_100pct    the dialog closed (Esc), View › 100 % (Ctrl+1), the view scrolled to
                        the birds: the upscaled pixels at 100 %;
  05_refine_tiles_hint  the AI tab: Operation "Refine", Area "Whole picture, in tiles", Model
                        the tiny SD: the grey line under Area telling the tile grid (64 px
                        tiles: the stand-in's native size). Not run (random weights).

With `--part selection`, instead: a rectangle dragged around the birds (M) on the Ink layer,
then

  06_selection_dialog   Ctrl+Alt+I, Upscale "The selection (into a new layer)", By ×2: the
                        line "The selection: w × h → 2w × 2h px, in a new layer";
  07_selection_upscaled Upscale pressed and finished: the layer "Ink (upscaled)" above Ink,
                        the message names the layer and its size;
  08_selection_on_canvas  Close: the birds twice as big about the selection's centre, over
                        the old ones (Ink is untouched).

The app is the real one; the only addition is a timer writing where the widgets the walk
clicks are on screen and what they say (`geom.json`, device pixels). WALK_DISPLAY picks the X
display (default :8).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from walk_common import (
    HERE,
    PY,
    ROOT,
    Walk,
    device,
    entry,
    run_dumping,
    screen_point,
    session,
    start_app,
)


def app_main(geom_file: str, picture: str) -> int:
    """The app as main.py starts it, plus a timer writing the walk's widget positions."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication, QTabBar

    from aiart_desktop.core.geometry import Rect
    app, win = start_app(picture)
    t0 = time.time()

    def dev(p: QPoint) -> list[int]:
        return device(win, p)         # xdotool works in device pixels (QT_SCALE_FACTOR)

    def where(w) -> list[int] | None:
        return screen_point(win, w)

    def combo(name: str, c, out: dict[str, object]) -> None:
        out[name] = where(c)
        out[name + "_items"] = [c.itemText(i) for i in range(c.count())]
        out[name + "_index"] = c.currentIndex()

    def dump() -> dict:
        out: dict[str, object] = {}
        canvas = getattr(win, "canvas", None)
        doc = getattr(win, "doc", None)
        if canvas is not None:
            out["canvas"] = where(canvas)
        if doc is not None:
            out["doc_size"] = [doc.width, doc.height]
        if canvas is not None and doc is not None:
            r = canvas.doc_rect_to_view(Rect(0, 0, doc.width, doc.height))
            tl = dev(canvas.viewport().mapToGlobal(r.topLeft().toPoint()))
            k = win.devicePixelRatioF()
            out["doc"] = [tl[0], tl[1], r.width() * k / doc.width]   # x, y, device px per px
        for bar in win.findChildren(QTabBar):
            for i in range(bar.count()):
                name = bar.tabText(i).replace("&", "")
                if bar.isVisible() and name in ("AI", "Layers", "Live"):
                    out[name.lower() + "_tab"] = dev(bar.mapToGlobal(bar.tabRect(i).center()))
        dlg = getattr(win, "_upscale_dialog", None)
        if dlg is not None and dlg.isVisible():
            combo("up_target", dlg.target, out)
            combo("up_scale", dlg.scale, out)
            combo("up_method", dlg.method, out)
            out.update(up_run=where(dlg.run_button), up_close=where(dlg.cancel_button),
                       up_size_line=dlg.size_line.text(), up_message=dlg.message.text(),
                       up_progress=dlg.progress.isVisible(), up_preview=dlg.preview.isVisible(),
                       up_running=dlg.running, up_close_text=dlg.cancel_button.text())
            g = dlg.frameGeometry()
            out["up_frame"] = dev(g.topLeft()) + dev(g.bottomRight())
        panel = getattr(win, "ai_panel", None)
        if panel is not None:
            f = panel.form
            combo("ai_op", f.op, out)
            combo("ai_area", f.area, out)
            combo("ai_model", f.model, out)
            out.update(ai_tiles_hint=f.tiles_hint.text() if f.tiles_hint.isVisible() else "",
                       ai_tiles_hint_at=where(f.tiles_hint),
                       ai_scroll=where(panel.scroll.viewport()),
                       ai_prompt=where(f.prompt), ai_run=where(panel.run_button),
                       ai_running=panel.running, variations=panel.strip.count(),
                       ai_status=panel.status.text(), ai_strength=f.strength.value(),
                       ai_strength_spin=where(f.strength.spin))
        if doc is not None:
            out["layers"] = [n.name for n in doc.layers]
        out["status"] = win.statusBar().currentMessage()
        out["t"] = round(time.time() - t0, 2)
        focus = QApplication.focusWidget()
        out["focus"] = type(focus).__name__ if focus is not None else None
        return out

    return run_dumping(app, geom_file, dump, 200)


def prep(data: Path) -> None:
    """A tiny SD model registered in `data`/models."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd

    reg = ModelRegistry(data / "models", allow_pickle=False)
    reg.add_folder(build_sd(data / "tiny" / "sd"), name="Tiny SD (stand-in)")


class UpscaleWalk(Walk):
    """`Walk` with combo boxes chosen like a user, and a look at one screen pixel."""

    def choose(self, name: str, text: str, scroll: str | None = None) -> None:
        """Open the combo `name` with a click, move to `text` with Up/Down, Return (twice
        if the first try did not take: a dialog opened again may take the first click to
        get the focus)."""
        for _ in range(2):
            if self._choose(name, text, scroll):
                return
        print(f"warning: {name} is not at {text}")

    def _choose(self, name: str, text: str, scroll: str | None = None) -> bool:
        items: list[str] = self.get(name + "_items")  # type: ignore[assignment]
        found = [i for i, t in enumerate(items) if t == text or t.startswith(text + " ")]
        if not found:
            raise SystemExit(f"{text!r} is not in {name}: {items}")
        want = found[0]
        now = int(self.state().get(name + "_index", 0))
        if now == want:
            return True
        self.click(name, scroll=scroll)
        time.sleep(0.3)
        key = "Down" if want > now else "Up"
        for _ in range(abs(want - now)):
            self.x("key", key)
            time.sleep(0.1)
        self.x("key", "Return")
        time.sleep(0.8)
        return self.state().get(name + "_index") == want

    def sky(self, at: tuple[int, int]) -> bool:
        """The screen's pixel at `at` is sky blue (not the checkerboard nor the grey around)."""
        r = subprocess.run(["import", "-window", "root", "-crop", f"1x1+{at[0]}+{at[1]}",
                            "-depth", "8", "txt:-"], env=self.env, capture_output=True,
                           text=True).stdout
        try:
            rgb = r.splitlines()[1].split("(")[1].split(")")[0].split(",")
            red, _g, blue = (float(v) for v in rgb[:3])
        except (IndexError, ValueError):
            return False
        return blue > red + 30


BIRDS = (490, 245)   # the three birds of make_screenshots.paint, in the painted picture's pixels


def pan_to(w: UpscaleWalk, at: tuple[int, int], scale: float) -> None:
    """Scroll the canvas with the wheel (60 px a notch) until `at` (a point of the picture,
    in its pixels) is near the canvas's centre."""
    for _ in range(3):
        x0, y0, k = w.get("doc")  # type: ignore[misc]
        px, py = at[0] * k + x0, at[1] * k + y0
        cx, cy = w.get("canvas")  # type: ignore[misc]
        step = 60 * scale
        nx, ny = round((cx - px) / step), round((cy - py) / step)
        if not nx and not ny:
            return
        w.x("mousemove", str(cx), str(cy))
        for _ in range(abs(ny)):
            w.x("click", "4" if ny > 0 else "5")
        for _ in range(abs(nx)):
            w.x("click", "6" if nx > 0 else "7")
        time.sleep(0.6)


def selection_part(w: UpscaleWalk) -> None:
    """`--part selection` (see the module)."""
    x0, y0, k = w.get("doc")  # type: ignore[misc]
    ax, ay = round(x0 + (BIRDS[0] - 90) * k), round(y0 + (BIRDS[1] - 45) * k)
    bx, by = round(x0 + (BIRDS[0] + 60) * k), round(y0 + (BIRDS[1] + 35) * k)
    w.x("mousemove", str(ax), str(ay))
    w.x("key", "m")
    w.x("mousedown", "1")
    for i in range(1, 11):
        w.x("mousemove", str(ax + (bx - ax) * i // 10), str(ay + (by - ay) * i // 10))
        time.sleep(0.03)
    w.x("mouseup", "1")
    time.sleep(0.5)
    w.x("key", "ctrl+alt+i")                 # Image › Upscale…
    w.get("up_target", wait=15)
    time.sleep(0.8)
    w.choose("up_target", "The selection (into a new layer)")
    w.choose("up_scale", "×2")
    time.sleep(0.5)
    print("dialog:", repr(w.state().get("up_size_line")), flush=True)
    w.shot("06_selection_dialog")
    n = len(w.state().get("layers", []))
    w.click("up_run")
    s = w.until(lambda s: len(s.get("layers", [])) > n and not s.get("up_running"),
                "the upscaled selection", 120)
    time.sleep(1.0)
    print("layers:", s.get("layers"), "message:", repr(w.state().get("up_message")),
          flush=True)
    w.shot("07_selection_upscaled")
    w.click("up_close")                      # the dialog away: the canvas
    time.sleep(1.0)
    w.shot("08_selection_on_canvas")


def walk(size: str, scale: float, out: Path, part: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    picture = str(out / "landscape.ora")
    subprocess.run([PY, str(HERE / "walk_tools.py"), "paint", picture],
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    display = os.environ.get("WALK_DISPLAY", ":8")
    with session(__file__, size, scale, out, picture, display, UpscaleWalk) as w:
        w.get("ai_tab", wait=90)
        time.sleep(2)
        if part == "selection":
            selection_part(w)
            return
        orig = w.get("doc_size")
        print("picture:", orig, flush=True)
        cx, cy = w.get("canvas")  # type: ignore[misc]
        w.x("mousemove", str(cx), str(cy))
        t = time.time()
        w.x("key", "ctrl+alt+i")                 # Image › Upscale…
        w.get("up_scale", wait=15)
        print(f"dialog opened in {time.time() - t:.1f} s", flush=True)
        time.sleep(0.8)
        w.choose("up_scale", "×4")
        time.sleep(0.5)
        s = w.state()
        print("dialog:", s.get("up_frame"), repr(s.get("up_size_line")), flush=True)
        w.shot("01_upscale_dialog")
        t = time.time()
        w.click("up_run")
        caught = False
        while time.time() - t < 120:
            s = w.state()
            if s.get("up_running") and (s.get("up_preview") or time.time() - t > 0.5):
                w.shot("02_upscaling")
                caught = True
                print(f"caught at {time.time() - t:.1f} s:", repr(s.get("up_message")),
                      flush=True)
                break
            if not s.get("up_running") and "Upscaled" in str(s.get("up_message")):
                break
            time.sleep(0.05)
        if not caught:
            print("the upscale ended before it could be caught", flush=True)
        while time.time() - t < 300:
            s = w.state()
            if not s.get("up_running") and s.get("up_close_text") == "Close" and \
                    s.get("up_message") not in ("", "Upscaling…"):
                break
            time.sleep(0.2)
        end = time.time()
        print(f"ended after {end - t:.1f} s:", repr(s.get("up_message")),
              "picture:", s.get("doc_size"), flush=True)
        w.shot("03a_just_finished")              # the message is there: is the picture?
        x0, y0, k = w.get("doc")  # type: ignore[misc]
        w1, h1 = s.get("doc_size") or (1, 1)
        sky = (round(x0 + 0.05 * w1 * k), round(y0 + 0.1 * h1 * k))  # left of the dialog
        for _ in range(150):                     # how long the canvas shows no picture
            if w.sky(sky):
                print(f"the sky shows on the canvas {time.time() - end:.1f} s after the "
                      f"message ({time.time() - t:.1f} s after Upscale)", flush=True)
                break
            time.sleep(0.2)
        else:
            print("the canvas showed no sky in 30 s", flush=True)
        time.sleep(0.5)
        w.shot("03_upscaled")
        w.x("key", "Escape")                     # closes the dialog
        time.sleep(0.8)
        if w.state().get("up_scale"):
            w.click("up_close")
        cx, cy = w.get("canvas")  # type: ignore[misc]
        w.x("mousemove", str(cx), str(cy))       # no click: the brush is the tool
        w.x("key", "ctrl+1")                     # View › 100 %
        time.sleep(1.0)
        f = w.get("doc_size")[0] / orig[0]  # type: ignore[index]
        pan_to(w, (round(BIRDS[0] * f), round(BIRDS[1] * f)), scale)
        time.sleep(1.0)
        w.shot("04_upscaled_100pct")
        w.click("ai_tab")
        time.sleep(0.5)
        w.choose("ai_op", "Refine", scroll="ai_scroll")
        w.choose("ai_area", "Whole picture, in tiles", scroll="ai_scroll")
        w.choose("ai_model", "Tiny SD (stand-in)", scroll="ai_scroll")
        time.sleep(1.0)
        try:                                      # bring the hint into view
            w.get("ai_tiles_hint_at", wait=1)
        except SystemExit:
            w.click("ai_area", scroll="ai_scroll")
            w.x("key", "Escape")
        time.sleep(0.5)
        s = w.state()
        print("op/area/model:", s.get("ai_op_index"), s.get("ai_area_index"),
              s.get("ai_model_items"), s.get("ai_model_index"), flush=True)
        print("tiles hint:", repr(s.get("ai_tiles_hint")), flush=True)
        w.shot("05_refine_tiles_hint")


if __name__ == "__main__":
    entry(app_main, prep, walk, "/tmp/walk15")
