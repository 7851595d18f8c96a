"""AI › Train a Style… walked on a real X display (xdotool), from the menu to the LoRA list.

    python docs/screenshots/walk_train.py 1366x768 [--scale 1.5] [--out /tmp/walk17]
                                                   [--upto dialog]

Starts Xvfb, openbox and the app (`bootstrap.create_window`, a fresh data folder, offline) on
the first of four paintings made here (warm paper, a dark moon, a red stroke: the tests'
"style", at sizes of 640×480, 480×640, 560×560 and 800×450). The data folder holds a tiny
random-weight SD model, the tests' builder with 32² latents: its native size is 256 px (an SD 1.5
model's is 512; a quarter of the work on a CPU), "Tiny SD (stand-in)". Then, with the mouse
and keys only, a screenshot after each step:

  01_dialog            AI › Train a Style… (clicked in the menu), Add Files… (the file dialog:
                       the folder typed, then the four names), the trigger word typed, Steps
                       60, Learning rate 0.01 (random weights learn visibly only that fast),
                       Sample every 20: the rows show each picture's crop;
  02_training_midway   Train pressed; Pause clicked once the run is past step 30 (so the
                       picture is not a blur of moving numbers): the plot, the samples;
  03_done              Resume clicked; the end: "Your style … is ready", Use It, Close;
  04_lora_in_panel     Use It clicked: the AI panel's LoRAs show the style at 0.8 and the
                       prompt its trigger word.

With `--upto dialog` the walk ends after 01 (the 150 % check). The app is the real one; the
only addition is a timer writing where the widgets the walk clicks are (`geom.json`, device
pixels). WALK_DISPLAY picks the X display (default :17).
"""
from __future__ import annotations

import os
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

SIZES = ((640, 480), (480, 640), (560, 560), (800, 450))
TRIGGER = "inkwash style"


def paint(folder: Path) -> list[Path]:
    """The four paintings, as PNG files."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from tests.support.tiny_training import painting

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (w, h) in enumerate(SIZES):
        p = folder / f"inkwash-{i + 1}.png"
        Image.fromarray(painting(w, h, seed=i)).save(p)
        out.append(p)
    return out


def app_main(geom_file: str, picture: str) -> int:
    """The app as main.py starts it, plus a timer writing the walk's widget positions."""
    from PySide6.QtWidgets import QApplication, QMenu, QTabBar

    app, win = start_app(picture)
    t0 = time.time()

    def where(w) -> list[int] | None:
        return screen_point(win, w)

    def centre(w, r) -> list[int]:
        return device(win, w.mapToGlobal(r.center()))

    def frame(w) -> list[int]:
        g = w.frameGeometry()
        return device(win, g.topLeft()) + device(win, g.bottomRight())

    def dump() -> dict:
        out: dict[str, object] = {}
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
        modal = QApplication.activeModalWidget()
        out["modal"] = type(modal).__name__ if modal is not None else None
        dlg = getattr(win, "_train_style_dialog", None)
        if dlg is not None and dlg.isVisible():
            out.update(
                tr_frame=frame(dlg), tr_add=where(dlg.add_files_button),
                tr_trigger=where(dlg.trigger), tr_steps=where(dlg.steps),
                tr_rate=where(dlg.rate), tr_sample=where(dlg.sample_every),
                tr_train=where(dlg.train_button), tr_rows=dlg.table.rowCount(),
                tr_message=dlg.message.text(), tr_preset=dlg.preset_label(),
                tr_estimate=dlg.estimate_label.text(), tr_sizes=dlg.size_texts(),
                tr_values=[dlg.rank.value(), dlg.steps.value(), dlg.rate.value(),
                           dlg.sample_every.value()])
        from aiart_desktop.qt.dialogs import train_progress as tp

        for pw in tp.progress_windows(win).values():
            if pw.isVisible():
                out.update(pw_frame=frame(pw), pw_state=pw.run.state, pw_step=pw.run.step,
                           pw_status=pw.status.text(), pw_message=pw.message.text(),
                           pw_pause=where(pw.pause_button), pw_pause_text=pw.pause_button.text(),
                           pw_use=where(pw.use_button), pw_hide=where(pw.hide_button),
                           pw_samples=len(pw.samples), pw_points=pw.plot.points())
        panel = getattr(win, "ai_panel", None)
        if panel is not None:
            section = panel.form.loras_section
            out.update(loras=[r.lora_id for r in section.rows],
                       prompt=panel.form.prompt.toPlainText())
        out["t"] = round(time.time() - t0, 2)
        return out

    return run_dumping(app, geom_file, dump, 200)


def prep(data: Path) -> None:
    """A tiny SD model (native 512 px) registered in `data`/models."""
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd

    reg = ModelRegistry(data / "models", allow_pickle=False)
    reg.add_folder(build_sd(data / "tiny" / "sd", sample_size=32), name="Tiny SD (stand-in)")


class TrainWalk(Walk):
    def menu(self, title: str, item: str) -> None:
        self.click("menu:" + title)
        self.click("item:" + item, wait=5)

    def type_into(self, name: str, text: str) -> None:
        """Click the field `name`, select what it holds, type `text`."""
        self.click(name)
        self.x("key", "ctrl+a")
        self.x("type", "--delay", "30", text)
        time.sleep(0.3)


def walk(size: str, scale: float, out: Path, upto: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    pics = paint(out / "pictures")
    display = os.environ.get("WALK_DISPLAY", ":17")
    tag = "150" if scale > 1 else size.split("x")[0]
    with session(__file__, size, scale, out, str(pics[0]), display, TrainWalk) as w:
        w.get("ai_tab", wait=90)               # the AI dock is in: the AI menu has its items
        time.sleep(1.5)
        w.menu("AI", "Train a Style")
        w.until(lambda s: s.get("tr_add"), "the Train a Style dialog", 15)
        w.click("tr_add")                      # Add Files…: Qt's file dialog
        w.until(lambda s: s.get("modal"), "the file dialog", 10)
        time.sleep(0.8)
        w.x("type", "--delay", "20", str(pics[0].parent) + "/")
        w.x("key", "Return")
        time.sleep(0.8)
        names = " ".join(f'"{p.name}"' for p in pics)
        w.x("type", "--delay", "20", names)
        w.x("key", "Return")
        s = w.until(lambda s: s.get("tr_rows") == len(pics) and not s.get("modal"),
                    "the four pictures in the list", 30)
        print("rows:", s.get("tr_sizes"), flush=True)
        w.type_into("tr_trigger", TRIGGER)
        w.type_into("tr_steps", "60")
        w.type_into("tr_rate", "0.01")
        w.type_into("tr_sample", "20")
        w.click("tr_trigger")                  # out of the last box: its value is taken
        time.sleep(0.8)
        s = w.state()
        print("form:", s.get("tr_values"), s.get("tr_preset"), repr(s.get("tr_estimate")),
              "frame:", s.get("tr_frame"), flush=True)
        w.shot(f"01_dialog_{tag}")
        if upto == "dialog":
            return
        t = time.time()
        w.click("tr_train")
        s = w.until(lambda s: s.get("pw_state") in ("running", "error")
                    and (s.get("pw_step") or 0) >= 30, "step 30", 300)
        w.click("pw_pause")
        print("pause clicked at step", w.state().get("pw_step"), w.state().get("pw_status"),
              flush=True)
        s = w.until(lambda s: s.get("pw_state") in ("paused", "error"), "the pause", 60)
        time.sleep(0.5)
        s = w.state()
        print(f"paused after {time.time() - t:.0f} s:", s.get("pw_status"), "samples:",
              s.get("pw_samples"), "frame:", s.get("pw_frame"), flush=True)
        w.shot(f"02_training_midway_{tag}")
        w.click("pw_pause")                    # Resume
        s = w.until(lambda s: s.get("pw_state") in ("done", "error"), "the end", 300)
        time.sleep(0.8)
        s = w.state()
        print("end:", repr(s.get("pw_message")), "samples:", s.get("pw_samples"), flush=True)
        w.shot(f"03_done_{tag}")
        w.click("pw_use")
        s = w.until(lambda s: s.get("loras"), "the LoRA in the panel", 15)
        time.sleep(0.8)
        print("panel:", s.get("loras"), repr(s.get("prompt")), flush=True)
        w.shot(f"04_lora_in_panel_{tag}")


if __name__ == "__main__":
    entry(app_main, prep, walk, "/tmp/walk17")
