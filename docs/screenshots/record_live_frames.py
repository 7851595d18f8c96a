"""A short live-painting time-lapse, as the Live dock's Record writes it: a painting, live mode
on a 192² live frame, six strokes painted one after another, each frame the session delivers
written by `LiveSession.recorder` (PNG + its A1111 `parameters`), then a contact sheet:
above, the picture each frame was made from (the frame's request), below, the frame.

The model is the tests' tiny random-weight SD (the stand-in for SD-Turbo: no weights can be
downloaded here), so a frame is the img2img of random weights over the picture at strength 0.5:
random weights make the same texture whatever the input, so what the sequence shows is the
mechanics — one frame per stroke, each made from the picture after that stroke (the top row) —
not a finished painting.

    .venv/bin/python docs/screenshots/record_live_frames.py  # -> issue14_recorded/
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="aiart-record-live-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("AIART_CONFIG_DIR", os.path.join(_tmp, "config"))
os.environ.setdefault("AIART_DATA_DIR", os.path.join(_tmp, "data"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

OUT = Path(__file__).resolve().parent / "issue14_recorded"


def main() -> int:
    from aiart_desktop.ai.live import LiveSettings
    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.core.brush import BrushSettings, Stroke
    from aiart_desktop.core.geometry import Rect
    from aiart_desktop.qt.live import LiveSession
    from aiart_desktop.qt.worker import AiWorker
    from tests.support.paintings import painting
    from tests.support.tiny_models import build_sd

    app = QApplication([])
    reg = ModelRegistry(Path(_tmp) / "models", allow_pickle=False)
    reg.add_folder(build_sd(Path(_tmp) / "sd"), name="tiny-turbo")
    worker = AiWorker(engine=default_engine(reg, device="cpu"))
    doc = painting(256)
    frame = Rect(32, 32, 192, 192)
    shutil.rmtree(OUT, ignore_errors=True)
    session = LiveSession(worker, doc)
    frames: list = []
    session.frame.connect(frames.append)
    session.recorder(OUT)
    session.start(LiveSettings("a red boat on a calm lake", model="tiny-turbo", steps=4,
                               strength=0.5, seed=7, region="frame", frame=frame))

    def wait_frame(n: int) -> None:
        t0 = time.perf_counter()
        while len(frames) < n or session.state != "waiting":
            if time.perf_counter() - t0 > 300:
                raise SystemExit("no live frame came")
            app.processEvents()
            time.sleep(0.002)

    wait_frame(1)
    brush = BrushSettings(size=16, hardness=0.8, color=(30, 60, 160), spacing=0.1)
    for k in range(6):   # one stroke, then its frame
        y = 70 + 22 * k
        stroke = Stroke(doc, doc.layers[0], brush, 50, y)
        for i in range(1, 25):
            stroke.move(50 + i * 6, y + 8 * np.sin(i / 4 + k))
        stroke.end()
        wait_frame(k + 2)
    session.stop()
    worker.shutdown()
    # A contact sheet: above, the picture each frame was made from (its request's pixels);
    # below, the recorded frame.
    pngs = sorted(OUT.glob("frame-*.png"))
    tiles = [Image.open(p).convert("RGB") for p in pngs]
    sources = [Image.fromarray(np.ascontiguousarray(r.request.image[..., :3])).resize(
        tiles[0].size) for r in frames]
    w, h = tiles[0].size
    sheet = Image.new("RGB", (len(tiles) * (w + 8) + 8, 2 * h + 24), (38, 38, 40))
    for i, (src, t) in enumerate(zip(sources, tiles, strict=True)):
        sheet.paste(src, (8 + i * (w + 8), 8))
        sheet.paste(t, (8 + i * (w + 8), h + 16))
    sheet.save(OUT / "sheet.jpg", quality=85)
    print(f"{len(pngs)} frames in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
