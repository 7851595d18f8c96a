"""Select Object, LaMa, Select Subject and Remove Background walked on a real X display.

    python docs/screenshots/walk_objects.py 1366x768 [--scale 1.5] [--out /tmp/walk18]

Starts Xvfb, openbox and the app (`bootstrap.create_window`, a fresh data folder, offline) on
a simple painting made here: a pale sky over sand, a yellow sun and a dark standing figure on
one layer "Painting". The data folder holds three tiny random-weight stand-ins for the real
models (which cannot be downloaded here), the tests' builders:

- a tiny SAM (catalogue folder "sam-vit-base"): its masks are arbitrary blobs, not the object
  clicked — expected of random weights, the walk shows the tool's flow, not its quality;
- a tiny LaMa: it paints the hole a flat green (10, 200, 30);
- a tiny background remover (BiRefNet's interface): dark paint is the subject, so the dark
  figure on its light ground is what Select Subject and Remove Background find.

Then, like a newcomer, with the mouse and keys only (xdotool), a screenshot after each step:

  01_select_object   O, a click on the sun: the selection's marching ants;
  02_lama_variation  the AI tab (it picked "LaMa: remove object (no prompt)" by itself: no
                     diffusion model is installed), Ctrl+Enter: the variation over the canvas;
  03_lama_applied    Enter: the variation applied as a layer;
  04_select_subject  Ctrl+Z (the LaMa layer undone), Select › Select Subject (clicked in the
                     menus): the figure's selection;
  05_remove_background  Layer › Remove Background: "Painting (subject)" holds the figure,
                     "Painting" is hidden (the checkerboard shows through).

The app is the real one; the only addition is a timer writing where the widgets and menu
items the walk clicks are on screen (`geom.json`, device pixels). WALK_TRACE=1 also logs the
status bar's messages and status tips with their times to `<out>/app.log`; WALK_DISPLAY picks
the X display (default :7).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from walk_common import (
    ROOT,
    Walk,
    device,
    entry,
    run_dumping,
    screen_point,
    session,
    start_app,
)

SIZE = (800, 600)
SUN = (600, 150)          # the object clicked with Select Object (document pixels)


def app_main(geom_file: str, picture: str) -> int:
    """The app as main.py starts it, plus a timer writing the walk's widget positions."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QMenu, QTabBar

    from aiart_desktop.core.geometry import Rect
    app, win = start_app(picture)

    def dev(p: QPoint) -> list[int]:
        return device(win, p)         # xdotool works in device pixels (QT_SCALE_FACTOR)

    def where(w) -> list[int] | None:
        return screen_point(win, w)

    def centre(w, r: QRect) -> list[int]:
        return dev(w.mapToGlobal(r.center()))

    def dump() -> dict:
        out: dict[str, object] = {}
        canvas = getattr(win, "canvas", None)
        doc = getattr(win, "doc", None)
        if canvas is not None and doc is not None:
            out["canvas"] = where(canvas)
            r = canvas.doc_rect_to_view(Rect(0, 0, doc.rect.w, doc.rect.h))
            tl = dev(canvas.viewport().mapToGlobal(r.topLeft().toPoint()))
            k = win.devicePixelRatioF()
            out["doc"] = [tl[0], tl[1], r.width() * k / doc.rect.w]   # x, y, device px per px
            out["layers"] = [(n.name, n.visible) for n in doc.layers]
            out["active"] = doc.active_layer.name if doc.active_layer is not None else None
            out["selected"] = doc.selection is not None
        for bar in win.findChildren(QTabBar):
            for i in range(bar.count()):
                name = bar.tabText(i).replace("&", "")
                if bar.isVisible() and name in ("AI", "Layers"):
                    out[name.lower() + "_tab"] = centre(bar, bar.tabRect(i))
        mb = win.menuBar()
        for a in mb.actions():
            if a.menu() is not None:
                out["menu:" + a.text().replace("&", "")] = centre(mb, mb.actionGeometry(a))
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu) and popup.isVisible():
            for a in popup.actions():
                if a.isVisible() and not a.isSeparator():
                    out["item:" + a.text().replace("&", "").rstrip("\u2026")] = centre(
                        popup, popup.actionGeometry(a))
        panel = getattr(win, "ai_panel", None)
        if panel is not None:
            out.update(ai_model=panel.form.model.currentText(), ai_running=panel.running,
                       ai_status=panel.status.text(), variations=panel.strip.count(),
                       ai_run=where(panel.run_button), ai_model_combo=where(panel.form.model))
            area = panel.form.model.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:
                out["ai_scrollbar"] = where(area.verticalScrollBar())
        ops = getattr(win, "subject_ops", None)
        if ops is not None:
            out["subject_running"] = ops.running
        out["status"] = win.statusBar().currentMessage()
        return out

    if os.environ.get("WALK_TRACE"):          # who clears the status bar (a QStatusTipEvent)
        from PySide6.QtCore import QEvent, QObject

        class Trace(QObject):
            def eventFilter(self, obj, ev):
                if ev.type() == QEvent.Type.StatusTip:
                    print(f"{time.time():.2f} status tip", repr(ev.tip()), type(obj).__name__,
                          flush=True)
                return False

        trace = Trace()
        app.installEventFilter(trace)
        win.statusBar().messageChanged.connect(
            lambda m: print(f"{time.time():.2f} message {m!r}", flush=True))
    return run_dumping(app, geom_file, dump, 250)


def prep(data: Path) -> None:
    """The tiny SAM, LaMa and background remover in `data`/models (no diffusion model)."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_lama import install_tiny_lama
    from tests.support.tiny_matte import install_tiny_matte
    from tests.support.tiny_sam import build_sam

    reg = ModelRegistry(data / "models", allow_pickle=False)
    build_sam(reg.catalogue_folder("sam-vit-base"))
    install_tiny_lama(reg)
    install_tiny_matte(reg)


def paint(out: str) -> None:
    """The picture: a pale sky over sand, a yellow sun, a dark figure; one layer "Painting"."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from aiart_desktop.core.document import Document
    from aiart_desktop.core.io import save_document

    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = yy / h
    sky = np.array([200, 222, 242], np.float32)
    sand = np.array([238, 222, 186], np.float32)
    rgb = np.where((yy < 380)[..., None], sky + (t[..., None] * 0.3) * (sand - sky),
                   sand - (t[..., None] - 0.63) * 40)
    hill = yy > 380 - 40 * np.exp(-((xx - 150) / 160) ** 2)
    rgb[hill & (yy < 420)] = (214, 204, 170)

    def disc(cx: float, cy: float, r: float) -> np.ndarray:
        return (xx - cx) ** 2 + (yy - cy) ** 2 < r * r

    rgb[disc(*SUN, 55)] = (250, 205, 60)
    ink = (44, 38, 58)
    rgb[disc(330, 215, 34)] = ink                                      # head
    body = (yy > 250) & (yy < 420) & (np.abs(xx - 330) < 40 + (yy - 250) * 0.25)
    rgb[body] = ink
    for lx in (308, 352):                                               # legs
        rgb[(yy >= 418) & (yy < 525) & (np.abs(xx - lx) < 14)] = ink
    for sx in (-1, 1):                                                  # arms
        arm = (np.abs((xx - 330) * sx - 55 - (yy - 270) * 0.45) < 12) & (yy > 262) & (yy < 390)
        rgb[arm] = ink
    rgb[(yy > 522) & (yy < 532) & (np.abs(xx - 330) < 120)] = (205, 190, 155)   # shadow
    doc = Document.new(w, h, (255, 255, 255, 255))
    layer = doc.layers[0]
    layer.name = "Painting"
    px = np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), np.full((h, w), 255, np.uint8)])
    doc.put_pixels(layer, 0, 0, px)
    save_document(doc, out)


class ObjectsWalk(Walk):
    """`Walk` with the status bar followed, document points, and menus."""

    def __init__(self, out: Path, display: str, env: dict[str, str] | None = None) -> None:
        super().__init__(out, display, env)
        self.said: list[str] = []

    def until(self, test, what: str, wait: float = 30.0) -> dict:
        end = time.time() + wait
        while time.time() < end:
            s = self.state()
            if s.get("status") and s["status"] not in self.said:
                self.said.append(s["status"])
                print("  status bar:", s["status"])
            if s and test(s):
                return s
            time.sleep(0.25)
        raise SystemExit(f"timed out waiting for {what}: {self.state()}")

    def doc_point(self, px: int, py: int) -> tuple[int, int]:
        x, y, k = self.get("doc")
        return round(x + px * k), round(y + py * k)

    def menu(self, title: str, item: str) -> None:
        """Open a menu of the menu bar and click one of its items, like a user."""
        self.click("menu:" + title)
        self.click("item:" + item, wait=5)

    def shot(self, name: str, note: str = "") -> Path:
        return super().shot(name, note or str(self.state().get("status", "")))


def walk(size: str, scale: float, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    picture = str(out / "figure.ora")
    subprocess.run([sys.executable, __file__, "paint", picture],
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    display = os.environ.get("WALK_DISPLAY", ":7")
    with session(__file__, size, scale, out, picture, display, ObjectsWalk) as w:
        w.get("ai_tab", wait=90)               # the AI dock is in: the menus have their items
        w.until(lambda s: "subject_running" in s, "the subject commands", 30)
        time.sleep(2)

        # 1. Select Object (O), a click on the sun.
        w.click("layers_tab")                  # the window gets the keys; nothing painted
        w.x("key", "o")
        time.sleep(0.3)
        w.click_at(*w.doc_point(*SUN))
        w.until(lambda s: s.get("selected"), "the object's selection", 60)
        time.sleep(1.5)
        w.shot("01_select_object")

        # 2. The AI tab: LaMa picked by itself; Ctrl+Enter runs it, Enter applies it.
        w.click("ai_tab")
        time.sleep(0.5)
        print("AI model:", w.get("ai_model"))
        if not w.state().get("ai_model_combo"):    # the Model list is below the fold
            sx, sy = w.get("ai_scrollbar")  # type: ignore[misc]
            w.x("mousemove", str(sx), str(sy))
            for _ in range(3):
                w.x("click", "5")
                time.sleep(0.2)
        w.until(lambda s: s.get("ai_model_combo"), "the Model list", 5)
        w.shot("02_ai_panel_lama")
        w.x("key", "ctrl+Return")
        w.until(lambda s: s.get("variations", 0) > 0 and not s.get("ai_running"),
                "the LaMa variation", 120)
        time.sleep(1.0)
        w.shot("03_lama_variation")
        w.x("key", "Return")
        n = len(w.state().get("layers", []))
        try:
            w.until(lambda s: len(s.get("layers", [])) > 1, "the applied variation", 5)
        except SystemExit as exc:
            print("Enter did not apply:", exc, "layers", n)
        time.sleep(1.0)
        w.shot("04_lama_applied")

        # 3. Undo the LaMa layer, then Select › Select Subject.
        w.x("key", "ctrl+z")
        time.sleep(0.5)
        w.click("layers_tab")
        w.menu("Select", "Select Subject")
        w.until(lambda s: not s.get("subject_running"), "Select Subject", 60)
        time.sleep(1.5)
        w.shot("05_select_subject")

        # 4. Layer › Remove Background on the active layer.
        print("active layer:", w.state().get("active"))
        w.menu("Layer", "Remove Background")
        w.until(lambda s: not s.get("subject_running") and len(s.get("layers", [])) > 1,
                "Remove Background", 60)
        try:
            w.until(lambda s: "holds the subject" in s.get("status", ""), "its message", 3)
        except SystemExit as exc:
            print("no message after Remove Background:", exc)
        time.sleep(0.5)
        w.shot("06_remove_background")
        print("layers:", w.state().get("layers"))


if __name__ == "__main__":
    entry(app_main, prep, walk, "/tmp/walk18", commands={"paint": paint})
